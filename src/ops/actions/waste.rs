//! `/waste`: the ledger's savings, largest first, each with the command that takes it.
//! Nothing is changed: the operator runs the command (and confirms it) or not.

use serde::{Deserialize, Serialize};

use crate::chat::Message;
use crate::config::Role;
use crate::ops::OpsError;
use crate::ops::catalogue::{Command, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::ledger;

/// Find what the fleet pays for without serving anyone.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Waste {}

impl Command for Waste {
    const SPEC: Spec = Spec {
        name: "waste",
        summary: "Savings: idle, oversized, stopped-but-billed instances, old servers, snapshots, cheaper places (with the command for each)",
        params: &[],
        risk: Risk::Read,
        role: Role::Viewer,
        example: "/waste",
    };
}

impl Waste {
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let found = ledger::find(ctx, ctx.clock.now()).await?;
        if found.is_empty() {
            return Ok(Message::text(format!(
                "Nothing to save: no instance idle for {} days, none oversized over a week of sweeps, none stopped but billed, no old servers or snapshots kept, no cheaper place at your providers.",
                ledger::IDLE_DAYS
            )));
        }
        Ok(Message::default()
            .heading(format!(
                "Savings: {} per month in {} places",
                ledger::totals(&found),
                found.len()
            ))
            .para(
                found
                    .iter()
                    .map(|s| format!("• {}", s.line()))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
            .para("Nothing was changed: each command asks before it acts."))
    }
}
