//! The scheduler: which jobs clawops runs on its own, when each is due, catching up a run
//! missed while clawops was down (once, within a window), and never stacking a job on a
//! run of itself that is still going (the tick is skipped and counted).
//!
//! It decides, it does not run: [`Scheduler::due`] hands out the runs due at an instant
//! (time comes from the caller, so tests move a hand-set clock instead of sleeping), and
//! the door runs them as the system (`Door::run_job`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::config::JobConfig;
use crate::schedule::{Schedule, ScheduleError, next_fire, zone};

/// A missed run is never caught up when it was due longer ago than this.
pub const MAX_CATCH_UP: Duration = Duration::from_secs(6 * 3600);

/// The jobs this version knows. Later work (pairing polls, standby syncs, briefings)
/// adds its kind here when it has something to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Probe every ready instance and keep the readings.
    HealthSweep,
    /// Put each active primary's latest state onto its standby, without the channel.
    StandbySync,
    /// Ask each ready instance for its pending pairing requests, and post new ones.
    PairingPoll,
    /// Send each ops channel its morning briefing (or weekly report) when it is due.
    Briefings,
    /// Back up every ready instance and clawops' own store off-host, then prune by
    /// retention (only with `[backups]`).
    Backups,
}

impl JobKind {
    pub const ALL: &[JobKind] = &[
        JobKind::HealthSweep,
        JobKind::PairingPoll,
        JobKind::StandbySync,
        JobKind::Briefings,
        JobKind::Backups,
    ];

    pub fn name(self) -> &'static str {
        match self {
            JobKind::HealthSweep => "health-sweep",
            JobKind::StandbySync => "standby-sync",
            JobKind::PairingPoll => "pairing-poll",
            JobKind::Briefings => "briefings",
            JobKind::Backups => "backups",
        }
    }

    pub fn parse(name: &str) -> Option<JobKind> {
        JobKind::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// One line for `/jobs`.
    pub fn about(self) -> &'static str {
        match self {
            JobKind::HealthSweep => "probes every ready instance, keeps the readings",
            JobKind::StandbySync => {
                "puts each active primary's state onto its standby (never its channel)"
            }
            JobKind::PairingPoll => "posts end users' pairing requests with Approve and Reject",
            JobKind::Briefings => {
                "sends each ops channel its morning briefing (weekly report on its day) at its local time"
            }
            JobKind::Backups => {
                "backs up every ready instance and clawops' store off-host, prunes by retention"
            }
        }
    }
}

/// The jobs clawops runs when the config names none.
pub fn built_in() -> Vec<JobConfig> {
    vec![
        JobConfig {
            name: JobKind::HealthSweep.name().into(),
            schedule: "* * * * *".into(),
            zone: "UTC".into(),
            enabled: true,
            catch_up: None,
        },
        JobConfig {
            name: JobKind::PairingPoll.name().into(),
            schedule: "* * * * *".into(),
            zone: "UTC".into(),
            enabled: true,
            catch_up: None,
        },
        JobConfig {
            // Each ops channel's own local time decides; this only looks often enough.
            name: JobKind::Briefings.name().into(),
            schedule: "*/5 * * * *".into(),
            zone: "UTC".into(),
            enabled: true,
            catch_up: None,
        },
        JobConfig {
            name: JobKind::StandbySync.name().into(),
            schedule: "30 3 * * *".into(),
            zone: "UTC".into(),
            enabled: true,
            catch_up: None,
        },
    ]
}

/// The nightly off-host backup, added to the built-in jobs when `[backups]` is set.
pub fn nightly_backups() -> JobConfig {
    JobConfig {
        name: JobKind::Backups.name().into(),
        schedule: "15 2 * * *".into(),
        zone: "UTC".into(),
        enabled: true,
        // A night missed while clawops was down is still worth taking in the morning.
        catch_up: Some(MAX_CATCH_UP),
    }
}

