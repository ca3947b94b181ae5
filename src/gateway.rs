//! Talking to a running OpenClaw gateway: its HTTP probes (`/health`, `/readyz`) and its
//! WebSocket RPC (protocol 4: `connect.challenge` event → `connect` request with the
//! gateway token → `{type:"req"}` / `{type:"res"}` frames), with typed requests and
//! replies for what clawops reads often: health, status, log tail, config, pairing.
//!
//! Reached through an SSH tunnel to the gateway's loopback port; the address given here is
//! the local end of that tunnel. Owns no state.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use thiserror::Error;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The protocol version clawops speaks.
pub const PROTOCOL: u32 = 4;
/// How long one HTTP probe or RPC call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// Why the gateway could not be asked.
#[derive(Debug, Error)]
pub enum GatewayError {
    #[error("the gateway does not answer at {addr}: {detail}")]
    Down { addr: String, detail: String },
    #[error("the gateway refused the connection: {0} (is the gateway token right?)")]
    Refused(String),
    #[error("the gateway answered {method} with an error: {message}")]
    Call { method: String, message: String },
    #[error("the gateway's reply to {method} cannot be read: {detail}")]
    Reply { method: String, detail: String },
    #[error("the gateway did not answer {what} within {secs}s")]
    Timeout { what: String, secs: u64 },
}

/// `GET /readyz`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    pub ready: bool,
    #[serde(default)]
    pub failing: Vec<Value>,
    #[serde(default)]
    pub uptime_ms: Option<u64>,
    #[serde(default)]
    pub event_loop: Option<EventLoop>,
}

/// `/readyz`'s view of the gateway's event loop.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EventLoop {
    #[serde(default)]
    pub degraded: bool,
}

/// The channel accounts `channels.status` shows stopped: every object in the reply with a
/// boolean `running` (an account, under `channelAccounts`, or a channel under `channels`)
/// that is enabled and configured but not running, or whose lifecycle says it stopped or
/// failed, as `channel:account`. `connected` is not used: a polling Telegram account says
/// `connected: false` while it starts, and long polling holds no connection between polls.
/// Whether a channel's last error is one only a person can clear (a logged-out session to
/// scan again, a revoked bot token): a restart would only loop. Returns the short why.
pub fn needs_a_person(error: &str) -> Option<&'static str> {
    let e = error.to_ascii_lowercase();
    if e.contains("logged out") || e.contains("logout") || e.contains("qr") {
        Some("logged out: scan the QR code again")
    } else if e.contains("401") || e.contains("unauthorized") || e.contains("revoked") {
        Some("the bot token is refused: give a new one with /config")
    } else {
        None
    }
}

/// The newest `lastInboundAt` of any account in a `channels.status` answer (epoch
/// milliseconds, or an RFC 3339 time).
pub fn last_inbound(status: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    fn walk(v: &Value, newest: &mut Option<chrono::DateTime<chrono::Utc>>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    if k == "lastInboundAt" {
                        let at = match child {
                            Value::Number(n) => {
                                n.as_i64().and_then(chrono::DateTime::from_timestamp_millis)
                            }
                            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                                .ok()
                                .map(|t| t.with_timezone(&chrono::Utc)),
                            _ => None,
                        };
                        if at > *newest {
                            *newest = at;
                        }
                    } else {
                        walk(child, newest);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, newest)),
            _ => {}
        }
    }
    let mut newest = None;
    walk(status, &mut newest);
    newest
}

