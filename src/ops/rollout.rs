//! Rollouts: one change — an OpenClaw version (`/update --all --version V`) or one config
//! key (`/config --region nbg1 set KEY VALUE`) — carried across many instances as a plan:
//! a canary first, then batches, each instance health-checked after its change. An
//! instance that comes back worse is put back as it was; past the error budget (and always
//! at the canary) the rollout halts and waits for a person: `/rollout resume ID` goes on,
//! `/rollout abort ID` ends it. After a restart of clawops an open rollout comes back
//! paused, and says so.
//!
//! A rollout is a plan of the plan runner (kind `rollout`, one step per batch); what each
//! instance came to is kept in the plan's JSON. One rollout is open at a time. Each
//! instance's change is audited as the person who confirmed it, through the rollout
//! (`telegram:111 via rollout 7`), and holds that instance's lock while it runs.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::door::Ctx;
use super::plan::{Finished, Plan, PlanKind, PlanStep, Recovery, Runner, StepFailure, Undone};
use super::{BlastRadius, OpsError};
use crate::audit::{Audit, Event};
use crate::chat::{Message, Replier};
use crate::monitor::{self, HealthState};
use crate::remote::Host;
use crate::remote::openclaw::get_dotted;
use crate::store::{InstanceRow, InstanceStatus, PlanRow, PlanState};

/// The plans table's subject of every rollout (not an instance name: it holds a colon),
/// so that one rollout is open at a time.
pub const SUBJECT: &str = "fleet:rollout";

/// What a rollout changes on each instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    /// OpenClaw to this version.
    Update { version: String },
    /// One config key to this value.
    Config { key: String, value: Value },
}

impl Change {
    /// "OpenClaw 2026.9.6" or "channels.telegram.dmPolicy = pairing".
    pub fn describe(&self) -> String {
        match self {
            Change::Update { version } => format!("OpenClaw {version}"),
            Change::Config { key, value } => format!("{key} = {}", plain(key, value)),
        }
    }

    /// The single-instance command it amounts to, for the audit trail.
    fn command(&self, name: &str) -> String {
        match self {
            Change::Update { version } => format!("/update {name} {version}"),
            Change::Config { key, value } => {
                format!("/config {name} set {key} {}", plain(key, value))
            }
        }
    }

    /// About how long one instance takes, for the estimate in the question.
    fn per_instance(&self, simulated: bool) -> Duration {
        match (simulated, self) {
            (true, _) => Duration::from_secs(1),
            (false, Change::Update { .. }) => Duration::from_secs(90),
            (false, Change::Config { .. }) => Duration::from_secs(20),
        }
    }
}

/// A config value as an operator typed it: text without quotes, JSON otherwise, a
/// secret masked.
fn plain(key: &str, value: &Value) -> String {
    match value {
        Value::String(s)
            if !crate::secrets::secret_key(key) && !s.contains(char::is_whitespace) =>
        {
            s.clone()
        }
        _ => crate::secrets::shown(key, value),
    }
}

/// Where one instance of a rollout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetState {
    Pending,
    /// Changed and healthy.
    Changed,
    /// Had the change already.
    AlreadyThere,
    /// Unhealthy after the change (or the change was refused) and put back as it was.
    RolledBack,
    /// Unhealthy after the change and could not be put back: a person looks.
    BackFailed,
    /// Left alone: busy, suspended, no longer ready, or holding a secret at the key.
    Skipped,
}

impl TargetState {
    fn failed(self) -> bool {
        matches!(self, TargetState::RolledBack | TargetState::BackFailed)
    }
}

/// One instance of a rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub name: String,
    pub state: TargetState,
    /// What it had before the change (the version, or the key's value; `None`: unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How a rollout goes, as the question shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    pub batch: u64,
    pub pause: Duration,
    pub error_budget: u32,
}

/// A rollout: the plan's JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rollout {
    /// Its plan id (set when started, and when read back).
    #[serde(default)]
    pub id: i64,
    pub change: Change,
    /// Who confirmed it (or resumed it last): each change is audited as them.
    pub actor: String,
    /// In order: the canary first.
    pub targets: Vec<Target>,
    /// Instances per step: the canary's 1, then the batches.
    pub batches: Vec<usize>,
    pub pause_secs: u64,
    pub error_budget: u32,
    #[serde(default)]
    pub failures: u32,
    /// Why it halted last, while it waits for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halted: Option<String>,
    /// The audit trail the changes are written to (given when it runs).
    #[serde(skip)]
    audit: Option<Audit>,
}

