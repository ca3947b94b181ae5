//! The ledger: where the fleet's money goes without serving anyone, and what each saving
//! would take. Instances idle for two weeks (no inbound message on any channel), oversized
//! for what the sweeps saw them use, the same size cheaper at another provider the operator
//! has, stopped but still billed; old servers kept after migrations; snapshots clawops
//! made. Each finding carries its monthly saving and the command that takes it; nothing is
//! done here. `/waste`, the weekly report and the LLM's ledger mode read the same facts.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::ops::OpsError;
use crate::ops::door::Ctx;
use crate::provider::{Cloud, Size, money};
use crate::store::{InstanceRow, InstanceStatus};

/// Days without an inbound message that make an instance idle.
pub const IDLE_DAYS: i64 = 14;
/// The sweep history an instance needs before it is called oversized.
pub const HISTORY_DAYS: i64 = 7;
/// Peaks (over the last two weeks) under which an instance is oversized: CPU, memory.
pub const LOW_CPU: f64 = 30.0;
pub const LOW_MEMORY: f64 = 40.0;

/// What kind of saving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Waste {
    /// No inbound message for [`IDLE_DAYS`].
    Idle,
    /// A smaller size would carry what the sweeps saw.
    Oversized,
    /// The same size costs less at another provider the operator has.
    CheaperElsewhere,
    /// Suspended, or left by a stopped deploy: billed, serving no one.
    StoppedButBilled,
    /// A server kept after a migration.
    OldServer,
    /// A snapshot clawops made before a destroy.
    Snapshot,
}

impl Waste {
    pub fn title(self) -> &'static str {
        match self {
            Waste::Idle => "idle",
            Waste::Oversized => "oversized",
            Waste::CheaperElsewhere => "cheaper elsewhere",
            Waste::StoppedButBilled => "stopped but billed",
            Waste::OldServer => "old server",
            Waste::Snapshot => "snapshot",
        }
    }
}

/// One saving.
#[derive(Debug, Clone, PartialEq)]
pub struct Saving {
    pub waste: Waste,
    /// The instance it is about.
    pub instance: String,
    /// Saved per month, in the currency's cents.
    pub monthly_cents: i64,
    pub currency: String,
    /// What was seen, in words.
    pub why: String,
    /// What takes it.
    pub command: String,
}

impl Saving {
    /// One line: what, why, how much, and the command.
    pub fn line(&self) -> String {
        format!(
            "{} — {}: {}; saves {}/month → {}",
            self.instance,
            self.waste.title(),
            self.why,
            money(self.monthly_cents, &self.currency),
            self.command
        )
    }
}

/// Every saving in the fleet now, largest first (per currency), at most one per instance
/// and kind.
pub async fn find(ctx: &Ctx, now: DateTime<Utc>) -> Result<Vec<Saving>, OpsError> {
    let fleet = ctx.store.fleet().await?;
    let inbound = ctx.store.last_inbound().await?;
    let mut found = Vec::new();
    for row in &fleet {
        let cloud = ctx.providers.get(&row.provider).ok();
        let last = inbound
            .iter()
            .find(|(n, _)| *n == row.name)
            .and_then(|(_, at)| crate::store::parse_ts("a time", at).ok());
        found.extend(stopped(row));
        if row.status != InstanceStatus::Ready {
            continue;
        }
        found.extend(idle(row, last, now));
        if let Some(cloud) = &cloud {
            let since = now - Duration::days(IDLE_DAYS);
            let hourly = ctx.store.hourly_of(&row.name, since).await?;
            let peaks = Peaks::of(&hourly);
            found.extend(oversized(row, cloud.as_ref(), peaks));
            found.extend(elsewhere(row, cloud.as_ref(), ctx.providers.all()));
        }
    }
    for old in ctx.store.kept_old_servers(None).await? {
        found.push(Saving {
            waste: Waste::OldServer,
            instance: old.instance.clone(),
            monthly_cents: old.monthly_cents,
            currency: old.currency.clone(),
            why: format!(
                "server {} at {} {} kept since {} after a migration",
                old.server_id,
                old.provider,
                old.region,
                day(&old.retired_at)
            ),
            command: format!("/destroy {} --old", old.instance),
        });
    }
    for snap in ctx.store.snapshots().await? {
        found.push(Saving {
            waste: Waste::Snapshot,
            instance: snap.instance.clone(),
            monthly_cents: snap.monthly_cents,
            currency: snap.currency.clone(),
            why: format!(
                "snapshot {} at {} kept since {} (up to)",
                snap.snapshot_id,
                snap.provider,
                snap.created_at.get(..10).unwrap_or(&snap.created_at)
            ),
            command: format!(
                "delete snapshot {} in the {} console when it is no longer needed",
                snap.snapshot_id, snap.provider
            ),
        });
    }
    found.retain(|s| s.monthly_cents > 0);
    found.sort_by(|a, b| {
        a.currency
            .cmp(&b.currency)
            .then(b.monthly_cents.cmp(&a.monthly_cents))
            .then(a.instance.cmp(&b.instance))
            .then(a.waste.cmp(&b.waste))
    });
    Ok(found)
}