pub fn stopped_channels(status: &Value) -> Vec<String> {
    fn walk(v: &Value, parent: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(running) = map.get("running").and_then(Value::as_bool) {
                    let enabled = map.get("enabled").and_then(Value::as_bool) != Some(false)
                        && map.get("configured").and_then(Value::as_bool) != Some(false);
                    let broken = map
                        .get("lifecycle")
                        .and_then(Value::as_str)
                        .is_some_and(|l| matches!(l, "stopped" | "error" | "failed" | "crashed"));
                    if enabled && (!running || broken) {
                        let channel = map.get("channel").and_then(Value::as_str).unwrap_or(parent);
                        let account = map
                            .get("accountId")
                            .and_then(Value::as_str)
                            .unwrap_or("default");
                        let human = map
                            .get("lastError")
                            .and_then(Value::as_str)
                            .and_then(needs_a_person);
                        match human {
                            Some(why) => {
                                out.push(format!("{channel}:{account} (needs a person: {why})"))
                            }
                            None => out.push(format!("{channel}:{account}")),
                        }
                    }
                    return;
                }
                for (k, child) in map {
                    let name = if matches!(k.as_str(), "accounts" | "channels" | "channelAccounts")
                    {
                        parent
                    } else {
                        k.as_str()
                    };
                    walk(child, name, out);
                }
            }
            Value::Array(items) => {
                for item in items {
                    walk(item, parent, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(status, "channel", &mut out);
    out.sort();
    out.dedup();
    out
}

/// Both HTTP probes at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// `/health` answered `{ok:true}`.
    pub live: bool,
    /// `/readyz`, when it answered.
    pub readiness: Option<Readiness>,
}

/// How long one probe request (`/health`, `/readyz`) may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The most a probe reply may hold.
const PROBE_BODY_CAP: usize = 64 << 10;
/// The most one RPC frame may hold (a config, a log tail).
const FRAME_CAP: usize = 8 << 20;

/// Asks `/health` and `/readyz` of the gateway at `addr` (host:port).
pub async fn probe(addr: &str) -> Probe {
    let Ok(client) = http_client() else {
        return Probe {
            live: false,
            readiness: None,
        };
    };
    let Ok(health) = http_get(&client, addr, "/health").await else {
        // A gateway that does not answer at all (down, or hung) has no readiness to ask.
        return Probe {
            live: false,
            readiness: None,
        };
    };
    let live = serde_json::from_slice::<Value>(&health)
        .ok()
        .is_some_and(|v| v.get("ok") == Some(&Value::Bool(true)));
    let readiness = http_get(&client, addr, "/readyz")
        .await
        .ok()
        .and_then(|body| serde_json::from_slice::<Readiness>(&body).ok());
    Probe { live, readiness }
}

/// A plain-HTTP client for the tunnel's local end: no proxy (the address is loopback),
/// no redirects, a time limit on every request.
/// Made once and shared (it keeps connections to nothing: every tunnel is new).
fn http_client() -> Result<reqwest::Client, GatewayError> {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client.clone());
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(CALL_TIMEOUT)
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| GatewayError::Down {
            addr: "127.0.0.1".into(),
            detail: format!("no HTTP client: {e}"),
        })?;
    Ok(CLIENT.get_or_init(|| client).clone())
}

/// `GET path` from the gateway at `addr`; the body, read up to [`PROBE_BODY_CAP`] bytes
/// (any status: `/readyz` answers 503 with a body when not ready).
async fn http_get(
    client: &reqwest::Client,
    addr: &str,
    path: &str,
) -> Result<Vec<u8>, GatewayError> {
    let down = |detail: String| GatewayError::Down {
        addr: addr.to_string(),
        detail,
    };
    let mut reply = client
        .get(format!("http://{addr}{path}"))
        // A live gateway answers in milliseconds; a hung one must read as such well
        // within a sweep's probe deadline.
        .timeout(PROBE_TIMEOUT)
        .header("accept", "application/json")
        // One request per connection: a kept-alive connection through the tunnel would
        // hold up the gateway's drain when it stops.
        .header(reqwest::header::CONNECTION, "close")
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                GatewayError::Timeout {
                    what: path.into(),
                    secs: PROBE_TIMEOUT.as_secs(),
                }
            } else {
                down(e.to_string())
            }
        })?;
    let mut body = Vec::new();
    while let Some(chunk) = reply.chunk().await.map_err(|e| down(e.to_string()))? {
        if body.len() + chunk.len() > PROBE_BODY_CAP {
            return Err(down(format!(
                "{path} answered more than {PROBE_BODY_CAP} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `health` over RPC (the fields clawops reads).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Health {
    pub ok: bool,
    #[serde(default)]
    pub channels: Value,
}

/// `status` over RPC.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    #[serde(default)]
    pub runtime_version: Option<String>,
}

/// `logs.tail`: the newest lines of the gateway's log file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct LogTail {
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub lines: Vec<String>,
}

/// One line of the gateway's JSON log, readable.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub time: String,
    pub level: String,
    pub message: String,
}

impl LogTail {
    /// The lines as time, level and message (raw text when a line is not JSON).
    pub fn parsed(&self) -> Vec<LogLine> {
        self.lines.iter().map(|l| parse_log_line(l)).collect()
    }
}

fn parse_log_line(line: &str) -> LogLine {
    // Only a JSON object is a log record; anything else (plain text, or a bare `0` or
    // `"done"` a process printed) is kept as written.
    let Some(v) = serde_json::from_str::<Value>(line)
        .ok()
        .filter(Value::is_object)
    else {
        return LogLine {
            time: String::new(),
            level: String::new(),
            message: line.to_string(),
        };
    };
    let text = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut message = text("/message");
    if message.is_empty() {
        message = text("/2");
    }
    LogLine {
        time: text("/time"),
        level: text("/_meta/logLevelName"),
        message,
    }
}

/// One pending pairing request (an end user asking to talk to the bot).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PairingRequest {
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub sender_id: Option<String>,
    /// What the channel told of the sender (Telegram: username, firstName, lastName).
    #[serde(default)]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub created_at: Option<Value>,
    #[serde(default)]
    pub expires_at: Option<Value>,
}

