//! A farm host's gateway, served on a forwarded SSH channel: `GET /health`, `GET /readyz`
//! (503 with a body when not ready), and the WebSocket RPC of protocol 4 — the
//! `connect.challenge` event, `connect` with the gateway token, then the methods clawops
//! calls, answered the way OpenClaw 2026.9.6 shapes them.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message as Frame;

use super::{FarmHost, Fault, VERSION};

/// The most a request head may hold.
const HEAD_CAP: usize = 16 << 10;

/// Answers one connection to the gateway port.
pub(super) async fn serve<S>(host: std::sync::Arc<FarmHost>, stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut read, mut write) = tokio::io::split(stream);
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match read.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > HEAD_CAP {
            return;
        }
    }
    if host.behaviour().fault == Fault::GatewayHung {
        // The process holds the port and answers nothing; the client's time limit ends it.
        let mut sink = Vec::new();
        let _ = read.read_to_end(&mut sink).await;
        return;
    }
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    if text.contains("upgrade: websocket") {
        let replay = std::io::Cursor::new(head).chain(read);
        rpc(host, tokio::io::join(replay, write)).await;
        return;
    }
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
    host.delay().await;
    let (status, body) = match path.as_str() {
        "/health" | "/healthz" => ("200 OK", json!({"ok": true, "status": "live"})),
        "/readyz" | "/ready" => {
            let readiness = readiness(&host);
            let ok = readiness["ready"] == Value::Bool(true);
            (
                if ok {
                    "200 OK"
                } else {
                    "503 Service Unavailable"
                },
                readiness,
            )
        }
        _ => ("404 Not Found", json!({"error": "not found"})),
    };
    let body = body.to_string();
    let reply = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = write.write_all(reply.as_bytes()).await;
    let _ = write.shutdown().await;
}

/// `/readyz` as the gateway gives it.
pub(super) fn readiness(host: &FarmHost) -> Value {
    let state = host.lock();
    let fault = state.behaviour.fault;
    let mut failing = Vec::new();
    if fault == Fault::DiskFull {
        failing.push(
            json!({"name": "state-store", "reason": "SQLITE_FULL: database or disk is full"}),
        );
    }
    json!({
        "ready": failing.is_empty(),
        "failing": failing,
        "uptimeMs": state.started.elapsed().as_millis() as u64,
        "eventLoop": {
            "degraded": fault == Fault::DegradedEventLoop,
            "p99Ms": if fault == Fault::DegradedEventLoop { 1450 } else { 4 }
        }
    })
}

