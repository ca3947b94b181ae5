//! Where the Discord surface sends: the answer to one interaction (answered at once when
//! it is quick, deferred when nothing was said within 2 s, then follow-ups, with a
//! progress view edited in place), a channel (DMs and ops channels, and an interaction's
//! channel once its 15-minute token is spent), and the postbox the watch posts alerts,
//! pairing requests and briefings through.
//!
//! Every outbound becomes `Payload`s first (content or an embed, buttons, a picture),
//! then the one serenity builder the route needs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serenity::all::{
    ButtonStyle, ChannelId, CreateActionRow, CreateAttachment, CreateButton, CreateEmbed,
    CreateInteractionResponse, CreateInteractionResponseFollowup, CreateInteractionResponseMessage,
    CreateMessage, EditInteractionResponse, EditMessage, InteractionId, MessageFlags, MessageId,
};
use serenity::builder::Builder;
use serenity::http::Http;
use tokio::sync::Mutex;

use super::render::{self, MAX_CONTENT, Part};
use crate::chat::{Button, MessageRef, Outbound, Photo, Postbox, ProgressView, Replier};
use crate::config::Platform;

/// The least time between two edits of one progress message (Discord allows five edits
/// in five seconds per channel).
const EDIT_GAP: Duration = Duration::from_millis(1000);
/// How long an interaction may go unanswered before it is deferred (Discord's limit is
/// 3 s).
pub const DEFER_AFTER: Duration = Duration::from_secs(2);
/// How long an interaction's token is used (Discord's is valid 15 minutes); after that
/// the channel is written to instead.
const TOKEN_LIFE: Duration = Duration::from_secs(14 * 60);
/// Discord's blurple, for embeds.
const COLOUR: u32 = 0x5865F2;

/// One Discord message to send or to edit to.
#[derive(Debug, Clone, Default)]
pub struct Payload {
    pub content: Option<String>,
    pub embed: Option<(String, String)>,
    pub buttons: Vec<Button>,
    pub photo: Option<Photo>,
}

/// An outbound as the messages to send, in order; buttons go under the last.
pub fn payloads(out: &Outbound) -> Vec<Payload> {
    let from_parts = |parts: Vec<Part>| -> Vec<Payload> {
        parts
            .into_iter()
            .map(|p| match p {
                Part::Content(c) => Payload {
                    content: Some(c),
                    ..Payload::default()
                },
                Part::Embed { title, description } => Payload {
                    embed: Some((title, description)),
                    ..Payload::default()
                },
            })
            .collect()
    };
    match out {
        Outbound::Message(m) => from_parts(render::parts(m)),
        Outbound::Buttons { message, buttons } => {
            let mut all = from_parts(render::parts(message));
            if let Some(last) = all.last_mut() {
                last.buttons = buttons.clone();
            }
            all
        }
        Outbound::Progress(view) => vec![progress_payload(view)],
        Outbound::Photo(photo) => vec![Payload {
            photo: Some(photo.clone()),
            ..Payload::default()
        }],
    }
}

fn progress_payload(view: &ProgressView) -> Payload {
    Payload {
        content: Some(render::progress(view)),
        ..Payload::default()
    }
}

impl Payload {
    fn embeds(&self) -> Vec<CreateEmbed> {
        if let Some((title, description)) = &self.embed {
            return vec![
                CreateEmbed::new()
                    .title(title)
                    .description(description)
                    .colour(COLOUR),
            ];
        }
        if let Some(photo) = &self.photo {
            let caption: String = render::escape_markdown(&photo.caption)
                .chars()
                .take(render::MAX_DESCRIPTION)
                .collect();
            return vec![
                CreateEmbed::new()
                    .description(caption)
                    .image(format!("attachment://{}", photo.name))
                    .colour(COLOUR),
            ];
        }
        Vec::new()
    }

    fn components(&self) -> Vec<CreateActionRow> {
        if self.buttons.is_empty() {
            return Vec::new();
        }
        // Five buttons to a row, at most five rows: Discord's limits.
        self.buttons
            .chunks(5)
            .take(5)
            .map(|row| CreateActionRow::Buttons(row.iter().map(button).collect()))
            .collect()
    }

    fn file(&self) -> Option<CreateAttachment> {
        let photo = self.photo.as_ref()?;
        Some(CreateAttachment::bytes(
            photo.png.as_ref().clone(),
            photo.name.clone(),
        ))
    }

