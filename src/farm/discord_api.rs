//! A fake Discord on loopback: the REST API over HTTPS (a certificate for discord.com
//! signed by a throwaway root the client is told to trust) and the gateway websocket.
//! Faithful to what Discord checks: the bot token, content at most 2,000 characters,
//! embed and component limits, no empty messages, slash command names and descriptions,
//! an interaction answered once and within 3 s, follow-ups only after an answer, tokens
//! valid 15 minutes, `X-RateLimit-*` headers on every answer and, when told, a 429 with
//! `retry_after`. The gateway says Hello, takes Identify, sends Ready, acknowledges
//! heartbeats and dispatches the events a test queues (slash commands, autocomplete,
//! button presses, DMs). It records every call and keeps every message as it stands.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message as Frame;

/// The bot token the fake accepts.
pub const TOKEN: &str = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GfAkE1.loopback-discord-token-0001";
/// The application (and bot user) id.
pub const APP_ID: u64 = 1_100_000_000_000_000_001;
/// How long an interaction may wait for its first answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(3);
/// How long an interaction's token works.
const TOKEN_LIFE: Duration = Duration::from_secs(15 * 60);

/// One recorded REST call.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// The path after `/api/v10`, e.g. `/channels/5/messages`.
    pub path: String,
    pub body: Value,
    pub status: u16,
    pub at: Instant,
}

/// A message as it stands now.
#[derive(Debug, Clone, Default)]
pub struct Posted {
    pub id: u64,
    pub channel: u64,
    pub content: String,
    pub embeds: Vec<Value>,
    pub components: Vec<Value>,
    /// Uploaded files: name and bytes.
    pub files: Vec<(String, Vec<u8>)>,
    pub ephemeral: bool,
    /// Sent without a notification (quiet hours).
    pub silent: bool,
    /// An interaction's "thinking…" message not yet replaced.
    pub thinking: bool,
    /// The interaction it answers, if any.
    pub interaction: Option<u64>,
    /// The message it replies to.
    pub reply_to: Option<u64>,
    pub edits: u32,
}

impl Posted {
    /// The text a person reads: content and every embed's title and description.
    pub fn text(&self) -> String {
        let mut out = self.content.clone();
        for e in &self.embeds {
            for key in ["title", "description"] {
                if let Some(s) = e[key].as_str() {
                    out.push('\n');
                    out.push_str(s);
                }
            }
        }
        out
    }