/// One job as the scheduler holds it.
#[derive(Debug, Clone)]
pub struct Job {
    pub kind: JobKind,
    pub schedule: Schedule,
    pub zone: Tz,
    pub enabled: bool,
    /// `None`: one interval of the schedule.
    pub catch_up: Option<Duration>,
}

impl Job {
    pub fn from_config(c: &JobConfig) -> Result<Job, ScheduleError> {
        let kind = JobKind::parse(&c.name).ok_or_else(|| ScheduleError::Field {
            field: "name",
            value: c.name.clone(),
            why: "not a job clawops knows".into(),
        })?;
        Ok(Job {
            kind,
            schedule: c.schedule.parse()?,
            zone: zone(&c.zone)?,
            enabled: c.enabled,
            catch_up: c.catch_up,
        })
    }

    /// How far back a missed run is still caught up, seen from `now`.
    fn window(&self, now: DateTime<Utc>) -> Duration {
        let interval = || {
            let a = next_fire(&self.schedule, self.zone, now)?;
            let b = next_fire(&self.schedule, self.zone, a)?;
            (b - a).to_std().ok()
        };
        self.catch_up
            .or_else(interval)
            .unwrap_or(MAX_CATCH_UP)
            .min(MAX_CATCH_UP)
    }
}

/// A run handed out by [`Scheduler::due`] or [`Scheduler::claim`]; while it lives the job
/// counts as running.
#[derive(Debug)]
pub struct Run {
    pub kind: JobKind,
    /// When it was due (a catch-up: when the missed run was due).
    pub scheduled_for: DateTime<Utc>,
    pub catch_up: bool,
    running: Arc<AtomicBool>,
}

impl Drop for Run {
    fn drop(&mut self) {
        self.running.store(false, Ordering::SeqCst);
    }
}

/// Where one job stands, for `/jobs`.
#[derive(Debug, Clone, PartialEq)]
pub struct JobStatus {
    pub kind: JobKind,
    pub schedule: String,
    pub zone: String,
    pub enabled: bool,
    pub next: Option<DateTime<Utc>>,
    pub running: bool,
    /// Ticks skipped because the previous run was still going.
    pub skipped: u64,
}

struct Slot {
    job: Job,
    next: Option<DateTime<Utc>>,
    /// A missed run to catch up at the first tick.
    missed: Option<DateTime<Utc>>,
    running: Arc<AtomicBool>,
    skipped: AtomicU64,
}

/// The jobs and their next fire times. Shared (the tick loop, `/jobs`) behind a mutex.
pub struct Scheduler {
    slots: Vec<Slot>,
    /// Jobs skipped since the last [`Scheduler::take_skipped`] (for the metrics).
    just_skipped: Vec<JobKind>,
}

