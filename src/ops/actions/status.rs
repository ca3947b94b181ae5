//! `/status NAME`: one instance, probed now: health score and state, place, price,
//! gateway version and uptime, and how its last deploy went.

use serde::{Deserialize, Serialize};

use super::existing;
use crate::chat::Message;
use crate::config::Role;
use crate::ops::OpsError;
use crate::ops::catalogue::{Command, Risk, Spec};
use crate::ops::door::Ctx;
use crate::provider::money;
use crate::store::{DeployState, InstanceRow, InstanceStatus};

/// Show one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub name: String,
}

impl Command for Status {
    const SPEC: Spec = Spec {
        name: "status",
        summary: "Probe one instance now and show its health, place, price and last deploy",
        params: &[super::INSTANCE],
        risk: Risk::Read,
        role: Role::Viewer,
        example: "/status alice-bot",
    };
}

impl Status {
    /// Probes the instance (when it has a server) and describes it.
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let row = existing(&ctx.store, &self.name).await?;
        let mut m = Message::default();
        let mut facts = vec![
            format!("{} {}", row.provider, row.region),
            row.size.clone(),
            format!("{}/month", money(row.monthly_cents, &row.currency)),
        ];
        if let Some(ip) = &row.ipv4 {
            facts.push(ip.clone());
        }
        if let Some(id) = &row.server_id {
            facts.push(format!("server {id}"));
        }
        facts.push(end_users_line(&row));
        match (&row.server_id, row.status) {
            (Some(server_id), InstanceStatus::Ready) => {
                let super::Probe {
                    reading,
                    state,
                    score,
                    why,
                } = super::probe_now(ctx, &row, server_id).await?;
                m = m.heading(format!("{} — {} ({score}/100)", row.name, state.as_str()));
                m = m.para(facts.join(" · "));
                if let Some(r) = &reading {
                    let uptime = r
                        .uptime_secs
                        .map(|s| {
                            humantime::format_duration(std::time::Duration::from_secs(s))
                                .to_string()
                        })
                        .unwrap_or_else(|| "down".into());
                    m = m.para(format!(
                        "OpenClaw {} · gateway {} · CPU {:.0}% · memory {:.0}% · disk {:.0}%",
                        r.openclaw_version.as_deref().unwrap_or("?"),
                        if r.gateway_up {
                            format!("up {uptime}")
                        } else {
                            "down".into()
                        },
                        r.cpu_percent,
                        r.memory_percent,
                        r.disk_percent
                    ));
                    if let Some(cell) = &r.cell {
                        m = m.para(cell_line(ctx, &row.name, r, cell));
                    }
                }
                if !why.is_empty() {
                    m = m.para(format!("Deductions: {}", why.join(", ")));
                }
            }
            _ => {
                m = m.heading(format!("{} — {}", row.name, row.status));
                m = m.para(facts.join(" · "));
            }
        }
        if let Some(d) = ctx.store.latest_deploy(&row.name).await? {
            let line = match d.state {
                DeployState::Done => format!(
                    "Last deploy: done at {}",
                    d.finished_at.as_deref().unwrap_or("?")
                ),
                DeployState::Running => "Deploy running now.".to_string(),
                DeployState::Abandoned => {
                    "Last deploy: abandoned (a migration went back to the old server).".to_string()
                }
                DeployState::Failed | DeployState::Interrupted => format!(
                    "Last deploy: {} at step {} — {}. /deploy {} --resume continues it.",
                    d.state.as_str(),
                    d.failed_step.as_deref().unwrap_or("?"),
                    d.error
                        .as_deref()
                        .and_then(|e| e.lines().next())
                        .unwrap_or(""),
                    row.name
                ),
            };
            m = m.para(line);
        }
        Ok(m)
    }
}

/// "3 end users (owner telegram:4242)", or why the count is unknown now.
pub fn end_users_line(row: &InstanceRow) -> String {
    let count = match row.end_users {
        1 => "1 end user".to_string(),
        n => format!("{n} end users"),
    };
    let mut line = match &row.users_unknown {
        Some(why) => format!("end users unknown ({why}; last counted: {})", row.end_users),
        None if row.users_counted_at.is_none() => format!("{count} (not counted yet)"),
        None => count,
    };
    if let Some(owner) = &row.owner {
        line.push_str(&format!(", owner {owner}"));
    }
    line
}

/// A cell's use against its limits.
fn cell_line(
    ctx: &Ctx,
    name: &str,
    r: &crate::remote::Reading,
    cell: &crate::remote::CellUsage,
) -> String {
    let host = ctx
        .cells
        .as_ref()
        .and_then(|c| c.cell(name))
        .map(|c| c.host)
        .unwrap_or_else(|| "?".into());
    format!(
        "Cell on {host}: CPU {:.0}% of {} CPU · memory {:.0}% of {} MB · processes {} of {} (CPU and memory above are against these limits)",
        r.cpu_percent,
        cell.cpus,
        r.memory_percent,
        cell.memory_mb,
        cell.pids.map_or("?".to_string(), |p| p.to_string()),
        cell.pids_limit
    )
}
