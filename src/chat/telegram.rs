//! The Telegram surface, on teloxide: long polling with back-off, the command menu from
//! the action catalogue, DMs from operators and allowed groups, confirmations as inline
//! keyboards answered by callback queries, deploy progress as one message edited in place
//! (rate-limited), HTML rendering split at Telegram's 4096 characters, and retries as
//! Telegram asks (429 `retry_after`, 5xx, network errors), bounded.
//!
//! Owns every teloxide type: nothing platform-specific leaves this file. It decides
//! nothing: the bot and the door do.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use teloxide::payloads::{
    AnswerCallbackQuerySetters, EditMessageTextSetters, GetUpdatesSetters, SendMessageSetters,
    SendPhotoSetters,
};
use teloxide::requests::{Request, Requester};
use teloxide::types::{
    AllowedUpdate, BotCommand, CallbackQuery, ChatId, InlineKeyboardButton, InlineKeyboardMarkup,
    InputFile, MessageId, ParseMode, ReplyParameters, UpdateKind, User,
};
use teloxide::{ApiError, RequestError};
use thiserror::Error;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::render::{escape_html, html_chunks, progress_lines, split};
use super::{Inbound, MessageRef, Outbound, Postbox, ProgressView, Replier};
use crate::bot::Bot as Core;
use crate::config::{Platform, TelegramConfig};
use crate::ops::{Actor, Outcome, catalogue};

/// Telegram's limit on one message's text.
pub const MAX_TEXT: usize = 4096;
/// Telegram's limit for a photo's caption.
pub const MAX_CAPTION: usize = 1024;
/// The least time between two edits of one progress message (Telegram allows about one
/// message per second per chat).
const EDIT_GAP: Duration = Duration::from_millis(1000);
/// How long one long poll waits for updates (below teloxide's 17 s client timeout).
const POLL_TIMEOUT_SECS: u32 = 10;
/// How long a command waits for a secret sent as the next DM.
const SECRET_WAIT: Duration = Duration::from_secs(5 * 60);

/// What to do with a DM while a secret may be awaited.
enum Next {
    /// Handle this line.
    Line(String),
    /// Say this and wait.
    Ask(String),
}

/// Where the next update offset is kept.
const OFFSET_KEY: &str = "telegram.offset";

/// How many times one call is tried before it is given up (and logged).
const ATTEMPTS: u32 = 5;
/// The longest wait Telegram may ask for before a retry that is still honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Why the Telegram surface could not start.
#[derive(Debug, Error)]
pub enum TelegramError {
    #[error("telegram.token is missing: set CLAWOPS_TELEGRAM_TOKEN")]
    NoToken,
    #[error("telegram.api_url {0:?} is not a URL")]
    BadUrl(String),
    #[error("Telegram refused the bot token (getMe failed: {0}): copy it again from @BotFather")]
    Token(String),
}

/// The Telegram surface: a teloxide client and the bot behind it.
#[derive(Clone)]
pub struct Telegram {
    api: teloxide::Bot,
    core: Core,
    config: Arc<TelegramConfig>,
    /// Strangers already told no: they get one refusal, not one per message.
    refused: Arc<Mutex<HashSet<u64>>>,
    /// Commands waiting for a secret as the sender's next DM (`/deploy … --telegram-token`
    /// with no value): the line and until when it waits.
    waiting: Arc<Mutex<HashMap<u64, (String, Instant)>>>,
    /// Every update being handled: a stop waits for them.
    tasks: TaskTracker,
}

impl Telegram {
    /// A Telegram surface for `core` with `config` (token and API URL checked).
    pub fn new(
        core: Core,
        config: TelegramConfig,
        tasks: TaskTracker,
    ) -> Result<Telegram, TelegramError> {
        let token = config.token.clone().ok_or(TelegramError::NoToken)?;
        let url = reqwest_url(&config.api_url)?;
        let api = teloxide::Bot::new(token).set_api_url(url);
        Ok(Telegram {
            api,
            core,
            config: Arc::new(config),
            refused: Arc::new(Mutex::new(HashSet::new())),
            waiting: Arc::new(Mutex::new(HashMap::new())),
            tasks,
        })
    }

