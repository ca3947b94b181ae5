//! A fake Telegram Bot API on loopback, faithful to what the real one checks: the token
//! in the path, `chat_id`, text at most 4096 characters, well-formed HTML in parse mode
//! HTML ("can't parse entities" otherwise), and message ids that exist for edits. It keeps
//! an update queue for long polling, records every call, and can be told to answer 429
//! with `retry_after` or to fail.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::Notify;

pub const TOKEN: &str = "123456789:AAFakeTokenForTheLoopbackBotApi_0001";
pub const BOT_ID: i64 = 123456789;

/// One recorded call.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub body: Value,
    pub at: Instant,
}

#[derive(Default)]
struct Inner {
    updates: VecDeque<Value>,
    next_update: i64,
    calls: Vec<Call>,
    next_message: i64,
    messages: HashMap<(i64, i64), String>,
    /// The inline keyboard under each message (JSON; null when none).
    keyboards: HashMap<(i64, i64), Value>,
    /// Per method (lowercase): answers to give instead of the normal one.
    faults: HashMap<String, VecDeque<Fault>>,
    /// Every update ever queued, to deliver again as Telegram does when the bot died
    /// before acknowledging it.
    history: Vec<Value>,
    /// The pictures sent (`sendPhoto`), by chat and message id.
    photos: HashMap<(i64, i64), Vec<u8>>,
    /// Dropping a share of requests: the percentage and the dice.
    dropping: Option<(u32, rand::rngs::StdRng)>,
    /// Requests dropped so far.
    dropped: u32,
    /// Other bots Telegram knows (customers' bots): token → (id, username). Only their
    /// `getMe` is answered.
    bots: HashMap<String, (i64, String)>,
    /// Messages people sent, by chat and message id (they may be deleted).
    sent_by_people: std::collections::HashSet<(i64, i64)>,
    /// Messages deleted with `deleteMessage`.
    deleted: Vec<(i64, i64)>,
}

/// Where a dropped request is lost.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Drop {
    /// On its way in: Telegram never saw it.
    Before,
    /// On its way back: Telegram did it, the bot never heard.
    After,
}

/// An injected failure.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// 429 with this retry_after.
    RetryAfter(u32),
    /// 500.
    ServerError,
}

/// The fake server.
#[derive(Clone)]
pub struct FakeTelegram {
    inner: Arc<Mutex<Inner>>,
    arrived: Arc<Notify>,
    pub url: String,
}

