//! Chat: the platform-neutral model of what comes in (`Inbound`: text or a button press
//! from an actor) and what goes out (`Outbound`: a message, a message with buttons, or a
//! progress view that adapters keep editing in place), the renderers, and one adapter per
//! surface.
//!
//! Adapters are thin: they turn platform updates into `Inbound`s and `Outbound`s into
//! platform calls. No platform type leaves its adapter; no adapter decides anything.

pub mod console;
pub mod message;
pub mod recorder;
pub mod render;
pub mod telegram;

pub use message::{Block, Button, Message, Outbound, ProgressStep, ProgressView, StepState};

use async_trait::async_trait;

use crate::actor::Actor;

/// What an actor sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// A line of text (a slash command or free text).
    Text { actor: Actor, text: String },
    /// A press of a button the bot showed; `data` is the button's payload.
    Press { actor: Actor, data: String },
}

/// Where replies to one inbound go: the chat it came from.
#[async_trait]
pub trait Replier: Send + Sync {
    /// Sends (or, for a progress view, edits in place) one outbound.
    async fn send(&self, out: Outbound);
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

/// What a confirmation button's payload says: confirm (true) or cancel, and the id.
pub fn pressed(data: &str) -> Option<(bool, &str)> {
    if let Some(id) = data.strip_prefix(CONFIRM) {
        Some((true, id))
    } else {
        data.strip_prefix(CANCEL).map(|id| (false, id))
    }
}
