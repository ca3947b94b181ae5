//! Plans: work of several ordered steps that must survive a crash or a stop. A plan is a
//! value (what it was asked, what it has learned so far) with steps that each have a check
//! ("already done?") and an apply; the runner saves the plan and each step's state as it
//! goes, stops at a step boundary when clawops is stopping, and undoes the work through
//! the plan's own roll-back when a step fails.
//!
//! At start-up, [`recover`] finds the plans a previous process left open and, for each, asks
//! the plan what a careful operator would do at the step it stopped: resume it (the runner
//! then finishes it in the background) or roll it back now. Either way the operators are
//! told which, and why.
//!
//! A migration and a rollout are plans; disaster recovery and failover are meant to be
//! plans too: implement [`Plan`], add a [`PlanKind`], and let [`revive`] know the kind.
//!
//! Some plans wait for a person rather than roll back: a step may *halt* the plan (a
//! rollout's failed instance), and a person may pause or abort a running plan; the runner
//! reads the plan's state before each step and stops there.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::OpsError;
use super::door::Ctx;
use crate::chat::{Message, Outbound, ProgressStep, ProgressView, Replier, StepState};
use crate::store::{NewPlan, PlanRow, PlanState, StepStatus};

/// Progress views of plans are keyed apart from those of deploys (which use their id).
const PROGRESS_KEY: u64 = 1 << 40;
/// How much of a step's output is kept.
const OUTPUT_LIMIT: usize = 2000;

/// The kinds of plan this version knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanKind {
    Migrate,
    Rollout,
    Repair,
}

impl PlanKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanKind::Migrate => "migrate",
            PlanKind::Rollout => "rollout",
            PlanKind::Repair => "repair",
        }
    }

    fn parse(s: &str) -> Option<PlanKind> {
        match s {
            "migrate" => Some(PlanKind::Migrate),
            "rollout" => Some(PlanKind::Rollout),
            "repair" => Some(PlanKind::Repair),
            _ => None,
        }
    }
}

/// One step of a plan, as stored (`id`) and as shown (`title`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStep {
    pub id: Cow<'static, str>,
    pub title: Cow<'static, str>,
}

impl PlanStep {
    /// A step known when the code is written.
    pub const fn fixed(id: &'static str, title: &'static str) -> PlanStep {
        PlanStep {
            id: Cow::Borrowed(id),
            title: Cow::Borrowed(title),
        }
    }
}

/// What to do with a plan a stopped process left open, and why (said to the operators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    Resume(String),
    RollBack(String),
    /// Wait for a person (`/rollout resume`), saying why.
    Pause(String),
}

/// How a step did not finish.
#[derive(Debug, Error)]
pub enum StepFailure {
    /// clawops is stopping: the step will be run again.
    #[error("interrupted because clawops is stopping")]
    Interrupted,
    #[error("{0}")]
    Failed(String),
    /// The step did what it could and the plan waits for a person (nothing is rolled
    /// back by the runner: the plan has already put back what it had to).
    #[error("{0}")]
    Halt(String),
    /// A person paused or aborted the plan while the step waited to begin: the step is
    /// left pending and the plan stays as the person set it.
    #[error("stopped by a person")]
    Stopped,
}

impl From<OpsError> for StepFailure {
    fn from(e: OpsError) -> Self {
        match e {
            OpsError::Deploy(crate::deploy::DeployError::Interrupted { .. }) => {
                StepFailure::Interrupted
            }
            other => StepFailure::Failed(other.to_string()),
        }
    }
}

/// What a roll-back came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undone {
    /// For the operators: where things stand now.
    pub said: String,
    /// False when something could not be undone (the plan is then `failed`).
    pub clean: bool,
}

/// How a run of a plan ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Finished {
    Done {
        ran: usize,
        skipped: usize,
        elapsed: Duration,
    },
    /// Stopped at a step boundary because clawops is stopping; the next start-up resumes
    /// it, or announces it paused for a person (as the plan's recovery says).
    Interrupted { step: usize },
    /// A step failed (or clawops stopped where the plan prefers going back) and the plan
    /// was rolled back.
    RolledBack {
        step: usize,
        reason: String,
        undone: Undone,
    },
    /// A step halted the plan; it waits for a person.
    Halted { step: usize, reason: String },
    /// A person paused it; it waits before step `step`.
    Paused { step: usize },
    /// A person aborted it before step `step`.
    Aborted { step: usize },
}