/// The batch sizes for `count` instances: a canary of one, then batches of `batch`.
pub fn batches(count: usize, batch: u64) -> Vec<usize> {
    let batch = batch.clamp(1, 100) as usize;
    let mut sizes = Vec::new();
    if count == 0 {
        return sizes;
    }
    sizes.push(1);
    let mut left = count - 1;
    while left > 0 {
        let n = left.min(batch);
        sizes.push(n);
        left -= n;
    }
    sizes
}

impl Rollout {
    /// A rollout of `change` over `rows` (in this order, the first the canary).
    pub fn new(change: Change, rows: &[InstanceRow], pace: Pace, actor: &str) -> Rollout {
        Rollout {
            id: 0,
            change,
            actor: actor.to_string(),
            targets: rows
                .iter()
                .map(|r| Target {
                    name: r.name.clone(),
                    state: TargetState::Pending,
                    before: None,
                    note: None,
                })
                .collect(),
            batches: batches(rows.len(), pace.batch),
            pause_secs: pace.pause.as_secs(),
            error_budget: pace.error_budget,
            failures: 0,
            halted: None,
            audit: None,
        }
    }

    /// The targets of step `step`, as positions.
    fn positions(&self, step: usize) -> std::ops::Range<usize> {
        let start: usize = self.batches[..step].iter().sum();
        start..start + self.batches[step]
    }

    fn count(&self, wanted: impl Fn(TargetState) -> bool) -> usize {
        self.targets.iter().filter(|t| wanted(t.state)).count()
    }

    /// "6 changed, 1 rolled back, 5 not yet".
    pub fn tally(&self) -> String {
        let mut parts = Vec::new();
        let mut add = |n: usize, what: &str| {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        };
        add(self.count(|s| s == TargetState::Changed), "changed");
        add(
            self.count(|s| s == TargetState::AlreadyThere),
            "already there",
        );
        add(self.count(|s| s == TargetState::RolledBack), "rolled back");
        add(
            self.count(|s| s == TargetState::BackFailed),
            "could not be put back",
        );
        add(self.count(|s| s == TargetState::Skipped), "skipped");
        add(self.count(|s| s == TargetState::Pending), "not yet");
        parts.join(", ")
    }

    /// The lines the confirmation shows: batches, pauses, duration, the halt rule.
    pub fn plan_lines(&self, simulated: bool) -> Vec<String> {
        let canary = self.targets.first().map_or("", |t| t.name.as_str());
        let rest = &self.batches[1.min(self.batches.len())..];
        let shape = match rest {
            [] => format!("Plan: {canary} alone"),
            [one] => format!("Plan: canary {canary}, then one batch of {one}"),
            many => format!(
                "Plan: canary {canary}, then {} batches of up to {}",
                many.len(),
                many.iter().max().copied().unwrap_or(0)
            ),
        };
        let pauses = self.batches.len().saturating_sub(1) as u64;
        let pause = if pauses > 0 && self.pause_secs > 0 {
            format!(
                ", {} between batches",
                humantime::format_duration(Duration::from_secs(self.pause_secs))
            )
        } else {
            String::new()
        };
        let estimate = self.change.per_instance(simulated) * self.targets.len() as u32
            + Duration::from_secs(self.pause_secs * pauses);
        let budget = match self.error_budget {
            0 => "halts at the first failure".to_string(),
            n => format!("halts past {n} failures (at once if the canary fails)"),
        };
        vec![
            format!("Change: {}", self.change.describe()),
            format!("{shape}{pause}"),
            format!(
                "Estimated duration: about {}",
                humantime::format_duration(Duration::from_secs(
                    estimate.as_secs().div_ceil(60) * 60
                ))
            ),
            format!(
                "Each instance is health-checked after its change and put back if it comes back worse; the rollout {budget} and asks whether to go on."
            ),
        ]
    }

    fn who(&self) -> String {
        format!("{} via rollout {}", self.actor, self.id)
    }

