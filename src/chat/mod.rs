//! Chat: the platform-neutral model of what comes in (`Inbound`: text or a button press
//! from an actor) and what goes out (`Outbound`: a message, a message with buttons, or a
//! progress view that adapters keep editing in place), the renderers, and one adapter per
//! surface.
//!
//! Adapters are thin: they turn platform updates into `Inbound`s and `Outbound`s into
//! platform calls. No platform type leaves its adapter; no adapter decides anything.

pub mod console;
pub mod discord;
pub mod message;
pub mod recorder;
pub mod render;
pub mod telegram;

pub use message::{Block, Button, Message, Outbound, Photo, ProgressStep, ProgressView, StepState};

use async_trait::async_trait;

use crate::actor::Actor;
use crate::config::Platform;

/// What an actor sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// A line of text (a slash command or free text).
    Text { actor: Actor, text: String },
    /// A press of a button the bot showed; `data` is the button's payload.
    Press { actor: Actor, data: String },
    /// A command with its arguments already apart (a Discord slash command): the same
    /// action as the line `/name args…` would be.
    Command {
        actor: Actor,
        name: String,
        args: crate::ops::Args,
    },
}

/// Where one message is, on its surface: kept in the store so that an alert or a request
/// can be edited or answered later, also after a restart of clawops.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageRef {
    pub platform: Platform,
    /// The chat (Telegram chat id, Discord channel id).
    pub chat: String,
    /// The message within it.
    pub message: String,
}

/// Where replies to one inbound go: the chat it came from.
#[async_trait]
pub trait Replier: Send + Sync {
    /// Sends (or, for a progress view, edits in place) one outbound. Returns where the
    /// message is (the last part of a long one; the first chat's, when it went to
    /// several), or `None` when it was not delivered or the surface keeps no messages.
    async fn send(&self, out: Outbound) -> Option<MessageRef>;
}

/// A surface's ops chats, as the watch uses them: a post to one chat, and an edit of or a
/// reply to a message posted before (found by its reference, also after a restart).
#[async_trait]
pub trait Postbox: Send + Sync {
    /// Posts `out` to `chat`; `silent` delivers it without a notification sound.
    async fn post(&self, chat: &str, out: Outbound, silent: bool) -> Option<MessageRef>;
    /// Replaces the text and buttons of the message at `at` (no buttons in `out`: none).
    async fn edit(&self, at: &MessageRef, out: Outbound) -> bool;
    /// Posts `out` as a reply to the message at `at`.
    async fn reply(&self, at: &MessageRef, out: Outbound, silent: bool) -> Option<MessageRef>;
}

/// Sends every outbound to several repliers (the ops channels of every surface); returns
/// where the first delivered it.
pub struct Fanout(pub Vec<std::sync::Arc<dyn Replier>>);

#[async_trait]
impl Replier for Fanout {
    async fn send(&self, out: Outbound) -> Option<MessageRef> {
        let mut first = None;
        for r in &self.0 {
            let sent = r.send(out.clone()).await;
            first = first.or(sent);
        }
        first
    }
}

/// Payload prefixes of confirmation buttons.
const CONFIRM: &str = "cf:";
const CANCEL: &str = "cx:";

/// The buttons of a confirmation: Confirm and Cancel, bound to confirmation `id`.
pub fn confirmation(id: String, message: Message) -> Outbound {
    Outbound::Buttons {
        message,
        buttons: vec![
            Button {
                label: "Confirm".into(),
                data: format!("{CONFIRM}{id}"),
            },
            Button {
                label: "Cancel".into(),
                data: format!("{CANCEL}{id}"),
            },
        ],
    }
}

/// Payload prefix of the Resume button under a cell the watch suspended.
const RESUME: &str = "rs:";

/// The Resume button under the alert of cell anomaly `id`.
pub fn resume_button(id: i64) -> Button {
    Button {
        label: "Resume".into(),
        data: format!("{RESUME}{id}"),
    }
}

/// The anomaly a Resume button names.
pub fn resume_pressed(data: &str) -> Option<i64> {
    data.strip_prefix(RESUME)?.parse().ok()
}

/// Payload prefix of the buttons under an alert, which any operator may press.
const ALERT: &str = "al:";

/// What a button under an alert does: each press goes through the door as the presser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertButton {
    Acknowledge,
    /// Silence the alert's instances for an hour.
    Silence,
    Restart,
}

impl AlertButton {
    const ALL: [AlertButton; 3] = [
        AlertButton::Acknowledge,
        AlertButton::Silence,
        AlertButton::Restart,
    ];

    fn code(self) -> &'static str {
        match self {
            AlertButton::Acknowledge => "ack",
            AlertButton::Silence => "sil",
            AlertButton::Restart => "rst",
        }
    }

    /// The button's label.
    pub fn label(self) -> &'static str {
        match self {
            AlertButton::Acknowledge => "Acknowledge",
            AlertButton::Silence => "Silence 1h",
            AlertButton::Restart => "Restart",
        }
    }

    /// The button, bound to alert `id`.
    pub fn button(self, id: i64) -> Button {
        Button {
            label: self.label().into(),
            data: format!("{ALERT}{}:{id}", self.code()),
        }
    }
}

/// What an alert button's payload says: which button, and the alert's id.
pub fn alert_pressed(data: &str) -> Option<(AlertButton, i64)> {
    let (code, id) = data.strip_prefix(ALERT)?.split_once(':')?;
    let button = AlertButton::ALL.into_iter().find(|b| b.code() == code)?;
    Some((button, id.parse().ok()?))
}

/// Payload prefix of the buttons under a pairing request.
const PAIRING: &str = "pa:";

/// Approve or Reject under a pairing request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairingButton {
    Approve,
    Reject,
}

impl PairingButton {
    /// The button, bound to request `id`.
    pub fn button(self, id: i64) -> Button {
        let (label, code) = match self {
            PairingButton::Approve => ("Approve", "ok"),
            PairingButton::Reject => ("Reject", "no"),
        };
        Button {
            label: label.into(),
            data: format!("{PAIRING}{code}:{id}"),
        }
    }
}

/// What a pairing button's payload says.
pub fn pairing_pressed(data: &str) -> Option<(PairingButton, i64)> {
    let (code, id) = data.strip_prefix(PAIRING)?.split_once(':')?;
    let button = match code {
        "ok" => PairingButton::Approve,
        "no" => PairingButton::Reject,
        _ => return None,
    };
    Some((button, id.parse().ok()?))
}

/// What a confirmation button's payload says: confirm (true) or cancel, and the id.
pub fn pressed(data: &str) -> Option<(bool, &str)> {
    if let Some(id) = data.strip_prefix(CONFIRM) {
        Some((true, id))
    } else {
        data.strip_prefix(CANCEL).map(|id| (false, id))
    }
}