    /// What sends to `channels` (the Telegram ops channels of one feed), each quiet in
    /// its quiet hours.
    pub fn ops_chats(&self, channels: &[&crate::config::OpsChannel]) -> OpsChats {
        OpsChats {
            chats: channels
                .iter()
                .filter_map(|c| {
                    let id = c.chat_id.number()?;
                    let mut out = ChatOut::new(self.api.clone(), ChatId(id));
                    out.quiet = c.quiet();
                    Some(out)
                })
                .collect(),
        }
    }

    /// The ops chats as the watch posts to them: alerts, and later edits of and replies to
    /// them.
    pub fn postbox(&self) -> TelegramPostbox {
        TelegramPostbox {
            api: self.api.clone(),
        }
    }

    /// Checks the token, registers the command menu, then long-polls until shutdown.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), TelegramError> {
        let me = self
            .api
            .get_me()
            .send()
            .await
            .map_err(|e| TelegramError::Token(e.to_string()))?;
        tracing::info!(bot = %me.username(), "telegram: connected");
        if let Err(e) = call(|| self.api.delete_webhook().send()).await {
            tracing::warn!(error = %e, "telegram: could not remove a webhook; polling may fail");
        }
        if let Err(e) = call(|| self.api.set_my_commands(menu()).send()).await {
            tracing::warn!(error = %e, "telegram: could not register the command menu");
        }
        self.poll(shutdown).await;
        Ok(())
    }

    async fn poll(&self, shutdown: CancellationToken) {
        let store = &self.core.door().ctx().store;
        // Updates below the kept offset were handled before a restart: Telegram may
        // deliver them again (they were not acknowledged yet), and they are skipped.
        // Only the first answer after a start can hold such updates; Telegram may also
        // start numbering afresh after a quiet week, so the kept offset is used once.
        let mut kept: i32 = match store.surface_value(OFFSET_KEY).await {
            Ok(v) => v.and_then(|v| v.parse().ok()).unwrap_or(0),
            Err(e) => {
                tracing::error!(error = %e, "telegram: cannot read the kept update offset");
                0
            }
        };
        let mut offset: i32 = kept;
        let mut backoff = backoff();
        while !shutdown.is_cancelled() {
            let request = self
                .api
                .get_updates()
                .offset(offset)
                .timeout(POLL_TIMEOUT_SECS)
                .allowed_updates(vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
            let result = tokio::select! {
                _ = shutdown.cancelled() => break,
                r = request.send() => r,
            };
            match result {
                Ok(updates) => {
                    backoff.reset();
                    let fresh: Vec<_> = updates
                        .into_iter()
                        .filter(|u| u.id.0 as i32 >= kept)
                        .collect();
                    kept = 0;
                    let Some(last) = fresh.iter().map(|u| u.id.0 as i32).max() else {
                        continue;
                    };
                    offset = offset.max(last + 1);
                    // Kept before they are handled: a crash now loses none twice.
                    let now = chrono::Utc::now();
                    if let Err(e) = store
                        .set_surface_value(OFFSET_KEY, &offset.to_string(), now)
                        .await
                    {
                        tracing::error!(error = %e, "telegram: cannot keep the update offset");
                    }
                    for update in fresh {
                        let this = self.clone();
                        self.tasks
                            .spawn(async move { this.update(update.kind).await });
                    }
                }
                Err(RequestError::RetryAfter(s)) => {
                    sleep_or_stop(&shutdown, s.duration().min(MAX_RETRY_AFTER)).await;
                }
                Err(e) => {
                    let wait = backoff.after_failure();
                    tracing::warn!(error = %e, retry_in = ?wait, "telegram: polling failed");
                    sleep_or_stop(&shutdown, wait).await;
                }
            }
        }
    }

    async fn update(&self, kind: UpdateKind) {
        match kind {
            UpdateKind::Message(msg) => {
                let (Some(from), Some(text)) = (msg.from.as_ref(), msg.text()) else {
                    return;
                };
                if !self.chat_allowed(msg.chat.id, msg.chat.is_private()) {
                    tracing::info!(
                        chat = msg.chat.id.0,
                        "telegram: message from a chat not in allowed_chats ignored"
                    );
                    return;
                }
                let actor = actor(from);
                if self.core.door().role_of(&actor).is_none() && !self.first_refusal(from) {
                    return;
                }
                let out = ChatOut::new(self.api.clone(), msg.chat.id);
                // A bot token typed into the chat leaves it at once: clawops keeps it
                // sealed, the chat's history should not.
                let secret = crate::secrets::holds_bot_token(text);
                let deleted = secret && self.delete(msg.chat.id, msg.id).await;
                let text = match self.secret_next(from.id.0, msg.chat.is_private(), text) {
                    Next::Ask(note) => {
                        out.send(Outbound::Message(super::Message::text(note)))
                            .await;
                        return;
                    }
                    Next::Line(line) => line,
                };
                let inbound = Inbound::Text { actor, text };
                self.core.handle(inbound, &out).await;
                if secret {
                    let note = if deleted {
                        "I deleted your message with the bot token from this chat; clawops keeps the token sealed."
                    } else {
                        "Delete your message with the bot token yourself: Telegram did not let me (in a group I need the right to delete messages)."
                    };
                    out.send(Outbound::Message(super::Message::text(note)))
                        .await;
                }
            }
            UpdateKind::CallbackQuery(q) => self.press(q).await,
            _ => {}
        }
    }

    /// A command that asks for a secret in the next DM, and that next DM: the line to
    /// handle (the command completed with the secret, or the text as it came), or what to
    /// say while waiting. Only in a DM, from the same person, within `SECRET_WAIT`.
    fn secret_next(&self, user: u64, private: bool, text: &str) -> Next {
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let pending = waiting
            .remove(&user)
            .filter(|(_, until)| Instant::now() < *until);
        if let Some((line, _)) = pending.filter(|_| private)
            && crate::secrets::looks_like_bot_token(text.trim())
        {
            return Next::Line(format!("{line} {}", text.trim()));
        }
        let wants_secret = matches!(
            crate::command::parse(text),
            Err(crate::command::ParseError::Args { error: crate::ops::ArgError::NoValue(name), ref usage, .. })
                if usage.contains(&format!("--{} TOKEN", name.replace('_', "-")))
        );
        if !wants_secret {
            return Next::Line(text.to_string());
        }
        if !private {
            return Next::Ask(
                "Give the bot token in a DM with me, not in a group: everyone here would read it."
                    .into(),
            );
        }
        waiting.insert(
            user,
            (text.trim().to_string(), Instant::now() + SECRET_WAIT),
        );
        Next::Ask(
            "Send the bot token from @BotFather as your next message here, within 5 minutes. I will delete it from the chat and keep it sealed.".into(),
        )
    }

    /// Deletes a message from a chat; whether it is gone.
    async fn delete(&self, chat: ChatId, message: MessageId) -> bool {
        match call(|| self.api.delete_message(chat, message).send()).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(chat = chat.0, error = %e, "telegram: could not delete a message holding a bot token");
                false
            }
        }
    }

    /// DMs always reach the bot; groups only when listed in `allowed_chats`.
    fn chat_allowed(&self, chat: ChatId, private: bool) -> bool {
        private || self.config.allowed_chats.contains(&chat.0)
    }

    fn first_refusal(&self, user: &User) -> bool {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(user.id.0)
    }

    /// A button press: the door decides; a refusal is a toast and changes nothing; a
    /// decision edits the keyboard's message to say who decided and when.
    async fn press(&self, q: CallbackQuery) {
        let Some(message) = q.message.as_ref() else {
            return;
        };
        let (chat, message_id) = (message.chat().id, message.id());
        let actor = actor(&q.from);
        if self.core.door().role_of(&actor).is_none() && !self.first_refusal(&q.from) {
            // A stranger is refused once per process (and recorded once); after that their
            // presses are only acknowledged, so they cannot fill the audit trail.
            if let Err(e) = call(|| self.api.answer_callback_query(q.id.clone()).send()).await {
                tracing::debug!(error = %e, "telegram: could not answer a stranger's press");
            }
            return;
        }
        let data = q.data.clone().unwrap_or_default();
        let out = ChatOut::new(self.api.clone(), chat);
        let outcome = self.core.press(&actor, &data, &out).await;
        let toast = match &outcome {
            Outcome::Refused(m) => Some(m.plain()),
            _ => None,
        };
        let answer = || {
            let mut request = self.api.answer_callback_query(q.id.clone());
            if let Some(text) = &toast {
                request = request.text(text.chars().take(190).collect::<String>());
            }
            request.send()
        };
        if let Err(e) = call(answer).await {
            tracing::error!(chat = chat.0, error = %e, "telegram: could not answer a button press");
        }
        if toast.is_some() {
            return;
        }
        if crate::chat::alert_pressed(&data).is_some()
            || crate::chat::pairing_pressed(&data).is_some()
            || crate::chat::resume_pressed(&data).is_some()
        {
            // The alert's own message is brought up to date by the watch; the outcome
            // goes under it.
            crate::bot::send_outcome(&out, outcome).await;
            return;
        }
        let verdict = if crate::chat::pressed(&data).is_some_and(|(confirm, _)| confirm) {
            "Confirmed"
        } else {
            "Cancelled"
        };
        let when = chrono::Utc::now().format("%H:%M UTC");
        let decided = format!(
            "\n\n<b>{verdict} by {} at {when}</b>",
            escape_html(&display(&q.from))
        );
        let original = message
            .regular_message()
            .and_then(|m| m.text())
            .unwrap_or_default();
        let text = format!(
            "{}{decided}",
            escape_within(original, MAX_TEXT.saturating_sub(decided.chars().count()))
        );
        out.edit(message_id, &text).await;
        crate::bot::send_outcome(&out, outcome).await;
    }
}

