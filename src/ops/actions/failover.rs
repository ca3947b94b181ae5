//! Standby failover: `/failover NAME` moves a primary's Telegram channel to its healthy
//! standby (the heal ladder's last step, and the one configuration change the system
//! may make); `/failback NAME` brings it home after a sync; the nightly standby sync puts
//! each active primary's state onto its standby, never its channel; and the fence stops
//! an old primary that was unreachable at the failover the moment a sweep reaches it, so
//! two gateways never poll one bot.

use serde::{Deserialize, Serialize};

use super::{INSTANCE, existing, place, probe_now};
use crate::chat::Message;
use crate::config::Role;
use crate::monitor::HealthState;
use crate::ops::catalogue::{Command, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::{BlastRadius, OpsError};
use crate::remote::Host;
use crate::store::{InstanceRow, InstanceStatus};

/// The secret a bot token is kept under, per instance.
const TOKEN_SECRET: &str = "telegram-token";
/// Kept surface values naming instances to stop as soon as a sweep reaches them.
const FENCE: &str = "fence:";
/// How long stopping an old primary may take (a hung gateway is killed after 30 s).
const STOP_TIME: std::time::Duration = std::time::Duration::from_secs(120);

/// Move a primary's channel to its standby.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failover {
    pub name: String,
}

impl Command for Failover {
    const SPEC: Spec = Spec {
        name: "failover",
        summary: "Move a primary's channel to its healthy standby; the primary is stopped so it cannot poll",
        params: &[INSTANCE],
        risk: Risk::Change,
        role: Role::Operator,
        example: "/failover alice-bot",
    };
}

/// Bring the channel home to an instance that failed over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failback {
    pub name: String,
}

impl Command for Failback {
    const SPEC: Spec = Spec {
        name: "failback",
        summary: "After a failover: sync NAME from the instance holding its channel, then move the channel back to NAME",
        params: &[INSTANCE],
        risk: Risk::Change,
        role: Role::Operator,
        example: "/failback alice-bot",
    };
}

fn refused(s: String) -> OpsError {
    OpsError::Refused(s)
}

/// The host of `row`.
fn host(ctx: &Ctx, row: &InstanceRow) -> Result<std::sync::Arc<dyn Host>, OpsError> {
    let server = row
        .server_id
        .as_deref()
        .ok_or_else(|| refused(format!("{} has no server recorded", row.name)))?;
    Ok(ctx
        .providers
        .get(&row.provider)?
        .host(&row.name, server, row.ipv4.as_deref()))
}

/// The bot token `row` carries: kept sealed in the store, or (a host that keeps it only
/// in its config, as the sim does) read from the config.
async fn token_of(ctx: &Ctx, row: &InstanceRow) -> Result<Option<String>, OpsError> {
    if let Some(sealed) = ctx.store.instance_secret(&row.name, TOKEN_SECRET).await? {
        let purpose = format!("{TOKEN_SECRET}:{}", row.name);
        let token = ctx
            .vault
            .open_text(&purpose, &sealed)
            .map_err(|e| refused(e.to_string()))?;
        crate::secrets::register(&token);
        return Ok(Some(token));
    }
    let config = host(ctx, row)?.config().await.ok();
    Ok(config
        .as_ref()
        .and_then(|c| c.pointer("/channels/telegram/botToken"))
        .and_then(|t| t.as_str())
        .map(str::to_string))
}

/// Keeps `token` sealed as `instance`'s bot token.
pub async fn keep_token(ctx: &Ctx, instance: &str, token: &str) -> Result<(), OpsError> {
    crate::secrets::register(token);
    let purpose = format!("{TOKEN_SECRET}:{instance}");
    let sealed = ctx.vault.seal_text(&purpose, token);
    ctx.store
        .set_instance_secret(instance, TOKEN_SECRET, &sealed, ctx.clock.now())
        .await?;
    Ok(())
}