/// Work of ordered steps that survives a crash. The value itself is saved (as JSON, see
/// [`Plan::body`]) after each step, so whatever `apply` learns and later steps need
/// (a backup id, a server id) belongs in its fields.
#[async_trait]
pub trait Plan: Send + Sync {
    fn kind(&self) -> PlanKind;
    /// The instance it acts on (held by the per-instance lock while it runs).
    fn subject(&self) -> &str;
    /// "Migrating alice-bot to DigitalOcean fra1".
    fn title(&self) -> String;
    fn steps(&self) -> Vec<PlanStep>;
    /// The plan as saved.
    fn body(&self) -> Result<String, serde_json::Error>;
    /// Whether step `step` is already done (then it is not applied).
    async fn check(&self, step: usize, ctx: &Ctx) -> Result<bool, StepFailure>;
    /// Does step `step`; returns a line for the step log.
    async fn apply(
        &mut self,
        step: usize,
        ctx: &Ctx,
        out: &dyn Replier,
    ) -> Result<String, StepFailure>;
    /// Undoes what the steps done so far did. Must be safe to run again (a process may
    /// die while rolling back).
    async fn roll_back(&mut self, ctx: &Ctx) -> Undone;
    /// Stopped before step `step` (not done): resume or roll back?
    fn after_interruption(&self, step: usize) -> Recovery;
    /// What the operators are told when the plan has ended: a message when it did what
    /// it was for, else why not.
    fn report(&self, finished: &Finished) -> Result<Message, String>;
}

/// A plan of kind `row.kind` from its saved JSON.
pub fn revive(row: &PlanRow) -> Result<Box<dyn Plan>, OpsError> {
    let damaged = |e: String| {
        OpsError::Refused(format!(
            "plan {} ({} {}) cannot be read by this version: {e}",
            row.id, row.kind, row.subject
        ))
    };
    match PlanKind::parse(&row.kind) {
        Some(PlanKind::Migrate) => {
            let plan: super::actions::migrate::MigrationPlan =
                serde_json::from_str(&row.body).map_err(|e| damaged(e.to_string()))?;
            Ok(Box::new(plan))
        }
        Some(PlanKind::Rollout) => {
            let mut plan: super::rollout::Rollout =
                serde_json::from_str(&row.body).map_err(|e| damaged(e.to_string()))?;
            plan.id = row.id;
            Ok(Box::new(plan))
        }
        Some(PlanKind::Repair) => {
            let plan: super::actions::repair::ChannelRepair =
                serde_json::from_str(&row.body).map_err(|e| damaged(e.to_string()))?;
            Ok(Box::new(plan))
        }
        None => Err(damaged("unknown kind".into())),
    }
}

/// Runs plans over one context.
pub struct Runner<'a> {
    ctx: &'a Ctx,
}