    fn text(&self) -> String {
        self.content.clone().unwrap_or_default()
    }

    fn message(&self) -> CreateMessage {
        let mut m = CreateMessage::new()
            .content(self.text())
            .embeds(self.embeds())
            .components(self.components());
        if let Some(file) = self.file() {
            m = m.add_file(file);
        }
        m
    }

    /// The message as sent to a channel, for tests of its wire form.
    #[cfg(test)]
    pub fn message_for_test(&self) -> CreateMessage {
        self.message()
    }

    fn edit(&self) -> EditMessage {
        EditMessage::new()
            .content(self.text())
            .embeds(self.embeds())
            .components(self.components())
    }

    fn response(&self) -> CreateInteractionResponseMessage {
        let mut m = CreateInteractionResponseMessage::new()
            .content(self.text())
            .embeds(self.embeds())
            .components(self.components());
        if let Some(file) = self.file() {
            m = m.add_file(file);
        }
        m
    }

    fn edit_response(&self) -> EditInteractionResponse {
        let mut m = EditInteractionResponse::new()
            .content(self.text())
            .embeds(self.embeds())
            .components(self.components());
        if let Some(file) = self.file() {
            m = m.new_attachment(file);
        }
        m
    }

    fn followup(&self) -> CreateInteractionResponseFollowup {
        let mut m = CreateInteractionResponseFollowup::new()
            .content(self.text())
            .embeds(self.embeds())
            .components(self.components());
        if let Some(file) = self.file() {
            m = m.add_file(file);
        }
        m
    }
}

/// A button as a component: its style says what it does.
fn button(b: &Button) -> CreateButton {
    let style = if let Some((confirm, _)) = crate::chat::pressed(&b.data) {
        if confirm {
            ButtonStyle::Danger
        } else {
            ButtonStyle::Secondary
        }
    } else if let Some((p, _)) = crate::chat::pairing_pressed(&b.data) {
        match p {
            crate::chat::PairingButton::Approve => ButtonStyle::Success,
            crate::chat::PairingButton::Reject => ButtonStyle::Danger,
        }
    } else {
        ButtonStyle::Secondary
    };
    CreateButton::new(b.data.clone())
        .label(b.label.chars().take(80).collect::<String>())
        .style(style)
}

/// What Discord said when a call failed, on one line and without the URL (a webhook
/// URL carries the interaction's token).
pub fn said(e: &serenity::Error) -> String {
    use serenity::http::HttpError;
    match e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => format!(
            "{} {} (code {})",
            r.status_code.as_u16(),
            r.error.message,
            r.error.code
        ),
        serenity::Error::Http(HttpError::Request(r)) => {
            let mut r = format!("{r}");
            if let Some(i) = r.find(" for url") {
                r.truncate(i);
            }
            format!("request failed: {r}")
        }
        other => {
            let text = other.to_string();
            text.split("https://")
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        }
    }
}

/// A progress message being edited in place.
struct Live {
    at: Where,
    last_edit: Instant,
    last_text: String,
}

impl Live {
    fn new(at: Where, text: String) -> Live {
        Live {
            at,
            last_edit: Instant::now(),
            last_text: text,
        }
    }

    /// Whether `text` is shown now: not when it says nothing new, nor when the last edit
    /// was under `EDIT_GAP` ago unless the view is `finished` (then it waits out the gap,
    /// so the final state is always shown). When shown, it becomes the last edit.
    async fn due(&mut self, text: &str, finished: bool) -> bool {
        if self.last_text == text || (!finished && self.last_edit.elapsed() < EDIT_GAP) {
            return false;
        }
        if finished {
            tokio::time::sleep(EDIT_GAP.saturating_sub(self.last_edit.elapsed())).await;
        }
        self.last_edit = Instant::now();
        self.last_text = text.to_string();
        true
    }
}

/// Where a message of an interaction's answer is.
#[derive(Debug, Clone, Copy)]
enum Where {
    /// The interaction's own answer (`@original`).
    Original,
    Followup(MessageId),
    Channel(MessageId),
}

/// How far an interaction has been answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Fresh,
    /// Deferred: Discord shows "thinking…" (a command) or nothing (a press).
    Deferred,
    /// Its first message was sent; what follows is a follow-up.
    Answered,
}