    /// The buttons under it: label and custom id.
    pub fn buttons(&self) -> Vec<(String, String)> {
        self.components
            .iter()
            .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
            .map(|b| {
                (
                    b["label"].as_str().unwrap_or_default().to_string(),
                    b["custom_id"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

/// An interaction the fake dispatched.
#[derive(Debug, Clone)]
struct Pending {
    token: String,
    created: Instant,
    answered: bool,
    /// The callback type of its answer (4 message, 5 deferred, 6 ack, 7 update, 8 choices).
    answer: Option<u64>,
    channel: u64,
    /// Its `@original`: the answer's message, or for a press the pressed message.
    original: Option<u64>,
    followups: Vec<u64>,
    choices: Vec<String>,
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    messages: HashMap<u64, Posted>,
    order: Vec<u64>,
    interactions: HashMap<u64, Pending>,
    next_id: u64,
    /// Per path fragment: retry_after seconds of 429s to give instead of answering.
    limits: Vec<(String, f64)>,
    commands: Vec<Value>,
    /// Events for the gateway to dispatch.
    events: VecDeque<Value>,
    identify: Option<Value>,
    ready: bool,
    heartbeats: u32,
}

/// The fake Discord.
#[derive(Clone)]
pub struct FakeDiscord {
    inner: Arc<Mutex<Inner>>,
    events: Arc<Notify>,
    changed: Arc<Notify>,
    /// Where the REST API listens (HTTPS, name discord.com).
    pub addr: SocketAddr,
    /// The root certificate that signed the API's certificate, PEM.
    pub root_pem: String,
    /// The gateway's websocket URL.
    pub gateway: String,
}

impl FakeDiscord {
    /// Starts the API and the gateway on 127.0.0.1, each on a free port.
    pub async fn start() -> FakeDiscord {
        let (root_pem, tls) = certificates();
        let api = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the API");
        let ws = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the gateway");
        let fake = FakeDiscord {
            inner: Arc::new(Mutex::new(Inner {
                next_id: 1_300_000_000_000_000_000,
                ..Inner::default()
            })),
            events: Arc::new(Notify::new()),
            changed: Arc::new(Notify::new()),
            addr: api.local_addr().expect("API address"),
            root_pem,
            gateway: format!("ws://{}", ws.local_addr().expect("gateway address")),
        };
        let app = Router::new().fallback(handle).with_state(fake.clone());
        let listener = TlsListener {
            tcp: api,
            acceptor: tokio_rustls::TlsAcceptor::from(tls),
        };
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let gateway = fake.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = ws.accept().await {
                let fake = gateway.clone();
                tokio::spawn(async move { fake.session(tcp).await });
            }
        });
        fake
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn next_id(&self) -> u64 {
        let mut inner = self.lock();
        inner.next_id += 1;
        inner.next_id
    }

    /// Answers the next calls whose path contains `fragment` with 429 and this
    /// `retry_after` (seconds), once per entry.
    pub fn rate_limit_next(&self, fragment: &str, retry_after: f64) {
        self.lock().limits.push((fragment.to_string(), retry_after));
    }

    /// Every REST call so far whose path contains `fragment`.
    pub fn calls(&self, fragment: &str) -> Vec<Call> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.path.contains(fragment))
            .cloned()
            .collect()
    }

    /// The slash commands registered.
    pub fn commands(&self) -> Vec<Value> {
        self.lock().commands.clone()
    }

    /// What Identify said (token masked), once the bot has identified.
    pub fn identify(&self) -> Option<Value> {
        self.lock().identify.clone()
    }

    /// The messages of `channel`, oldest first, as they stand.
    pub fn messages(&self, channel: u64) -> Vec<Posted> {
        let inner = self.lock();
        inner
            .order
            .iter()
            .filter_map(|id| inner.messages.get(id))
            .filter(|m| m.channel == channel)
            .cloned()
            .collect()
    }

    /// One message as it stands.
    pub fn message(&self, id: u64) -> Option<Posted> {
        self.lock().messages.get(&id).cloned()
    }

    /// The answer type the interaction got (4, 5, 6, 7, 8), if any.
    pub fn answer(&self, interaction: u64) -> Option<u64> {
        self.lock()
            .interactions
            .get(&interaction)
            .and_then(|p| p.answer)
    }

    /// The token of an interaction the fake dispatched.
    pub fn token(&self, interaction: u64) -> Option<String> {
        self.lock()
            .interactions
            .get(&interaction)
            .map(|p| p.token.clone())
    }

    /// The names autocomplete offered for an interaction.
    pub fn choices(&self, interaction: u64) -> Vec<String> {
        self.lock()
            .interactions
            .get(&interaction)
            .map(|p| p.choices.clone())
            .unwrap_or_default()
    }

    /// Where the surface reaches this fake: its address and the root it must trust.
    pub fn reach(&self) -> crate::chat::discord::Reach {
        crate::chat::discord::Reach::Loopback {
            addr: self.addr,
            root_pem: self.root_pem.clone(),
        }
    }

    /// Waits until `check` holds (polled on every change), at most `limit`.
    pub async fn wait_for<T>(
        &self,
        limit: Duration,
        what: &str,
        check: impl Fn(&FakeDiscord) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + limit;
        loop {
            let changed = self.changed.notified();
            if let Some(t) = check(self) {
                return t;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!("waited {limit:?} for {what}");
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), changed).await;
        }
    }

    /// Waits until the bot is connected to the gateway (Ready sent).
    pub async fn wait_ready(&self, limit: Duration) {
        self.wait_for(limit, "the gateway's Ready", |f| {
            f.lock().ready.then_some(())
        })
        .await;
    }

    /// The first message in `channel` whose text contains `needle`, newest first.
    pub fn find(&self, channel: u64, needle: &str) -> Option<Posted> {
        self.messages(channel)
            .into_iter()
            .rev()
            .find(|m| m.text().contains(needle))
    }

    // ---- events a test sends as a person ----

    fn dispatch(&self, kind: &str, data: Value) {
        self.lock().events.push_back(json!({"t": kind, "d": data}));
        self.events.notify_one();
    }

    fn interaction(&self, kind: u64, by: &Person, channel: u64, data: Value, extra: Value) -> u64 {
        let id = self.next_id();
        let token = format!("itoken-{id}");
        self.lock().interactions.insert(
            id,
            Pending {
                token: token.clone(),
                created: Instant::now(),
                answered: false,
                answer: None,
                channel,
                original: None,
                followups: Vec::new(),
                choices: Vec::new(),
            },
        );
        let mut body = json!({
            "id": id.to_string(),
            "application_id": APP_ID.to_string(),
            "type": kind,
            "data": data,
            "channel_id": channel.to_string(),
            "channel": {"id": channel.to_string(), "type": if by.guild.is_some() { 0 } else { 1 }},
            "token": token,
            "version": 1,
            "app_permissions": "0",
            "locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {},
            "attachment_size_limit": 26214400,
        });
        match &by.guild {
            Some((guild, roles)) => {
                body["guild_id"] = json!(guild.to_string());
                body["guild_locale"] = json!("en-US");
                body["context"] = json!(0);
                body["member"] = json!({
                    "user": by.user(),
                    "roles": roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                    "joined_at": "2026-01-01T00:00:00.000000+00:00",
                    "deaf": false,
                    "mute": false,
                    "flags": 0,
                    "pending": false,
                    "permissions": "0",
                });
            }
            None => {
                body["user"] = by.user();
                body["context"] = json!(1);
            }
        }
        if let (Some(obj), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                obj.insert(k.clone(), v.clone());
            }
        }
        let pressed = extra["message"]["id"].as_str().and_then(|s| s.parse().ok());
        if kind == 3
            && let Some(p) = self.lock().interactions.get_mut(&id)
        {
            p.original = pressed;
        }
        self.dispatch("INTERACTION_CREATE", body);
        id
    }

    /// `by` runs `/name` with `options` (`[{"name":…,"type":3,"value":…}]`) in `channel`.
    pub fn slash(&self, by: &Person, channel: u64, name: &str, options: Value) -> u64 {
        let data = json!({"id": "1", "name": name, "type": 1, "options": options});
        self.interaction(2, by, channel, data, json!({}))
    }

    /// `by` types `typed` into option `option` of `/name`.
    pub fn autocomplete(
        &self,
        by: &Person,
        channel: u64,
        name: &str,
        option: &str,
        typed: &str,
    ) -> u64 {
        let data = json!({"id": "1", "name": name, "type": 1, "options": [
            {"name": option, "type": 3, "value": typed, "focused": true}
        ]});
        self.interaction(4, by, channel, data, json!({}))
    }

    /// `by` presses the button `custom_id` under message `message`.
    pub fn press(&self, by: &Person, message: u64, custom_id: &str) -> u64 {
        let posted = self.message(message).expect("the pressed message exists");
        let data = json!({"custom_id": custom_id, "component_type": 2});
        let extra = json!({"message": message_json(&posted, bot_user())});
        self.interaction(3, by, posted.channel, data, extra)
    }

    /// `by` sends `text` to the bot in a DM; returns the DM channel's id.
    pub fn dm(&self, by: &Person, text: &str) -> u64 {
        let channel = by.dm_channel();
        let id = self.next_id();
        let posted = Posted {
            id,
            channel,
            content: text.to_string(),
            ..Posted::default()
        };
        self.dispatch("MESSAGE_CREATE", message_json(&posted, by.user()));
        channel
    }

    // ---- the gateway ----

    async fn session(&self, tcp: TcpStream) {
        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
            return;
        };
        let hello = json!({"op": 10, "d": {"heartbeat_interval": 41250}, "s": null, "t": null});
        if ws.send(Frame::text(hello.to_string())).await.is_err() {
            return;
        }
        let mut seq = 0u64;
        loop {
            let wake = self.events.notified();
            let queued: Vec<Value> = {
                let mut inner = self.lock();
                if inner.ready {
                    inner.events.drain(..).collect()
                } else {
                    Vec::new()
                }
            };
            for mut event in queued {
                seq += 1;
                event["op"] = json!(0);
                event["s"] = json!(seq);
                if ws.send(Frame::text(event.to_string())).await.is_err() {
                    return;
                }
            }
            let frame = tokio::select! {
                f = ws.next() => f,
                _ = wake => continue,
            };
            let Some(Ok(frame)) = frame else { return };
            let text = match frame {
                Frame::Text(t) => t.to_string(),
                Frame::Close(_) => return,
                _ => continue,
            };
            let Ok(payload) = serde_json::from_str::<Value>(&text) else {
                let _ = ws.send(Frame::Close(None)).await;
                return;
            };
            match payload["op"].as_u64() {
                Some(1) => {
                    self.lock().heartbeats += 1;
                    let ack = json!({"op": 11, "d": null, "s": null, "t": null});
                    if ws.send(Frame::text(ack.to_string())).await.is_err() {
                        return;
                    }
                }
                Some(2) => {
                    let token = payload["d"]["token"].as_str().unwrap_or_default();
                    if token.trim_start_matches("Bot ") != TOKEN {
                        // 4004: authentication failed.
                        let close = tokio_tungstenite::tungstenite::protocol::CloseFrame {
                            code: 4004.into(),
                            reason: "Authentication failed.".into(),
                        };
                        let _ = ws.send(Frame::Close(Some(close))).await;
                        return;
                    }
                    seq += 1;
                    let ready = json!({"op": 0, "s": seq, "t": "READY", "d": {
                        "v": 10,
                        "user": bot_user(),
                        "guilds": [],
                        "session_id": "fake-session",
                        "resume_gateway_url": self.gateway,
                        "shard": [0, 1],
                        "application": {"id": APP_ID.to_string(), "flags": 0},
                    }});
                    if ws.send(Frame::text(ready.to_string())).await.is_err() {
                        return;
                    }
                    let mut d = payload["d"].clone();
                    d["token"] = json!("<masked>");
                    let mut inner = self.lock();
                    inner.identify = Some(d);
                    inner.ready = true;
                    drop(inner);
                    self.changed.notify_waiters();
                }
                _ => {}
            }
        }
    }

