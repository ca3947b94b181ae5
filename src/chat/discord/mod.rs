//! The Discord surface, on serenity: the gateway for events (slash commands, autocomplete,
//! button presses, DMs), REST with serenity's own rate limiter, application commands from
//! the action catalogue, answers deferred when slow, progress edited in place, embeds and
//! attachments, and the postbox the watch posts to Discord ops channels through.
//!
//! Owns every serenity type: nothing platform-specific leaves this module. It decides
//! nothing: the bot and the door do.

pub mod commands;
pub mod out;
pub mod render;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serenity::all::{
    ChannelId, Command, CommandInteraction, ComponentInteraction, Context, CreateAllowedMentions,
    CreateAutocompleteResponse, CreateInteractionResponse, EventHandler, GatewayIntents,
    Interaction, Ready, User,
};
use serenity::builder::Builder;
use serenity::http::{Http, HttpBuilder};
use thiserror::Error;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::out::{ChannelOut, DiscordPostbox, InteractionOut, Kind, OpsChannels, said};
use super::Inbound;
use crate::bot::Bot as Core;
use crate::config::Role;
use crate::config::{DiscordConfig, OpsChannel, Platform};
use crate::ops::grants::with_grant;
use crate::ops::{Actor, Outcome, Risk};

/// Why the Discord surface could not start.
#[derive(Debug, Error)]
pub enum DiscordError {
    #[error("discord.token is missing: set CLAWOPS_DISCORD_TOKEN")]
    NoToken,
    #[error("discord.application_id is not a Discord id")]
    NoApplication,
    #[error(
        "Discord refused the bot token ({0}): copy it again (Developer Portal → Bot → Reset Token)"
    )]
    Token(String),
    #[error(
        "cannot reach Discord ({0}): check this machine's network and DNS; clawops tries again when started again"
    )]
    Unreachable(String),
    #[error("the Discord API cannot be reached through the given root certificate: {0}")]
    Reach(String),
    #[error("the Discord gateway client could not be built: {0}")]
    Client(String),
}

/// Where the Discord API is: Discord itself, or (tests) a server on loopback that holds
/// a certificate for discord.com signed by `root_pem`. Either way every call goes through
/// serenity's rate limiter.
#[derive(Debug, Clone, Default)]
pub enum Reach {
    #[default]
    Discord,
    Loopback {
        addr: SocketAddr,
        root_pem: String,
    },
}

/// The Discord surface.
pub struct Discord {
    shared: Arc<Shared>,
    client: serenity::Client,
}

/// What every event handler shares.
struct Shared {
    core: Core,
    config: Arc<DiscordConfig>,
    /// Strangers already refused (and recorded) once by this process: later refusals
    /// are still answered (Discord wants every interaction answered) but not recorded
    /// again, and a stranger's DMs get one answer.
    refused: Mutex<HashSet<u64>>,
    /// Every event being handled: a stop waits for them.
    tasks: TaskTracker,
}

impl Discord {
    /// A Discord surface for `core` with `config` (token and application id checked).
    pub async fn new(
        core: Core,
        config: DiscordConfig,
        tasks: TaskTracker,
        reach: Reach,
    ) -> Result<Discord, DiscordError> {
        let http = rest(&config, &reach)?;
        let shared = Arc::new(Shared {
            core,
            config: Arc::new(config),
            refused: Mutex::new(HashSet::new()),
            tasks,
        });
        // Only what is needed: guild events for slash commands and presses arrive as
        // interactions anyway; DMs need DIRECT_MESSAGES. No privileged intent.
        let intents = GatewayIntents::GUILDS | GatewayIntents::DIRECT_MESSAGES;
        let client = serenity::all::ClientBuilder::new_with_http(http, intents)
            .event_handler(Handler {
                shared: shared.clone(),
            })
            .await
            .map_err(|e| DiscordError::Client(said(&e)))?;
        Ok(Discord { shared, client })
    }

    /// The ops channels as the watch posts to them: alerts, pairing requests, briefings.
    pub fn postbox(&self) -> DiscordPostbox {
        DiscordPostbox {
            http: self.client.http.clone(),
        }
    }

    /// What sends to `channels` (the Discord ops channels of one feed), each quiet in
    /// its quiet hours.
    pub fn ops_channels(&self, channels: &[&OpsChannel]) -> OpsChannels {
        OpsChannels {
            channels: channels
                .iter()
                .filter_map(|c| {
                    let id = c.chat_id.snowflake()?;
                    Some(
                        ChannelOut::new(self.client.http.clone(), ChannelId::new(id))
                            .quiet_in(c.quiet()),
                    )
                })
                .collect(),
        }
    }