/// `text` escaped for HTML in at most `budget` characters: cut before escaping, at a
/// character, so no entity (`&amp;`) is ever split and the edit stays under Telegram's
/// limit; a cut is marked with `…`.
pub fn escape_within(text: &str, budget: usize) -> String {
    let whole = escape_html(text);
    if whole.chars().count() <= budget {
        return whole;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let piece = escape_html(&c.to_string());
        let n = piece.chars().count();
        if used + n + 1 > budget {
            break;
        }
        out.push_str(&piece);
        used += n;
    }
    out.push('…');
    out
}

/// The command menu, from the catalogue.
fn menu() -> Vec<BotCommand> {
    catalogue()
        .iter()
        .map(|s| BotCommand::new(s.name, s.summary))
        .collect()
}

fn actor(user: &User) -> Actor {
    Actor::Person {
        platform: Platform::Telegram,
        user_id: user.id.0.to_string(),
        display: display(user),
    }
}

fn display(user: &User) -> String {
    match &user.username {
        Some(u) => format!("@{u}"),
        None => user.first_name.clone(),
    }
}

fn reqwest_url(s: &str) -> Result<url::Url, TelegramError> {
    url::Url::parse(s).map_err(|_| TelegramError::BadUrl(s.to_string()))
}

/// Where replies to one chat go.
#[derive(Clone)]
pub struct ChatOut {
    api: teloxide::Bot,
    chat: ChatId,
    progress: Arc<tokio::sync::Mutex<HashMap<u64, Live>>>,
    /// An ops channel's quiet hours: messages then arrive without a sound.
    quiet: Option<crate::config::QuietHours>,
}