    // ---- REST ----

    fn record(&self, method: &Method, path: &str, body: &Value, status: u16) {
        self.lock().calls.push(Call {
            method: method.to_string(),
            path: path.to_string(),
            body: body.clone(),
            status,
            at: Instant::now(),
        });
        self.changed.notify_waiters();
    }

    fn take_limit(&self, path: &str) -> Option<f64> {
        let mut inner = self.lock();
        let i = inner
            .limits
            .iter()
            .position(|(f, _)| path.contains(f.as_str()))?;
        Some(inner.limits.remove(i).1)
    }

    fn route(&self, method: &Method, path: &str, headers: &HeaderMap, body: Body) -> Answer {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let bot = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == format!("Bot {TOKEN}"));
        let needs_bot = !matches!(parts.first(), Some(&"interactions") | Some(&"webhooks"));
        if needs_bot && !bot {
            return err(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
        }
        match (method.as_str(), parts.as_slice()) {
            ("GET", ["users", "@me"]) => ok(bot_user()),
            ("GET", ["gateway"]) => ok(json!({"url": self.gateway})),
            ("GET", ["gateway", "bot"]) => ok(json!({
                "url": self.gateway, "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
            })),
            ("PUT", ["applications", app, "commands"]) if *app == APP_ID.to_string() => {
                self.put_commands(&body.json)
            }
            ("POST", ["channels", channel, "messages"]) => {
                let Ok(channel) = channel.parse() else {
                    return err(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
                };
                self.create(channel, &body, None)
            }
            ("PATCH", ["channels", channel, "messages", id]) => {
                let (Ok(channel), Ok(id)) = (channel.parse::<u64>(), id.parse::<u64>()) else {
                    return err(StatusCode::NOT_FOUND, 10008, "Unknown Message");
                };
                if self.message(id).is_none_or(|m| m.channel != channel) {
                    return err(StatusCode::NOT_FOUND, 10008, "Unknown Message");
                }
                self.edit(id, &body)
            }
            ("POST", ["interactions", id, token, "callback"]) => self.callback(id, token, &body),
            ("POST", ["webhooks", app, token]) if *app == APP_ID.to_string() => {
                self.followup(token, &body)
            }
            ("PATCH", ["webhooks", app, token, "messages", id]) if *app == APP_ID.to_string() => {
                self.edit_webhook(token, id, &body)
            }
            ("GET", ["webhooks", app, token, "messages", "@original"])
                if *app == APP_ID.to_string() =>
            {
                match self.pending(token).and_then(|(_, p)| p.original) {
                    Some(id) => ok(message_json(
                        &self.message(id).unwrap_or_default(),
                        bot_user(),
                    )),
                    None => err(StatusCode::NOT_FOUND, 10008, "Unknown Message"),
                }
            }
            _ => err(StatusCode::NOT_FOUND, 0, "404: Not Found"),
        }
    }

    fn put_commands(&self, body: &Value) -> Answer {
        let Some(list) = body.as_array() else {
            return invalid("body", "must be an array of commands");
        };
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.chars().count() <= 32
                && s.chars()
                    .all(|c| c.is_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        };
        let text_ok = |s: &str| (1..=100).contains(&s.chars().count());
        // A command and each of its options: a valid name and a description of 1-100.
        let named = |at: String, v: &Value| -> Option<Answer> {
            if !name_ok(v["name"].as_str().unwrap_or_default()) {
                return Some(invalid(&format!("{at}name"), "Invalid name"));
            }
            if !text_ok(v["description"].as_str().unwrap_or_default()) {
                return Some(invalid(
                    &format!("{at}description"),
                    "Must be between 1 and 100 in length.",
                ));
            }
            None
        };
        for (i, c) in list.iter().enumerate() {
            if let Some(refused) = named(format!("{i}."), c) {
                return refused;
            }
            let options = c["options"].as_array().cloned().unwrap_or_default();
            if options.len() > 25 {
                return invalid(&format!("{i}.options"), "Must be 25 or fewer in length.");
            }
            let mut optional_seen = false;
            for (j, o) in options.iter().enumerate() {
                if let Some(refused) = named(format!("{i}.options.{j}."), o) {
                    return refused;
                }
                let required = o["required"].as_bool().unwrap_or(false);
                if required && optional_seen {
                    return invalid(
                        &format!("{i}.options.{j}.required"),
                        "Required options must be placed before non-required options",
                    );
                }
                optional_seen |= !required;
            }
        }
        let registered: Vec<Value> = list
            .iter()
            .map(|c| {
                let mut c = c.clone();
                c["id"] = json!(self.next_id().to_string());
                c["application_id"] = json!(APP_ID.to_string());
                c["version"] = json!("1");
                c["type"] = json!(c["type"].as_u64().unwrap_or(1));
                c["default_member_permissions"] = json!(null);
                c["nsfw"] = json!(false);
                c
            })
            .collect();
        self.lock().commands = registered.clone();
        ok(json!(registered))
    }

    /// A new message in `channel`, after Discord's checks.
    fn create(&self, channel: u64, body: &Body, interaction: Option<u64>) -> Answer {
        if let Err(a) = check_message(&body.json, &body.files, true) {
            return a;
        }
        let id = self.next_id();
        let flags = body.json["flags"].as_u64().unwrap_or(0);
        let posted = Posted {
            id,
            channel,
            content: body.json["content"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            embeds: array(&body.json["embeds"]),
            components: array(&body.json["components"]),
            files: body.files.clone(),
            ephemeral: flags & 64 != 0,
            silent: flags & 4096 != 0,
            thinking: false,
            interaction,
            reply_to: body.json["message_reference"]["message_id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .or_else(|| body.json["message_reference"]["message_id"].as_u64()),
            edits: 0,
        };
        let answer = ok(message_json(&posted, bot_user()));
        let mut inner = self.lock();
        inner.order.push(id);
        inner.messages.insert(id, posted);
        answer
    }

    fn edit(&self, id: u64, body: &Body) -> Answer {
        if let Err(a) = check_message(&body.json, &body.files, false) {
            return a;
        }
        let mut inner = self.lock();
        let Some(m) = inner.messages.get_mut(&id) else {
            return err(StatusCode::NOT_FOUND, 10008, "Unknown Message");
        };
        if let Some(c) = body.json.get("content") {
            m.content = c.as_str().unwrap_or_default().to_string();
        }
        if let Some(e) = body.json.get("embeds") {
            m.embeds = array(e);
        }
        if let Some(c) = body.json.get("components") {
            m.components = array(c);
        }
        if !body.files.is_empty() {
            m.files = body.files.clone();
        }
        m.thinking = false;
        m.edits += 1;
        ok(message_json(m, bot_user()))
    }

    fn pending(&self, token: &str) -> Option<(u64, Pending)> {
        self.lock()
            .interactions
            .iter()
            .find(|(_, p)| p.token == token)
            .map(|(id, p)| (*id, p.clone()))
    }

    fn callback(&self, id: &str, token: &str, body: &Body) -> Answer {
        let unknown = || err(StatusCode::NOT_FOUND, 10062, "Unknown interaction");
        let Ok(id) = id.parse::<u64>() else {
            return unknown();
        };
        let Some(p) = self.lock().interactions.get(&id).cloned() else {
            return unknown();
        };
        if p.token != token || p.created.elapsed() > ANSWER_WITHIN {
            return unknown();
        }
        if p.answered {
            return err(
                StatusCode::BAD_REQUEST,
                40060,
                "Interaction has already been acknowledged.",
            );
        }
        let kind = body.json["type"].as_u64().unwrap_or(0);
        let data = Body {
            json: body.json["data"].clone(),
            files: body.files.clone(),
        };
        let mut original = p.original;
        let mut choices = Vec::new();
        match kind {
            4 => {
                let answer = self.create(p.channel, &data, Some(id));
                if answer.0 != StatusCode::OK {
                    return answer;
                }
                original = answer.1["id"].as_str().and_then(|s| s.parse().ok());
            }
            5 => {
                let mid = self.next_id();
                let flags = data.json["flags"].as_u64().unwrap_or(0);
                let mut inner = self.lock();
                inner.order.push(mid);
                inner.messages.insert(
                    mid,
                    Posted {
                        id: mid,
                        channel: p.channel,
                        thinking: true,
                        ephemeral: flags & 64 != 0,
                        interaction: Some(id),
                        ..Posted::default()
                    },
                );
                original = Some(mid);
            }
            6 => {}
            7 => {
                let Some(pressed) = p.original else {
                    return invalid("type", "Not a component interaction");
                };
                let answer = self.edit(pressed, &data);
                if answer.0 != StatusCode::OK {
                    return answer;
                }
            }
            8 => {
                let list = array(&data.json["choices"]);
                if list.len() > 25 {
                    return invalid("data.choices", "Must be 25 or fewer in length.");
                }
                choices = list
                    .iter()
                    .map(|c| c["value"].as_str().unwrap_or_default().to_string())
                    .collect();
            }
            _ => return invalid("type", "Value is not a valid interaction callback type"),
        }
        if let Some(p) = self.lock().interactions.get_mut(&id) {
            p.answered = true;
            p.answer = Some(kind);
            p.original = original;
            p.choices = choices;
        }
        Answer(StatusCode::NO_CONTENT, Value::Null)
    }

    fn webhook_interaction(&self, token: &str) -> Result<(u64, Pending), Answer> {
        let Some((id, p)) = self.pending(token) else {
            return Err(err(StatusCode::NOT_FOUND, 10015, "Unknown Webhook"));
        };
        if p.created.elapsed() > TOKEN_LIFE {
            return Err(err(
                StatusCode::UNAUTHORIZED,
                50027,
                "Invalid Webhook Token",
            ));
        }
        if !p.answered {
            return Err(err(StatusCode::NOT_FOUND, 10015, "Unknown Webhook"));
        }
        Ok((id, p))
    }

    fn followup(&self, token: &str, body: &Body) -> Answer {
        let (id, p) = match self.webhook_interaction(token) {
            Ok(x) => x,
            Err(a) => return a,
        };
        let answer = self.create(p.channel, body, Some(id));
        if let Some(mid) = answer.1["id"].as_str().and_then(|s| s.parse().ok())
            && let Some(p) = self.lock().interactions.get_mut(&id)
        {
            p.followups.push(mid);
        }
        answer
    }

    fn edit_webhook(&self, token: &str, which: &str, body: &Body) -> Answer {
        let (_, p) = match self.webhook_interaction(token) {
            Ok(x) => x,
            Err(a) => return a,
        };
        let target = if which == "@original" {
            p.original
        } else {
            which
                .parse::<u64>()
                .ok()
                .filter(|id| p.original == Some(*id) || p.followups.contains(id))
        };
        match target {
            Some(id) => self.edit(id, body),
            None => err(StatusCode::NOT_FOUND, 10008, "Unknown Message"),
        }
    }
}

/// A person on Discord, as the fake sends their events.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: u64,
    pub name: String,
    /// The guild they act in and the roles they hold there; none: a DM.
    pub guild: Option<(u64, Vec<u64>)>,
}

impl Person {
    /// Someone acting in a DM with the bot.
    pub fn new(id: u64, name: &str) -> Person {
        Person {
            id,
            name: name.to_string(),
            guild: None,
        }
    }

    /// The same person acting in `guild`, holding `roles`.
    pub fn in_guild(&self, guild: u64, roles: &[u64]) -> Person {
        Person {
            guild: Some((guild, roles.to_vec())),
            ..self.clone()
        }
    }

    /// The id of their DM channel with the bot.
    pub fn dm_channel(&self) -> u64 {
        self.id + 7
    }

    fn user(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "username": self.name,
            "discriminator": "0",
            "global_name": null,
            "avatar": null,
            "bot": false,
        })
    }
}

