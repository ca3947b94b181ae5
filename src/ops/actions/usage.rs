//! `/usage`: LLM tokens and estimated cost per operator, today and over 30 days.

use serde::{Deserialize, Serialize};

use crate::chat::Message;
use crate::config::Role;
use crate::ops::OpsError;
use crate::ops::catalogue::{Command, Risk, Spec};
use crate::ops::door::Ctx;

/// Show LLM usage.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Usage {}

impl Command for Usage {
    const SPEC: Spec = Spec {
        name: "usage",
        summary: "LLM tokens and estimated cost per operator, today and over 30 days",
        params: &[],
        risk: Risk::Read,
        role: Role::Viewer,
        example: "/usage",
    };
}

impl Usage {
    /// The usage table.
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let now = ctx.clock.now();
        let midnight = now
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or(now);
        let today = ctx.store.llm_usage_since(midnight).await?;
        let month = ctx
            .store
            .llm_usage_since(now - chrono::Duration::days(30))
            .await?;
        if month.is_empty() {
            return Ok(Message::text("No LLM calls in the last 30 days."));
        }
        let rows = month
            .iter()
            .map(|m| {
                let t = today.iter().find(|t| t.actor == m.actor);
                vec![
                    m.actor.clone(),
                    t.map(|t| (t.prompt_tokens + t.completion_tokens).to_string())
                        .unwrap_or_else(|| "0".into()),
                    (m.prompt_tokens + m.completion_tokens).to_string(),
                    m.calls.to_string(),
                    format!("{:.4}", m.cost_micros as f64 / 1e6),
                ]
            })
            .collect();
        Ok(Message::default().heading("LLM usage").table(
            &[
                "operator",
                "tokens today",
                "tokens 30d",
                "calls 30d",
                "est. cost 30d",
            ],
            rows,
        ))
    }
}
