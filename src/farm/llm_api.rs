//! A fake OpenAI-compatible chat-completions endpoint on loopback: plays scripted replies
//! (tool calls, then a final answer) and records every request body. It checks what a
//! real endpoint rejects: a missing bearer key, a body without `model` or `messages`, and
//! a tool message whose `tool_call_id` answers no earlier tool call.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub const KEY: &str = "sk-fakekeyforloopbacktests0123456789";

/// What the fake answers next.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Tool calls: (name, JSON arguments as the model writes them).
    Tools(Vec<(String, String)>),
    /// A final answer.
    Text(String),
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Reply>,
    /// Played when the script is empty (None: a final "Done.").
    forever: Option<Reply>,
    requests: Vec<Value>,
    calls: u64,
}

/// The fake endpoint.
#[derive(Clone)]
pub struct FakeLlm {
    inner: Arc<Mutex<Inner>>,
    /// The base URL to configure (`…/v1`).
    pub base_url: String,
}

impl FakeLlm {
    /// Starts the fake on 127.0.0.1 on a free port.
    pub async fn start() -> FakeLlm {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/v1/chat/completions", axum::routing::post(complete))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeLlm { inner, base_url }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends replies to the script.
    pub fn script(&self, replies: Vec<Reply>) {
        self.lock().script.extend(replies);
    }

    /// Plays `reply` whenever the script is empty.
    pub fn forever(&self, reply: Reply) {
        self.lock().forever = Some(reply);
    }

    /// Every request body so far.
    pub fn requests(&self) -> Vec<Value> {
        self.lock().requests.clone()
    }
}

/// A tool-call reply for the script.
pub fn tools(calls: &[(&str, &str)]) -> Reply {
    Reply::Tools(
        calls
            .iter()
            .map(|(n, a)| (n.to_string(), a.to_string()))
            .collect(),
    )
}

async fn complete(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Bearer {KEY}") {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}))).into_response();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    if body["model"].as_str().is_none() || !body["messages"].is_array() {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {"message": "model and messages are required"}})),
        )
            .into_response();
    }
    if let Some(bad) = orphan_tool_message(&body) {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(
                json!({"error": {"message": format!("tool message {bad} answers no tool call")}}),
            ),
        )
            .into_response();
    }
    let mut inner = inner.lock().unwrap_or_else(|p| p.into_inner());
    inner.requests.push(body);
    inner.calls += 1;
    let n = inner.calls;
    let reply = inner
        .script
        .pop_front()
        .or_else(|| inner.forever.clone())
        .unwrap_or(Reply::Text("Done.".into()));
    let message = match reply {
        Reply::Text(t) => json!({"role": "assistant", "content": t}),
        Reply::Tools(calls) => json!({
            "role": "assistant",
            "content": null,
            "tool_calls": calls.iter().enumerate().map(|(i, (name, args))| json!({
                "id": format!("call_{n}_{i}"), "type": "function",
                "function": {"name": name, "arguments": args}
            })).collect::<Vec<_>>()
        }),
    };
    axum::Json(json!({
        "id": format!("chatcmpl-{n}"),
        "object": "chat.completion",
        "created": 1_700_000_000u32,
        "model": "fake-model",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    }))
    .into_response()
}

/// The id of a tool message that answers no earlier assistant tool call, if any.
fn orphan_tool_message(body: &Value) -> Option<String> {
    let mut open: Vec<String> = Vec::new();
    for m in body["messages"].as_array()? {
        if let Some(calls) = m["tool_calls"].as_array() {
            open.extend(
                calls
                    .iter()
                    .filter_map(|c| c["id"].as_str().map(str::to_string)),
            );
        }
        if m["role"] == "tool" {
            let id = m["tool_call_id"].as_str().unwrap_or("").to_string();
            if !open.contains(&id) {
                return Some(id);
            }
        }
    }
    None
}