fn bot_user() -> Value {
    json!({
        "id": APP_ID.to_string(),
        "username": "clawops",
        "discriminator": "0",
        "global_name": null,
        "avatar": null,
        "bot": true,
    })
}

/// A message as Discord sends it: the bot's, unless `author` says whose.
fn message_json(m: &Posted, author: Value) -> Value {
    let flags = if m.ephemeral { 64 } else { 0 } | if m.thinking { 128 } else { 0 };
    json!({
        "id": m.id.to_string(),
        "channel_id": m.channel.to_string(),
        "author": author,
        "content": m.content,
        "timestamp": "2026-12-05T07:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": m.files.iter().enumerate().map(|(i, (name, bytes))| json!({
            "id": (m.id + 1 + i as u64).to_string(),
            "filename": name,
            "size": bytes.len(),
            "url": format!("https://cdn.discordapp.com/attachments/{}/{}", m.channel, name),
            "proxy_url": format!("https://media.discordapp.net/attachments/{}/{}", m.channel, name),
        })).collect::<Vec<_>>(),
        "embeds": m.embeds,
        "components": m.components,
        "pinned": false,
        "type": 0,
        "flags": flags,
    })
}

fn array(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

/// Discord's checks on a message body; `new`: an empty message is refused.
fn check_message(body: &Value, files: &[(String, Vec<u8>)], new: bool) -> Result<(), Answer> {
    let content = body["content"].as_str().unwrap_or_default();
    if content.chars().count() > 2000 {
        return Err(invalid("content", "Must be 2000 or fewer in length."));
    }
    let embeds = array(&body["embeds"]);
    if embeds.len() > 10 {
        return Err(invalid("embeds", "Must be 10 or fewer in length."));
    }
    let mut total = 0;
    for (i, e) in embeds.iter().enumerate() {
        let title = e["title"].as_str().unwrap_or_default().chars().count();
        let description = e["description"]
            .as_str()
            .unwrap_or_default()
            .chars()
            .count();
        if title > 256 {
            return Err(invalid(
                &format!("embeds.{i}.title"),
                "Must be 256 or fewer in length.",
            ));
        }
        if description > 4096 {
            return Err(invalid(
                &format!("embeds.{i}.description"),
                "Must be 4096 or fewer in length.",
            ));
        }
        total += title + description;
        if let Some(url) = e["image"]["url"].as_str()
            && let Some(name) = url.strip_prefix("attachment://")
            && !files.iter().any(|(f, _)| f == name)
        {
            return Err(invalid(
                &format!("embeds.{i}.image.url"),
                "Not a file of this message.",
            ));
        }
    }
    if total > 6000 {
        return Err(invalid("embeds", "Embed size exceeds maximum size of 6000"));
    }
    let rows = array(&body["components"]);
    if rows.len() > 5 {
        return Err(invalid("components", "Must be 5 or fewer in length."));
    }
    let mut ids = std::collections::HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let buttons = array(&row["components"]);
        if row["type"].as_u64() != Some(1) || buttons.is_empty() || buttons.len() > 5 {
            return Err(invalid(
                &format!("components.{i}"),
                "An action row holds 1 to 5 components.",
            ));
        }
        for (j, b) in buttons.iter().enumerate() {
            let label = b["label"].as_str().unwrap_or_default().chars().count();
            let id = b["custom_id"].as_str().unwrap_or_default();
            if label > 80
                || id.is_empty()
                || id.chars().count() > 100
                || !ids.insert(id.to_string())
            {
                return Err(invalid(
                    &format!("components.{i}.components.{j}"),
                    "Invalid button.",
                ));
            }
        }
    }
    if new && content.is_empty() && embeds.is_empty() && rows.is_empty() && files.is_empty() {
        return Err(err(
            StatusCode::BAD_REQUEST,
            50006,
            "Cannot send an empty message",
        ));
    }
    Ok(())
}