/// A progress message being edited in place.
struct Live {
    message: MessageId,
    last_edit: Instant,
    last_text: String,
}

impl ChatOut {
    fn new(api: teloxide::Bot, chat: ChatId) -> ChatOut {
        ChatOut {
            api,
            chat,
            progress: Arc::new(tokio::sync::Mutex::new(HashMap::new())),
            quiet: None,
        }
    }

    /// Sends HTML chunks (each within Telegram's limit); the keyboard goes under the last.
    /// Returns the last message's id.
    async fn post(
        &self,
        parts: Vec<String>,
        keyboard: Option<InlineKeyboardMarkup>,
    ) -> Option<MessageId> {
        let silent = self.quiet.is_some_and(|q| q.contains(chrono::Utc::now()));
        self.post_as(parts, keyboard, silent, None).await
    }

    /// Sends HTML chunks, the first as a reply to `to` when given (sent anyway if that
    /// message is gone).
    async fn post_as(
        &self,
        parts: Vec<String>,
        keyboard: Option<InlineKeyboardMarkup>,
        silent: bool,
        to: Option<MessageId>,
    ) -> Option<MessageId> {
        let last = parts.len().saturating_sub(1);
        let mut sent = None;
        for (i, part) in parts.into_iter().enumerate() {
            let markup = if i == last { keyboard.clone() } else { None };
            let reply = to.filter(|_| i == 0);
            let request = || {
                let mut r = self
                    .api
                    .send_message(self.chat, part.clone())
                    .parse_mode(ParseMode::Html)
                    .disable_notification(silent);
                if let Some(k) = &markup {
                    r = r.reply_markup(k.clone());
                }
                if let Some(id) = reply {
                    r = r.reply_parameters(ReplyParameters::new(id).allow_sending_without_reply());
                }
                r.send()
            };
            match call(request).await {
                Ok(m) => sent = Some(m.id),
                Err(e) => {
                    tracing::error!(chat = self.chat.0, error = %e, "telegram: a message could not be delivered")
                }
            }
        }
        sent
    }

