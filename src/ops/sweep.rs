//! The health sweep: every ready instance probed at once (at most `[watch]
//! sweep_concurrency` together, each within `[watch] probe_timeout`), over the SSH sessions
//! kept open between sweeps; the readings kept (raw, and hourly summaries), each
//! instance's state, score, reasons and since-when updated in one transaction; old
//! readings pruned. An instance a person's action holds is left to that action.
//!
//! Reads only: a sweep is one audit row for the job run, not one per host.

use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::OpsError;
use super::door::Ctx;
use crate::monitor::{self, HealthState};
use crate::store::{InstanceRow, InstanceStatus, ReadingRow, ts};

/// Job runs are kept this long.
const KEEP_RUNS: Duration = Duration::from_secs(7 * 24 * 3600);

/// What one sweep saw.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SweepReport {
    pub probed: usize,
    pub healthy: usize,
    pub degraded: usize,
    pub offline: usize,
    pub unreachable: usize,
    /// Instances an action held: not probed this time.
    pub busy: usize,
    pub elapsed: Duration,
}

impl std::fmt::Display for SweepReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} probed in {:.1}s: {} HEALTHY, {} DEGRADED, {} OFFLINE, {} UNREACHABLE",
            self.probed,
            self.elapsed.as_secs_f64(),
            self.healthy,
            self.degraded,
            self.offline,
            self.unreachable
        )?;
        if self.busy > 0 {
            write!(f, "; {} busy with an action, left alone", self.busy)?;
        }
        Ok(())
    }
}

/// One sweep of the fleet.
pub async fn sweep(ctx: &Ctx) -> Result<SweepReport, OpsError> {
    let started = Instant::now();
    let now = ctx.clock.now();
    let mut report = SweepReport::default();
    let mut rows = Vec::new();
    for row in ctx.store.fleet().await? {
        if row.status != InstanceStatus::Ready || row.server_id.is_none() {
            continue;
        }
        if ctx.locks.holder(&row.name).is_some() {
            report.busy += 1;
            continue;
        }
        rows.push(row);
    }
    if let Some(cells) = &ctx.cells {
        cells.new_looks().await;
    }
    let at = ts(now);
    let at = at.as_str();
    let readings: Vec<ReadingRow> = futures_util::stream::iter(rows)
        .map(move |row| async move { read(ctx, &row, at).await })
        .buffer_unordered(ctx.config.watch.sweep_concurrency.max(1))
        .collect()
        .await;
    for r in &readings {
        match HealthState::parse(&r.state) {
            Some(HealthState::Healthy) => report.healthy += 1,
            Some(HealthState::Degraded) => report.degraded += 1,
            Some(HealthState::Offline) => report.offline += 1,
            Some(HealthState::Unreachable) | None => report.unreachable += 1,
        }
    }
    report.probed = readings.len();
    ctx.store.record_readings(&readings).await?;
    let ago = |d: Duration| now - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
    ctx.store
        .prune_watch(
            ago(ctx.config.watch.keep_raw),
            ago(ctx.config.watch.keep_hourly),
            ago(KEEP_RUNS),
        )
        .await?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// One instance's reading; a host that does not answer within the deadline is
/// UNREACHABLE.
async fn read(ctx: &Ctx, row: &InstanceRow, at: &str) -> ReadingRow {
    let reading = match ctx.providers.get(&row.provider) {
        Ok(cloud) => {
            let host = cloud.host(
                &row.name,
                row.server_id.as_deref().unwrap_or_default(),
                row.ipv4.as_deref(),
            );
            if let Some(why) = host.sweep_waits() {
                tracing::debug!(instance = %row.name, %why, "host left alone");
                None
            } else {
                let probed =
                    tokio::time::timeout(ctx.config.watch.probe_timeout, host.probe()).await;
                host.sweep_reached(matches!(probed, Ok(Ok(_))));
                match probed {
                    Ok(Ok(reading)) => Some(reading),
                    Ok(Err(e)) => {
                        tracing::debug!(instance = %row.name, error = %e, "probe failed");
                        None
                    }
                    Err(_) => None,
                }
            }
        }
        Err(_) => None,
    };
    let (state, score, why) = monitor::assess(reading.as_ref());
    let reasons = if state == HealthState::Unreachable && reading.is_none() {
        "host unreachable".to_string()
    } else {
        why.join(", ")
    };
    ReadingRow {
        instance: row.name.clone(),
        at: at.to_string(),
        state: state.as_str().to_string(),
        score: score.into(),
        reasons,
        cpu: reading.as_ref().map(|r| f64::from(r.cpu_percent)),
        memory: reading.as_ref().map(|r| f64::from(r.memory_percent)),
        disk: reading.as_ref().map(|r| f64::from(r.disk_percent)),
        restarts: reading
            .as_ref()
            .and_then(|r| r.service_restarts)
            .map(|n| n as i64),
        version: reading.as_ref().and_then(|r| r.openclaw_version.clone()),
        config_rev: reading.as_ref().and_then(|r| r.config_rev.clone()),
        boot_id: reading.as_ref().and_then(|r| r.boot_id.clone()),
        end_users: reading.as_ref().and_then(|r| match &r.users {
            Some(crate::remote::EndUsers::Counted { count, .. }) => Some(i64::from(*count)),
            _ => None,
        }),
        last_inbound: reading
            .as_ref()
            .and_then(|r| r.last_inbound)
            .map(crate::store::ts),
        users: reading.and_then(|r| r.users),
    }
}
