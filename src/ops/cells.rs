//! The cell watch (the references' anomaly rule): after each sweep, a cell whose last
//! `[cells] auto_suspend_sweeps` readings were all over a limit (CPU or memory at
//! `over_limit_percent` of what its cell may use) is told about, or suspended through the
//! door as the system with an alert carrying a Resume button. Never destroys; one alert
//! per spell over the limits.

use super::Actor;
use super::door::Door;
use super::{Action, OpsError, Outcome};
use crate::chat::{Message, Outbound};
use crate::config::{AutoSuspend, Feed};
use crate::store::{InstanceStatus, ReadingRow};

/// What the watch did in one pass.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CellPass {
    pub told: usize,
    pub suspended: usize,
}

/// Why `readings` (oldest first) are over the limits, when every one of the last `n` is.
pub fn over_limits(readings: &[ReadingRow], n: usize, limit: f32) -> Option<String> {
    if n == 0 || readings.len() < n {
        return None;
    }
    let last = &readings[readings.len() - n..];
    let limit = f64::from(limit);
    let cpu = last.iter().all(|r| r.cpu.is_some_and(|c| c >= limit));
    let memory = last.iter().all(|r| r.memory.is_some_and(|m| m >= limit));
    let peak =
        |f: fn(&ReadingRow) -> Option<f64>| last.iter().filter_map(f).fold(0.0_f64, f64::max);
    match (cpu, memory) {
        (true, _) => Some(format!(
            "CPU at {:.0}% of its limit or more for {n} sweeps (peak {:.0}%)",
            limit,
            peak(|r| r.cpu)
        )),
        (_, true) => Some(format!(
            "memory at {:.0}% of its limit or more for {n} sweeps (peak {:.0}%)",
            limit,
            peak(|r| r.memory)
        )),
        _ => None,
    }
}

/// One pass over the cells after a sweep.
pub async fn after_sweep(door: &Door) -> Result<CellPass, OpsError> {
    let ctx = door.ctx();
    let cfg = &ctx.config.cells;
    let mut pass = CellPass::default();
    let Some(cells) = ctx.cells.as_ref() else {
        return Ok(pass);
    };
    if cfg.auto_suspend == AutoSuspend::Off {
        return Ok(pass);
    }
    let n = cfg.auto_suspend_sweeps.max(1) as usize;
    let since = ctx.clock.now() - chrono::Duration::days(1);
    for cell in cells.cells() {
        let Some(row) = ctx.store.instance(&cell.instance).await? else {
            continue;
        };
        if row.status != InstanceStatus::Ready || ctx.locks.holder(&row.name).is_some() {
            continue;
        }
        let readings = ctx.store.readings_of(&row.name, since).await?;
        let Some(why) = over_limits(&readings, n, cfg.over_limit_percent) else {
            continue;
        };
        // One alert per spell: none since the first reading of this one.
        let first = &readings[readings.len() - n].at;
        if let Some(last) = ctx.store.last_anomaly(&row.name).await?
            && last.at.as_str() >= first.as_str()
        {
            continue;
        }
        let suspend = cfg.auto_suspend == AutoSuspend::Suspend;
        let done = suspend
            && matches!(
                door.submit(
                    &Actor::System,
                    Action::Suspend(super::actions::lifecycle::Suspend {
                        name: row.name.clone(),
                        over_limits: true,
                    }),
                    &super::heal::Quiet,
                )
                .await,
                Outcome::Done(_)
            );
        let id = ctx
            .store
            .add_anomaly(&row.name, &why, done, ctx.clock.now())
            .await?;
        let (heading, tail) = if done {
            pass.suspended += 1;
            (
                format!("⏸ {} suspended: its cell ran over its limits", row.name),
                format!(
                    "The kill switch stopped its container (data kept). Resume starts it again; /status {} shows its use.",
                    row.name
                ),
            )
        } else {
            (
                format!("⚠️ {}: its cell runs over its limits", row.name),
                format!(
                    "/suspend {} is the kill switch; /status {} shows its use against its limits.",
                    row.name, row.name
                ),
            )
        };
        pass.told += 1;
        let message = Message::default()
            .heading(heading)
            .para(format!("On {}: {why}.", cell.host))
            .para(tail);
        let out = if done {
            Outbound::Buttons {
                message,
                buttons: vec![crate::chat::resume_button(id)],
            }
        } else {
            Outbound::Message(message)
        };
        super::alerts::announce(ctx, Feed::Alerts, out, done).await;
    }
    Ok(pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(cpu: f64, memory: f64) -> ReadingRow {
        ReadingRow {
            cpu: Some(cpu),
            memory: Some(memory),
            ..ReadingRow::default()
        }
    }

    #[test]
    fn a_cell_is_over_its_limits_only_when_every_one_of_the_last_n_readings_is() {
        let busy = [
            reading(99.0, 40.0),
            reading(98.0, 41.0),
            reading(100.0, 40.0),
        ];
        assert!(over_limits(&busy, 3, 95.0).unwrap().starts_with("CPU"));
        // One calm reading among the last three: nothing.
        let spiky = [
            reading(99.0, 40.0),
            reading(20.0, 41.0),
            reading(100.0, 40.0),
        ];
        assert_eq!(over_limits(&spiky, 3, 95.0), None);
        // Too few readings yet.
        assert_eq!(over_limits(&busy[..2], 3, 95.0), None);
        let full = [reading(10.0, 97.0), reading(12.0, 99.0)];
        assert!(over_limits(&full, 2, 95.0).unwrap().starts_with("memory"));
    }
}
