//! `/repair NAME`: an instance's chat channel, repaired step by step through the plan
//! runner — probe the channel, `openclaw doctor --fix`, put the channel config clawops
//! manages back (keeping what OpenClaw wrote itself, such as the command owner), restart,
//! probe again. What needs a person (a session that needs a QR scan, a refused token)
//! stops it with what to do. A person's command: the heal ladder only suggests it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::INSTANCE;
use super::lifecycle::host_of;
use crate::chat::{Message, Replier};
use crate::config::Role;
use crate::monitor;
use crate::ops::catalogue::{Command, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::plan::{Finished, Plan, PlanKind, PlanStep, Recovery, Runner, StepFailure, Undone};
use crate::ops::{BlastRadius, OpsError};
use crate::remote::{Host, Reading};

/// Repair an instance's chat channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repair {
    pub name: String,
}

impl Command for Repair {
    const SPEC: Spec = Spec {
        name: "repair",
        summary: "Repair an instance's chat channel: probe, openclaw doctor --fix, put the channel config back, restart, probe",
        params: &[INSTANCE],
        risk: Risk::Change,
        role: Role::Operator,
        example: "/repair alice-bot",
    };
}

const STEPS: [PlanStep; 5] = [
    PlanStep::fixed("probe", "Probe the channel"),
    PlanStep::fixed("doctor", "openclaw doctor --fix"),
    PlanStep::fixed("normalise", "Put the channel config back"),
    PlanStep::fixed("restart", "Restart the gateway"),
    PlanStep::fixed("probe-again", "Probe the channel again"),
];

/// How long the last probe waits for the channel to run again.
const CHANNEL_WAIT: Duration = Duration::from_secs(120);

impl Repair {
    /// One instance; its gateway restarts once.
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        Ok(BlastRadius {
            loss: Some("its gateway restarts once".into()),
            ..super::lifecycle::one(ctx, &self.name).await?
        })
    }

    pub async fn run(
        &self,
        ctx: &Ctx,
        actor: &str,
        out: &dyn Replier,
    ) -> Result<Message, OpsError> {
        let (row, host) = host_of(ctx, &self.name).await?;
        if row.status != crate::store::InstanceStatus::Ready {
            return Err(OpsError::Refused(format!(
                "{} is {}: /resume {} first",
                row.name, row.status, row.name
            )));
        }
        let config = host.config().await.map_err(OpsError::from)?;
        if crate::remote::openclaw::get_dotted(&config, "channels.telegram.botToken").is_none() {
            return Err(OpsError::Refused(format!(
                "{} has no chat channel to repair: give it a bot token (/config {} set channels.telegram.botToken TOKEN)",
                row.name, row.name
            )));
        }
        let mut plan = ChannelRepair {
            name: row.name.clone(),
            log: Vec::new(),
            host: Some(host),
        };
        Runner::new(ctx).carry_out(&mut plan, actor, out).await
    }
}

/// The repair as the plan runner keeps it.
#[derive(Serialize, Deserialize)]
pub struct ChannelRepair {
    pub name: String,
    /// What each step found or did, for the report.
    pub log: Vec<String>,
    #[serde(skip)]
    host: Option<Arc<dyn Host>>,
}

impl ChannelRepair {
    async fn host(&mut self, ctx: &Ctx) -> Result<Arc<dyn Host>, StepFailure> {
        if let Some(h) = &self.host {
            return Ok(h.clone());
        }
        let (_, host) = host_of(ctx, &self.name).await?;
        self.host = Some(host.clone());
        Ok(host)
    }
}

/// What a reading says of the channels, in one line.
fn channels(r: &Reading) -> String {
    if !r.gateway_up {
        "the gateway does not answer".into()
    } else if r.channels_stopped.is_empty() {
        "channels running".into()
    } else {
        format!("stopped: {}", r.channels_stopped.join(", "))
    }
}

/// The part of a stopped channel's note that says a person must act, if any.
fn needs_a_person(r: &Reading) -> Option<String> {
    r.channels_stopped
        .iter()
        .find_map(|c| c.split_once("(needs a person: "))
        .map(|(ch, why)| {
            format!(
                "{} needs a person: {}",
                ch.trim(),
                why.trim_end_matches(')')
            )
        })
}