    async fn record(&self, event: Event, line: &str, detail: &str) -> Result<(), StepFailure> {
        if let Some(audit) = &self.audit {
            audit
                .record(&self.who(), event, line, detail)
                .await
                .map_err(|e| StepFailure::Failed(e.to_string()))?;
        }
        Ok(())
    }

    /// Waits the pause between batches, unless clawops stops or a person pauses or aborts
    /// the rollout meanwhile (then the runner stops before the batch).
    async fn between_batches(&self, ctx: &Ctx) -> Result<bool, StepFailure> {
        let pause = Duration::from_secs(self.pause_secs);
        let until = tokio::time::Instant::now() + pause;
        while tokio::time::Instant::now() < until {
            let tick = (until - tokio::time::Instant::now()).min(Duration::from_secs(1));
            tokio::select! {
                () = ctx.shutdown.cancelled() => return Err(StepFailure::Interrupted),
                () = tokio::time::sleep(tick) => {}
            }
            let state = ctx
                .store
                .plan(self.id)
                .await
                .map_err(|e| StepFailure::Failed(e.to_string()))?
                .map(|p| p.state);
            if matches!(state, Some(PlanState::Paused | PlanState::Aborted)) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Changes target `at`, checks it, and puts it back when it came back worse.
    async fn one(&mut self, at: usize, ctx: &Ctx) -> Result<(), StepFailure> {
        let name = self.targets[at].name.clone();
        let line = self.change.command(&name);
        let _held = match ctx
            .locks
            .take(
                std::slice::from_ref(&name),
                &line,
                ctx.clock.now(),
                ctx.config.safety.busy_wait,
            )
            .await
        {
            Ok(held) => held,
            Err(busy) => {
                self.skip(at, busy.to_string());
                return Ok(());
            }
        };
        let host = match ready_host(ctx, &name).await {
            Ok(host) => host,
            Err(why) => {
                self.skip(at, why);
                return Ok(());
            }
        };
        let (before_state, before_score) = health(host.as_ref()).await;
        let before = match self.read(host.as_ref()).await {
            Ok(before) => before,
            Err(why) => {
                self.skip(at, why);
                return Ok(());
            }
        };
        if self.has_change(before.as_ref()) {
            self.targets[at].state = TargetState::AlreadyThere;
            return Ok(());
        }
        self.targets[at].before = before.clone();
        self.record(Event::Requested, &line, "").await?;
        let applied = match &self.change {
            Change::Update { version } => host.update(version).await,
            Change::Config { key, value } => host.set_config(key, value.clone()).await,
        };
        let problem = match applied {
            Err(e) => Some(crate::secrets::redact(&e.to_string(), &[])),
            Ok(_) => self
                .settle(ctx, &name, host.as_ref(), before_state, before_score)
                .await
                .err(),
        };
        let Some(problem) = problem else {
            self.targets[at].state = TargetState::Changed;
            self.record(Event::Done, &line, "").await?;
            return Ok(());
        };
        let put_back = self.put_back(host.as_ref(), before.as_ref()).await;
        let (_, health_now, _) = recheck(ctx, &name, host.as_ref()).await;
        let (target_state, said) = match put_back {
            Ok(was) => (
                TargetState::RolledBack,
                format!(
                    "{name} came back {problem} after {}; put back to {was} ({health_now})",
                    self.change.describe()
                ),
            ),
            Err(e) => (
                TargetState::BackFailed,
                format!(
                    "{name} came back {problem} after {}, and putting it back failed: {e} ({health_now})",
                    self.change.describe()
                ),
            ),
        };
        self.targets[at].state = target_state;
        self.targets[at].note = Some(said.clone());
        self.failures += 1;
        self.record(Event::Failed, &line, &said).await?;
        let canary = at == 0;
        if canary || self.failures > self.error_budget || target_state == TargetState::BackFailed {
            let why = if canary {
                "the canary failed".to_string()
            } else if target_state == TargetState::BackFailed {
                "an instance could not be put back".to_string()
            } else {
                format!(
                    "{} failure(s), past the error budget of {}",
                    self.failures, self.error_budget
                )
            };
            self.halted = Some(format!("{said}; halted: {why}"));
            return Err(StepFailure::Halt(format!("{said}; halted: {why}")));
        }
        Ok(())
    }

    fn skip(&mut self, at: usize, why: String) {
        self.targets[at].state = TargetState::Skipped;
        self.targets[at].note = Some(why);
    }

    /// What the instance has now where the change goes.
    async fn read(&self, host: &dyn Host) -> Result<Option<Value>, String> {
        match &self.change {
            Change::Update { .. } => Ok(host
                .versions()
                .await
                .map_err(|e| e.to_string())?
                .installed
                .map(Value::String)),
            Change::Config { key, .. } => {
                let config = host.config().await.map_err(|e| e.to_string())?;
                let current = get_dotted(&config, key).cloned();
                // A value that holds a secret is never copied into the plan.
                if let Some(value) = &current {
                    let mut masked = value.clone();
                    crate::secrets::mask(&mut masked);
                    if &masked != value || crate::secrets::config_carries_secret(key, value) {
                        return Err(format!(
                            "{key} holds a secret there: set it one instance at a time"
                        ));
                    }
                }
                Ok(current)
            }
        }
    }

    fn has_change(&self, now: Option<&Value>) -> bool {
        match &self.change {
            Change::Update { version } => now.and_then(Value::as_str) == Some(version.as_str()),
            Change::Config { value, .. } => now == Some(value),
        }
    }

    /// Waits (up to `[rollouts] settle`) for the instance to be healthy, or no worse than
    /// before when it was not healthy before; else says how it came back.
    async fn settle(
        &self,
        ctx: &Ctx,
        name: &str,
        host: &dyn Host,
        before: HealthState,
        before_score: u8,
    ) -> Result<(), String> {
        let until = tokio::time::Instant::now() + ctx.config.rollouts.settle;
        loop {
            let (state, shown, score) = recheck(ctx, name, host).await;
            let good = state == HealthState::Healthy
                || (before != HealthState::Healthy && score >= before_score);
            if good {
                return Ok(());
            }
            if tokio::time::Instant::now() >= until || ctx.shutdown.is_cancelled() {
                return Err(shown);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Puts the instance back as it was; says what it was.
    async fn put_back(&self, host: &dyn Host, before: Option<&Value>) -> Result<String, String> {
        let err = |e: crate::remote::RemoteError| e.to_string();
        match (&self.change, before) {
            (Change::Update { .. }, Some(Value::String(version))) => {
                host.update(version).await.map_err(err)?;
                Ok(format!("OpenClaw {version}"))
            }
            (Change::Update { .. }, _) => Err("its previous version is not known".into()),
            (Change::Config { key, .. }, Some(value)) => {
                host.set_config(key, value.clone()).await.map_err(err)?;
                Ok(format!("{key} = {}", plain(key, value)))
            }
            (Change::Config { key, .. }, None) => {
                host.unset_config(key).await.map_err(err)?;
                Ok(format!("{key} unset"))
            }
        }
    }
}

/// The host of a ready instance, or why it is left alone.
async fn ready_host(ctx: &Ctx, name: &str) -> Result<std::sync::Arc<dyn Host>, String> {
    if ctx
        .store
        .open_plans()
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .any(|p| p.subject == name)
    {
        return Err(format!("{name} has an unfinished plan (a migration)"));
    }
    let row = ctx
        .store
        .instance(name)
        .await
        .map_err(|e| e.to_string())?
        .filter(|r| r.status == InstanceStatus::Ready)
        .ok_or_else(|| format!("{name} is no longer ready"))?;
    let server = row
        .server_id
        .clone()
        .ok_or_else(|| format!("{name} has no server recorded"))?;
    Ok(ctx
        .providers
        .get(&row.provider)
        .map_err(|e| e.to_string())?
        .host(&row.name, &server, row.ipv4.as_deref()))
}

async fn health(host: &dyn Host) -> (HealthState, u8) {
    let reading = host.probe().await.ok();
    let (state, score, _) = monitor::assess(reading.as_ref());
    (state, score)
}

/// Probes, records the health, and says it: (state, "offline (0/100: gateway down)", score).
async fn recheck(ctx: &Ctx, name: &str, host: &dyn Host) -> (HealthState, String, u8) {
    let (state, score, why) = match super::actions::probe_host(ctx, name, host).await {
        Ok(p) => (p.state, p.score, p.why),
        // Not recorded, but still read: the rollout judges by the reading.
        Err(_) => {
            let reading = host.probe().await.ok();
            monitor::assess(reading.as_ref())
        }
    };
    let why = if why.is_empty() {
        String::new()
    } else {
        format!(": {}", why.join(", "))
    };
    (
        state,
        format!("{} ({score}/100{why})", state.as_str()),
        score,
    )
}

#[async_trait]
impl Plan for Rollout {
    fn kind(&self) -> PlanKind {
        PlanKind::Rollout
    }

    fn subject(&self) -> &str {
        SUBJECT
    }

    fn title(&self) -> String {
        format!(
            "Rollout {}: {} on {} instances",
            self.id,
            self.change.describe(),
            self.targets.len()
        )
    }

    fn steps(&self) -> Vec<PlanStep> {
        let total = self.batches.len().saturating_sub(1);
        (0..self.batches.len())
            .map(|step| {
                let names: Vec<&str> = self.targets[self.positions(step)]
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect();
                if step == 0 {
                    PlanStep {
                        id: "canary".into(),
                        title: format!("Canary: {}", names.join("")).into(),
                    }
                } else {
                    let shown = if names.len() > 3 {
                        format!(
                            "{} … {} ({})",
                            names[0],
                            names[names.len() - 1],
                            names.len()
                        )
                    } else {
                        names.join(", ")
                    };
                    PlanStep {
                        id: format!("batch-{step}").into(),
                        title: format!("Batch {step}/{total}: {shown}").into(),
                    }
                }
            })
            .collect()
    }

    fn body(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    async fn check(&self, step: usize, _ctx: &Ctx) -> Result<bool, StepFailure> {
        Ok(self.targets[self.positions(step)]
            .iter()
            .all(|t| t.state != TargetState::Pending))
    }

    async fn apply(
        &mut self,
        step: usize,
        ctx: &Ctx,
        _out: &dyn Replier,
    ) -> Result<String, StepFailure> {
        if step > 0 && self.pause_secs > 0 && !self.between_batches(ctx).await? {
            return Err(StepFailure::Stopped);
        }
        self.halted = None;
        for at in self.positions(step) {
            if self.targets[at].state != TargetState::Pending {
                continue;
            }
            if ctx.shutdown.is_cancelled() {
                return Err(StepFailure::Interrupted);
            }
            self.one(at, ctx).await?;
        }
        let batch = &self.targets[self.positions(step)];
        let changed = batch
            .iter()
            .filter(|t| t.state == TargetState::Changed)
            .count();
        let failed = batch.iter().filter(|t| t.state.failed()).count();
        let mut said = format!("{changed}/{} changed", batch.len());
        if failed > 0 {
            said.push_str(&format!(", {failed} rolled back"));
        }
        Ok(said)
    }

    async fn roll_back(&mut self, _ctx: &Ctx) -> Undone {
        Undone {
            said: format!(
                "a rollout is not undone as a whole: {} (each failed instance was put back)",
                self.tally()
            ),
            clean: true,
        }
    }

    fn after_interruption(&self, _step: usize) -> Recovery {
        Recovery::Pause("A rollout goes on only when a person says so".into())
    }

    fn report(&self, finished: &Finished) -> Result<Message, String> {
        let head = |mark: &str, said: String| {
            Message::default()
                .heading(format!("{mark} Rollout {}: {said}", self.id))
                .para(format!("{} — {}.", self.change.describe(), self.tally()))
        };
        let failures: Vec<String> = self
            .targets
            .iter()
            .filter(|t| t.state.failed() || t.state == TargetState::Skipped)
            .filter_map(|t| t.note.clone())
            .take(10)
            .collect();
        let with_notes = |m: Message| {
            if failures.is_empty() {
                m
            } else {
                m.para(failures.join("\n"))
            }
        };
        let next = format!(
            "/rollout resume {} goes on, /rollout abort {} ends it.",
            self.id, self.id
        );
        match finished {
            Finished::Done { elapsed, .. } => Ok(with_notes(head(
                "✓",
                format!("done in {}", crate::chat::render::secs(*elapsed)),
            ))),
            Finished::Halted { reason, .. } => {
                let earlier: Vec<&String> = failures
                    .iter()
                    .filter(|n| !reason.contains(n.as_str()))
                    .collect();
                let mut m = head("⏸", "halted".into());
                if !earlier.is_empty() {
                    m = m.para(
                        earlier
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join("\n"),
                    );
                }
                Ok(m.para(format!("{reason}.\n{next}")))
            }
            Finished::Paused { step } => Ok(head(
                "⏸",
                format!("paused before step {}/{}", step + 1, self.batches.len()),
            )
            .para(next)),
            Finished::Interrupted { .. } => {
                Ok(head("⏸", "paused because clawops is stopping".into()).para(next))
            }
            Finished::Aborted { .. } => Ok(with_notes(head(
                "■",
                "aborted; what was changed stays changed".into(),
            ))),
            Finished::RolledBack { reason, undone, .. } => Err(format!(
                "rollout {} stopped: {reason}; {}",
                self.id, undone.said
            )),
        }
    }
}

/// The rollout open now, if any, read back.
pub async fn open(ctx: &Ctx) -> Result<Option<(PlanRow, Rollout)>, OpsError> {
    let Some(row) = ctx
        .store
        .open_plans()
        .await?
        .into_iter()
        .find(|p| p.kind == PlanKind::Rollout.as_str())
    else {
        return Ok(None);
    };
    let rollout = read(&row)?;
    Ok(Some((row, rollout)))
}

/// A rollout plan's JSON.
pub fn read(row: &PlanRow) -> Result<Rollout, OpsError> {
    let mut rollout: Rollout = serde_json::from_str(&row.body).map_err(|e| {
        OpsError::Refused(format!(
            "rollout {} cannot be read by this version: {e}",
            row.id
        ))
    })?;
    rollout.id = row.id;
    Ok(rollout)
}

/// What the question of a rollout shows: every target, their end users, the plan.
pub fn radius(ctx: &Ctx, rollout: &Rollout, rows: &[InstanceRow]) -> BlastRadius {
    let simulated = rows.iter().all(|r| {
        ctx.providers
            .get(&r.provider)
            .map(|c| c.simulated())
            .unwrap_or(false)
    });
    BlastRadius {
        instances: rows
            .iter()
            .map(|r| (r.name.clone(), super::actions::place(r)))
            .collect(),
        end_users: rows.iter().map(|r| r.end_users.max(0) as u32).sum(),
        reversible: true,
        loss: Some("each instance restarts its gateway once".into()),
        press: Some("a rollout changes many instances in turn: a person confirms its plan".into()),
        details: rollout.plan_lines(simulated),
        ..BlastRadius::default()
    }
}

/// Starts a rollout confirmed by `actor` and runs it to its end, a halt or a pause.
pub async fn start(
    ctx: &Ctx,
    audit: &Audit,
    mut rollout: Rollout,
    out: &dyn Replier,
) -> Result<Message, OpsError> {
    if rollout.targets.is_empty() {
        return Err(OpsError::Refused(
            "no ready instance matches: /list shows the fleet".into(),
        ));
    }
    if let Some((row, _)) = open(ctx).await? {
        return Err(OpsError::Refused(format!(
            "rollout {} is {}: /rollout resume {} or /rollout abort {} first (one rollout at a time)",
            row.id,
            row.state.as_str(),
            row.id,
            row.id
        )));
    }
    let runner = Runner::new(ctx);
    rollout.id = runner.start(&rollout, &rollout.actor.clone()).await?;
    drive(ctx, audit, rollout, out).await
}

/// Runs rollout `rollout` (already saved) from where it stands.
pub async fn drive(
    ctx: &Ctx,
    audit: &Audit,
    mut rollout: Rollout,
    out: &dyn Replier,
) -> Result<Message, OpsError> {
    rollout.audit = Some(audit.clone());
    let id = rollout.id;
    let finished = Runner::new(ctx).run(id, &mut rollout, out).await?;
    rollout.report(&finished).map_err(OpsError::Refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rollout_is_a_canary_then_batches() {
        assert_eq!(batches(12, 5), vec![1, 5, 5, 1]);
        assert_eq!(batches(1, 5), vec![1]);
        assert_eq!(batches(0, 5), Vec::<usize>::new());
        assert_eq!(batches(6, 5), vec![1, 5]);
        // Over 100 instances the batches stay at most 100.
        let big = batches(250, 500);
        assert_eq!(big, vec![1, 100, 100, 49]);
    }
}