impl<'a> Runner<'a> {
    pub fn new(ctx: &'a Ctx) -> Runner<'a> {
        Runner { ctx }
    }

    /// Saves a new plan, all steps pending, confirmed by `actor`; returns its id. Refused
    /// while another plan on the same instance is open.
    pub async fn start(&self, plan: &dyn Plan, actor: &str) -> Result<i64, OpsError> {
        let body = plan.body().map_err(|e| {
            OpsError::Refused(format!("cannot save the plan for {}: {e}", plan.subject()))
        })?;
        let listed = plan.steps();
        let steps: Vec<&str> = listed.iter().map(|s| s.id.as_ref()).collect();
        if let Some(open) = self
            .ctx
            .store
            .open_plans()
            .await?
            .into_iter()
            .find(|p| p.subject == plan.subject())
        {
            return Err(OpsError::Refused(format!(
                "{} has an unfinished {} (plan {}, {}): it is finished or rolled back first",
                open.subject,
                open.kind,
                open.id,
                open.state.as_str()
            )));
        }
        Ok(self
            .ctx
            .store
            .start_plan(
                &NewPlan {
                    kind: plan.kind().as_str(),
                    subject: plan.subject(),
                    actor,
                    body: &body,
                    steps: &steps,
                },
                self.ctx.clock.now(),
            )
            .await?)
    }

    /// Starts `plan` for `actor`, runs it to its end, and says how it ended (its report;
    /// a refusal when it did not finish).
    pub async fn carry_out(
        &self,
        plan: &mut dyn Plan,
        actor: &str,
        out: &dyn Replier,
    ) -> Result<Message, OpsError> {
        let id = self.start(plan, actor).await?;
        let finished = self.run(id, plan, out).await?;
        plan.report(&finished).map_err(OpsError::Refused)
    }

    /// Runs (or resumes) plan `id` from its first unfinished step.
    pub async fn run(
        &self,
        id: i64,
        plan: &mut dyn Plan,
        out: &dyn Replier,
    ) -> Result<Finished, OpsError> {
        let started = Instant::now();
        let store = &self.ctx.store;
        let rows = store.plan_steps(id).await?;
        let steps = plan.steps();
        if rows.len() != steps.len() || rows.iter().zip(steps).any(|(r, s)| r.step != s.id) {
            return Err(OpsError::Refused(format!(
                "plan {id} was saved with steps this version does not have; it is left as it is"
            )));
        }
        store
            .set_plan_state(id, PlanState::Running, None, self.ctx.clock.now())
            .await?;
        let mut view = self.view(id, plan, &rows.iter().map(|r| r.state).collect::<Vec<_>>());
        let (mut ran, mut skipped) = (0, 0);
        for (i, row) in rows.iter().enumerate() {
            if row.state.finished() {
                skipped += 1;
                continue;
            }
            if self.ctx.shutdown.is_cancelled() {
                return self.interrupted(id, plan, i, &mut view, out).await;
            }
            // A person may have paused or aborted it while the last step ran.
            if let Some(stopped) = self.stopped_by_person(id).await? {
                return self.stop(i, stopped, &mut view, started, out).await;
            }
            let step_started = Instant::now();
            view.steps[i].state = StepState::Running;
            view.elapsed = started.elapsed();
            out.send(Outbound::Progress(view.clone())).await;
            store.plan_step_started(id, i, self.ctx.clock.now()).await?;
            let result = match plan.check(i, self.ctx).await {
                Ok(true) => Ok(None),
                Ok(false) => plan.apply(i, self.ctx, out).await.map(Some),
                Err(e) => Err(e),
            };
            view.steps[i].elapsed = Some(step_started.elapsed());
            match result {
                Ok(output) => {
                    let (state, shown, said) = match output {
                        None => (
                            StepStatus::Skipped,
                            StepState::Skipped,
                            "already done".into(),
                        ),
                        Some(o) => (StepStatus::Done, StepState::Done, o),
                    };
                    store
                        .plan_step_finished(
                            id,
                            i,
                            state,
                            &clip(&said),
                            &self.body(plan)?,
                            self.ctx.clock.now(),
                        )
                        .await?;
                    view.steps[i].state = shown;
                    if state == StepStatus::Done {
                        ran += 1;
                    } else {
                        skipped += 1;
                    }
                }
                Err(StepFailure::Interrupted) => {
                    self.left_pending(id, i, "interrupted", plan, &mut view)
                        .await?;
                    return self.interrupted(id, plan, i, &mut view, out).await;
                }
                Err(StepFailure::Stopped) => {
                    self.left_pending(id, i, "stopped by a person", plan, &mut view)
                        .await?;
                    let stopped = match self.stopped_by_person(id).await? {
                        Some(state) => state,
                        None => {
                            store
                                .set_plan_state(
                                    id,
                                    PlanState::Paused,
                                    Some("paused by a person"),
                                    self.ctx.clock.now(),
                                )
                                .await?;
                            PlanState::Paused
                        }
                    };
                    return self.stop(i, stopped, &mut view, started, out).await;
                }
                Err(StepFailure::Halt(reason)) => {
                    store
                        .plan_step_finished(
                            id,
                            i,
                            StepStatus::Failed,
                            &clip(&reason),
                            &self.body(plan)?,
                            self.ctx.clock.now(),
                        )
                        .await?;
                    store
                        .set_plan_state(
                            id,
                            PlanState::Paused,
                            Some(&clip(&reason)),
                            self.ctx.clock.now(),
                        )
                        .await?;
                    view.steps[i].state = StepState::Failed;
                    view.steps[i].note = reason.lines().next().map(str::to_string);
                    view.finished = Some(false);
                    view.elapsed = started.elapsed();
                    out.send(Outbound::Progress(view)).await;
                    return Ok(Finished::Halted { step: i, reason });
                }
                Err(StepFailure::Failed(reason)) => {
                    store
                        .plan_step_finished(
                            id,
                            i,
                            StepStatus::Failed,
                            &clip(&reason),
                            &self.body(plan)?,
                            self.ctx.clock.now(),
                        )
                        .await?;
                    view.steps[i].state = StepState::Failed;
                    view.steps[i].note = reason.lines().next().map(str::to_string);
                    view.finished = Some(false);
                    view.elapsed = started.elapsed();
                    out.send(Outbound::Progress(view)).await;
                    return self.roll_back(id, plan, i, reason).await;
                }
            }
        }
        store
            .set_plan_state(id, PlanState::Done, None, self.ctx.clock.now())
            .await?;
        view.finished = Some(true);
        view.elapsed = started.elapsed();
        out.send(Outbound::Progress(view)).await;
        Ok(Finished::Done {
            ran,
            skipped,
            elapsed: started.elapsed(),
        })
    }

    /// Step `step` did not finish and will run again: saved (with the plan) as pending.
    async fn left_pending(
        &self,
        id: i64,
        step: usize,
        why: &str,
        plan: &dyn Plan,
        view: &mut ProgressView,
    ) -> Result<(), OpsError> {
        self.ctx
            .store
            .plan_step_finished(
                id,
                step,
                StepStatus::Pending,
                why,
                &self.body(plan)?,
                self.ctx.clock.now(),
            )
            .await?;
        view.steps[step].state = StepState::Pending;
        Ok(())
    }

    /// Whether a person paused or aborted plan `id` (its state says so).
    async fn stopped_by_person(&self, id: i64) -> Result<Option<PlanState>, OpsError> {
        Ok(self
            .ctx
            .store
            .plan(id)
            .await?
            .map(|p| p.state)
            .filter(|s| matches!(s, PlanState::Paused | PlanState::Aborted)))
    }

    /// Stops before step `step` as a person asked (`stopped`: paused or aborted).
    async fn stop(
        &self,
        step: usize,
        stopped: PlanState,
        view: &mut ProgressView,
        started: Instant,
        out: &dyn Replier,
    ) -> Result<Finished, OpsError> {
        view.finished = Some(false);
        view.steps[step].note = Some(format!("{} by a person", stopped.as_str()));
        view.elapsed = started.elapsed();
        out.send(Outbound::Progress(view.clone())).await;
        Ok(if stopped == PlanState::Aborted {
            Finished::Aborted { step }
        } else {
            Finished::Paused { step }
        })
    }

    /// Rolls plan `id` back after step `step` failed (or was interrupted) for `reason`.
    pub async fn roll_back(
        &self,
        id: i64,
        plan: &mut dyn Plan,
        step: usize,
        reason: String,
    ) -> Result<Finished, OpsError> {
        let store = &self.ctx.store;
        store
            .set_plan_state(
                id,
                PlanState::RollingBack,
                Some(&clip(&reason)),
                self.ctx.clock.now(),
            )
            .await?;
        let undone = plan.roll_back(self.ctx).await;
        let state = if undone.clean {
            PlanState::RolledBack
        } else {
            PlanState::Failed
        };
        let error = format!("{reason}; rolled back: {}", undone.said);
        store
            .set_plan_state(id, state, Some(&clip(&error)), self.ctx.clock.now())
            .await?;
        Ok(Finished::RolledBack {
            step,
            reason,
            undone,
        })
    }

    /// clawops is stopping before step `step`: the plan says whether the next start-up
    /// resumes it or whether it goes back now (while the stop's grace lasts).
    async fn interrupted(
        &self,
        id: i64,
        plan: &mut dyn Plan,
        step: usize,
        view: &mut ProgressView,
        out: &dyn Replier,
    ) -> Result<Finished, OpsError> {
        view.finished = Some(false);
        view.steps[step].note = Some("clawops is stopping".into());
        out.send(Outbound::Progress(view.clone())).await;
        match plan.after_interruption(step) {
            Recovery::Resume(_) => {
                self.ctx
                    .store
                    .set_plan_state(
                        id,
                        PlanState::Interrupted,
                        Some("clawops stopped"),
                        self.ctx.clock.now(),
                    )
                    .await?;
                Ok(Finished::Interrupted { step })
            }
            Recovery::RollBack(why) => {
                self.roll_back(id, plan, step, format!("clawops stopped ({why})"))
                    .await
            }
            Recovery::Pause(why) => {
                self.ctx
                    .store
                    .set_plan_state(
                        id,
                        PlanState::Paused,
                        Some(&format!("clawops stopped ({why})")),
                        self.ctx.clock.now(),
                    )
                    .await?;
                Ok(Finished::Interrupted { step })
            }
        }
    }

    fn body(&self, plan: &dyn Plan) -> Result<String, OpsError> {
        plan.body()
            .map_err(|e| OpsError::Refused(format!("cannot save the plan: {e}")))
    }

    fn view(&self, id: i64, plan: &dyn Plan, states: &[StepStatus]) -> ProgressView {
        ProgressView {
            key: PROGRESS_KEY + id as u64,
            title: plan.title(),
            steps: plan
                .steps()
                .iter()
                .zip(states)
                .map(|(s, state)| ProgressStep {
                    title: s.title.to_string(),
                    state: if state.finished() {
                        StepState::Skipped
                    } else {
                        StepState::Pending
                    },
                    elapsed: None,
                    note: None,
                })
                .collect(),
            elapsed: Duration::ZERO,
            finished: None,
        }
    }
}

/// What start-up made of the plans a previous process left open.
#[derive(Debug, Default)]
pub struct Recovered {
    /// For the operators: each plan, where it stopped, and whether it resumes or went back.
    pub notes: Vec<Message>,
    /// Plans to resume now, in the background ([`super::door::Door::resume_plan`]).
    pub resume: Vec<i64>,
    /// The instances these plans act on (their deploys are the plans' business).
    pub subjects: Vec<String>,
}

/// Start-up: decides, for each plan left open, whether it resumes or rolls back (rolling
/// back right away), and says which.
pub async fn recover(ctx: &Ctx) -> Result<Recovered, OpsError> {
    let runner = Runner::new(ctx);
    let mut recovered = Recovered::default();
    for row in ctx.store.open_plans().await? {
        recovered.subjects.push(row.subject.clone());
        let mut plan = match revive(&row) {
            Ok(plan) => plan,
            Err(e) => {
                ctx.store
                    .set_plan_state(
                        row.id,
                        PlanState::Failed,
                        Some(&e.to_string()),
                        ctx.clock.now(),
                    )
                    .await?;
                recovered.notes.push(Message::text(format!(
                    "⚠ {e}. Look at {} by hand.",
                    row.subject
                )));
                continue;
            }
        };
        if row.state == PlanState::Paused {
            // Waiting for a person already: said again, nothing else.
            recovered.notes.push(Message::text(format!(
                "⏸ {} (plan {}, confirmed by {}) is paused{}: /{} resume {} goes on, /{} abort {} ends it.",
                plan.title(),
                row.id,
                row.actor,
                row.error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default(),
                row.kind,
                row.id,
                row.kind,
                row.id
            )));
            continue;
        }
        let steps = ctx.store.plan_steps(row.id).await?;
        let stopped = steps
            .iter()
            .position(|s| !s.state.finished())
            .unwrap_or(steps.len());
        let shown = plan
            .steps()
            .get(stopped)
            .map(|s| format!("step {}/{} ({})", stopped + 1, steps.len(), s.title))
            .unwrap_or_else(|| "its last step".into());
        let decision = if row.state == PlanState::RollingBack {
            Recovery::RollBack("it was rolling back".into())
        } else {
            plan.after_interruption(stopped)
        };
        let title = plan.title();
        match decision {
            Recovery::Resume(why) => {
                ctx.store
                    .set_plan_state(
                        row.id,
                        PlanState::Interrupted,
                        Some("clawops stopped"),
                        ctx.clock.now(),
                    )
                    .await?;
                recovered.resume.push(row.id);
                recovered.notes.push(Message::text(format!(
                    "⚠ {title} (plan {}, confirmed by {}) stopped at {shown} when clawops stopped. {why}, so it resumes now; its result follows.",
                    row.id, row.actor
                )));
            }
            Recovery::Pause(why) => {
                ctx.store
                    .set_plan_state(
                        row.id,
                        PlanState::Paused,
                        Some(&format!("clawops stopped ({why})")),
                        ctx.clock.now(),
                    )
                    .await?;
                recovered.notes.push(Message::text(format!(
                    "⏸ {title} (plan {}, confirmed by {}) stopped at {shown} when clawops stopped. {why}, so it is paused: /{} resume {} goes on, /{} abort {} ends it.",
                    row.id, row.actor, row.kind, row.id, row.kind, row.id
                )));
            }
            Recovery::RollBack(why) => {
                let finished = runner
                    .roll_back(
                        row.id,
                        plan.as_mut(),
                        stopped,
                        format!("clawops stopped ({why})"),
                    )
                    .await?;
                let said = match finished {
                    Finished::RolledBack { undone, .. } => undone.said,
                    _ => String::new(),
                };
                recovered.notes.push(Message::text(format!(
                    "⚠ {title} (plan {}, confirmed by {}) stopped at {shown} when clawops stopped. {why}, so it was rolled back: {said}.",
                    row.id, row.actor
                )));
            }
        }
    }
    Ok(recovered)
}

fn clip(s: &str) -> String {
    crate::deploy::clip_to(s, OUTPUT_LIMIT)
}