#[async_trait]
impl Plan for ChannelRepair {
    fn kind(&self) -> PlanKind {
        PlanKind::Repair
    }

    fn subject(&self) -> &str {
        &self.name
    }

    fn title(&self) -> String {
        format!("Repairing {}'s channel", self.name)
    }

    fn steps(&self) -> Vec<PlanStep> {
        STEPS.to_vec()
    }

    fn body(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    async fn check(&self, _step: usize, _ctx: &Ctx) -> Result<bool, StepFailure> {
        // Each step is safe to do again, and a repair wants it done now.
        Ok(false)
    }

    async fn apply(
        &mut self,
        step: usize,
        ctx: &Ctx,
        _out: &dyn Replier,
    ) -> Result<String, StepFailure> {
        let host = self.host(ctx).await?;
        let remote = |e: crate::remote::RemoteError| StepFailure::Failed(e.to_string());
        let said = match STEPS[step].id.as_ref() {
            "probe" => channels(&host.probe().await.map_err(remote)?),
            "doctor" => host.doctor_fix().await.map_err(remote)?,
            "normalise" => {
                let changed = host.normalise_config().await.map_err(remote)?;
                if changed.is_empty() {
                    "nothing had drifted".into()
                } else {
                    format!("put back: {}", changed.join(", "))
                }
            }
            "restart" => host.restart_gateway().await.map_err(remote)?,
            _ => self.probe_again(ctx, host.as_ref()).await?,
        };
        let said = crate::secrets::redact(&said, &[]);
        self.log.push(format!("{}: {said}", STEPS[step].title));
        Ok(said)
    }

    async fn roll_back(&mut self, _ctx: &Ctx) -> Undone {
        Undone {
            said: "nothing to undo: a repair only puts back what clawops manages".into(),
            clean: true,
        }
    }

    fn after_interruption(&self, _step: usize) -> Recovery {
        Recovery::Resume("each step of a repair is safe to do again".into())
    }

    fn report(&self, finished: &Finished) -> Result<Message, String> {
        match finished {
            Finished::Done { elapsed, .. } => Ok(Message::default()
                .heading(format!("✓ {}'s channel is repaired", self.name))
                .para(self.log.join("\n"))
                .para(format!("In {:.0}s.", elapsed.as_secs_f64()))),
            Finished::RolledBack { reason, .. } => Err(format!(
                "{}'s channel is not repaired: {reason}\n{}",
                self.name,
                self.log.join("\n")
            )),
            Finished::Interrupted { .. } => Err(format!(
                "the repair of {} stopped because clawops is stopping; it goes on when clawops starts again",
                self.name
            )),
            Finished::Halted { .. } | Finished::Paused { .. } | Finished::Aborted { .. } => {
                Err(format!("the repair of {} stopped", self.name))
            }
        }
    }
}

impl ChannelRepair {
    /// Probes until the channels run (or one needs a person), at most [`CHANNEL_WAIT`].
    async fn probe_again(&self, ctx: &Ctx, host: &dyn Host) -> Result<String, StepFailure> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(200);
        loop {
            let reading = host.probe().await.ok();
            let (state, score, _) = monitor::assess(reading.as_ref());
            if let Some(r) = &reading {
                if let Some(why) = needs_a_person(r) {
                    return Err(StepFailure::Failed(why));
                }
                if r.gateway_up && r.channels_stopped.is_empty() {
                    return Ok(format!(
                        "channels running; {} ({score}/100)",
                        state.as_str()
                    ));
                }
            }
            if started.elapsed() + pause > CHANNEL_WAIT {
                let seen = reading.as_ref().map_or("no answer".into(), channels);
                return Err(StepFailure::Failed(format!(
                    "still {seen} after {}s: /logs {} shows why",
                    CHANNEL_WAIT.as_secs(),
                    self.name
                )));
            }
            tokio::select! {
                () = ctx.shutdown.cancelled() => return Err(StepFailure::Interrupted),
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }
}