    /// Sends a picture with its caption (`sendPhoto`, the file uploaded as multipart).
    async fn photo(
        &self,
        photo: &super::Photo,
        silent: bool,
        to: Option<MessageId>,
    ) -> Option<MessageId> {
        let caption: String = photo.caption.chars().take(MAX_CAPTION).collect();
        let request = || {
            let file = InputFile::memory(photo.png.as_ref().clone()).file_name(photo.name.clone());
            let mut r = self
                .api
                .send_photo(self.chat, file)
                .caption(caption.clone())
                .disable_notification(silent);
            if let Some(id) = to {
                r = r.reply_parameters(ReplyParameters::new(id).allow_sending_without_reply());
            }
            r.send()
        };
        match call(request).await {
            Ok(m) => Some(m.id),
            Err(e) => {
                tracing::error!(chat = self.chat.0, error = %e, "telegram: a picture could not be delivered");
                None
            }
        }
    }

    /// Replaces a message's text (and removes its keyboard).
    async fn edit(&self, message: MessageId, text: &str) -> bool {
        self.edit_with(message, text, None).await
    }

    /// Replaces a message's text, and its keyboard with `keyboard` (none: removed).
    async fn edit_with(
        &self,
        message: MessageId,
        text: &str,
        keyboard: Option<InlineKeyboardMarkup>,
    ) -> bool {
        let text: String = text.chars().take(MAX_TEXT).collect();
        let request = || {
            let mut r = self
                .api
                .edit_message_text(self.chat, message, text.clone())
                .parse_mode(ParseMode::Html);
            if let Some(k) = &keyboard {
                r = r.reply_markup(k.clone());
            }
            r.send()
        };
        match call(request).await {
            Ok(_) => true,
            // Telegram refuses an edit that changes nothing: the message already says it.
            Err(RequestError::Api(ApiError::MessageNotModified)) => true,
            Err(e) => {
                tracing::error!(chat = self.chat.0, error = %e, "telegram: a message could not be edited");
                false
            }
        }
    }

    fn reference(&self, id: MessageId) -> MessageRef {
        MessageRef {
            platform: Platform::Telegram,
            chat: self.chat.0.to_string(),
            message: id.0.to_string(),
        }
    }

    /// Posts a progress view, or edits its message: at most one edit per `EDIT_GAP`,
    /// except the final state, which is always shown.
    async fn progress(&self, view: ProgressView) -> Option<MessageId> {
        let text = progress_html(&view);
        let mut live = self.progress.lock().await;
        let Some(entry) = live.get_mut(&view.key) else {
            drop(live);
            let id = self.post(split(&text, MAX_TEXT), None).await?;
            self.progress.lock().await.insert(
                view.key,
                Live {
                    message: id,
                    last_edit: Instant::now(),
                    last_text: text,
                },
            );
            return Some(id);
        };
        let finished = view.finished.is_some();
        if entry.last_text == text || (!finished && entry.last_edit.elapsed() < EDIT_GAP) {
            return Some(entry.message);
        }
        if finished {
            let wait = EDIT_GAP.saturating_sub(entry.last_edit.elapsed());
            tokio::time::sleep(wait).await;
        }
        let id = entry.message;
        entry.last_edit = Instant::now();
        entry.last_text = text.clone();
        if finished {
            live.remove(&view.key);
        }
        drop(live);
        self.edit(id, &text).await;
        Some(id)
    }
}

