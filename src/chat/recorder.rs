//! A surface that keeps what it is sent: for tests, evals and benchmarks that drive the
//! bot in-process and look at its replies.

use std::sync::Mutex;

use async_trait::async_trait;

use super::{MessageRef, Outbound, Postbox, Replier};
use crate::config::Platform;

/// Keeps every outbound in order.
#[derive(Debug, Default)]
pub struct Recorder {
    sent: Mutex<Vec<Outbound>>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// Everything sent so far, and forgets it.
    pub fn take(&self) -> Vec<Outbound> {
        std::mem::take(&mut *self.sent.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[async_trait]
impl Replier for Recorder {
    async fn send(&self, out: Outbound) -> Option<MessageRef> {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.push(out);
        Some(MessageRef {
            platform: Platform::Console,
            chat: "recorder".into(),
            message: sent.len().to_string(),
        })
    }
}

/// What the watch did to an ops chat.
#[derive(Debug, Clone, PartialEq)]
pub enum Posted {
    /// A new message in `chat` (`silent`: without a sound).
    Post {
        chat: String,
        at: MessageRef,
        out: Outbound,
        silent: bool,
    },
    /// The message at `at` now reads `out`.
    Edit { at: MessageRef, out: Outbound },
    /// A reply to the message `to`.
    Reply {
        to: MessageRef,
        at: MessageRef,
        out: Outbound,
    },
}

impl Posted {
    /// What a person reads in it.
    pub fn text(&self) -> String {
        let out = match self {
            Posted::Post { out, .. } | Posted::Edit { out, .. } | Posted::Reply { out, .. } => out,
        };
        match out {
            Outbound::Message(m) | Outbound::Buttons { message: m, .. } => m.plain(),
            Outbound::Progress(v) => v.title.clone(),
            Outbound::Photo(p) => p.caption.clone(),
        }
    }

    /// The labels of its buttons.
    pub fn buttons(&self) -> Vec<String> {
        let out = match self {
            Posted::Post { out, .. } | Posted::Edit { out, .. } | Posted::Reply { out, .. } => out,
        };
        match out {
            Outbound::Buttons { buttons, .. } => buttons.iter().map(|b| b.label.clone()).collect(),
            _ => Vec::new(),
        }
    }
}

/// An ops surface that keeps what the watch posted, edited and replied: for tests and
/// benchmarks.
#[derive(Debug, Default)]
pub struct Postings {
    posted: Mutex<Vec<Posted>>,
}

impl Postings {
    pub fn new() -> Postings {
        Postings::default()
    }

    /// Everything so far, and forgets it.
    pub fn take(&self) -> Vec<Posted> {
        std::mem::take(&mut *self.posted.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn keep(&self, make: impl FnOnce(MessageRef) -> Posted, chat: &str) -> MessageRef {
        let mut posted = self.posted.lock().unwrap_or_else(|p| p.into_inner());
        let at = MessageRef {
            platform: Platform::Telegram,
            chat: chat.to_string(),
            message: (posted.len() + 1).to_string(),
        };
        posted.push(make(at.clone()));
        at
    }
}

#[async_trait]
impl Postbox for Postings {
    async fn post(&self, chat: &str, out: Outbound, silent: bool) -> Option<MessageRef> {
        let c = chat.to_string();
        Some(self.keep(
            |at| Posted::Post {
                chat: c,
                at,
                out,
                silent,
            },
            chat,
        ))
    }

    async fn edit(&self, at: &MessageRef, out: Outbound) -> bool {
        self.posted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Posted::Edit {
                at: at.clone(),
                out,
            });
        true
    }

    async fn reply(&self, to: &MessageRef, out: Outbound, _silent: bool) -> Option<MessageRef> {
        let to = to.clone();
        let chat = to.chat.clone();
        Some(self.keep(|at| Posted::Reply { to, at, out }, &chat))
    }
}
