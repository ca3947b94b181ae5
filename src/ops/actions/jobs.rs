//! `/jobs` and `/jobs run NAME`: what clawops does on its own (schedule, zone, last run and
//! its result, next run, ticks skipped because a run was still going), and one run now.

use serde::{Deserialize, Serialize};

use crate::chat::Message;
use crate::config::Role;
use crate::jobs::JobKind;
use crate::ops::OpsError;
use crate::ops::catalogue::{ArgError, Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;

/// List the jobs, or run one now.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Jobs {
    /// `run`; absent lists the jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verb: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

impl Command for Jobs {
    const SPEC: Spec = Spec {
        name: "jobs",
        summary: "What clawops runs on its own: schedule, last run and result, next run; `run NAME` runs one now",
        params: &[
            Param {
                name: "verb",
                meta: "run",
                kind: Kind::Word,
                flag: false,
                required: false,
                help: "run NAME runs that job now (operator); nothing lists the jobs",
            },
            Param {
                name: "job",
                meta: "NAME",
                kind: Kind::Word,
                flag: false,
                required: false,
                help: "a job, e.g. health-sweep",
            },
        ],
        risk: Risk::Read,
        role: Role::Viewer,
        example: "/jobs run health-sweep",
    };

    fn check(&self) -> Result<(), ArgError> {
        match (self.verb.as_deref(), self.job.as_deref()) {
            (None, None) => Ok(()),
            (Some("run"), Some(job)) if JobKind::parse(job).is_some() => Ok(()),
            (Some("run"), Some(job)) => Err(ArgError::Invalid(format!(
                "there is no job {job:?}; /jobs lists them"
            ))),
            _ => Err(ArgError::Invalid(
                "write /jobs, or /jobs run NAME (e.g. /jobs run health-sweep)".into(),
            )),
        }
    }
}

impl Jobs {
    /// `run` needs an operator; the list is for everyone.
    pub fn runs(&self) -> Option<JobKind> {
        self.job.as_deref().and_then(JobKind::parse)
    }

    /// The table of jobs.
    pub async fn list(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let last = ctx.store.last_job_runs().await?;
        let status = ctx.jobs.status();
        if status.is_empty() {
            return Ok(Message::text("No jobs are scheduled."));
        }
        let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| "-".into())
        };
        let rows = status
            .iter()
            .map(|s| {
                let run = last.iter().find(|r| r.job == s.kind.name());
                vec![
                    s.kind.name().to_string(),
                    if s.enabled {
                        s.schedule.clone()
                    } else {
                        format!("{} (off)", s.schedule)
                    },
                    s.zone.clone(),
                    run.map(|r| short(&r.started_at))
                        .unwrap_or_else(|| "never".into()),
                    match (run, s.running) {
                        (_, true) => "running now".into(),
                        (Some(r), _) => {
                            format!("{}: {}", r.result, r.summary.as_deref().unwrap_or(""))
                        }
                        (None, _) => "-".into(),
                    },
                    when(s.next),
                    s.skipped.to_string(),
                ]
            })
            .collect();
        let about = status
            .iter()
            .map(|s| format!("{}: {}", s.kind.name(), s.kind.about()))
            .collect::<Vec<_>>()
            .join("\n");
        Ok(Message::default()
            .table(
                &["job", "schedule", "zone", "last run", "result", "next run", "skipped"],
                rows,
            )
            .para(about)
            .para("Jobs act as the system: they read anything and never destroy. /jobs run NAME runs one now."))
    }
}

/// "2026-12-02T07:00:00.123Z" → "2026-12-02 07:00:00 UTC".
fn short(ts: &str) -> String {
    format!("{} UTC", ts.get(..19).unwrap_or(ts).replace('T', " "))
}