/// A progress view as HTML: the title in bold, then one line per step.
pub fn progress_html(view: &ProgressView) -> String {
    let lines = progress_lines(view);
    let mut out = format!("<b>{}</b>", escape_html(&lines[0]));
    for line in &lines[1..] {
        out.push('\n');
        out.push_str(&escape_html(line));
    }
    out
}

fn keyboard(buttons: &[super::Button]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(vec![
        buttons
            .iter()
            .map(|b| InlineKeyboardButton::callback(b.label.clone(), b.data.clone()))
            .collect::<Vec<_>>(),
    ])
}

#[async_trait]
impl Replier for ChatOut {
    async fn send(&self, out: Outbound) -> Option<MessageRef> {
        let id = match out {
            Outbound::Message(m) => self.post(html_chunks(&m, MAX_TEXT), None).await,
            Outbound::Buttons { message, buttons } => {
                self.post(html_chunks(&message, MAX_TEXT), Some(keyboard(&buttons)))
                    .await
            }
            Outbound::Progress(view) => self.progress(view).await,
            Outbound::Photo(photo) => self.photo(&photo, false, None).await,
        }?;
        Some(self.reference(id))
    }
}

/// The HTML parts and keyboard of an outbound sent as a plain post (a progress view is
/// shown as it stands).
fn parts(out: Outbound) -> (Vec<String>, Option<InlineKeyboardMarkup>) {
    match out {
        Outbound::Message(m) => (html_chunks(&m, MAX_TEXT), None),
        Outbound::Buttons { message, buttons } => {
            (html_chunks(&message, MAX_TEXT), Some(keyboard(&buttons)))
        }
        Outbound::Progress(view) => (split(&progress_html(&view), MAX_TEXT), None),
        Outbound::Photo(photo) => (vec![escape_html(&photo.caption)], None),
    }
}

/// The Telegram ops chats as the watch posts to them.
#[derive(Clone)]
pub struct TelegramPostbox {
    api: teloxide::Bot,
}

impl TelegramPostbox {
    fn chat(&self, chat: &str) -> Option<ChatOut> {
        let id = chat.trim().parse().ok()?;
        Some(ChatOut::new(self.api.clone(), ChatId(id)))
    }

    fn message(at: &MessageRef) -> Option<MessageId> {
        (at.platform == Platform::Telegram)
            .then(|| at.message.parse().ok().map(MessageId))
            .flatten()
    }
}

#[async_trait]
impl Postbox for TelegramPostbox {
    async fn post(&self, chat: &str, out: Outbound, silent: bool) -> Option<MessageRef> {
        let chat = self.chat(chat)?;
        if let Outbound::Photo(photo) = &out {
            let id = chat.photo(photo, silent, None).await?;
            return Some(chat.reference(id));
        }
        let (parts, keyboard) = parts(out);
        let id = chat.post_as(parts, keyboard, silent, None).await?;
        Some(chat.reference(id))
    }

    async fn edit(&self, at: &MessageRef, out: Outbound) -> bool {
        let (Some(chat), Some(id)) = (self.chat(&at.chat), Self::message(at)) else {
            return false;
        };
        let (parts, keyboard) = parts(out);
        // An edit holds one message: its first part (whole HTML, within the limit).
        let text = parts.into_iter().next().unwrap_or_default();
        chat.edit_with(id, &text, keyboard).await
    }

    async fn reply(&self, at: &MessageRef, out: Outbound, silent: bool) -> Option<MessageRef> {
        let chat = self.chat(&at.chat)?;
        let to = Self::message(at)?;
        if let Outbound::Photo(photo) = &out {
            let id = chat.photo(photo, silent, Some(to)).await?;
            return Some(chat.reference(id));
        }
        let (parts, keyboard) = parts(out);
        let id = chat.post_as(parts, keyboard, silent, Some(to)).await?;
        Some(chat.reference(id))
    }
}