/// What kind of interaction is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A slash command: the answer is a new message.
    Command,
    /// A button press: the message with the button stays; what is said comes after it.
    Press,
}

/// The answer to one interaction.
pub struct InteractionOut {
    http: Arc<Http>,
    id: InteractionId,
    token: String,
    kind: Kind,
    pub(super) channel: ChannelOut,
    started: Instant,
    answer: Mutex<Answer>,
    progress: Mutex<HashMap<u64, Live>>,
}

impl InteractionOut {
    pub fn new(
        http: Arc<Http>,
        id: InteractionId,
        token: String,
        kind: Kind,
        channel: ChannelId,
    ) -> Arc<InteractionOut> {
        Arc::new(InteractionOut {
            channel: ChannelOut::new(http.clone(), channel),
            http,
            id,
            token,
            kind,
            started: Instant::now(),
            answer: Mutex::new(Answer::Fresh),
            progress: Mutex::new(HashMap::new()),
        })
    }

    /// Defers the answer when nothing was said within `DEFER_AFTER`: call once, in the
    /// background; it ends when the interaction is answered.
    pub fn defer_later(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(DEFER_AFTER).await;
            let mut answer = this.answer.lock().await;
            if *answer == Answer::Fresh {
                this.defer(&mut answer).await;
            }
        })
    }

    /// Defers the answer now (an action that changes the fleet takes its time).
    pub async fn defer_now(&self) {
        let mut answer = self.answer.lock().await;
        if *answer == Answer::Fresh {
            self.defer(&mut answer).await;
        }
    }

    async fn defer(&self, answer: &mut Answer) {
        let response = match self.kind {
            Kind::Command => {
                CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new())
            }
            Kind::Press => CreateInteractionResponse::Acknowledge,
        };
        match response.execute(&*self.http, (self.id, &self.token)).await {
            Ok(()) => *answer = Answer::Deferred,
            Err(e) => tracing::warn!(error = %said(&e), "discord: could not defer an interaction"),
        }
    }

    fn expired(&self) -> bool {
        self.started.elapsed() >= TOKEN_LIFE
    }

    /// Answers a refusal only the presser sees (ephemeral).
    pub async fn refuse(&self, text: &str) {
        let text: String = text.chars().take(MAX_CONTENT).collect();
        let mut answer = self.answer.lock().await;
        let result = match *answer {
            Answer::Fresh => CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new()
                    .content(text)
                    .ephemeral(true),
            )
            .execute(&*self.http, (self.id, &self.token))
            .await
            .map(|_| ()),
            _ => CreateInteractionResponseFollowup::new()
                .content(text)
                .ephemeral(true)
                .execute(&*self.http, (None, &self.token))
                .await
                .map(|_| ()),
        };
        *answer = Answer::Answered;
        if let Err(e) = result {
            tracing::warn!(error = %said(&e), "discord: could not answer a refusal");
        }
    }

    /// Replaces the pressed message's text (and removes its buttons): the decision on a
    /// confirmation.
    pub async fn decide(&self, content: &str) {
        let content: String = content.chars().take(MAX_CONTENT).collect();
        let mut answer = self.answer.lock().await;
        let result = match *answer {
            Answer::Fresh => CreateInteractionResponse::UpdateMessage(
                CreateInteractionResponseMessage::new()
                    .content(content)
                    .components(Vec::new()),
            )
            .execute(&*self.http, (self.id, &self.token))
            .await
            .map(|_| ()),
            // After an acknowledgement, `@original` is the pressed message.
            _ => EditInteractionResponse::new()
                .content(content)
                .components(Vec::new())
                .execute(&*self.http, &self.token)
                .await
                .map(|_| ()),
        };
        if *answer == Answer::Fresh {
            *answer = Answer::Deferred;
        }
        if let Err(e) = result {
            tracing::warn!(error = %said(&e), "discord: could not mark a confirmation decided");
        }
    }

    /// Sends one payload as the interaction's next message.
    async fn post(&self, payload: &Payload) -> Option<Where> {
        if self.expired() {
            return self
                .channel
                .post_one(payload, false, None)
                .await
                .map(Where::Channel);
        }
        let mut answer = self.answer.lock().await;
        let result = match (*answer, self.kind) {
            (Answer::Fresh, Kind::Command) => {
                CreateInteractionResponse::Message(payload.response())
                    .execute(&*self.http, (self.id, &self.token))
                    .await
                    .map(|()| Where::Original)
            }
            (Answer::Fresh, Kind::Press) => {
                self.defer(&mut answer).await;
                self.followup(payload).await
            }
            (Answer::Deferred, Kind::Command) => payload
                .edit_response()
                .execute(&*self.http, &self.token)
                .await
                .map(|_| Where::Original),
            _ => self.followup(payload).await,
        };
        match result {
            Ok(at) => {
                *answer = Answer::Answered;
                Some(at)
            }
            Err(e) => {
                tracing::error!(error = %said(&e), "discord: a reply could not be delivered");
                None
            }
        }
    }

    async fn followup(&self, payload: &Payload) -> serenity::Result<Where> {
        payload
            .followup()
            .execute(&*self.http, (None, &self.token))
            .await
            .map(|m| Where::Followup(m.id))
    }

    async fn edit(&self, at: Where, payload: &Payload) -> bool {
        let result = match at {
            Where::Channel(id) => return self.channel.edit_one(id, payload).await,
            _ if self.expired() => return false,
            Where::Original => payload
                .edit_response()
                .execute(&*self.http, &self.token)
                .await
                .map(|_| ()),
            Where::Followup(id) => payload
                .followup()
                .execute(&*self.http, (Some(id), &self.token))
                .await
                .map(|_| ()),
        };
        match result {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %said(&e), "discord: a message could not be edited");
                false
            }
        }
    }

    async fn progress(&self, view: ProgressView) -> Option<Where> {
        let payload = progress_payload(&view);
        let text = payload.text();
        let mut live = self.progress.lock().await;
        let Some(entry) = live.get_mut(&view.key) else {
            drop(live);
            let at = self.post(&payload).await?;
            self.progress
                .lock()
                .await
                .insert(view.key, Live::new(at, text));
            return Some(at);
        };
        let finished = view.finished.is_some();
        if !entry.due(&text, finished).await {
            return Some(entry.at);
        }
        let mut at = entry.at;
        if !matches!(at, Where::Channel(_)) && self.expired() {
            // The token is spent: the view goes on in a message of the channel.
            let id = self.channel.post_one(&payload, false, None).await?;
            at = Where::Channel(id);
            entry.at = at;
        } else {
            self.edit(at, &payload).await;
        }
        if finished {
            live.remove(&view.key);
        }
        Some(at)
    }

    fn reference(&self, at: Where) -> Option<MessageRef> {
        let id = match at {
            Where::Original => return None,
            Where::Followup(id) | Where::Channel(id) => id,
        };
        Some(self.channel.reference(id))
    }
}

