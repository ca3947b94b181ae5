//! `/cost`: what the fleet costs per month, by provider, region and size, and what is
//! billed without serving anyone (failed or interrupted deploys).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::chat::Message;
use crate::config::Role;
use crate::ops::OpsError;
use crate::ops::catalogue::{Command, Risk, Spec};
use crate::ops::door::Ctx;
use crate::provider::money;
use crate::store::InstanceStatus;

/// Sum the fleet's cost.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Cost {}

impl Command for Cost {
    const SPEC: Spec = Spec {
        name: "cost",
        summary: "The fleet's monthly cost by provider, region and size, and what is billed idle",
        params: &[],
        risk: Risk::Read,
        role: Role::Viewer,
        example: "/cost",
    };
}

impl Cost {
    /// The cost table.
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let fleet = ctx.store.fleet().await?;
        let old = ctx.store.kept_old_servers(None).await?;
        if fleet.is_empty() && old.is_empty() {
            return Ok(Message::text("The fleet is empty: it costs nothing."));
        }
        let mut groups: BTreeMap<(String, String, String, String), (usize, i64)> = BTreeMap::new();
        let mut totals: BTreeMap<String, i64> = BTreeMap::new();
        let mut idle: BTreeMap<String, (usize, i64)> = BTreeMap::new();
        for r in &fleet {
            let g = groups
                .entry((
                    r.provider.clone(),
                    r.region.clone(),
                    r.size.clone(),
                    r.currency.clone(),
                ))
                .or_default();
            g.0 += 1;
            g.1 += r.monthly_cents;
            *totals.entry(r.currency.clone()).or_default() += r.monthly_cents;
            if r.status == InstanceStatus::Failed || r.status == InstanceStatus::Interrupted {
                let i = idle.entry(r.currency.clone()).or_default();
                i.0 += 1;
                i.1 += r.monthly_cents;
            }
        }
        // The servers migrations left are billed too, until they are deleted.
        let mut kept: BTreeMap<String, (usize, i64)> = BTreeMap::new();
        for o in &old {
            let k = kept.entry(o.currency.clone()).or_default();
            k.0 += 1;
            k.1 += o.monthly_cents;
            *totals.entry(o.currency.clone()).or_default() += o.monthly_cents;
        }
        let rows = groups
            .iter()
            .map(|((p, region, size, cur), (n, cents))| {
                vec![
                    p.clone(),
                    region.clone(),
                    size.clone(),
                    n.to_string(),
                    money(*cents, cur),
                ]
            })
            .collect();
        let total = totals
            .iter()
            .map(|(c, v)| money(*v, c))
            .collect::<Vec<_>>()
            .join(" + ");
        let mut m = Message::default()
            .heading(format!(
                "Fleet cost: {total} per month ({} instances)",
                fleet.len()
            ))
            .table(
                &["provider", "region", "size", "instances", "per month"],
                rows,
            );
        for (cur, (n, cents)) in &idle {
            m = m.para(format!(
                "{n} instance(s) with a stopped deploy are billed {} per month without serving anyone: /deploy NAME --resume or /destroy NAME.",
                money(*cents, cur)
            ));
        }
        for (cur, (n, cents)) in &kept {
            m = m.para(format!(
                "{n} old server(s) kept after a migration cost {} per month: /destroy NAME --old deletes them.",
                money(*cents, cur)
            ));
        }
        Ok(m)
    }
}
