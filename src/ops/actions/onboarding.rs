//! One-token onboarding: a customer's Telegram bot token given to `/deploy` is checked
//! with the Bot API's `getMe` (at `[telegram] api_url`) before anything is bought, refused
//! when another instance already carries the same bot (two gateways must not poll one
//! bot), kept sealed as the instance's, and its channel set to pairing once the gateway
//! runs. The token itself is never shown: not in a reply, an error, the audit trail or a
//! log line.

use std::time::Duration;

use serde::Deserialize;

use super::failover::keep_token;
use crate::ops::OpsError;
use crate::ops::door::Ctx;
use crate::remote::Host;
use crate::store::InstanceStatus;

/// How long `getMe` may take.
const GET_ME_TIMEOUT: Duration = Duration::from_secs(10);

/// The bot a token belongs to, as `getMe` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bot {
    pub id: u64,
    pub username: String,
}

#[derive(Deserialize)]
struct Answer {
    ok: bool,
    #[serde(default)]
    result: Option<Me>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
struct Me {
    id: u64,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    is_bot: bool,
}

/// Checks `token` for instance `name`: Telegram knows it, and no other instance carries
/// the same bot. Nothing is changed.
pub async fn check(ctx: &Ctx, name: &str, token: &str) -> Result<Bot, OpsError> {
    crate::secrets::register(token);
    let bot = get_me(ctx, token).await?;
    for row in ctx.store.fleet().await? {
        if row.name == name || row.status == InstanceStatus::Destroyed {
            continue;
        }
        // The tokens clawops keeps (every token it set is kept): no host is asked.
        let Some(sealed) = ctx
            .store
            .instance_secret(&row.name, "telegram-token")
            .await?
        else {
            continue;
        };
        let purpose = format!("telegram-token:{}", row.name);
        let Ok(theirs) = ctx.vault.open_text(&purpose, &sealed) else {
            continue;
        };
        if bot_id(&theirs) == Some(bot.id) {
            return Err(OpsError::Refused(format!(
                "@{} is already the bot of {}: two gateways must not poll one bot. Create another bot with @BotFather, or move this one with /failover. Nothing was bought.",
                bot.username, row.name
            )));
        }
    }
    Ok(bot)
}

/// Keeps `token` sealed as `name`'s bot token (the deploy's config step writes it, with
/// `dmPolicy: pairing`).
pub async fn keep(ctx: &Ctx, name: &str, token: &str) -> Result<(), OpsError> {
    keep_token(ctx, name, token).await
}

/// After the deploy: the channel is in the gateway's config (a host that wrote its own
/// config without it, as the sim does, gets it now).
pub async fn ensure_channel(host: &dyn Host, token: &str) -> Result<(), OpsError> {
    let config = host.config().await?;
    let present = config
        .pointer("/channels/telegram/botToken")
        .and_then(|t| t.as_str())
        == Some(token);
    if !present {
        host.set_config(
            "channels.telegram",
            serde_json::json!({"enabled": true, "botToken": token, "dmPolicy": "pairing"}),
        )
        .await?;
    }
    Ok(())
}

/// The bot's id: the digits before the colon of its token.
fn bot_id(token: &str) -> Option<u64> {
    token.split_once(':')?.0.parse().ok()
}

async fn get_me(ctx: &Ctx, token: &str) -> Result<Bot, OpsError> {
    let base = ctx
        .config
        .telegram
        .as_ref()
        .map_or("https://api.telegram.org", |t| t.api_url.as_str())
        .trim_end_matches('/');
    let unreachable = |why: String| {
        OpsError::Refused(format!(
            "cannot check the bot token with Telegram ({why}); nothing was bought. Try again in a minute"
        ))
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(GET_ME_TIMEOUT)
        .build()
        .map_err(|e| unreachable(e.without_url().to_string()))?;
    let response = client
        .post(format!("{base}/bot{token}/getMe"))
        .send()
        .await
        .map_err(|e| unreachable(e.without_url().to_string()))?;
    let status = response.status();
    let answer: Answer = response
        .json()
        .await
        .map_err(|e| unreachable(format!("{status}: {}", e.without_url())))?;
    match answer.result.filter(|_| answer.ok) {
        Some(me) if me.is_bot && bot_id(token) == Some(me.id) => Ok(Bot {
            id: me.id,
            username: me.username.unwrap_or_else(|| me.id.to_string()),
        }),
        Some(_) => Err(OpsError::Refused(
            "Telegram's answer is not about this bot token; nothing was bought".into(),
        )),
        None if status.as_u16() == 401 || status.as_u16() == 404 => Err(OpsError::Refused(
            "Telegram does not know this bot token (getMe: Unauthorized): copy it again from @BotFather. Nothing was bought.".into(),
        )),
        None => Err(unreachable(format!(
            "{status} {}",
            answer.description.unwrap_or_default()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bots_id_is_the_part_before_the_colon() {
        assert_eq!(bot_id("123456789:AAabc"), Some(123456789));
        assert_eq!(bot_id("nope"), None);
    }
}