    /// Checks the token, registers the slash commands, then runs the gateway until
    /// shutdown (serenity reconnects by itself).
    pub async fn run(mut self, shutdown: CancellationToken) -> Result<(), DiscordError> {
        let http = self.client.http.clone();
        let me = http.get_current_user().await.map_err(|e| {
            let refused = matches!(
                &e,
                serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r))
                    if r.status_code.as_u16() == 401
            );
            if refused {
                DiscordError::Token(said(&e))
            } else {
                DiscordError::Unreachable(said(&e))
            }
        })?;
        tracing::info!(bot = %me.name, "discord: connected");
        let commands: Vec<_> = commands::slash_commands()
            .iter()
            .map(|c| c.create())
            .collect();
        match Command::set_global_commands(&*http, commands).await {
            Ok(set) => tracing::info!(commands = set.len(), "discord: slash commands registered"),
            Err(e) => {
                tracing::warn!(error = %said(&e), "discord: could not register the slash commands")
            }
        }
        let shards = self.client.shard_manager.clone();
        let stop = shutdown.clone();
        let watcher = tokio::spawn(async move {
            stop.cancelled().await;
            shards.shutdown_all().await;
        });
        let result = tokio::select! {
            r = self.client.start() => r,
            _ = shutdown.cancelled() => Ok(()),
        };
        watcher.abort();
        self.shared.tasks.close();
        if let Err(e) = result {
            tracing::error!(error = %said(&e), "discord: the gateway connection ended");
        }
        Ok(())
    }
}

/// The REST client for `config` at `reach`: serenity's, with its rate limiter, mentions
/// never parsed, and (for a loopback Discord) a client that trusts only its root.
pub fn rest(config: &DiscordConfig, reach: &Reach) -> Result<Http, DiscordError> {
    let token = config.token.clone().ok_or(DiscordError::NoToken)?;
    let app = config
        .application_id
        .snowflake()
        .ok_or(DiscordError::NoApplication)?;
    let mut builder = HttpBuilder::new(&token)
        .application_id(app.into())
        .default_allowed_mentions(CreateAllowedMentions::new());
    if let Reach::Loopback { addr, root_pem } = reach {
        let root = reqwest012::Certificate::from_pem(root_pem.as_bytes())
            .map_err(|e| DiscordError::Reach(e.to_string()))?;
        let client = reqwest012::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(root)
            .resolve("discord.com", *addr)
            .build()
            .map_err(|e| DiscordError::Reach(e.to_string()))?;
        builder = builder.client(client);
    }
    Ok(builder.build())
}

/// Serenity's events, handed to the shared handler on the task tracker.
struct Handler {
    shared: Arc<Shared>,
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        tracing::info!(bot = %ready.user.name, guilds = ready.guilds.len(), "discord: gateway ready");
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let shared = self.shared.clone();
        let http = ctx.http.clone();
        self.shared.tasks.spawn(async move {
            match interaction {
                Interaction::Command(c) => {
                    let role = shared.grant(&c.user, c.member.as_deref());
                    let user = c.user.id.get().to_string();
                    with_grant(Platform::Discord, &user, role, shared.command(http, c)).await
                }
                Interaction::Autocomplete(c) => {
                    let role = shared.grant(&c.user, c.member.as_deref());
                    let user = c.user.id.get().to_string();
                    with_grant(Platform::Discord, &user, role, shared.autocomplete(http, c)).await
                }
                Interaction::Component(c) => {
                    let role = shared.grant(&c.user, c.member.as_ref());
                    let user = c.user.id.get().to_string();
                    with_grant(Platform::Discord, &user, role, shared.press(http, c)).await
                }
                _ => {}
            }
        });
    }

    async fn message(&self, ctx: Context, message: serenity::all::Message) {
        let shared = self.shared.clone();
        let http = ctx.http.clone();
        self.shared.tasks.spawn(async move {
            let actor = actor(&message.author);
            if shared.core.door().role_of(&actor).is_none()
                && !shared.first_refusal(&message.author)
            {
                return;
            }
            let out = ChannelOut::new(http, message.channel_id);
            let inbound = Inbound::Text {
                actor,
                text: message.content.clone(),
            };
            shared.core.handle(inbound, &out).await;
        });
    }
}

impl Shared {
    /// Whether the bot answers where the interaction came from: DMs always, guild
    /// channels when listed.
    fn answers_here(&self, guild: Option<serenity::all::GuildId>, channel: ChannelId) -> bool {
        match guild {
            None => true,
            Some(g) => self.config.answers_in(g.get(), channel.get()),
        }
    }

