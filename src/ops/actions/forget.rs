//! `/forget`: drop this chat's conversation memory with the LLM operator.

use serde::{Deserialize, Serialize};

use crate::chat::Message;
use crate::config::Role;
use crate::ops::Actor;
use crate::ops::catalogue::{Command, Risk, Spec};
use crate::ops::door::Ctx;

/// Forget the conversation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Forget {}

impl Command for Forget {
    const SPEC: Spec = Spec {
        name: "forget",
        summary: "Forget this chat's conversation with the LLM operator",
        params: &[],
        risk: Risk::Read,
        role: Role::Viewer,
        example: "/forget",
    };
}

impl Forget {
    /// Drops the memory of the actor's chat.
    pub fn run(&self, ctx: &Ctx, actor: &Actor) -> Message {
        let n = ctx.memory.forget(&actor.audit_name());
        Message::text(format!("Forgotten: {n} earlier exchanges of this chat."))
    }
}
