//! `/health` and `/health NAME`: what the sweeps saw. With no name it answers "what is
//! down?": every instance not HEALTHY, worst first, with its reasons and since when, and
//! how old the last sweep is. With a name: the current state, a trend line of the last
//! readings and the hourly summaries of the last day.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::existing;
use crate::chat::Message;
use crate::config::Role;
use crate::jobs::JobKind;
use crate::monitor::HealthState;
use crate::ops::OpsError;
use crate::ops::catalogue::{Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::store::{InstanceRow, InstanceStatus, parse_ts};

/// What the sweeps saw.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Health {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Command for Health {
    const SPEC: Spec = Spec {
        name: "health",
        summary: "What is down: every instance not HEALTHY, worst first, why and since when; with NAME its recent readings",
        params: &[Param {
            name: "name",
            meta: "NAME",
            kind: Kind::Name,
            flag: false,
            required: false,
            help: "one instance: its readings and trend",
        }],
        risk: Risk::Read,
        role: Role::Viewer,
        example: "/health alice-bot",
    };
}

/// The trend characters, lowest score first.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

impl Health {
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        match &self.name {
            None => self.fleet(ctx).await,
            Some(name) => self.one(ctx, name).await,
        }
    }

    async fn fleet(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let now = ctx.clock.now();
        let swept = last_sweep(ctx, now).await?;
        let fleet = ctx.store.fleet().await?;
        let mut bad: Vec<&InstanceRow> = fleet
            .iter()
            .filter(|r| r.status == InstanceStatus::Ready)
            .filter(|r| {
                r.health.as_deref().and_then(HealthState::parse) != Some(HealthState::Healthy)
            })
            .collect();
        bad.sort_by_key(|r| (r.health_score.unwrap_or(-1), r.name.clone()));
        let idle: Vec<String> = fleet
            .iter()
            .filter(|r| r.status != InstanceStatus::Ready)
            .map(|r| format!("{} ({})", r.name, r.status))
            .collect();
        let ready = fleet.len() - idle.len();
        let mut m = if bad.is_empty() {
            Message::default().heading(format!(
                "✓ All {ready} ready instance{} HEALTHY",
                if ready == 1 { "" } else { "s" }
            ))
        } else {
            let rows = bad
                .iter()
                .map(|r| {
                    vec![
                        r.name.clone(),
                        match (&r.health, r.health_score) {
                            (Some(h), Some(s)) => format!("{h} {s}"),
                            _ => "not probed yet".into(),
                        },
                        r.health_reasons.clone().unwrap_or_default(),
                        r.health_since
                            .as_deref()
                            .map(|s| since(s, now))
                            .unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            Message::default()
                .heading(format!(
                    "{} of {ready} ready instances not HEALTHY",
                    bad.len()
                ))
                .table(&["name", "health", "why", "since"], rows)
        };
        if !idle.is_empty() {
            m = m.para(format!("Not running: {}", idle.join(", ")));
        }
        Ok(m.para(swept))
    }

    async fn one(&self, ctx: &Ctx, name: &str) -> Result<Message, OpsError> {
        let now = ctx.clock.now();
        let row = existing(&ctx.store, name).await?;
        let mut m = Message::default().heading(format!(
            "{} — {}",
            row.name,
            match (&row.health, row.health_score) {
                (Some(h), Some(s)) => format!("{h} ({s}/100)"),
                _ => "not probed yet".into(),
            }
        ));
        if let Some(reasons) = row.health_reasons.as_deref().filter(|r| !r.is_empty()) {
            m = m.para(format!("Why: {reasons}"));
        }
        if let Some(s) = row.health_since.as_deref() {
            m = m.para(format!("In this state since {}", since(s, now)));
        }
        let readings = ctx
            .store
            .readings_of(&row.name, now - chrono::Duration::hours(2))
            .await?;
        if readings.is_empty() {
            m = m.para("No readings in the last 2 hours (the health-sweep job keeps them).");
        } else {
            let scores: Vec<i64> = readings.iter().map(|r| r.score).collect();
            m = m.para(format!(
                "Last 2 h, {} reading{}: {} (min {}, now {})",
                scores.len(),
                if scores.len() == 1 { "" } else { "s" },
                trend(&scores),
                scores.iter().min().copied().unwrap_or_default(),
                scores.last().copied().unwrap_or_default()
            ));
            let recent = readings
                .iter()
                .rev()
                .take(5)
                .map(|r| {
                    vec![
                        short(&r.at),
                        format!("{} {}", r.state, r.score),
                        r.reasons.clone(),
                    ]
                })
                .collect();
            m = m.table(&["at", "health", "why"], recent);
            let restarts: Vec<i64> = readings.iter().filter_map(|r| r.restarts).collect();
            if let (Some(first), Some(last)) = (restarts.first(), restarts.last()) {
                m = m.para(format!(
                    "Restarts of the gateway by its service: {last} so far, {} in the last 2 h.",
                    (last - first).max(0)
                ));
            }
        }
        let hours = ctx
            .store
            .hourly_of(&row.name, now - chrono::Duration::hours(24))
            .await?;
        if !hours.is_empty() {
            let avg: Vec<i64> = hours.iter().map(|h| h.score_avg.round() as i64).collect();
            let worst = hours.iter().map(|h| h.score_min).min().unwrap_or_default();
            m = m.para(format!(
                "Last 24 h by hour: {} (worst {worst})",
                trend(&avg)
            ));
        }
        Ok(m)
    }
}

/// "Last sweep 40s ago (12:01:00 UTC): 42 probed…", or that there was none.
async fn last_sweep(ctx: &Ctx, now: DateTime<Utc>) -> Result<String, OpsError> {
    let runs = ctx.store.last_job_runs().await?;
    Ok(
        match runs.iter().find(|r| r.job == JobKind::HealthSweep.name()) {
            Some(r) => format!(
                "Last sweep {}: {}",
                since(&r.started_at, now),
                r.summary.as_deref().unwrap_or(&r.result)
            ),
            None => "No sweep has run yet: health shown is from the last command that probed (/jobs run health-sweep sweeps now).".into(),
        },
    )
}

/// How fresh the health a selector matched on is: "health as of the last sweep, 40s ago
/// (12:01 UTC)", or that no sweep has run.
pub async fn as_of(ctx: &Ctx) -> Result<String, OpsError> {
    let runs = ctx.store.last_job_runs().await?;
    Ok(
        match runs.iter().find(|r| r.job == JobKind::HealthSweep.name()) {
            Some(r) => format!(
                "Health as of the last sweep, {}.",
                since(&r.started_at, ctx.clock.now())
            ),
            None => "Health as of each instance's last probe: no sweep has run.".into(),
        },
    )
}

/// A line of bars, one per score (0-100).
pub fn trend(scores: &[i64]) -> String {
    scores
        .iter()
        .map(|s| BARS[((s.clamp(&0, &100) * 7) / 100) as usize])
        .collect()
}

/// "5m ago (12:01 UTC)".
fn since(ts: &str, now: DateTime<Utc>) -> String {
    let Ok(t) = parse_ts("a time", ts) else {
        return ts.to_string();
    };
    let secs = (now - t).num_seconds().max(0);
    let ago = match secs {
        s if s < 90 => format!("{s}s ago"),
        s if s < 90 * 60 => format!("{}m ago", s / 60),
        s if s < 48 * 3600 => format!("{}h ago", s / 3600),
        s => format!("{}d ago", s / 86400),
    };
    format!("{ago} ({})", t.format("%H:%M UTC"))
}

fn short(ts: &str) -> String {
    ts.get(11..19).unwrap_or(ts).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn trend_draws_low_scores_low() {
        assert_eq!(super::trend(&[0, 50, 100]), "▁▄█");
    }
}