/// Suspended, or a deploy that stopped: the server is billed, no one is served.
fn stopped(row: &InstanceRow) -> Option<Saving> {
    let why = match row.status {
        InstanceStatus::Suspended => format!("suspended since {}", day(&row.updated_at)),
        InstanceStatus::Failed | InstanceStatus::Interrupted => {
            format!("its deploy stopped ({})", row.status)
        }
        _ => return None,
    };
    Some(Saving {
        waste: Waste::StoppedButBilled,
        instance: row.name.clone(),
        monthly_cents: row.monthly_cents,
        currency: row.currency.clone(),
        why,
        command: match row.status {
            InstanceStatus::Suspended => {
                format!("/backup {} then /destroy {}", row.name, row.name)
            }
            _ => format!("/deploy {} --resume, or /destroy {}", row.name, row.name),
        },
    })
}

/// No message on any channel for [`IDLE_DAYS`].
fn idle(row: &InstanceRow, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<Saving> {
    let last = last?;
    let days = (now - last).num_days();
    (days >= IDLE_DAYS).then(|| Saving {
        waste: Waste::Idle,
        instance: row.name.clone(),
        monthly_cents: row.monthly_cents,
        currency: row.currency.clone(),
        why: format!(
            "no message for {days} days (last {})",
            last.format("%Y-%m-%d")
        ),
        command: format!("/backup {} then /destroy {}", row.name, row.name),
    })
}

/// The highest CPU, memory and disk the sweeps saw, and over how many hours.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Peaks {
    pub cpu: f64,
    pub memory: f64,
    pub disk: f64,
    pub hours: usize,
}

impl Peaks {
    pub fn of(hourly: &[crate::store::HourlyRow]) -> Peaks {
        let mut p = Peaks::default();
        for h in hourly {
            let (Some(cpu), Some(memory)) = (h.cpu_max, h.memory_max) else {
                continue;
            };
            p.hours += 1;
            p.cpu = p.cpu.max(cpu);
            p.memory = p.memory.max(memory);
            p.disk = p.disk.max(h.disk_max.unwrap_or(0.0));
        }
        p
    }
}

