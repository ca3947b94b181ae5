//! `/list [--status S] [--region R] [--provider P] [--name PATTERN]`: the fleet as a table.

use serde::{Deserialize, Serialize};

use super::{SELECTOR_PARAMS, Selector};
use crate::chat::Message;
use crate::config::Role;
use crate::ops::OpsError;
use crate::ops::catalogue::{Command, Risk, Spec};
use crate::ops::door::Ctx;
use crate::provider::money;

/// List the fleet.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct List {
    #[serde(flatten)]
    pub selector: Selector,
}

impl Command for List {
    const SPEC: Spec = Spec {
        name: "list",
        summary: "List the fleet: status, health, place, size, price, address",
        params: &SELECTOR_PARAMS,
        risk: Risk::Read,
        role: Role::Viewer,
        example: "/list --status degraded",
    };
}

impl List {
    /// The table, with a total line.
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let rows = self.selector.pick(&ctx.store).await?;
        if rows.is_empty() {
            let text = if self.selector.is_empty() {
                "The fleet is empty. /deploy NAME REGION creates an instance."
            } else {
                "No instance matches."
            };
            return Ok(Message::text(text));
        }
        let mut totals: std::collections::BTreeMap<String, i64> = Default::default();
        for r in &rows {
            *totals.entry(r.currency.clone()).or_default() += r.monthly_cents;
        }
        let cost = totals
            .iter()
            .map(|(cur, cents)| money(*cents, cur))
            .collect::<Vec<_>>()
            .join(" + ");
        let table = rows
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.status.to_string(),
                    match (&r.health, r.health_score) {
                        (Some(h), Some(s)) => format!("{h} {s}"),
                        _ => "-".into(),
                    },
                    super::place(r),
                    r.size.clone(),
                    money(r.monthly_cents, &r.currency),
                    r.ipv4.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        let n = rows.len();
        Ok(Message::default()
            .table(
                &[
                    "name",
                    "status",
                    "health",
                    "where",
                    "size",
                    "per month",
                    "IP",
                ],
                table,
            )
            .para(format!(
                "{n} instance{} · {cost} per month · {}",
                if n == 1 { "" } else { "s" },
                super::health::as_of(ctx).await?
            )))
    }
}