impl Scheduler {
    /// At start-up: each job's next fire after `now`; a run missed since its last run
    /// (`last`: when each job's newest run was due) and due within its window is due at
    /// the first tick, once.
    pub fn new(
        jobs: Vec<Job>,
        last: &HashMap<JobKind, DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Scheduler {
        let slots = jobs
            .into_iter()
            .map(|job| {
                let missed = last.get(&job.kind).and_then(|&last| {
                    let window = chrono::Duration::from_std(job.window(now)).ok()?;
                    let from = last.max(now - window - chrono::Duration::seconds(1));
                    next_fire(&job.schedule, job.zone, from).filter(|&t| t <= now)
                });
                Slot {
                    next: next_fire(&job.schedule, job.zone, now),
                    missed: missed.filter(|_| job.enabled),
                    job,
                    running: Arc::new(AtomicBool::new(false)),
                    skipped: AtomicU64::new(0),
                }
            })
            .collect();
        Scheduler {
            slots,
            just_skipped: Vec::new(),
        }
    }

    /// The runs due at `now`. A job whose previous run is still going is skipped (and
    /// counted), not stacked; either way its next fire moves past `now`.
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<Run> {
        let mut runs = Vec::new();
        for slot in &mut self.slots {
            if !slot.job.enabled {
                continue;
            }
            let mut due = slot.missed.take().map(|t| (t, true));
            while let Some(next) = slot.next.filter(|&t| t <= now) {
                // Several fire times passed at once (a stalled loop): one run, the latest.
                due = Some((next, false));
                slot.next = next_fire(&slot.job.schedule, slot.job.zone, next.max(now));
            }
            let Some((scheduled_for, catch_up)) = due else {
                continue;
            };
            if slot.running.swap(true, Ordering::SeqCst) {
                slot.skipped.fetch_add(1, Ordering::SeqCst);
                self.just_skipped.push(slot.job.kind);
                tracing::warn!(
                    job = slot.job.kind.name(),
                    "still running at its next tick: skipped"
                );
                continue;
            }
            runs.push(Run {
                kind: slot.job.kind,
                scheduled_for,
                catch_up,
                running: slot.running.clone(),
            });
        }
        runs
    }

    /// The jobs skipped since the last call.
    pub fn take_skipped(&mut self) -> Vec<JobKind> {
        std::mem::take(&mut self.just_skipped)
    }

    /// A run of `kind` now, asked for by a person (`/jobs run`); `None` while one runs.
    pub fn claim(&self, kind: JobKind, now: DateTime<Utc>) -> Option<Run> {
        let slot = self.slots.iter().find(|s| s.job.kind == kind)?;
        if slot.running.swap(true, Ordering::SeqCst) {
            return None;
        }
        Some(Run {
            kind,
            scheduled_for: now,
            catch_up: false,
            running: slot.running.clone(),
        })
    }

    /// The earliest instant a job is due (for the loop to sleep until).
    pub fn next_wake(&self) -> Option<DateTime<Utc>> {
        self.slots
            .iter()
            .filter(|s| s.job.enabled)
            .flat_map(|s| s.missed.into_iter().chain(s.next))
            .min()
    }

    pub fn status(&self) -> Vec<JobStatus> {
        self.slots
            .iter()
            .map(|s| JobStatus {
                kind: s.job.kind,
                schedule: s.job.schedule.to_string(),
                zone: s.job.zone.name().to_string(),
                enabled: s.job.enabled,
                next: s.next.filter(|_| s.job.enabled),
                running: s.running.load(Ordering::SeqCst),
                skipped: s.skipped.load(Ordering::SeqCst),
            })
            .collect()
    }
}

/// The scheduler as the parts of clawops share it.
#[derive(Clone)]
pub struct Jobs {
    inner: Arc<Mutex<Scheduler>>,
}

impl Jobs {
    pub fn new(scheduler: Scheduler) -> Jobs {
        Jobs {
            inner: Arc::new(Mutex::new(scheduler)),
        }
    }