impl PairingRequest {
    /// The request as clawops keeps it; `None` without the id the gateway acts on.
    pub fn seen(&self) -> Option<crate::store::SeenRequest> {
        let meta = self.metadata.as_ref();
        let text = |k: &str| {
            meta.and_then(|m| m.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let full: Vec<String> = [text("firstName"), text("lastName")]
            .into_iter()
            .flatten()
            .collect();
        let name = match (text("username"), full.is_empty()) {
            (Some(u), false) => Some(format!("{} (@{u})", full.join(" "))),
            (Some(u), true) => Some(format!("@{u}")),
            (None, false) => Some(full.join(" ")),
            (None, true) => None,
        };
        let time = |v: &Option<Value>| match v {
            Some(Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| crate::store::ts(t.with_timezone(&chrono::Utc))),
            Some(Value::Number(n)) => n
                .as_i64()
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(crate::store::ts),
            _ => None,
        };
        Some(crate::store::SeenRequest {
            request_id: self.request_id.clone()?,
            account: self.account_id.clone().unwrap_or_else(|| "default".into()),
            sender_id: self.sender_id.clone(),
            sender_name: name,
            created_at: time(&self.created_at),
            expires_at: time(&self.expires_at),
        })
    }
}

/// `channels.pairing.list`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct PairingList {
    #[serde(default)]
    pub requests: Vec<PairingRequest>,
}

/// `config.get` (the parts clawops reads).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConfigSnapshot {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub valid: Option<bool>,
    /// The config as written (what `/config get` shows, secrets masked).
    #[serde(default)]
    pub source_config: Value,
    /// The config the gateway runs with, defaults included.
    #[serde(default)]
    pub runtime_config: Value,
}

/// A connected, authenticated RPC session.
pub struct Rpc {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next: u64,
    /// The gateway's version, from its hello.
    pub server_version: Option<String>,
    /// The revision of the config the running gateway applied (an opaque hash, only
    /// comparable with itself), from its hello.
    pub config_rev: Option<String>,
}

impl std::fmt::Debug for Rpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rpc(gateway {:?})", self.server_version)
    }
}