#[async_trait]
impl Replier for InteractionOut {
    async fn send(&self, out: Outbound) -> Option<MessageRef> {
        if let Outbound::Progress(view) = out {
            let at = self.progress(view).await?;
            return self.reference(at);
        }
        let mut last = None;
        for payload in payloads(&out) {
            last = self.post(&payload).await.or(last);
        }
        self.reference(last?)
    }
}

/// Replies to a channel (a DM, an ops channel).
#[derive(Clone)]
pub struct ChannelOut {
    http: Arc<Http>,
    channel: ChannelId,
    progress: Arc<Mutex<HashMap<u64, Live>>>,
    /// An ops channel's quiet hours: messages then arrive without a notification.
    quiet: Option<crate::config::QuietHours>,
}

impl ChannelOut {
    pub fn new(http: Arc<Http>, channel: ChannelId) -> ChannelOut {
        ChannelOut {
            http,
            channel,
            progress: Arc::new(Mutex::new(HashMap::new())),
            quiet: None,
        }
    }

    /// The same channel, quiet in `quiet`.
    pub fn quiet_in(mut self, quiet: Option<crate::config::QuietHours>) -> ChannelOut {
        self.quiet = quiet;
        self
    }

    fn reference(&self, id: MessageId) -> MessageRef {
        MessageRef {
            platform: Platform::Discord,
            chat: self.channel.get().to_string(),
            message: id.get().to_string(),
        }
    }

    async fn post_one(
        &self,
        payload: &Payload,
        silent: bool,
        to: Option<MessageId>,
    ) -> Option<MessageId> {
        let mut m = payload.message();
        if silent {
            m = m.flags(MessageFlags::SUPPRESS_NOTIFICATIONS);
        }
        if let Some(to) = to {
            m = m.reference_message((self.channel, to));
        }
        match m.execute(&*self.http, (self.channel, None)).await {
            Ok(sent) => Some(sent.id),
            Err(e) => {
                tracing::error!(channel = %self.channel, error = %said(&e), "discord: a message could not be delivered");
                None
            }
        }
    }