/// A request body: JSON, or multipart with `payload_json` and `files[n]`.
#[derive(Default)]
struct Body {
    json: Value,
    files: Vec<(String, Vec<u8>)>,
}

struct Answer(StatusCode, Value);

fn ok(v: Value) -> Answer {
    Answer(StatusCode::OK, v)
}

fn err(status: StatusCode, code: u64, message: &str) -> Answer {
    Answer(status, json!({"message": message, "code": code}))
}

fn invalid(field: &str, why: &str) -> Answer {
    Answer(
        StatusCode::BAD_REQUEST,
        json!({"message": "Invalid Form Body", "code": 50035,
               "errors": {field: {"_errors": [{"code": "BASE_TYPE_INVALID", "message": why}]}}}),
    )
}

async fn handle(
    State(fake): State<FakeDiscord>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let path = uri
        .path()
        .strip_prefix("/api/v10")
        .unwrap_or(uri.path())
        .to_string();
    let body = read_body(&headers, &bytes).await;
    let bucket = HeaderValue::from_str(&format!("{:x}", fxhash(&path)))
        .unwrap_or(HeaderValue::from_static("0"));
    if let Some(retry_after) = fake.take_limit(&path) {
        fake.record(&method, &path, &body.json, 429);
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(json!({"message": "You are being rate limited.", "retry_after": retry_after, "global": false})),
        )
            .into_response();
        let h = response.headers_mut();
        h.insert("retry-after", HeaderValue::from(retry_after.ceil() as u64));
        h.insert("x-ratelimit-limit", HeaderValue::from_static("5"));
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        h.insert(
            "x-ratelimit-reset-after",
            HeaderValue::from_str(&format!("{retry_after:.3}"))
                .unwrap_or(HeaderValue::from_static("1")),
        );
        h.insert("x-ratelimit-bucket", bucket);
        h.insert("x-ratelimit-scope", HeaderValue::from_static("user"));
        return response;
    }
    let Answer(status, value) = fake.route(&method, &path, &headers, body.clone_json());
    fake.record(&method, &path, &body.json, status.as_u16());
    let mut response = if status == StatusCode::NO_CONTENT {
        status.into_response()
    } else {
        (status, axum::Json(value)).into_response()
    };
    let h = response.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from_static("5"));
    h.insert("x-ratelimit-remaining", HeaderValue::from_static("4"));
    h.insert("x-ratelimit-reset-after", HeaderValue::from_static("1.000"));
    h.insert("x-ratelimit-bucket", bucket);
    response
}