/// `token` goes to `row`'s gateway, and is kept sealed as its own.
async fn give_channel(
    ctx: &Ctx,
    row: &InstanceRow,
    host: &dyn Host,
    token: &str,
) -> Result<(), OpsError> {
    host.set_config(
        "channels.telegram.botToken",
        serde_json::Value::String(token.to_string()),
    )
    .await?;
    keep_token(ctx, &row.name, token).await
}

/// The channel leaves `row`'s gateway and its kept token is forgotten.
async fn take_channel(ctx: &Ctx, row: &InstanceRow, host: &dyn Host) -> Result<(), OpsError> {
    host.drop_channel().await?;
    ctx.store
        .forget_instance_secret(&row.name, TOKEN_SECRET)
        .await?;
    Ok(())
}

/// `row` probed now must be HEALTHY.
async fn healthy(ctx: &Ctx, row: &InstanceRow, why: &str) -> Result<u8, OpsError> {
    let server = row.server_id.clone().unwrap_or_default();
    let probe = probe_now(ctx, row, &server).await?;
    if probe.state != HealthState::Healthy {
        return Err(refused(format!(
            "{} is {} ({}/100: {}): {why}",
            row.name,
            probe.state.as_str(),
            probe.score,
            probe.why.join(", ")
        )));
    }
    Ok(probe.score)
}

/// The ready standby of primary `row`, or why there is none to fail over to.
async fn ready_standby(ctx: &Ctx, row: &InstanceRow) -> Result<InstanceRow, OpsError> {
    if let Some(of) = &row.standby_of {
        return Err(refused(format!(
            "{} is the standby of {of}: /failover names the primary",
            row.name
        )));
    }
    ctx.store
        .standbys_of(&row.name)
        .await?
        .into_iter()
        .find(|s| s.status == InstanceStatus::Ready)
        .ok_or_else(|| {
            refused(format!(
                "{} has no ready standby (/deploy NAME --standby-for {})",
                row.name, row.name
            ))
        })
}

fn moving_radius(row: &InstanceRow, what: &str) -> BlastRadius {
    BlastRadius {
        instances: vec![(row.name.clone(), place(row))],
        end_users: row.end_users.max(0) as u32,
        reversible: true,
        press: Some(format!("it moves a customer's channel ({what})")),
        details: vec![format!(
            "The bot's end users are answered by the other server from then on; a message sent during the move may wait a few seconds."
        )],
        ..BlastRadius::default()
    }
}

