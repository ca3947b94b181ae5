//! The content of outgoing messages, independent of any platform. Strings here are plain
//! text: escaping for a platform happens only in `render`.

use std::time::Duration;

/// A message: a list of blocks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Message {
    pub blocks: Vec<Block>,
}

/// One part of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A bold line.
    Heading(String),
    /// A paragraph of plain text.
    Text(String),
    /// A table with a header row.
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// Preformatted text (logs, command output).
    Pre(String),
}

impl Message {
    /// A message of one paragraph.
    pub fn text(s: impl Into<String>) -> Message {
        Message {
            blocks: vec![Block::Text(s.into())],
        }
    }

    /// Adds a bold line.
    pub fn heading(mut self, s: impl Into<String>) -> Message {
        self.blocks.push(Block::Heading(s.into()));
        self
    }

    /// Adds a paragraph.
    pub fn para(mut self, s: impl Into<String>) -> Message {
        self.blocks.push(Block::Text(s.into()));
        self
    }

    /// Adds a table.
    pub fn table(mut self, header: &[&str], rows: Vec<Vec<String>>) -> Message {
        self.blocks.push(Block::Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows,
        });
        self
    }

    /// Adds preformatted text.
    pub fn pre(mut self, s: impl Into<String>) -> Message {
        self.blocks.push(Block::Pre(s.into()));
        self
    }

    /// The message as plain text, for logs and tests.
    pub fn plain(&self) -> String {
        crate::chat::render::plain(self)
    }
}

/// A button under a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Button {
    pub label: String,
    /// What the press sends back (`Inbound::Press::data`).
    pub data: String,
}

/// How a step of a long action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    Pending,
    Running,
    Done,
    /// Already done before this run (found by its check).
    Skipped,
    Failed,
}

/// One step in a progress view.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressStep {
    pub title: String,
    pub state: StepState,
    pub elapsed: Option<Duration>,
    /// A short note (what was created, why it failed).
    pub note: Option<String>,
}

/// The state of a long action (a deploy), shown as one message edited in place.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressView {
    /// Identifies the action within its chat, so edits go to the same message.
    pub key: u64,
    pub title: String,
    pub steps: Vec<ProgressStep>,
    pub elapsed: Duration,
    /// Set when the action has ended: true for success.
    pub finished: Option<bool>,
}

/// Something to send to a chat.
#[derive(Debug, Clone, PartialEq)]
pub enum Outbound {
    Message(Message),
    /// A message with buttons (a confirmation).
    Buttons {
        message: Message,
        buttons: Vec<Button>,
    },
    /// A progress view: adapters edit the message of the same `key` instead of posting.
    Progress(ProgressView),
    /// A picture (the briefing's chart) with a short caption.
    Photo(Photo),
}

/// A PNG picture to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Photo {
    pub png: std::sync::Arc<Vec<u8>>,
    /// The file name a chat shows, e.g. `briefing.png`.
    pub name: String,
    /// At most 1024 characters (Telegram's limit for captions).
    pub caption: String,
    /// Where it was also saved on this machine (the console shows the path).
    pub saved: Option<std::path::PathBuf>,
}

impl Message {
    /// The message with `f` applied to every piece of text in it.
    pub fn map_text(self, f: &dyn Fn(&str) -> String) -> Message {
        Message {
            blocks: self
                .blocks
                .into_iter()
                .map(|b| match b {
                    Block::Heading(t) => Block::Heading(f(&t)),
                    Block::Text(t) => Block::Text(f(&t)),
                    Block::Pre(t) => Block::Pre(f(&t)),
                    Block::Table { header, rows } => Block::Table {
                        header: header.iter().map(|h| f(h)).collect(),
                        rows: rows
                            .into_iter()
                            .map(|r| r.iter().map(|c| f(c)).collect())
                            .collect(),
                    },
                })
                .collect(),
        }
    }
}

impl Outbound {
    /// The outbound with `f` applied to every piece of text a person reads.
    pub fn map_text(self, f: &dyn Fn(&str) -> String) -> Outbound {
        match self {
            Outbound::Message(m) => Outbound::Message(m.map_text(f)),
            Outbound::Buttons { message, buttons } => Outbound::Buttons {
                message: message.map_text(f),
                buttons,
            },
            Outbound::Progress(mut view) => {
                view.title = f(&view.title);
                for step in &mut view.steps {
                    step.title = f(&step.title);
                    step.note = step.note.as_deref().map(f);
                }
                Outbound::Progress(view)
            }
            Outbound::Photo(mut photo) => {
                photo.caption = f(&photo.caption);
                Outbound::Photo(photo)
            }
        }
    }
}