impl Rpc {
    /// Connects to `ws://addr` and signs in as an operator with the gateway token.
    pub async fn connect(addr: &str, token: &str) -> Result<Rpc, GatewayError> {
        let url = format!("ws://{addr}");
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(FRAME_CAP))
            .max_frame_size(Some(FRAME_CAP));
        let connecting =
            tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true);
        let (ws, _) = tokio::time::timeout(CALL_TIMEOUT, connecting)
            .await
            .map_err(|_| GatewayError::Timeout {
                what: "the WebSocket connect".into(),
                secs: CALL_TIMEOUT.as_secs(),
            })?
            .map_err(|e| GatewayError::Down {
                addr: addr.to_string(),
                detail: e.to_string(),
            })?;
        let mut rpc = Rpc {
            ws,
            next: 0,
            server_version: None,
            config_rev: None,
        };
        rpc.wait_challenge().await?;
        let hello = rpc
            .call_value(
                "connect",
                json!({
                    "minProtocol": PROTOCOL,
                    "maxProtocol": PROTOCOL,
                    "client": {
                        "id": "cli",
                        "version": env!("CARGO_PKG_VERSION"),
                        "platform": "linux",
                        "mode": "cli"
                    },
                    "role": "operator",
                    "scopes": ["operator.read", "operator.write", "operator.admin", "operator.pairing"],
                    "caps": [],
                    "auth": { "token": token },
                    "userAgent": concat!("clawops/", env!("CARGO_PKG_VERSION")),
                }),
            )
            .await
            .map_err(|e| match e {
                GatewayError::Call { message, .. } => GatewayError::Refused(message),
                other => other,
            })?;
        rpc.server_version = hello
            .pointer("/server/version")
            .and_then(Value::as_str)
            .map(str::to_string);
        rpc.config_rev = hello
            .pointer("/snapshot/appliedConfigHash")
            .and_then(Value::as_str)
            .map(|h| h.rsplit(':').next().unwrap_or(h).chars().take(12).collect());
        Ok(rpc)
    }

    async fn wait_challenge(&mut self) -> Result<(), GatewayError> {
        let waiting = async {
            while let Some(frame) = self.ws.next().await {
                let frame = frame.map_err(|e| GatewayError::Refused(e.to_string()))?;
                if let Some(v) = json_frame(&frame)
                    && v["type"] == "event"
                    && v["event"] == "connect.challenge"
                {
                    return Ok(());
                }
            }
            Err(GatewayError::Refused("closed before the challenge".into()))
        };
        tokio::time::timeout(CALL_TIMEOUT, waiting)
            .await
            .map_err(|_| GatewayError::Timeout {
                what: "the connect challenge".into(),
                secs: CALL_TIMEOUT.as_secs(),
            })?
    }

    /// Calls `method` and returns its raw payload.
    pub async fn call_value(&mut self, method: &str, params: Value) -> Result<Value, GatewayError> {
        self.next += 1;
        let id = format!("c{}", self.next);
        let frame = json!({"type": "req", "id": id, "method": method, "params": params});
        let broken = |e: tokio_tungstenite::tungstenite::Error| GatewayError::Down {
            addr: "rpc".into(),
            detail: e.to_string(),
        };
        self.ws
            .send(Frame::Text(frame.to_string().into()))
            .await
            .map_err(broken)?;
        let waiting = async {
            while let Some(frame) = self.ws.next().await {
                let frame = frame.map_err(broken)?;
                let Some(v) = json_frame(&frame) else {
                    continue;
                };
                if v["type"] != "res" || v["id"] != Value::String(id.clone()) {
                    continue;
                }
                if v["ok"] == Value::Bool(true) {
                    return Ok(v.get("payload").cloned().unwrap_or(Value::Null));
                }
                let message = v
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error")
                    .to_string();
                return Err(GatewayError::Call {
                    method: method.to_string(),
                    message,
                });
            }
            Err(GatewayError::Down {
                addr: "rpc".into(),
                detail: "the gateway closed the connection".into(),
            })
        };
        tokio::time::timeout(CALL_TIMEOUT, waiting)
            .await
            .map_err(|_| GatewayError::Timeout {
                what: method.to_string(),
                secs: CALL_TIMEOUT.as_secs(),
            })?
    }

    /// Calls `method` and reads its payload as `T`.
    pub async fn call<T: DeserializeOwned>(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<T, GatewayError> {
        let v = self.call_value(method, params).await?;
        serde_json::from_value(v).map_err(|e| GatewayError::Reply {
            method: method.to_string(),
            detail: e.to_string(),
        })
    }

    pub async fn health(&mut self) -> Result<Health, GatewayError> {
        self.call("health", json!({})).await
    }

    pub async fn status(&mut self) -> Result<Status, GatewayError> {
        self.call("status", json!({})).await
    }

    /// The newest `limit` lines of the gateway's log.
    pub async fn logs_tail(&mut self, limit: u32) -> Result<LogTail, GatewayError> {
        self.call("logs.tail", json!({ "limit": limit })).await
    }

    pub async fn config(&mut self) -> Result<ConfigSnapshot, GatewayError> {
        self.call("config.get", json!({})).await
    }

    /// Pending pairing requests on `channel`.
    /// `channels.status`: each channel account's state, as the gateway gives it.
    pub async fn channels_status(&mut self) -> Result<Value, GatewayError> {
        self.call_value("channels.status", serde_json::json!({}))
            .await
    }

    pub async fn pairing_list(&mut self, channel: &str) -> Result<PairingList, GatewayError> {
        self.call("channels.pairing.list", json!({ "channel": channel }))
            .await
    }

    /// `channels.pairing.approve`, with the gateway telling the requester (`notify`) and,
    /// as the CLI's `pairing approve` does, making the first approved sender the bot's
    /// command owner when it has none (`bootstrapCommandOwner`; needs the admin scope).
    pub async fn pairing_approve(
        &mut self,
        channel: &str,
        account: &str,
        request: &str,
    ) -> Result<Value, GatewayError> {
        self.call_value(
            "channels.pairing.approve",
            json!({
                "channel": channel, "accountId": account, "requestId": request,
                "notify": true, "bootstrapCommandOwner": true
            }),
        )
        .await
    }

    /// `channels.pairing.dismiss`.
    pub async fn pairing_dismiss(
        &mut self,
        channel: &str,
        account: &str,
        request: &str,
    ) -> Result<Value, GatewayError> {
        self.call_value(
            "channels.pairing.dismiss",
            json!({ "channel": channel, "accountId": account, "requestId": request }),
        )
        .await
    }

    /// `send`: a message from the bot to `to` (a sender id) on `channel`, outside any
    /// chat run. `key` makes a retry deliver once.
    pub async fn send(
        &mut self,
        channel: &str,
        to: &str,
        message: &str,
        key: &str,
    ) -> Result<Value, GatewayError> {
        self.call_value(
            "send",
            json!({ "channel": channel, "to": to, "message": message, "idempotencyKey": key }),
        )
        .await
    }

    /// Closes the session politely.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

fn json_frame(frame: &Frame) -> Option<Value> {
    match frame {
        Frame::Text(t) => serde_json::from_str(t.as_str()).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_channel_account_that_stopped_is_named() {
        use serde_json::json;
        // The shape OpenClaw 2026.9.6 gives (trimmed): a polling account that is starting
        // is fine; one that stopped, or whose lifecycle failed, is named.
        let status = json!({
            "channelAccounts": {
                "telegram": [
                    {"accountId": "default", "enabled": true, "configured": true, "running": true, "connected": false, "lifecycle": "starting"},
                    {"accountId": "support", "enabled": true, "configured": true, "running": true, "lifecycle": "error"}
                ],
                "discord": [{"accountId": "default", "running": false}],
                "slack": [{"accountId": "default", "running": false, "enabled": false}]
            },
            "channels": {"telegram": {"configured": true, "running": true, "mode": "polling"}},
            "eventLoop": {"degraded": true}
        });
        assert_eq!(
            super::stopped_channels(&status),
            ["discord:default", "telegram:support"]
        );
        assert!(super::stopped_channels(&json!({"channels": {}})).is_empty());
        let flat = json!([{"channel": "telegram", "accountId": "a", "running": false}]);
        assert_eq!(super::stopped_channels(&flat), ["telegram:a"]);
    }
    use super::*;

    #[test]
    fn a_stopped_channel_only_a_person_can_mend_says_so() {
        use serde_json::json;
        let status = json!({"channelAccounts": {
            "whatsapp": [{"accountId": "default", "running": false, "lastError": "Connection Failure: logged out"}],
            "telegram": [{"accountId": "default", "running": false, "lastError": "Call to 'getMe' failed! (401: Unauthorized)"}],
            "discord": [{"accountId": "default", "running": false, "lastError": "socket hang up"}]
        }});
        assert_eq!(
            stopped_channels(&status),
            [
                "discord:default",
                "telegram:default (needs a person: the bot token is refused: give a new one with /config)",
                "whatsapp:default (needs a person: logged out: scan the QR code again)"
            ]
        );
    }

    #[test]
    fn log_lines_are_read_from_the_gateway_json() {
        let line = r#"{"0":"{\"subsystem\":\"gateway\"}","2":"listening","_meta":{"logLevelName":"INFO"},"time":"2026-11-23T07:46:06.877+00:00","message":"listening on 127.0.0.1:18789"}"#;
        let l = parse_log_line(line);
        assert_eq!(l.level, "INFO");
        assert_eq!(l.message, "listening on 127.0.0.1:18789");
        assert_eq!(parse_log_line("plain text").message, "plain text");
    }
}