    /// The role a guild member's roles grant (none in a DM, and none for someone named
    /// in `[[operators]]`, who has their own role).
    fn grant(&self, user: &User, member: Option<&serenity::all::Member>) -> Option<Role> {
        let member = member?;
        let id = user.id.get().to_string();
        let config = &self.core.door().ctx().config;
        if config.role_of(Platform::Discord, &id).is_some() {
            return None;
        }
        let held: Vec<u64> = member.roles.iter().map(|r| r.get()).collect();
        self.config.granted(&held)
    }

    fn first_refusal(&self, user: &User) -> bool {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(user.id.get())
    }

    /// A stranger's interaction: refused where only they see it; recorded once.
    async fn refuse_stranger(&self, out: &InteractionOut, actor: &Actor, what: &str, user: &User) {
        let text = if self.first_refusal(user) {
            match self.core.door().turn_away(actor, what).await {
                Outcome::Refused(m) | Outcome::Failed(m) | Outcome::Done(m) => m.plain(),
                Outcome::Confirm { message, .. } | Outcome::Offer { message, .. } => {
                    message.plain()
                }
            }
        } else {
            NOT_AN_OPERATOR.to_string()
        };
        out.refuse(&text).await;
    }

    async fn command(&self, http: Arc<Http>, c: CommandInteraction) {
        let out = InteractionOut::new(http, c.id, c.token.clone(), Kind::Command, c.channel_id);
        if !self.answers_here(c.guild_id, c.channel_id) {
            out.refuse(ELSEWHERE).await;
            return;
        }
        let actor = actor(&c.user);
        if self.core.door().role_of(&actor).is_none() {
            self.refuse_stranger(&out, &actor, &format!("/{}", c.data.name), &c.user)
                .await;
            return;
        }
        // A change takes its time: "thinking…" at once. A read answers at once, or is
        // deferred if it has said nothing within 2 s.
        let changes = crate::ops::spec(&c.data.name).is_some_and(|s| s.risk != Risk::Read);
        if changes {
            out.defer_now().await;
        }
        let deferral = out.defer_later();
        self.core.handle(command_inbound(&c), out.as_ref()).await;
        deferral.abort();
    }

    /// Offers instance names as an operator types; a stranger, or a channel the bot
    /// does not answer in, is offered nothing.
    async fn autocomplete(&self, http: Arc<Http>, c: CommandInteraction) {
        let actor = actor(&c.user);
        let mut response = CreateAutocompleteResponse::new();
        if self.answers_here(c.guild_id, c.channel_id) && self.core.door().role_of(&actor).is_some()
        {
            let typed = c
                .data
                .autocomplete()
                .map(|o| o.value.to_string())
                .unwrap_or_default();
            let names: Vec<String> = match self.core.door().ctx().store.fleet().await {
                Ok(rows) => rows.into_iter().map(|r| r.name).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "discord: no names to offer");
                    Vec::new()
                }
            };
            for name in commands::suggestions(&names, &typed) {
                response = response.add_string_choice(name.clone(), name);
            }
        }
        if let Err(e) = CreateInteractionResponse::Autocomplete(response)
            .execute(&*http, (c.id, &c.token))
            .await
        {
            tracing::debug!(error = %said(&e), "discord: could not offer names");
        }
    }

    /// A button press: the door decides; a refusal only the presser sees; a decision on
    /// a confirmation edits its message to say who decided and when, and removes the
    /// buttons.
    async fn press(&self, http: Arc<Http>, c: ComponentInteraction) {
        let out = InteractionOut::new(http, c.id, c.token.clone(), Kind::Press, c.channel_id);
        if !self.answers_here(c.guild_id, c.channel_id) {
            out.refuse(ELSEWHERE).await;
            return;
        }
        let actor = actor(&c.user);
        if self.core.door().role_of(&actor).is_none() {
            self.refuse_stranger(&out, &actor, "a button", &c.user)
                .await;
            return;
        }
        let Inbound::Press { data, .. } = press_inbound(&c) else {
            return;
        };
        let deferral = out.defer_later();
        let outcome = self.core.press(&actor, &data, out.as_ref()).await;
        deferral.abort();
        if let Outcome::Refused(m) = &outcome {
            out.refuse(&m.plain()).await;
            return;
        }
        let confirmation = crate::chat::pressed(&data);
        if let Some((confirm, _)) = confirmation {
            let verdict = if confirm { "Confirmed" } else { "Cancelled" };
            let when = chrono::Utc::now().format("%H:%M UTC");
            let decided = format!(
                "\n\n**{verdict} by {} at {when}**",
                render::escape_markdown(&display(&c.user))
            );
            let budget = render::MAX_CONTENT.saturating_sub(decided.chars().count());
            let before: String = c.message.content.chars().take(budget).collect();
            out.decide(&format!("{before}{decided}")).await;
        }
        crate::bot::send_outcome(out.as_ref(), outcome).await;
    }
}