impl Body {
    fn clone_json(&self) -> Body {
        Body {
            json: self.json.clone(),
            files: self.files.clone(),
        }
    }
}

/// Reads a JSON body, or a multipart one (`payload_json` and `files[n]`).
async fn read_body(headers: &HeaderMap, bytes: &Bytes) -> Body {
    let kind = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if !kind.starts_with("multipart/form-data") {
        return Body {
            json: serde_json::from_slice(bytes).unwrap_or(Value::Null),
            files: Vec::new(),
        };
    }
    let Ok(boundary) = multer::parse_boundary(&kind) else {
        return Body::default();
    };
    let stream = futures_util::stream::once(std::future::ready(Ok::<Bytes, std::io::Error>(
        bytes.clone(),
    )));
    let mut form = multer::Multipart::new(stream, boundary);
    let mut body = Body::default();
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_string();
        let file = field.file_name().map(|f| f.to_string());
        let Ok(data) = field.bytes().await else { break };
        if name == "payload_json" {
            body.json = serde_json::from_slice(&data).unwrap_or(Value::Null);
        } else if let Some(file) = file {
            body.files.push((file, data.to_vec()));
        }
    }
    body
}

fn fxhash(s: &str) -> u64 {
    s.bytes()
        .filter(|b| !b.is_ascii_digit())
        .fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100000001b3)
        })
}

/// A throwaway root and a certificate for discord.com signed by it.
fn certificates() -> (String, Arc<rustls::ServerConfig>) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let root_key = KeyPair::generate().expect("a root key");
    let mut root = CertificateParams::new(Vec::<String>::new()).expect("root parameters");
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.distinguished_name
        .push(DnType::CommonName, "clawops loopback test root");
    let root = root.self_signed(&root_key).expect("a root certificate");
    let leaf_key = KeyPair::generate().expect("a key");
    let leaf = CertificateParams::new(vec!["discord.com".to_string()])
        .expect("leaf parameters")
        .signed_by(&leaf_key, &root, &root_key)
        .expect("a certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone()], key)
    .expect("the certificate");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    (root.pem(), Arc::new(config))
}

/// TCP with TLS on top, for axum.
struct TlsListener {
    tcp: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