/// The cheapest smaller size that carries twice the peaks (the disk: what is used, plus a
/// quarter), after at least [`HISTORY_DAYS`] of sweeps with peaks under [`LOW_CPU`] and
/// [`LOW_MEMORY`]. `/resize` when the cloud can shrink to it; else a new server.
pub fn oversized(row: &InstanceRow, cloud: &dyn Cloud, peaks: Peaks) -> Option<Saving> {
    if peaks.hours < (HISTORY_DAYS * 24) as usize
        || peaks.cpu >= LOW_CPU
        || peaks.memory >= LOW_MEMORY
    {
        return None;
    }
    let now = cloud.size(&row.size).ok()?;
    let need_cpu = (f64::from(now.vcpus) * peaks.cpu / 100.0 * 2.0)
        .ceil()
        .max(1.0);
    let need_memory = f64::from(now.memory_gb) * peaks.memory / 100.0 * 2.0;
    let need_disk = f64::from(now.disk_gb) * peaks.disk / 100.0 * 1.25;
    let to = cloud
        .sizes()
        .iter()
        .filter(|s| {
            f64::from(s.vcpus) >= need_cpu
                && f64::from(s.memory_gb) >= need_memory
                && f64::from(s.disk_gb) >= need_disk
                && s.monthly_cents < now.monthly_cents
        })
        .min_by_key(|s| s.monthly_cents)?;
    let resizable = cloud
        .resize_rule()
        .is_some_and(|rule| rule.shrinks && (!rule.disk_grows || to.disk_gb >= now.disk_gb));
    let command = if resizable {
        format!("/resize {} {}", row.name, to.code)
    } else {
        format!(
            "a new server ({} cannot shrink this one): /backup {n}, /deploy NEW {r} --size {s}, /restore NEW ID, then /destroy {n}",
            cloud.display_name(),
            n = row.name,
            r = row.region,
            s = to.code
        )
    };
    Some(Saving {
        waste: Waste::Oversized,
        instance: row.name.clone(),
        monthly_cents: now.monthly_cents - to.monthly_cents,
        currency: row.currency.clone(),
        why: format!(
            "{} ({} vCPU, {} GB) peaked at {:.0}% CPU and {:.0}% memory over {} days; {} ({} vCPU, {} GB) carries that twice",
            now.code,
            now.vcpus,
            now.memory_gb,
            peaks.cpu,
            peaks.memory,
            peaks.hours / 24,
            to.code,
            to.vcpus,
            to.memory_gb
        ),
        command,
    })
}

/// Where `/migrate` would put the instance for less: another provider the operator has,
/// same currency, whose size (the same code, else its smallest, as `/migrate` picks) has
/// at least as many vCPUs, as much memory and as much disk.
pub fn elsewhere<'a>(
    row: &InstanceRow,
    cloud: &dyn Cloud,
    all: impl Iterator<Item = &'a Arc<dyn Cloud>>,
) -> Option<Saving> {
    // A cell's price is its host's share: no provider's size list compares with it.
    if cloud.cells() {
        return None;
    }
    let now = cloud.size(&row.size).ok()?;
    let mut best: Option<(&Arc<dyn Cloud>, Size)> = None;
    for other in all {
        if other.name() == cloud.name()
            || other.existing_hosts()
            || other.cells()
            || other.simulated() != cloud.simulated()
            || other.currency() != row.currency
        {
            continue;
        }
        let pick = match other.size(&row.size) {
            Ok(s) => s.clone(),
            Err(_) => match other.sizes().first() {
                Some(s) => s.clone(),
                None => continue,
            },
        };
        let fits = pick.vcpus >= now.vcpus
            && pick.memory_gb >= now.memory_gb
            && pick.disk_gb >= now.disk_gb;
        if fits
            && pick.monthly_cents < now.monthly_cents
            && best
                .as_ref()
                .is_none_or(|(_, b)| pick.monthly_cents < b.monthly_cents)
        {
            best = Some((other, pick));
        }
    }
    let (other, pick) = best?;
    let region = other.regions().first()?.code;
    Some(Saving {
        waste: Waste::CheaperElsewhere,
        instance: row.name.clone(),
        monthly_cents: now.monthly_cents - pick.monthly_cents,
        currency: row.currency.clone(),
        why: format!(
            "{} {} is {}/month; {} {} ({} vCPU, {} GB) is {}",
            cloud.display_name(),
            now.code,
            money(now.monthly_cents, &row.currency),
            other.display_name(),
            pick.code,
            pick.vcpus,
            pick.memory_gb,
            money(pick.monthly_cents, &row.currency)
        ),
        command: format!("/migrate {} --to {}/{region}", row.name, other.name()),
    })
}

fn day(ts: &str) -> &str {
    ts.get(..10).unwrap_or(ts)
}

/// The savings as text lines with their totals per currency (for `/waste`, the weekly
/// report and the LLM's ledger mode).
pub fn totals(found: &[Saving]) -> String {
    let mut by: std::collections::BTreeMap<&str, i64> = Default::default();
    for s in found {
        *by.entry(&s.currency).or_default() += s.monthly_cents;
    }
    by.iter()
        .map(|(c, v)| money(*v, c))
        .collect::<Vec<_>>()
        .join(" + ")
}
