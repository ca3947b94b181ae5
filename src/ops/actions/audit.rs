//! `/audit [N]`: the newest rows of the audit trail.

use serde::{Deserialize, Serialize};

use crate::chat::Message;
use crate::config::Role;
use crate::ops::OpsError;
use crate::ops::catalogue::{Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;

/// Show the newest audit rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditTail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

impl Command for AuditTail {
    const SPEC: Spec = Spec {
        name: "audit",
        summary: "Show the newest rows of the audit trail: who did what, when",
        params: &[Param {
            name: "count",
            meta: "N",
            kind: Kind::Number { min: 1, max: 200 },
            flag: false,
            required: false,
            help: "how many rows (default 10, at most 200)",
        }],
        risk: Risk::Read,
        role: Role::Operator,
        example: "/audit 20",
    };
}

impl AuditTail {
    /// The rows, oldest first.
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let n = self.count.unwrap_or(10) as i64;
        let rows = ctx.store.audit_tail(n).await?;
        if rows.is_empty() {
            return Ok(Message::text("The audit trail is empty."));
        }
        let table = rows
            .iter()
            .map(|r| {
                let at = r.at.get(5..19).unwrap_or(&r.at).replace('T', " ");
                vec![
                    r.seq.to_string(),
                    at,
                    r.actor.clone(),
                    r.event.clone(),
                    r.action.clone(),
                ]
            })
            .collect();
        Ok(Message::default()
            .heading(format!("Audit trail: last {} rows", rows.len()))
            .table(&["#", "time (UTC)", "actor", "event", "action"], table)
            .para("`clawops audit verify` checks that no row was changed or removed."))
    }
}