impl FakeTelegram {
    /// Starts the fake on 127.0.0.1 on a free port.
    pub async fn start() -> FakeTelegram {
        let inner = Arc::new(Mutex::new(Inner {
            next_update: 1,
            next_message: 1000,
            ..Inner::default()
        }));
        let fake = FakeTelegram {
            inner,
            arrived: Arc::new(Notify::new()),
            url: String::new(),
        };
        let app = Router::new()
            .route("/{bot}/{method}", axum::routing::post(handle))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeTelegram { url, ..fake }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// From now on, loses `percent` % of requests (dice seeded with `seed`): half of them
    /// before Telegram does anything, half after it did but before the answer arrives,
    /// each as a connection cut mid-answer.
    pub fn drop_requests(&self, percent: u32, seed: u64) {
        self.lock().dropping = Some((percent, rand::SeedableRng::seed_from_u64(seed)));
    }

    /// How many requests were dropped.
    pub fn dropped(&self) -> u32 {
        self.lock().dropped
    }

    /// Whether to drop this request, and where.
    fn roll(&self) -> Option<Drop> {
        let mut inner = self.lock();
        let (percent, dice) = inner.dropping.as_mut()?;
        let percent = *percent;
        let roll: u32 = rand::RngExt::random_range(dice, 0..200);
        if roll >= 2 * percent {
            return None;
        }
        inner.dropped += 1;
        Some(if roll.is_multiple_of(2) {
            Drop::Before
        } else {
            Drop::After
        })
    }

    /// Queues a private text message from `user` (chat id = user id).
    pub fn text_from(&self, user: i64, text: &str) {
        self.text_in(user, user, text);
    }

    /// Queues a text message from `user` in `chat` (negative for groups).
    pub fn text_in(&self, chat: i64, user: i64, text: &str) {
        let chat_json = if chat < 0 {
            json!({"id": chat, "type": "supergroup", "title": "ops"})
        } else {
            json!({"id": chat, "type": "private", "first_name": format!("user{user}")})
        };
        let mut inner = self.lock();
        let id = inner.next_update;
        inner.next_update += 1;
        let update = json!({
            "update_id": id,
            "message": {
                "message_id": id,
                "date": 1_700_000_000,
                "chat": chat_json,
                "from": {"id": user, "is_bot": false, "first_name": format!("user{user}"), "username": format!("user{user}")},
                "text": text,
            }
        });
        inner.sent_by_people.insert((chat, id));
        inner.history.push(update.clone());
        inner.updates.push_back(update);
        drop(inner);
        self.arrived.notify_waiters();
    }

    /// Makes Telegram know another bot (a customer's): its `getMe` answers with the id
    /// before the token's colon and `username`.
    pub fn add_bot(&self, token: &str, username: &str) {
        let id = token
            .split_once(':')
            .and_then(|(id, _)| id.parse().ok())
            .unwrap_or(0);
        self.lock()
            .bots
            .insert(token.to_string(), (id, username.to_string()));
    }

    /// The messages deleted so far: chat and message id.
    pub fn deleted(&self) -> Vec<(i64, i64)> {
        self.lock().deleted.clone()
    }

    /// Delivers update `id` again, as Telegram does after a bot died before its next
    /// getUpdates acknowledged it.
    pub fn redeliver(&self, id: i64) {
        let mut inner = self.lock();
        let update = inner
            .history
            .iter()
            .find(|u| u["update_id"] == id)
            .cloned()
            .expect("an update queued before");
        inner.updates.push_front(update);
        drop(inner);
        self.arrived.notify_waiters();
    }

    /// Queues a press of a button with `data` by `user` on message `message` in `chat`.
    pub fn press(&self, chat: i64, user: i64, message: i64, data: &str) {
        let mut inner = self.lock();
        let text = inner
            .messages
            .get(&(chat, message))
            .cloned()
            .unwrap_or_default();
        let id = inner.next_update;
        inner.next_update += 1;
        inner.updates.push_back(json!({
            "update_id": id,
            "callback_query": {
                "id": format!("cb{id}"),
                "from": {"id": user, "is_bot": false, "first_name": format!("user{user}"), "username": format!("user{user}")},
                "chat_instance": "1",
                "data": data,
                "message": {
                    "message_id": message,
                    "date": 1_700_000_000,
                    "chat": {"id": chat, "type": "private", "first_name": "op"},
                    "from": {"id": BOT_ID, "is_bot": true, "first_name": "ClawOps", "username": "clawops_test_bot"},
                    "text": text,
                }
            }
        }));
        drop(inner);
        self.arrived.notify_waiters();
    }

    /// Makes the next call of `method` fail with `fault`.
    pub fn fail_next(&self, method: &str, fault: Fault) {
        self.lock()
            .faults
            .entry(method.to_ascii_lowercase())
            .or_default()
            .push_back(fault);
    }

    /// Every call so far of `method` (lowercase name).
    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// Waits until `check` holds over the calls, polling; panics after `limit`.
    pub async fn wait_until(&self, limit: Duration, what: &str, check: impl Fn(&[Call]) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            if check(&self.lock().calls) {
                return;
            }
            if Instant::now() > deadline {
                let calls: Vec<String> = self
                    .lock()
                    .calls
                    .iter()
                    .map(|c| format!("{} {}", c.method, c.body))
                    .collect();
                panic!("timed out waiting for {what}; calls:\n{}", calls.join("\n"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The id of the newest message in `chat` whose text contains `needle`.
    pub fn find_message(&self, chat: i64, needle: &str) -> Option<i64> {
        self.lock()
            .messages
            .iter()
            .filter(|((c, _), text)| *c == chat && text.contains(needle))
            .map(|((_, id), _)| *id)
            .max()
    }

    /// The labels and payloads of the buttons under message `id` in `chat` now.
    pub fn buttons(&self, chat: i64, id: i64) -> Vec<(String, String)> {
        let inner = self.lock();
        let Some(k) = inner.keyboards.get(&(chat, id)) else {
            return Vec::new();
        };
        k["inline_keyboard"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row.as_array().cloned().unwrap_or_default())
            .map(|b| {
                (
                    b["text"].as_str().unwrap_or("").to_string(),
                    b["callback_data"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// The text of the message `id` in `chat` as it stands now.
    /// The pictures sent to `chat`, oldest first: message id, caption and bytes.
    pub fn photos(&self, chat: i64) -> Vec<(i64, String, Vec<u8>)> {
        let inner = self.lock();
        let mut list: Vec<(i64, String, Vec<u8>)> = inner
            .photos
            .iter()
            .filter(|((c, _), _)| *c == chat)
            .map(|((_, id), bytes)| {
                let caption = inner
                    .messages
                    .get(&(chat, *id))
                    .cloned()
                    .unwrap_or_default();
                (*id, caption, bytes.clone())
            })
            .collect();
        list.sort_by_key(|(id, _, _)| *id);
        list
    }

    pub fn message(&self, chat: i64, id: i64) -> Option<String> {
        self.lock().messages.get(&(chat, id)).cloned()
    }
}

fn ok(result: Value) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({"ok": true, "result": result})),
    )
        .into_response()
}

fn err(code: u16, description: &str, extra: Option<Value>) -> Response {
    let mut body = json!({"ok": false, "error_code": code, "description": description});
    if let Some(p) = extra {
        body["parameters"] = p;
    }
    (StatusCode::from_u16(code).unwrap(), axum::Json(body)).into_response()
}

async fn handle(
    State(fake): State<FakeTelegram>,
    path: Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let dropped = fake.roll();
    if dropped == Some(Drop::Before) {
        return cut();
    }
    let answer = answer(State(fake), path, headers, body).await;
    if dropped == Some(Drop::After) {
        return cut();
    }
    answer
}

/// An answer whose connection breaks after the status line: the client sees a network
/// error, as when a connection is lost.
fn cut() -> Response {
    let broken = futures_util::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other("connection lost"))
    });
    Response::new(axum::body::Body::from_stream(broken))
}

async fn answer(
    State(fake): State<FakeTelegram>,
    Path((bot, method)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let method = method.to_ascii_lowercase();
    if bot != format!("bot{TOKEN}") {
        let known = bot
            .strip_prefix("bot")
            .and_then(|token| fake.lock().bots.get(token).cloned());
        fake.lock().calls.push(Call {
            method: format!("{method} (another bot)"),
            body: json!({}),
            at: Instant::now(),
        });
        return match known {
            Some((id, username)) if method == "getme" => ok(json!({
                "id": id, "is_bot": true, "first_name": username, "username": username,
                "can_join_groups": true, "can_read_all_group_messages": false,
                "supports_inline_queries": false, "can_connect_to_business": false, "has_main_web_app": false
            })),
            _ => err(401, "Unauthorized", None),
        };
    }
    let multipart = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if multipart {
        return match form(headers, body).await {
            Ok((fields, files)) => {
                fake.lock().calls.push(Call {
                    method: method.clone(),
                    body: fields.clone(),
                    at: Instant::now(),
                });
                match method.as_str() {
                    "sendphoto" => send_photo(&fake, &fields, &files),
                    other => err(404, &format!("Not Found: method {other}"), None),
                }
            }
            Err(why) => err(400, &format!("Bad Request: {why}"), None),
        };
    }
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return err(400, "Bad Request: invalid JSON", None),
        }
    };
    let fault = {
        let mut inner = fake.lock();
        inner.calls.push(Call {
            method: method.clone(),
            body: body.clone(),
            at: Instant::now(),
        });
        inner.faults.get_mut(&method).and_then(|q| q.pop_front())
    };
    match fault {
        Some(Fault::RetryAfter(s)) => {
            return err(
                429,
                &format!("Too Many Requests: retry after {s}"),
                Some(json!({"retry_after": s})),
            );
        }
        Some(Fault::ServerError) => return err(500, "Internal Server Error", None),
        None => {}
    }
    match method.as_str() {
        "getme" => ok(json!({
            "id": BOT_ID, "is_bot": true, "first_name": "ClawOps", "username": "clawops_test_bot",
            "can_join_groups": true, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "can_connect_to_business": false, "has_main_web_app": false
        })),
        "deletewebhook" | "setmycommands" | "answercallbackquery" => ok(json!(true)),
        "getupdates" => get_updates(&fake, &body).await,
        "sendmessage" => send_message(&fake, &body),
        "editmessagetext" => edit_message(&fake, &body),
        "deletemessage" => delete_message(&fake, &body),
        other => err(404, &format!("Not Found: method {other}"), None),
    }
}

fn delete_message(fake: &FakeTelegram, body: &Value) -> Response {
    let (Some(chat), Some(id)) = (body["chat_id"].as_i64(), body["message_id"].as_i64()) else {
        return err(
            400,
            "Bad Request: chat_id and message_id are required",
            None,
        );
    };
    let mut inner = fake.lock();
    let existed =
        inner.sent_by_people.remove(&(chat, id)) || inner.messages.remove(&(chat, id)).is_some();
    if !existed {
        return err(400, "Bad Request: message to delete not found", None);
    }
    inner.deleted.push((chat, id));
    ok(json!(true))
}

async fn get_updates(fake: &FakeTelegram, body: &Value) -> Response {
    let offset = body["offset"].as_i64().unwrap_or(0);
    let timeout = body["timeout"].as_u64().unwrap_or(0).min(2);
    let deadline = Instant::now() + Duration::from_secs(timeout);
    loop {
        let notified = fake.arrived.notified();
        {
            let mut inner = fake.lock();
            inner
                .updates
                .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            if !inner.updates.is_empty() {
                let list: Vec<Value> = inner.updates.iter().cloned().collect();
                return ok(Value::Array(list));
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return ok(json!([]));
        }
        let _ = tokio::time::timeout(left, notified).await;
    }
}

fn check_text(body: &Value) -> Result<String, Box<Response>> {
    if body.get("chat_id").is_none() {
        return Err(Box::new(err(400, "Bad Request: chat_id is empty", None)));
    }
    let text = body["text"].as_str().unwrap_or("").to_string();
    if text.is_empty() {
        return Err(Box::new(err(
            400,
            "Bad Request: message text is empty",
            None,
        )));
    }
    if text.chars().count() > 4096 {
        return Err(Box::new(err(400, "Bad Request: message is too long", None)));
    }
    if body["parse_mode"].as_str() == Some("HTML")
        && let Err(why) = check_html(&text)
    {
        return Err(Box::new(err(
            400,
            &format!("Bad Request: can't parse entities: {why}"),
            None,
        )));
    }
    Ok(text)
}

fn message_json(chat: i64, id: i64, text: &str) -> Value {
    json!({
        "message_id": id, "date": 1_700_000_000,
        "chat": {"id": chat, "type": if chat < 0 { "supergroup" } else { "private" }, "first_name": "op", "title": "ops"},
        "from": {"id": BOT_ID, "is_bot": true, "first_name": "ClawOps", "username": "clawops_test_bot"},
        "text": text,
    })
}

fn send_message(fake: &FakeTelegram, body: &Value) -> Response {
    let text = match check_text(body) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let chat = body["chat_id"].as_i64().unwrap_or(0);
    let mut inner = fake.lock();
    // A reply names a message of this chat; unless told to send anyway, one that does
    // not exist is refused.
    if let Some(to) = body["reply_parameters"]["message_id"].as_i64()
        && !inner.messages.contains_key(&(chat, to))
        && body["reply_parameters"]["allow_sending_without_reply"] != true
    {
        return err(400, "Bad Request: message to be replied not found", None);
    }
    let keyboard = body["reply_markup"].clone();
    let id = inner.next_message;
    inner.next_message += 1;
    inner.messages.insert((chat, id), text.clone());
    inner.keyboards.insert((chat, id), keyboard);
    ok(message_json(chat, id, &text))
}

fn edit_message(fake: &FakeTelegram, body: &Value) -> Response {
    let text = match check_text(body) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let chat = body["chat_id"].as_i64().unwrap_or(0);
    let id = body["message_id"].as_i64().unwrap_or(0);
    let mut inner = fake.lock();
    let keyboard = body["reply_markup"].clone();
    let same_keyboard = inner.keyboards.get(&(chat, id)) == Some(&keyboard);
    match inner.messages.get_mut(&(chat, id)) {
        None => err(400, "Bad Request: message to edit not found", None),
        Some(old) if *old == text && same_keyboard => err(
            400,
            "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
            None,
        ),
        Some(old) => {
            *old = text.clone();
            inner.keyboards.insert((chat, id), keyboard);
            ok(message_json(chat, id, &text))
        }
    }
}

/// A multipart form: its text fields as JSON, and its files by field name.
async fn form(
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(Value, HashMap<String, Vec<u8>>), String> {
    use axum::extract::FromRequest;
    let mut request = axum::http::Request::new(axum::body::Body::from(body));
    *request.headers_mut() = headers;
    let mut form = axum::extract::Multipart::from_request(request, &())
        .await
        .map_err(|e| e.to_string())?;
    let mut fields = serde_json::Map::new();
    let mut files = HashMap::new();
    while let Some(field) = form.next_field().await.map_err(|e| e.to_string())? {
        let name = field.name().unwrap_or_default().to_string();
        let is_file = field.file_name().is_some();
        let bytes = field.bytes().await.map_err(|e| e.to_string())?;
        if is_file {
            files.insert(name, bytes.to_vec());
        } else {
            let text = String::from_utf8_lossy(&bytes).to_string();
            // Numbers and JSON objects (chat_id, reply_parameters) arrive as text.
            let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            fields.insert(name, value);
        }
    }
    Ok((Value::Object(fields), files))
}

/// `sendPhoto` with an uploaded file: refused without a chat or a photo, with a caption
/// over 1024 characters, or with bytes that are not a picture Telegram can read.
fn send_photo(fake: &FakeTelegram, fields: &Value, files: &HashMap<String, Vec<u8>>) -> Response {
    let Some(chat) = fields["chat_id"].as_i64() else {
        return err(400, "Bad Request: chat_id is empty", None);
    };
    // The photo field names the attached file (`attach://NAME`) or is the file itself.
    let photo = files.get("photo").or_else(|| {
        fields["photo"]
            .as_str()
            .and_then(|p| p.strip_prefix("attach://"))
            .and_then(|name| files.get(name))
    });
    let Some(photo) = photo else {
        return err(400, "Bad Request: there is no photo in the request", None);
    };
    if !photo.starts_with(b"\x89PNG\r\n\x1a\n") && !photo.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return err(400, "Bad Request: IMAGE_PROCESS_FAILED", None);
    }
    let caption = fields["caption"].as_str().unwrap_or("").to_string();
    if caption.chars().count() > 1024 {
        return err(400, "Bad Request: message caption is too long", None);
    }
    let mut inner = fake.lock();
    let id = inner.next_message;
    inner.next_message += 1;
    inner.messages.insert((chat, id), caption.clone());
    inner.keyboards.insert((chat, id), Value::Null);
    inner.photos.insert((chat, id), photo.clone());
    let mut message = message_json(chat, id, "");
    message.as_object_mut().unwrap().remove("text");
    message["caption"] = json!(caption);
    message["photo"] = json!([{"file_id": format!("photo-{id}"), "file_unique_id": format!("u{id}"), "width": 800, "height": 480, "file_size": photo.len()}]);
    ok(message)
}

/// Telegram's HTML subset: known tags, balanced, and only the named entities it knows.
pub fn check_html(text: &str) -> Result<(), String> {
    const TAGS: &[&str] = &[
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "span",
        "tg-spoiler",
        "blockquote",
    ];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['<', '&']) {
        let tail = &rest[i..];
        if tail.starts_with('&') {
            let end = tail.find(';').ok_or("unclosed entity")?;
            let name = &tail[1..end];
            let known = matches!(name, "lt" | "gt" | "amp" | "quot") || name.starts_with('#');
            if !known {
                return Err(format!("unsupported entity &{name};"));
            }
            rest = &tail[end + 1..];
            continue;
        }
        let end = tail.find('>').ok_or("unclosed start tag")?;
        let inside = &tail[1..end];
        if let Some(name) = inside.strip_prefix('/') {
            match stack.pop() {
                Some(open) if open == name => {}
                _ => return Err(format!("unexpected end tag {name}")),
            }
        } else {
            let name = inside.split_whitespace().next().unwrap_or("");
            if !TAGS.contains(&name) {
                return Err(format!("unsupported start tag \"{name}\""));
            }
            stack.push(name.to_string());
        }
        rest = &tail[end + 1..];
    }
    if stack.is_empty() {
        Ok(())
    } else {
        Err("unclosed tag".into())
    }
}