impl Failover {
    /// The instance it holds.
    pub fn held(&self) -> Vec<String> {
        vec![self.name.clone()]
    }

    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        let row = existing(&ctx.store, &self.name).await?;
        // What cannot work is said before anyone is asked.
        let standby = ready_standby(ctx, &row).await?;
        Ok(moving_radius(
            &row,
            &format!("to its standby {}", standby.name),
        ))
    }

    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let primary = existing(&ctx.store, &self.name).await?;
        let standby = ready_standby(ctx, &primary).await?;
        let _standby_held = ctx
            .locks
            .take(
                std::slice::from_ref(&standby.name),
                &format!("/failover {}", self.name),
                ctx.clock.now(),
                ctx.config.safety.busy_wait,
            )
            .await
            .map_err(|busy| refused(busy.to_string()))?;
        healthy(ctx, &standby, "a failover needs a HEALTHY standby").await?;
        let token = token_of(ctx, &primary).await?.ok_or_else(|| {
            refused(format!(
                "{} has no Telegram channel (bot token) to move",
                self.name
            ))
        })?;
        // The primary stops first, where it answers: never two pollers of one bot.
        let old = host(ctx, &primary)?;
        let fenced = matches!(
            tokio::time::timeout(STOP_TIME, old.suspend()).await,
            Ok(Ok(_))
        );
        let new = host(ctx, &standby)?;
        let moved = match give_channel(ctx, &standby, new.as_ref(), &token).await {
            Ok(()) => healthy(ctx, &standby, "it did not take the channel").await,
            Err(e) => Err(e),
        };
        let score = match moved {
            Ok(score) => score,
            Err(e) => {
                // Back as it was: the channel off the standby, then the primary started —
                // only once the standby surely holds no channel.
                let off = take_channel(ctx, &standby, new.as_ref()).await;
                if fenced && off.is_ok() {
                    let _ = old.resume().await;
                }
                let left = match off {
                    Ok(()) => String::new(),
                    Err(off) => format!(
                        "; the channel could not be taken off {} ({off}), so {} stays stopped: check both by hand",
                        standby.name, self.name
                    ),
                };
                return Err(refused(format!(
                    "the failover of {} was undone: {e}{left}",
                    self.name
                )));
            }
        };
        let now = ctx.clock.now();
        ctx.store
            .swap_roles(&standby.name, &primary.name, now)
            .await?;
        ctx.store
            .set_instance_status(&primary.name, InstanceStatus::Suspended, now)
            .await?;
        let stopped = if fenced {
            // A standby runs without a channel: nothing can start it polling again.
            if let Err(e) = take_channel(ctx, &primary, old.as_ref()).await {
                tracing::warn!(instance = %primary.name, error = %e, "the old primary keeps its channel config while stopped");
            }
            format!("{} is stopped and its channel taken off.", primary.name)
        } else {
            ctx.store
                .set_surface_value(&format!("{FENCE}{}", primary.name), &standby.name, now)
                .await?;
            format!(
                "{} did not answer: it is stopped the moment a sweep reaches it.",
                primary.name
            )
        };
        Ok(Message::default()
            .heading(format!(
                "✓ {}'s channel moved to its standby {} (HEALTHY {score}/100)",
                primary.name, standby.name
            ))
            .para(format!(
                "{stopped} {} is the primary now; /failback {} moves the channel home after a sync.",
                standby.name, primary.name
            )))
    }
}

impl Failback {
    pub fn held(&self) -> Vec<String> {
        vec![self.name.clone()]
    }

    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        let row = existing(&ctx.store, &self.name).await?;
        let Some(active) = &row.standby_of else {
            return Err(refused(format!(
                "{} holds its own channel: there is nothing to fail back",
                self.name
            )));
        };
        Ok(moving_radius(
            &row,
            &format!("home from {active}, after a sync"),
        ))
    }

    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let home = existing(&ctx.store, &self.name).await?;
        let Some(active) = home.standby_of.clone() else {
            return Err(refused(format!(
                "{} holds its own channel: there is nothing to fail back",
                self.name
            )));
        };
        let active = existing(&ctx.store, &active).await?;
        let token = token_of(ctx, &active)
            .await?
            .ok_or_else(|| refused(format!("{} has no channel to give back", active.name)))?;
        let here = host(ctx, &home)?;
        let there = host(ctx, &active)?;
        // Home gets the latest state first, with no channel of its own while it starts.
        take_channel(ctx, &home, here.as_ref()).await?;
        sync_one(ctx, &active, there.as_ref(), here.as_ref()).await?;
        let now = ctx.clock.now();
        ctx.store
            .set_instance_status(&home.name, InstanceStatus::Ready, now)
            .await?;
        ctx.store
            .clear_surface_value(&format!("{FENCE}{}", home.name))
            .await?;
        healthy(ctx, &home, "the failback waits until it is").await?;
        take_channel(ctx, &active, there.as_ref()).await?;
        let moved = match give_channel(ctx, &home, here.as_ref(), &token).await {
            Ok(()) => healthy(ctx, &home, "it did not take the channel").await,
            Err(e) => Err(e),
        };
        if let Err(e) = moved {
            // Back to the holder only once home surely holds no channel.
            if take_channel(ctx, &home, here.as_ref()).await.is_ok() {
                let _ = give_channel(ctx, &active, there.as_ref(), &token).await;
            }
            return Err(refused(format!(
                "the channel stays on {}: {e}",
                active.name
            )));
        }
        ctx.store
            .swap_roles(&home.name, &active.name, ctx.clock.now())
            .await?;
        Ok(Message::default()
            .heading(format!("✓ {}'s channel is home", home.name))
            .para(format!(
                "{} was synced from {} and polls its bot again; {} is its standby, without a channel.",
                home.name, active.name, active.name
            )))
    }
}

