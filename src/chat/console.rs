//! The console surface: each line on standard input is a message from the local operator
//! (the owner); buttons are shown numbered and pressed by typing the number. It works with
//! input from a pipe, so scripts and tests can drive it. Lines are handled one at a time,
//! so a script's commands run in order.

use std::collections::HashMap;
use std::io::IsTerminal;

use async_trait::async_trait;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::render::{plain, progress_lines, step_line};
use super::{Inbound, MessageRef, Outbound, Postbox, ProgressView, Replier, StepState};
use crate::actor::Actor;
use crate::bot::Bot;

/// Where the console writes, and what it remembers between lines: the numbered buttons
/// and how far each progress view has been printed.
pub struct ConsoleOut<W> {
    inner: Mutex<State<W>>,
}

struct State<W> {
    writer: W,
    next_button: usize,
    buttons: HashMap<usize, String>,
    printed: HashMap<u64, Vec<StepState>>,
}

impl<W: AsyncWrite + Unpin + Send> ConsoleOut<W> {
    /// A console writing to `writer`.
    pub fn new(writer: W) -> ConsoleOut<W> {
        ConsoleOut {
            inner: Mutex::new(State {
                writer,
                next_button: 1,
                buttons: HashMap::new(),
                printed: HashMap::new(),
            }),
        }
    }

    /// The payload of the button numbered `n`, if one was shown; a button is pressed once.
    pub async fn take_button(&self, n: usize) -> Option<String> {
        self.inner.lock().await.buttons.remove(&n)
    }

    /// Writes a line as it is.
    pub async fn line(&self, text: &str) {
        let mut state = self.inner.lock().await;
        write(&mut state.writer, text).await;
    }

    /// Writes the input prompt (no line end), for an operator at a terminal.
    pub async fn prompt(&self) {
        let mut state = self.inner.lock().await;
        if state.writer.write_all(b"> ").await.is_ok() {
            let _ = state.writer.flush().await;
        }
    }
}

async fn write<W: AsyncWrite + Unpin>(w: &mut W, text: &str) {
    let mut text = printable(text);
    text.push('\n');
    // A closed terminal is not worth crashing over; the audit trail has the record.
    if w.write_all(text.as_bytes()).await.is_ok() {
        let _ = w.flush().await;
    }
}

/// `text` without control characters (escape sequences from a host's output could move
/// the cursor, rewrite what is shown or retitle the terminal): line breaks and tabs are
/// kept, every other control character is shown as `�`.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\t' => c,
            c if c.is_control() => '\u{FFFD}',
            // Bidirectional overrides reorder what is shown.
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

#[async_trait]
impl<W: AsyncWrite + Unpin + Send> Replier for ConsoleOut<W> {
    async fn send(&self, out: Outbound) -> Option<super::MessageRef> {
        let mut state = self.inner.lock().await;
        match out {
            Outbound::Message(m) => {
                let text = plain(&m);
                write(&mut state.writer, &text).await;
            }
            Outbound::Buttons { message, buttons } => {
                let mut labels = Vec::new();
                for b in buttons {
                    let n = state.next_button;
                    state.next_button += 1;
                    state.buttons.insert(n, b.data);
                    labels.push(format!("[{n}] {}", b.label));
                }
                let text = format!("{}\n   {}", plain(&message), labels.join("   "));
                write(&mut state.writer, &text).await;
            }
            Outbound::Progress(view) => {
                let lines = progress_delta(&mut state.printed, &view);
                if !lines.is_empty() {
                    write(&mut state.writer, &lines.join("\n")).await;
                }
            }
            Outbound::Photo(photo) => {
                let text = match &photo.saved {
                    Some(path) => format!("🖼 {} — {}", printable(&photo.caption), path.display()),
                    None => format!(
                        "🖼 {} (not saved: a terminal shows no pictures)",
                        printable(&photo.caption)
                    ),
                };
                write(&mut state.writer, &text).await;
            }
        }
        // A terminal keeps nothing that could be edited later.
        None
    }
}

/// The console as the watch's ops chat, when no `[[ops_channels]]` are configured: alerts
/// are printed with their numbered buttons; a later edit or reply is printed as a new
/// line under a mark (a terminal cannot change what it printed).
#[async_trait]
impl<W: AsyncWrite + Unpin + Send> Postbox for ConsoleOut<W> {
    async fn post(&self, _chat: &str, out: Outbound, _silent: bool) -> Option<MessageRef> {
        self.send(out).await;
        Some(MessageRef {
            platform: crate::config::Platform::Console,
            chat: "console".into(),
            message: "console".into(),
        })
    }

    async fn edit(&self, _at: &MessageRef, out: Outbound) -> bool {
        let text = match &out {
            Outbound::Message(m) | Outbound::Buttons { message: m, .. } => plain(m),
            Outbound::Progress(_) | Outbound::Photo(_) => return true,
        };
        // Only the lines that say how it stands now (the last), not the whole alert again.
        let last = text.lines().last().unwrap_or_default().to_string();
        self.line(&format!("   ↻ {}", printable(&last))).await;
        true
    }

    async fn reply(&self, at: &MessageRef, out: Outbound, silent: bool) -> Option<MessageRef> {
        let out = out.map_text(&|t| format!("↳ {t}"));
        self.post(&at.chat, out, silent).await
    }
}

/// The lines of a progress view not printed yet: the title once, then one line per step
/// when it ends (done, already done, failed).
fn progress_delta(printed: &mut HashMap<u64, Vec<StepState>>, view: &ProgressView) -> Vec<String> {
    let mut lines = Vec::new();
    let seen = printed.entry(view.key).or_insert_with(|| {
        lines.push(progress_lines(view)[0].clone());
        vec![StepState::Pending; view.steps.len()]
    });
    let total = view.steps.len();
    for (i, step) in view.steps.iter().enumerate() {
        let ended = matches!(
            step.state,
            StepState::Done | StepState::Skipped | StepState::Failed
        );
        if ended && seen.get(i) != Some(&step.state) {
            lines.push(format!("  {}", step_line(i, total, step)));
            if let Some(s) = seen.get_mut(i) {
                *s = step.state;
            }
        }
    }
    if view.finished.is_some() {
        printed.remove(&view.key);
    }
    lines
}

/// Runs the console until its input ends or shutdown begins.
pub async fn run<R, W>(
    bot: Bot,
    input: R,
    out: std::sync::Arc<ConsoleOut<W>>,
    shutdown: CancellationToken,
) where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin + Send,
{
    let actor = Actor::console();
    let interactive = std::io::stdin().is_terminal();
    bot.show_pending(&actor, out.as_ref()).await;
    let mut lines = input.lines();
    loop {
        if interactive {
            out.prompt().await;
        }
        let line = tokio::select! {
            _ = shutdown.cancelled() => break,
            line = lines.next_line() => line,
        };
        let line = match line {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the console's input");
                break;
            }
        };
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        if matches!(text, "quit" | "exit" | "/quit") {
            break;
        }
        let inbound = match text.parse::<usize>() {
            Ok(n) => match out.take_button(n).await {
                Some(data) => Inbound::Press {
                    actor: actor.clone(),
                    data,
                },
                None => {
                    out.line(&format!("There is no button [{n}] waiting."))
                        .await;
                    continue;
                }
            },
            Err(_) => Inbound::Text {
                actor: actor.clone(),
                text: text.to_string(),
            },
        };
        bot.handle(inbound, out.as_ref()).await;
    }
}