/// The WebSocket RPC on an upgraded connection.
async fn rpc<S>(host: std::sync::Arc<FarmHost>, stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let nonce = hex::encode(rand::RngExt::random::<[u8; 16]>(&mut rand::rng()));
    let challenge = json!({"type": "event", "event": "connect.challenge", "payload": {"nonce": nonce, "ts": chrono::Utc::now().timestamp_millis()}});
    if ws
        .send(Frame::Text(challenge.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    let mut signed_in = false;
    while let Some(Ok(frame)) = ws.next().await {
        let Frame::Text(text) = frame else {
            if matches!(frame, Frame::Close(_)) {
                break;
            }
            continue;
        };
        let Ok(req) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        if req["type"] != "req" {
            continue;
        }
        let id = req["id"].clone();
        let method = req["method"].as_str().unwrap_or("").to_string();
        host.delay().await;
        let answer = if method == "connect" {
            let token = host.lock().token.clone();
            let given = req.pointer("/params/auth/token").and_then(Value::as_str);
            if token.is_some() && given == token.as_deref() {
                signed_in = true;
                Ok(hello(&host))
            } else {
                Err(("unauthorized", "gateway token mismatch".to_string()))
            }
        } else if !signed_in {
            Err(("unauthorized", "connect first".to_string()))
        } else {
            host.counters
                .rpc_calls
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            call(&host, &method, &req["params"])
        };
        let frame = match answer {
            Ok(payload) => json!({"type": "res", "id": id, "ok": true, "payload": payload}),
            Err((code, message)) => {
                json!({"type": "res", "id": id, "ok": false, "error": {"code": code, "message": message}})
            }
        };
        if ws
            .send(Frame::Text(frame.to_string().into()))
            .await
            .is_err()
        {
            break;
        }
        if !signed_in {
            break;
        }
    }
    let _ = ws.close(None).await;
}

fn hello(host: &FarmHost) -> Value {
    let boot = host.lock().boot_id.clone();
    json!({
        "type": "hello-ok",
        "protocol": crate::gateway::PROTOCOL,
        "server": {"version": VERSION, "connId": boot},
        "features": {"methods": ["health", "status", "channels.status", "channels.pairing.list",
            "channels.pairing.approve", "channels.pairing.dismiss", "logs.tail", "send"]},
        "snapshot": {"appliedConfigHash": format!("sha256:{}", &boot)},
        "policy": {"maxPayload": 26214400, "tickIntervalMs": 30000}
    })
}

/// One RPC method.
fn call(host: &FarmHost, method: &str, params: &Value) -> Result<Value, (&'static str, String)> {
    let mut state = host.lock();
    let uptime = state.started.elapsed().as_millis() as u64;
    match method {
        "health" => Ok(
            json!({"ok": true, "ts": chrono::Utc::now().timestamp_millis(), "durationMs": 3,
            "channels": {"telegram": {"configured": true, "running": true}}}),
        ),
        "status" => Ok(json!({"runtimeVersion": VERSION, "uptimeMs": uptime})),
        "channels.status" => Ok(json!({
            "channelOrder": ["telegram"],
            "channels": {"telegram": {"configured": true, "running": true}},
            "channelAccounts": {"telegram": [{
                "accountId": "default", "enabled": true, "configured": true,
                "running": true, "connected": true, "lastInboundAt": chrono::Utc::now().timestamp_millis() - 60_000
            }]}
        })),
        "channels.pairing.list" => {
            let pending = state.behaviour.pending_pairing;
            let first = state.decided;
            let now = chrono::Utc::now();
            let requests: Vec<Value> = (0..pending)
                .map(|i| {
                    let n = first + i;
                    json!({
                        "requestId": format!("{}-{n:04}", host.name),
                        "channel": params["channel"].as_str().unwrap_or("telegram"),
                        "accountId": "default",
                        "senderId": format!("{}", 5_000_000 + n),
                        "metadata": {"username": format!("user{n}"), "firstName": "Farm", "lastName": format!("User {n}")},
                        "createdAt": (now - chrono::Duration::minutes(2)).to_rfc3339(),
                        "expiresAt": (now + chrono::Duration::minutes(58)).to_rfc3339(),
                    })
                })
                .collect();
            Ok(json!({"requests": requests}))
        }
        "channels.pairing.approve" | "channels.pairing.dismiss" => {
            let wanted = params["requestId"].as_str().unwrap_or("");
            let first = state.decided;
            let known = (0..state.behaviour.pending_pairing)
                .any(|i| wanted == format!("{}-{:04}", host.name, first + i));
            if !known {
                return Err(("not_found", format!("no pending request {wanted}")));
            }
            state.behaviour.pending_pairing -= 1;
            state.decided += 1;
            if method.ends_with("approve") {
                state.behaviour.end_users += 1;
                Ok(json!({"ok": true, "notification": "sent"}))
            } else {
                Ok(json!({"ok": true}))
            }
        }
        "logs.tail" => {
            let limit = params["limit"].as_u64().unwrap_or(50).min(500);
            let lines: Vec<String> = (0..limit)
                .map(|i| {
                    json!({"time": chrono::Utc::now().to_rfc3339(), "_meta": {"logLevelName": "INFO"},
                        "message": format!("[telegram] poll ok ({i})")})
                    .to_string()
                })
                .collect();
            Ok(json!({"file": "/home/clawops/.openclaw/logs/gateway.log", "lines": lines}))
        }
        "send" => {
            let to = params["to"].as_str().unwrap_or("");
            let message = params["message"].as_str().unwrap_or("");
            if to.is_empty() || message.is_empty() {
                return Err(("invalid_request", "to and message are required".into()));
            }
            state.told.push(format!("{to}: {message}"));
            Ok(json!({"messageId": format!("{}", 100 + state.told.len())}))
        }
        other => Err(("unknown_method", format!("unknown method: {other}"))),
    }
}