    async fn edit_one(&self, id: MessageId, payload: &Payload) -> bool {
        match payload
            .edit()
            .execute(&*self.http, (self.channel, id, None))
            .await
        {
            Ok(_) => true,
            Err(e) => {
                tracing::error!(channel = %self.channel, error = %said(&e), "discord: a message could not be edited");
                false
            }
        }
    }

    /// Sends `out`, the first message as a reply to `to` when given; returns the last.
    async fn post(&self, out: &Outbound, silent: bool, to: Option<MessageId>) -> Option<MessageId> {
        let mut last = None;
        for (i, payload) in payloads(out).iter().enumerate() {
            let reply = to.filter(|_| i == 0);
            last = self.post_one(payload, silent, reply).await.or(last);
        }
        last
    }

    async fn progress(&self, view: ProgressView) -> Option<MessageId> {
        let payload = progress_payload(&view);
        let text = payload.text();
        let mut live = self.progress.lock().await;
        let Some(entry) = live.get_mut(&view.key) else {
            drop(live);
            let id = self.post_one(&payload, self.silent(), None).await?;
            self.progress
                .lock()
                .await
                .insert(view.key, Live::new(Where::Channel(id), text));
            return Some(id);
        };
        let Where::Channel(id) = entry.at else {
            return None;
        };
        let finished = view.finished.is_some();
        if !entry.due(&text, finished).await {
            return Some(id);
        }
        if finished {
            live.remove(&view.key);
        }
        drop(live);
        self.edit_one(id, &payload).await;
        Some(id)
    }

    fn silent(&self) -> bool {
        self.quiet.is_some_and(|q| q.contains(chrono::Utc::now()))
    }
}

#[async_trait]
impl Replier for ChannelOut {
    async fn send(&self, out: Outbound) -> Option<MessageRef> {
        let id = match out {
            Outbound::Progress(view) => self.progress(view).await,
            other => self.post(&other, self.silent(), None).await,
        }?;
        Some(self.reference(id))
    }
}

/// The Discord ops channels as the watch posts to them.
#[derive(Clone)]
pub struct DiscordPostbox {
    pub(super) http: Arc<Http>,
}

impl DiscordPostbox {
    fn channel(&self, chat: &str) -> Option<ChannelOut> {
        let id: u64 = chat.trim().parse().ok().filter(|id| *id > 0)?;
        Some(ChannelOut::new(self.http.clone(), ChannelId::new(id)))
    }

    fn message(at: &MessageRef) -> Option<MessageId> {
        if at.platform != Platform::Discord {
            return None;
        }
        at.message
            .parse()
            .ok()
            .filter(|id| *id > 0)
            .map(MessageId::new)
    }
}

#[async_trait]
impl Postbox for DiscordPostbox {
    async fn post(&self, chat: &str, out: Outbound, silent: bool) -> Option<MessageRef> {
        let channel = self.channel(chat)?;
        let id = channel.post(&out, silent, None).await?;
        Some(channel.reference(id))
    }

    async fn edit(&self, at: &MessageRef, out: Outbound) -> bool {
        let (Some(channel), Some(id)) = (self.channel(&at.chat), Self::message(at)) else {
            return false;
        };
        // An edit holds one message: the first part.
        let Some(payload) = payloads(&out).into_iter().next() else {
            return false;
        };
        channel.edit_one(id, &payload).await
    }

    async fn reply(&self, at: &MessageRef, out: Outbound, silent: bool) -> Option<MessageRef> {
        let channel = self.channel(&at.chat)?;
        let to = Self::message(at)?;
        let id = channel.post(&out, silent, Some(to)).await?;
        Some(channel.reference(id))
    }
}

/// Sends to every Discord ops channel of one feed (start-up notes, resumed plans).
#[derive(Clone)]
pub struct OpsChannels {
    pub(super) channels: Vec<ChannelOut>,
}

#[async_trait]
impl Replier for OpsChannels {
    async fn send(&self, out: Outbound) -> Option<MessageRef> {
        let mut first = None;
        for channel in &self.channels {
            let sent = channel.send(out.clone()).await;
            first = first.or(sent);
        }
        first
    }
}