/// `from`'s latest state onto `to`, which keeps its own gateway settings and no channel.
async fn sync_one(
    ctx: &Ctx,
    from: &InstanceRow,
    from_host: &dyn Host,
    to_host: &dyn Host,
) -> Result<(), OpsError> {
    let (kept, _) = crate::ops::backups::take(ctx, &from.name, from_host).await?;
    let (_, archive) = crate::ops::backups::load(ctx, kept.id as u64).await?;
    to_host.restore(&archive).await?;
    Ok(())
}

/// The nightly standby sync: each ready standby whose primary is ready and HEALTHY gets
/// its primary's latest state (a primary that is down is not copied over its standby).
pub async fn sync_all(ctx: &Ctx) -> Result<String, String> {
    let fleet = ctx.store.fleet().await.map_err(|e| e.to_string())?;
    let mut synced = 0;
    let mut failed = Vec::new();
    let mut skipped = Vec::new();
    for standby in fleet.iter().filter(|r| r.status == InstanceStatus::Ready) {
        let Some(of) = &standby.standby_of else {
            continue;
        };
        let Some(primary) = fleet.iter().find(|r| &r.name == of) else {
            continue;
        };
        if primary.status != InstanceStatus::Ready
            || primary.health.as_deref() == Some(HealthState::Offline.as_str())
            || primary.health.as_deref() == Some(HealthState::Unreachable.as_str())
        {
            skipped.push(standby.name.clone());
            continue;
        }
        let pair = [primary.name.clone(), standby.name.clone()];
        let Ok(_held) = ctx.locks.try_take(&pair, "standby-sync", ctx.clock.now()) else {
            skipped.push(standby.name.clone());
            continue;
        };
        let done = async {
            let from = host(ctx, primary)?;
            let to = host(ctx, standby)?;
            sync_one(ctx, primary, from.as_ref(), to.as_ref()).await
        };
        match done.await {
            Ok(()) => synced += 1,
            Err(e) => failed.push(format!("{}: {e}", standby.name)),
        }
    }
    let mut said = match synced {
        1 => "1 standby synced".to_string(),
        n => format!("{n} standbys synced"),
    };
    if !skipped.is_empty() {
        said.push_str(&format!(
            "; skipped while their primary is down: {}",
            skipped.join(", ")
        ));
    }
    if failed.is_empty() {
        Ok(said)
    } else {
        Err(format!("{said}; failed: {}", failed.join("; ")))
    }
}

/// The fence: an old primary that did not answer at its failover is stopped as soon as
/// it answers (each sweep tries).
pub async fn fence(ctx: &Ctx) {
    let Ok(fenced) = ctx.store.surface_values(FENCE).await else {
        return;
    };
    for (key, _) in fenced {
        let name = key.trim_start_matches(FENCE);
        let Ok(Some(row)) = ctx.store.instance(name).await else {
            let _ = ctx.store.clear_surface_value(&key).await;
            continue;
        };
        let Ok(old) = host(ctx, &row) else {
            continue;
        };
        if let Ok(Ok(_)) = tokio::time::timeout(STOP_TIME, old.suspend()).await {
            tracing::info!(instance = %name, "fenced: the old primary is stopped");
            if take_channel(ctx, &row, old.as_ref()).await.is_ok() {
                let _ = ctx.store.clear_surface_value(&key).await;
            }
        }
    }
}