/// Sends to every ops chat of one feed: what nobody asked for (today start-up notes and
/// resumed plans' results).
#[derive(Clone)]
pub struct OpsChats {
    chats: Vec<ChatOut>,
}

#[async_trait]
impl Replier for OpsChats {
    async fn send(&self, out: Outbound) -> Option<MessageRef> {
        let mut first = None;
        for chat in &self.chats {
            let sent = chat.send(out.clone()).await;
            first = first.or(sent);
        }
        first
    }
}

/// Runs one Bot API call, retrying as Telegram asks: after `retry_after` on 429, with
/// back-off on 5xx and network errors (teloxide itself already waits 10 s after a 5xx);
/// at most `ATTEMPTS` tries, then the caller logs the failure with its chat id.
async fn call<T, F, Fut>(mut request: F) -> Result<T, RequestError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, RequestError>>,
{
    let mut backoff = backoff();
    let mut attempt = 1;
    loop {
        let result = request().await;
        let wait = match &result {
            Ok(_) => return result,
            Err(RequestError::RetryAfter(s)) => s.duration().min(MAX_RETRY_AFTER),
            Err(e) if transient(e) => backoff.after_failure(),
            Err(_) => return result,
        };
        if attempt >= ATTEMPTS {
            return result;
        }
        attempt += 1;
        tokio::time::sleep(wait).await;
    }
}

/// Whether an error may pass if the call is tried again (network, server side).
fn transient(e: &RequestError) -> bool {
    match e {
        RequestError::Network(_) | RequestError::Io(_) | RequestError::InvalidJson { .. } => true,
        RequestError::Api(ApiError::Unknown(text)) => {
            let t = text.to_ascii_lowercase();
            t.contains("internal server error")
                || t.contains("bad gateway")
                || t.contains("service unavailable")
                || t.contains("gateway timeout")
                || t.contains("too many requests")
        }
        _ => false,
    }
}

/// Telegram's back-off: 0.5 s doubling to 30 s, full jitter (`retry`).
fn backoff() -> crate::retry::Backoff {
    crate::retry::Backoff::new(Duration::from_millis(500), Duration::from_secs(30))
}

async fn sleep_or_stop(shutdown: &CancellationToken, d: Duration) {
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = tokio::time::sleep(d) => {}
    }
}

impl std::fmt::Debug for Telegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telegram")
            .field("config", &self.config)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{ProgressStep, StepState};

    #[test]
    fn hardening_21_a_decided_message_is_cut_before_escaping_and_fits() {
        let text = "a&b<c>".repeat(1000); // 6,000 characters, 14,000 once escaped
        let decided = "\n\n<b>Confirmed by @op at 12:00 UTC</b>";
        let budget = MAX_TEXT - decided.chars().count();
        let cut = escape_within(&text, budget);
        assert!(cut.chars().count() <= budget, "{}", cut.chars().count());
        assert!(cut.ends_with('…'));
        // No entity is split: every & starts a whole entity.
        let body = cut.trim_end_matches('…');
        for (i, _) in body.match_indices('&') {
            let rest = &body[i..];
            assert!(
                rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;"),
                "{}",
                &rest[..rest.len().min(8)]
            );
        }
        assert_eq!(escape_within("a&b", 100), "a&amp;b");
    }

    #[test]
    fn progress_is_escaped_html() {
        let view = ProgressView {
            key: 1,
            title: "Deploying <b>x</b>".into(),
            steps: vec![ProgressStep {
                title: "a & b".into(),
                state: StepState::Done,
                elapsed: Some(Duration::from_millis(1500)),
                note: None,
            }],
            elapsed: Duration::from_secs(2),
            finished: None,
        };
        let h = progress_html(&view);
        assert_eq!(
            h,
            "<b>Deploying &lt;b&gt;x&lt;/b&gt; (2.0s)</b>\n✓ 1/1 a &amp; b (1.5s)"
        );
    }

    #[test]
    fn the_menu_lists_the_catalogue() {
        let names: Vec<String> = menu().into_iter().map(|c| c.command).collect();
        assert!(names.contains(&"deploy".to_string()) && names.contains(&"destroy".to_string()));
    }
}
