//! The bot: what happens to one inbound message or button press, on any surface. It turns
//! text into actions (slash commands now, natural language when an LLM is configured),
//! passes them through the door, and sends the outcome back to the chat it came from.

use std::sync::Arc;

use crate::agent::Agent;
use crate::chat::{Inbound, Message, MessageRef, Outbound, Replier};
use crate::command::{self, ParseError};
use crate::ops::{Actor, Door, Outcome};

/// The bot behind every surface.
#[derive(Clone)]
pub struct Bot {
    door: Door,
    agent: Option<Arc<Agent>>,
}

impl Bot {
    /// A bot acting through `door`, with slash commands only.
    pub fn new(door: Door) -> Bot {
        Bot { door, agent: None }
    }

    /// A bot that also takes natural language through `agent`.
    pub fn with_agent(door: Door, agent: Arc<Agent>) -> Bot {
        Bot {
            door,
            agent: Some(agent),
        }
    }

    /// The door it acts through.
    pub fn door(&self) -> &Door {
        &self.door
    }

    /// Handles one inbound; every reply goes to `out`, with every secret the process
    /// knows cut out.
    pub async fn handle(&self, inbound: Inbound, out: &dyn Replier) {
        let out = &Redacting(out);
        match inbound {
            Inbound::Text { actor, text } => self.text(&actor, &text, out).await,
            Inbound::Press { actor, data } => self.on_press(&actor, &data, out).await,
            Inbound::Command { actor, name, args } => self.command(&actor, &name, &args, out).await,
        }
    }

    async fn command(&self, actor: &Actor, name: &str, args: &crate::ops::Args, out: &dyn Replier) {
        if self.door.role_of(actor).is_none() {
            let outcome = self.door.turn_away(actor, &format!("/{name}")).await;
            send_outcome(out, outcome).await;
            return;
        }
        match crate::ops::build(name, args) {
            Ok(action) => {
                let outcome = self.door.submit(actor, action, out).await;
                send_outcome(out, outcome).await;
            }
            Err(e) => {
                let usage = crate::ops::spec(name)
                    .map(|s| format!(" (usage: {})", s.usage()))
                    .unwrap_or_default();
                out.send(Outbound::Message(Message::text(format!("{e}{usage}"))))
                    .await;
            }
        }
    }

    async fn text(&self, actor: &Actor, text: &str, out: &dyn Replier) {
        if self.door.role_of(actor).is_none() {
            // A stranger learns nothing: not even whether their command was valid.
            let outcome = self.door.turn_away(actor, text).await;
            send_outcome(out, outcome).await;
            return;
        }
        if !command::is_command(text) {
            let reply = match &self.agent {
                None => Message::text(
                    "Natural-language requests need an LLM endpoint ([llm] in the config). Until then, use the commands: /help lists them.",
                ),
                Some(agent) => match agent.ask(actor, &actor.audit_name(), text, out).await {
                    Ok(answer) => answer.message,
                    Err(e) => Message::text(format!("✗ {e}")),
                },
            };
            out.send(Outbound::Message(reply)).await;
            return;
        }
        match command::parse(text) {
            Ok(action) => {
                let outcome = self.door.submit(actor, action, out).await;
                send_outcome(out, outcome).await;
            }
            Err(e) => {
                out.send(Outbound::Message(Message::text(parse_error(&e))))
                    .await;
            }
        }
    }

    async fn on_press(&self, actor: &Actor, data: &str, out: &dyn Replier) {
        let outcome = self.press(actor, data, out).await;
        send_outcome(out, outcome).await;
    }

    /// Takes a button press and returns the door's outcome without sending it, for
    /// surfaces that show refusals differently (Telegram: a toast). Progress still goes
    /// to `out`.
    pub async fn press(&self, actor: &Actor, data: &str, out: &dyn Replier) -> Outcome {
        if let Some((button, alert)) = crate::chat::alert_pressed(data) {
            return self.door.press_alert(actor, button, alert, out).await;
        }
        if let Some((button, request)) = crate::chat::pairing_pressed(data) {
            return self.door.press_pairing(actor, button, request, out).await;
        }
        if let Some(anomaly) = crate::chat::resume_pressed(data) {
            return self.door.press_resume(actor, anomaly, out).await;
        }
        let Some((confirm, id)) = crate::chat::pressed(data) else {
            return Outcome::Refused(Message::text("That button is not one of mine."));
        };
        self.door.press(actor, id, confirm, out).await
    }

    /// Shows `actor` the confirmations still waiting for their press (after a restart).
    pub async fn show_pending(&self, actor: &Actor, out: &dyn Replier) {
        match self.door.pending(actor).await {
            Ok(pending) => {
                for (id, message) in pending {
                    out.send(confirmation(id, message)).await;
                }
            }
            Err(e) => {
                out.send(Outbound::Message(Message::text(format!("✗ {e}"))))
                    .await;
            }
        }
    }
}

/// A replier that cuts every registered secret out of what it passes on: whatever an
/// action, a host or an error says, a known secret never reaches a chat.
pub struct Redacting<'a>(pub &'a dyn Replier);

#[async_trait::async_trait]
impl Replier for Redacting<'_> {
    async fn send(&self, out: Outbound) -> Option<MessageRef> {
        self.0
            .send(out.map_text(&crate::secrets::redact_known))
            .await
    }
}

fn parse_error(e: &ParseError) -> String {
    e.to_string()
}

pub use crate::chat::confirmation;

/// Sends an outcome as chat: a message, with buttons where it waits for a press.
pub async fn send_outcome(out: &dyn Replier, outcome: Outcome) {
    let outbound = match outcome {
        Outcome::Confirm { id, message } => confirmation(id, message),
        Outcome::Offer {
            message,
            id,
            prompt,
        } => {
            out.send(Outbound::Message(message)).await;
            confirmation(id, prompt)
        }
        Outcome::Done(m) | Outcome::Failed(m) | Outcome::Refused(m) => Outbound::Message(m),
    };
    out.send(outbound).await;
}