    /// No jobs (tests and tools that run none).
    pub fn none() -> Jobs {
        Jobs::new(Scheduler {
            slots: Vec::new(),
            just_skipped: Vec::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Scheduler> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn due(&self, now: DateTime<Utc>) -> Vec<Run> {
        self.lock().due(now)
    }

    pub fn claim(&self, kind: JobKind, now: DateTime<Utc>) -> Option<Run> {
        self.lock().claim(kind, now)
    }

    pub fn take_skipped(&self) -> Vec<JobKind> {
        self.lock().take_skipped()
    }

    pub fn next_wake(&self) -> Option<DateTime<Utc>> {
        self.lock().next_wake()
    }

    pub fn status(&self) -> Vec<JobStatus> {
        self.lock().status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn job(schedule: &str, catch_up: Option<Duration>) -> Job {
        Job::from_config(&JobConfig {
            name: "health-sweep".into(),
            schedule: schedule.into(),
            zone: "UTC".into(),
            enabled: true,
            catch_up,
        })
        .unwrap()
    }

    #[test]
    fn a_missed_run_is_caught_up_once_within_its_window() {
        // Hourly; last ran 10:00; clawops was down until 11:20: the 11:00 run is caught up.
        let last = HashMap::from([(JobKind::HealthSweep, at("2026-12-02T10:00:00Z"))]);
        let mut s = Scheduler::new(
            vec![job("0 * * * *", None)],
            &last,
            at("2026-12-02T11:20:00Z"),
        );
        let runs = s.due(at("2026-12-02T11:20:00Z"));
        assert_eq!(runs.len(), 1);
        assert!(runs[0].catch_up);
        assert_eq!(runs[0].scheduled_for, at("2026-12-02T11:00:00Z"));
        drop(runs);
        // Once: the next tick has nothing until 12:00.
        assert!(s.due(at("2026-12-02T11:30:00Z")).is_empty());
        assert_eq!(s.due(at("2026-12-02T12:00:00Z")).len(), 1);
    }

    #[test]
    fn a_run_missed_longer_ago_than_the_window_is_not_caught_up() {
        // Hourly (window one hour); down from 10:00 to 13:30: the 13:00 run is within the
        // window and caught up; with a 10-minute window nothing is.
        let last = HashMap::from([(JobKind::HealthSweep, at("2026-12-02T10:00:00Z"))]);
        let now = at("2026-12-02T13:30:00Z");
        let mut s = Scheduler::new(vec![job("0 * * * *", None)], &last, now);
        let runs = s.due(now);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].scheduled_for, at("2026-12-02T13:00:00Z"));
        let mut s = Scheduler::new(
            vec![job("0 * * * *", Some(Duration::from_secs(600)))],
            &last,
            now,
        );
        assert!(s.due(now).is_empty());
        // A daily job down for two days: its window is capped at 6 h.
        let last = HashMap::from([(JobKind::HealthSweep, at("2026-11-30T07:00:00Z"))]);
        let mut s = Scheduler::new(
            vec![job("0 7 * * *", None)],
            &last,
            at("2026-12-02T14:00:00Z"),
        );
        assert!(s.due(at("2026-12-02T14:00:00Z")).is_empty());
        let mut s = Scheduler::new(
            vec![job("0 7 * * *", None)],
            &last,
            at("2026-12-02T12:00:00Z"),
        );
        assert_eq!(s.due(at("2026-12-02T12:00:00Z")).len(), 1);
    }

    #[test]
    fn a_job_still_running_at_its_next_tick_is_skipped_and_counted() {
        let mut s = Scheduler::new(
            vec![job("* * * * *", None)],
            &HashMap::new(),
            at("2026-12-02T10:00:30Z"),
        );
        let first = s.due(at("2026-12-02T10:01:00Z"));
        assert_eq!(first.len(), 1);
        // Still running a minute later: skipped, not stacked.
        assert!(s.due(at("2026-12-02T10:02:00Z")).is_empty());
        assert_eq!(s.status()[0].skipped, 1);
        assert!(s.status()[0].running);
        // A person's /jobs run is refused while it runs, too.
        assert!(
            s.claim(JobKind::HealthSweep, at("2026-12-02T10:02:10Z"))
                .is_none()
        );
        drop(first);
        assert_eq!(s.due(at("2026-12-02T10:03:00Z")).len(), 1);
    }

    #[test]
    fn a_disabled_job_never_runs_and_shows_no_next_run() {
        let mut j = job("* * * * *", None);
        j.enabled = false;
        let last = HashMap::from([(JobKind::HealthSweep, at("2026-12-02T09:59:00Z"))]);
        let mut s = Scheduler::new(vec![j], &last, at("2026-12-02T10:00:30Z"));
        assert!(s.due(at("2026-12-02T10:05:00Z")).is_empty());
        assert_eq!(s.status()[0].next, None);
        assert_eq!(s.next_wake(), None);
    }
}