/// What a stranger hears after the first time (nothing about the fleet).
const NOT_AN_OPERATOR: &str = "You are not an operator of this bot.";
/// What an interaction from a channel the bot does not answer in hears.
const ELSEWHERE: &str = "clawops does not answer in this channel: use a DM with the bot, or a channel listed in its [discord] settings.";

/// A slash command as the bot takes it: the action by name with its arguments.
pub fn command_inbound(c: &CommandInteraction) -> Inbound {
    Inbound::Command {
        actor: actor(&c.user),
        name: c.data.name.clone(),
        args: commands::args(&c.data.options),
    }
}

/// A button press as the bot takes it: the button's payload.
pub fn press_inbound(c: &ComponentInteraction) -> Inbound {
    Inbound::Press {
        actor: actor(&c.user),
        data: c.data.custom_id.clone(),
    }
}

/// A DM as the bot takes it (a command line or free text); nothing for a bot's own
/// message, a guild message (guilds use slash commands: no message-content intent) or
/// an empty one.
pub fn dm_inbound(m: &serenity::all::Message) -> Option<Inbound> {
    if m.author.bot || m.guild_id.is_some() || m.content.trim().is_empty() {
        return None;
    }
    Some(Inbound::Text {
        actor: actor(&m.author),
        text: m.content.clone(),
    })
}

fn actor(user: &User) -> Actor {
    Actor::Person {
        platform: Platform::Discord,
        user_id: user.id.get().to_string(),
        display: display(user),
    }
}

fn display(user: &User) -> String {
    match &user.global_name {
        Some(name) => name.clone(),
        None => format!("@{}", user.name),
    }
}

impl std::fmt::Debug for Discord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discord")
            .field("config", &self.shared.config)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::ArgValue;

    fn fixture<T: serde::de::DeserializeOwned>(text: &str) -> T {
        serde_json::from_str(text).expect("serenity reads the fixture")
    }

    #[test]
    fn a_slash_command_from_a_guild_member_becomes_the_catalogue_action() {
        let Interaction::Command(c) = fixture(include_str!("fixtures/slash_deploy.json")) else {
            panic!("not a command")
        };
        assert_eq!(
            c.member.as_ref().unwrap().roles[0].get(),
            1_250_000_000_000_000_001
        );
        let Inbound::Command { actor, name, args } = command_inbound(&c) else {
            panic!()
        };
        assert_eq!(actor.audit_name(), "discord:80351110224678912");
        assert_eq!(name, "deploy");
        assert_eq!(args["name"], ArgValue::Text("alice-bot".into()));
        assert_eq!(args["resume"], ArgValue::Switch(true));
        let action = crate::ops::build(&name, &args).unwrap();
        assert_eq!(
            crate::command::parse("/deploy alice-bot nbg1 --resume").unwrap(),
            action
        );
    }

    #[test]
    fn a_press_in_a_dm_carries_the_buttons_payload_and_a_dm_carries_its_text() {
        let Interaction::Component(c) = fixture(include_str!("fixtures/press_confirm.json")) else {
            panic!("not a press")
        };
        assert_eq!(
            press_inbound(&c),
            Inbound::Press {
                actor: actor(&c.user),
                data: "cf:7f3a9c".into()
            }
        );
        assert!(c.message.content.starts_with("Destroy bob-bot"));
        let mut m: serenity::all::Message = fixture(include_str!("fixtures/dm_message.json"));
        let Some(Inbound::Text { text, .. }) = dm_inbound(&m) else {
            panic!()
        };
        assert_eq!(text, "restart anything degraded");
        m.author.bot = true;
        assert_eq!(dm_inbound(&m), None, "the bot's own messages are not read");
    }

    #[test]
    fn outbound_messages_serialise_as_discord_reads_them() {
        let out = crate::chat::confirmation(
            "7f3a9c".into(),
            crate::chat::Message::text("Destroy *bob-bot*? @everyone"),
        );
        let payload = &out::payloads(&out)[0];
        let json = serde_json::to_value(payload.message_for_test()).unwrap();
        assert_eq!(json["content"], "Destroy \\*bob-bot\\*? @everyone");
        let buttons = &json["components"][0]["components"];
        assert_eq!(buttons[0]["custom_id"], "cf:7f3a9c");
        assert_eq!(buttons[0]["style"], 4, "Confirm is red");
        assert_eq!(buttons[1]["label"], "Cancel");
        let status = crate::chat::Message::default().heading("alice-bot").table(
            &["field", "value"],
            vec![vec!["state".into(), "ready".into()]],
        );
        let json = serde_json::to_value(
            out::payloads(&crate::chat::Outbound::Message(status))[0].message_for_test(),
        )
        .unwrap();
        assert_eq!(json["embeds"][0]["title"], "alice-bot");
    }
}
