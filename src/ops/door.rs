//! The one door: every action, from any surface, passes here. In order: who is asking
//! (role), whether a human must confirm (with the blast radius shown first), the audit
//! append, and only then execution.

use std::sync::Arc;

use rand::RngExt;
use tokio_util::sync::CancellationToken;

use super::gate::{self, Refusal};
use super::plan::{self, Recovered};
use super::{Action, Actor, BlastRadius, OpsError, Risk};
use crate::audit::{Audit, Event};
use crate::chat::{Message, Replier};
use crate::clock::Clock;
use crate::config::{Config, Role};
use crate::deploy::Deployer;
use crate::provider::{Providers, money};
use crate::store::{ConfirmationRow, ConfirmationState, PlanState, PressResult, Store, ts};

/// What the door's work comes to, for the chat to show.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The action ran.
    Done(Message),
    /// The action ran and failed, or could not start.
    Failed(Message),
    /// The gate refused it; nothing ran.
    Refused(Message),
    /// It waits for the asking actor's press of a button bound to `id`.
    Confirm { id: String, message: Message },
    /// The action ran, and offers a follow-up that waits for a press of `id` (after a
    /// migration: delete the old server).
    Offer {
        message: Message,
        id: String,
        prompt: Message,
    },
}

impl Outcome {
    /// The message, whatever the outcome.
    pub fn message(&self) -> &Message {
        match self {
            Outcome::Done(m) | Outcome::Failed(m) | Outcome::Refused(m) => m,
            Outcome::Confirm { message, .. } | Outcome::Offer { message, .. } => message,
        }
    }
}

/// What a confirmation row holding a secret is sealed as.
const SEALED_ACTION: &str = "confirmation";

/// What actions need to run: the store, the clock, the configuration, the providers.
pub struct Ctx {
    pub store: Store,
    pub clock: Clock,
    pub config: Arc<Config>,
    pub providers: Providers,
    pub shutdown: CancellationToken,
    /// The LLM operator's conversation memory (for /forget).
    pub memory: Arc<crate::agent::memory::Memory>,
    /// Seals backups and instance secrets.
    pub vault: crate::vault::Vault,
    /// Where backups are kept (next to the store).
    pub backups: std::path::PathBuf,
    /// The bucket backups are copied to (`[backups]`), when one is set.
    pub offsite: Option<crate::offsite::Offsite>,
    /// One action at a time per instance.
    pub locks: super::locks::Locks,
    /// The scheduled jobs (for `/jobs`).
    pub jobs: crate::jobs::Jobs,
    /// The figures for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Where alerts go: each surface attaches its ops chats when it starts.
    pub postboxes: super::alerts::Postboxes,
    /// The heals running now.
    pub heals: super::heal::Heals,
    /// Who writes the briefings' summaries (the LLM's briefer, with `[llm]`).
    pub briefer: super::briefing::Writers,
    /// Cell hosts and their cells (also the `cell` provider).
    pub cells: Option<Arc<crate::provider::cell::CellCloud>>,
}

impl Ctx {
    /// The cell provider, or why there is none.
    pub fn cells(&self) -> Result<&Arc<crate::provider::cell::CellCloud>, OpsError> {
        self.cells
            .as_ref()
            .ok_or_else(|| OpsError::Refused("cells are not available in this process".into()))
    }
}

impl Ctx {
    /// The deploy runner for this context.
    pub fn deployer(&self) -> Deployer {
        Deployer {
            store: self.store.clone(),
            clock: self.clock.clone(),
            shutdown: self.shutdown.clone(),
            vault: self.vault.clone(),
        }
    }
}

/// The one door. Cloning shares it.
#[derive(Clone)]
pub struct Door {
    ctx: Arc<Ctx>,
    audit: Audit,
}

impl Door {
    /// An action as a confirmation row keeps it: sealed when it carries a secret (a bot
    /// token given to /config), so the store never holds one in the clear.
    fn stored(&self, action: &Action) -> Result<String, OpsError> {
        let json = serde_json::to_string(action).map_err(|e| {
            OpsError::Refused(format!("cannot store this action for confirmation: {e}"))
        })?;
        if !action.carries_secret() {
            return Ok(json);
        }
        Ok(format!(
            "sealed:{}",
            hex::encode(self.ctx.vault.seal(SEALED_ACTION, json.as_bytes()))
        ))
    }

    /// The JSON of a stored action, opened when it was sealed.
    fn unsealed(&self, stored: &str) -> Result<String, OpsError> {
        let Some(sealed) = stored.strip_prefix("sealed:") else {
            return Ok(stored.to_string());
        };
        let bytes = hex::decode(sealed)
            .map_err(|e| OpsError::Refused(format!("a stored confirmation is damaged: {e}")))?;
        self.ctx
            .vault
            .open_text(SEALED_ACTION, &bytes)
            .map_err(|e| OpsError::Refused(e.to_string()))
    }

    /// A door over `ctx`.
    pub fn new(ctx: Ctx) -> Door {
        let audit = Audit::new(
            ctx.store.clone(),
            ctx.clock.clone(),
            ctx.vault.derive(crate::audit::KEY_FAMILY),
            Some(crate::audit::witness_path(&ctx.config.store.path)),
        );
        Door {
            ctx: Arc::new(ctx),
            audit,
        }
    }

    /// The audit trail the door writes.
    pub fn audit(&self) -> &Audit {
        &self.audit
    }

    /// What actions run with.
    pub fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    /// The role of an actor: `system` acts as operator (cron jobs never destroy).
    pub fn role_of(&self, actor: &Actor) -> Option<Role> {
        match actor {
            Actor::Person {
                platform, user_id, ..
            } => self
                .ctx
                .config
                .role_of(*platform, user_id)
                .or_else(|| super::grants::granted(*platform, user_id)),
            Actor::System => Some(Role::Operator),
        }
    }

    /// Refuses someone who is not an operator, whatever they sent, and records it.
    pub async fn turn_away(&self, actor: &Actor, text: &str) -> Outcome {
        let what: String = text.chars().take(60).collect();
        match self
            .refuse(&actor.audit_name(), &what, &Refusal::Stranger)
            .await
        {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::error!(error = %e, "could not record a refusal");
                Outcome::Refused(Message::text(Refusal::Stranger.message("")))
            }
        }
    }

    /// Takes one action from `actor` through the gate; progress goes to `out`.
    pub async fn submit(&self, actor: &Actor, action: Action, out: &dyn Replier) -> Outcome {
        let who = actor.audit_name();
        match self.try_submit(actor, &who, false, &action, out).await {
            Ok(outcome) => outcome,
            Err(e) => self.failed(&who, &action, e).await,
        }
    }

    /// Takes one action the LLM proposed for `actor` (a tool call). It runs with the
    /// person's role, is recorded as `telegram:111 via llm`, and anything that grants
    /// access, changes credentials or exposure waits for the person's press.
    pub async fn propose(&self, actor: &Actor, action: Action, out: &dyn Replier) -> Outcome {
        let who = format!("{} via llm", actor.audit_name());
        match self.try_submit(actor, &who, true, &action, out).await {
            Ok(outcome) => outcome,
            Err(e) => self.failed(&who, &action, e).await,
        }
    }

    async fn try_submit(
        &self,
        actor: &Actor,
        who: &str,
        proposed: bool,
        action: &Action,
        out: &dyn Replier,
    ) -> Result<Outcome, OpsError> {
        let spec = action.spec();
        let line = action.command_line();
        let role = match gate::authorize_for(self.role_of(actor), self.needed_role(action).await) {
            Ok(role) => role,
            Err(refusal) => return self.refuse(who, &line, &refusal).await,
        };
        if *actor == Actor::System {
            // The system acts without a press only within its policy; nothing else.
            if let Err(refusal) = gate::system_may(action) {
                return self.refuse(who, &line, &refusal).await;
            }
            return self.execute(actor, who, role, action, out).await;
        }
        // What the action will act on, read now so the question can show it and the
        // press acts on exactly that (a host's key).
        let observed = self.observe(action).await?;
        let action = &observed;
        let mut radius = self.radius(action).await?;
        if proposed && radius.press.is_none() && action.changes_access() {
            radius.press = Some(
                "the LLM proposed it, and it changes access, credentials or exposure: a person decides"
                    .into(),
            );
        }
        if let Some(why) = gate::confirmation_reason(spec, &radius, &self.ctx.config.safety) {
            return self.ask(actor, who, action, &radius, &why).await;
        }
        self.execute(actor, who, role, action, out).await
    }

    /// Takes a press of confirmation `id` by `actor`: confirm runs the action, cancel
    /// drops it. A press by anyone else, a second press or a late one changes nothing.
    pub async fn press(
        &self,
        actor: &Actor,
        id: &str,
        confirm: bool,
        out: &dyn Replier,
    ) -> Outcome {
        match self.try_press(actor, id, confirm, out).await {
            Ok(outcome) => outcome,
            Err(e) => Outcome::Failed(Message::text(format!("✗ {e}"))),
        }
    }

    async fn try_press(
        &self,
        actor: &Actor,
        id: &str,
        confirm: bool,
        out: &dyn Replier,
    ) -> Result<Outcome, OpsError> {
        let who = actor.audit_name();
        let Actor::Person {
            platform, user_id, ..
        } = actor
        else {
            return Err(OpsError::Refused(
                "only a person can press a confirmation".into(),
            ));
        };
        if self.role_of(actor).is_none() {
            let r = Refusal::Stranger;
            return self.refuse(&who, &format!("press {id}"), &r).await;
        }
        let decision = if confirm {
            ConfirmationState::Confirmed
        } else {
            ConfirmationState::Cancelled
        };
        let now = self.ctx.clock.now();
        let pressed = self
            .ctx
            .store
            .press_confirmation(id, platform.as_str(), user_id, decision, now)
            .await?;
        let row = match pressed {
            PressResult::Taken(row) => row,
            other => {
                let why = match other {
                    PressResult::Unknown => {
                        "That button is not known (already handled or never issued)."
                    }
                    PressResult::NotYours => {
                        "That button belongs to someone else; only they can press it."
                    }
                    PressResult::AlreadyDecided(_) => "That button was already used.",
                    _ => "That button has expired: run the command again.",
                };
                self.audit
                    .record(&who, Event::Refused, &format!("press {id}"), why)
                    .await?;
                return Ok(Outcome::Refused(Message::text(why)));
            }
        };
        let action: Action = serde_json::from_str(&self.unsealed(&row.action)?).map_err(|e| {
            OpsError::Refused(format!(
                "the stored confirmation cannot be read ({e}); nothing was done"
            ))
        })?;
        let line = action.command_line();
        if !confirm {
            self.audit.record(&who, Event::Cancelled, &line, id).await?;
            return Ok(Outcome::Done(Message::text(format!(
                "Cancelled {line}. Nothing was changed."
            ))));
        }
        // The role is checked again: it may have changed since the button was shown.
        let role = match gate::authorize_for(self.role_of(actor), self.needed_role(&action).await) {
            Ok(role) => role,
            Err(refusal) => return self.refuse(&who, &line, &refusal).await,
        };
        self.audit.record(&who, Event::Confirmed, &line, id).await?;
        match self.run(actor, role, &action, out).await {
            Ok(message) => {
                self.audit.record(&who, Event::Done, &line, "").await?;
                if let Some(next) = self.follow_up(&action).await {
                    return Ok(self.offer(actor, message, next).await);
                }
                Ok(Outcome::Done(message))
            }
            Err(e) => Ok(self.failed(&who, &action, e).await),
        }
    }

    /// The pending confirmations of `actor`, to show again after a restart.
    pub async fn pending(&self, actor: &Actor) -> Result<Vec<(String, Message)>, OpsError> {
        let Actor::Person {
            platform, user_id, ..
        } = actor
        else {
            return Ok(Vec::new());
        };
        let rows = self
            .ctx
            .store
            .pending_confirmations(platform.as_str(), user_id, self.ctx.clock.now())
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.id, Message::text(r.prompt)))
            .collect())
    }

    /// Start-up: plans a previous process left open are resumed (listed for
    /// [`Door::resume_plan`]) or rolled back now; deploys that were running are marked
    /// interrupted. Returns what to tell the operators, and the plans to resume.
    pub async fn recover(&self) -> Result<Recovered, OpsError> {
        let mut recovered = plan::recover(&self.ctx).await?;
        let mut notes = self
            .ctx
            .deployer()
            .recover(&self.audit, &recovered.subjects)
            .await?;
        notes.append(&mut recovered.notes);
        recovered.notes = notes;
        Ok(recovered)
    }

    /// A stop ran out of time: deploys still running are recorded as interrupted (plans
    /// are left as they are: the next start-up finds them open and decides).
    pub async fn interrupted(&self) -> Result<Vec<Message>, OpsError> {
        let planned: Vec<String> = self
            .ctx
            .store
            .open_plans()
            .await?
            .into_iter()
            .map(|p| p.subject)
            .collect();
        Ok(self.ctx.deployer().recover(&self.audit, &planned).await?)
    }

    /// Finishes plan `id` that start-up found interrupted ([`Door::recover`] said it
    /// resumes), holding its instance like any action, with audit rows as the system
    /// acting for whoever confirmed it. Returns what to tell the operators.
    pub async fn resume_plan(&self, id: i64, out: &dyn Replier) -> Message {
        match self.resume_plan_inner(id, out).await {
            Ok(message) => message,
            Err(e) => Message::text(format!("✗ plan {id}: {e}")),
        }
    }

    async fn resume_plan_inner(&self, id: i64, out: &dyn Replier) -> Result<Message, OpsError> {
        let row = self
            .ctx
            .store
            .plan(id)
            .await?
            .ok_or_else(|| OpsError::Refused(format!("there is no plan {id}")))?;
        let mut plan = plan::revive(&row)?;
        let who = format!("system (plan {id} of {})", row.actor);
        let line = format!("/{} {} (resumed)", row.kind, row.subject);
        let _held = self
            .ctx
            .locks
            .take(
                std::slice::from_ref(&row.subject),
                &line,
                self.ctx.clock.now(),
                self.ctx.config.safety.busy_wait,
            )
            .await
            .map_err(|busy| OpsError::Refused(busy.to_string()))?;
        self.audit.record(&who, Event::Requested, &line, "").await?;
        let finished = plan::Runner::new(&self.ctx)
            .run(id, plan.as_mut(), out)
            .await?;
        match plan.report(&finished) {
            Ok(message) => {
                self.audit.record(&who, Event::Done, &line, "").await?;
                Ok(message)
            }
            Err(why) => {
                self.audit.record(&who, Event::Failed, &line, &why).await?;
                Ok(Message::text(format!("✗ {}", capitalise(&why))))
            }
        }
    }

    /// Runs a job the scheduler handed out (or a person asked for with `/jobs run`) as
    /// `who`: one `job_runs` row and one audit row with the result and its counts (reads
    /// done by the job are not audited one by one). Returns the summary, or why it failed.
    pub async fn run_job(&self, run: &crate::jobs::Run, who: &str) -> Result<String, String> {
        let name = run.kind.name();
        let line = if run.catch_up {
            format!(
                "job {name} (caught up, due {})",
                run.scheduled_for.format("%H:%M UTC")
            )
        } else {
            format!("job {name}")
        };
        let id = self
            .ctx
            .store
            .start_job_run(name, run.scheduled_for, self.ctx.clock.now())
            .await
            .map_err(|e| e.to_string())?;
        let _running = self.ctx.metrics.job_started(name);
        let result = match run.kind {
            crate::jobs::JobKind::HealthSweep => self.sweep_boxed().await,
            crate::jobs::JobKind::PairingPoll => super::pairing::poll(&self.ctx)
                .await
                .map(|r| r.to_string())
                .map_err(|e| e.to_string()),
            crate::jobs::JobKind::Briefings => super::briefing::run(&self.ctx)
                .await
                .map_err(|e| e.to_string()),
            crate::jobs::JobKind::StandbySync => {
                super::actions::failover::sync_all(&self.ctx).await
            }
            crate::jobs::JobKind::Backups => super::backups::nightly(&self.ctx)
                .await
                .map_err(|e| e.to_string())
                .and_then(|night| {
                    if night.failures() > 0 {
                        Err(night.to_string())
                    } else {
                        Ok(night.to_string())
                    }
                }),
        };
        if result.is_err() {
            self.ctx.metrics.job_failed(name);
        }
        let (ok, summary) = match &result {
            Ok(s) => (true, s.clone()),
            Err(e) => (false, e.clone()),
        };
        let now = self.ctx.clock.now();
        if let Err(e) = self.ctx.store.finish_job_run(id, ok, &summary, now).await {
            tracing::error!(job = name, error = %e, "cannot record the job's result");
        }
        let event = if ok { Event::Done } else { Event::Failed };
        if let Err(e) = self.audit.record(who, event, &line, &summary).await {
            tracing::error!(job = name, error = %e, "cannot audit the job");
        }
        if !ok {
            tracing::warn!(job = name, %summary, "job failed");
        }
        result
    }

    /// The sweep behind a box: a heal it starts acts through the door, which can run a
    /// sweep (`/jobs run`), and the box ends that cycle of future types.
    fn sweep_boxed(
        &self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send + '_>>
    {
        Box::pin(self.sweep())
    }

    /// One health sweep, then the alert pass over what it saw; the heartbeat once both
    /// went through.
    async fn sweep(&self) -> Result<String, String> {
        let report = super::sweep::sweep(&self.ctx)
            .await
            .map_err(|e| e.to_string())?;
        self.ctx.metrics.sweep(&report);
        super::actions::failover::fence(&self.ctx).await;
        let braked = super::heal::brake(&self.ctx, &report)
            .await
            .map_err(|e| format!("{report}; the brake failed: {e}"))?;
        let pass = super::alerts::after_sweep(&self.ctx, braked)
            .await
            .map_err(|e| format!("{report}; the alert pass failed: {e}"))?;
        let heals = super::heal::start(self, braked)
            .await
            .map_err(|e| format!("{report}; the heal pass failed: {e}"))?;
        let cells = super::cells::after_sweep(self)
            .await
            .map_err(|e| format!("{report}; the cell watch failed: {e}"))?;
        if let Ok(open) = self.ctx.store.open_incidents().await {
            self.ctx.metrics.incidents(open.len());
        }
        if let Some(url) = &self.ctx.config.watch.heartbeat_url {
            crate::metrics::heartbeat(url).await;
        }
        let mut said = report.to_string();
        let pass = pass.to_string();
        if !pass.is_empty() {
            said.push_str(&format!("; {pass}"));
        }
        if cells.suspended > 0 {
            said.push_str(&format!(
                "; {} cell(s) over their limits suspended",
                cells.suspended
            ));
        } else if cells.told > 0 {
            said.push_str(&format!("; {} cell(s) over their limits", cells.told));
        }
        if heals.braked {
            said.push_str("; the brake holds: no heals");
        } else if heals.started > 0 {
            said.push_str(&format!("; {} heal(s) started", heals.started));
        }
        Ok(said)
    }

    /// A press of a button under an alert, by any operator: it becomes the action it
    /// stands for, through the gate as the presser (Acknowledge for every role, Silence
    /// and Restart for operators; a Restart of many asks as a bulk restart does).
    pub async fn press_alert(
        &self,
        actor: &Actor,
        button: crate::chat::AlertButton,
        alert: i64,
        out: &dyn Replier,
    ) -> Outcome {
        let open = match super::alerts::open_of(&self.ctx, alert).await {
            Ok(open) => open,
            Err(e) => return Outcome::Failed(Message::text(format!("✗ {e}"))),
        };
        if let Some(refused) = self.stranger(actor, &format!("press alert {alert}")).await {
            return refused;
        }
        if open.is_empty() {
            return Outcome::Refused(Message::text(
                "Everything in that alert has ended already: nothing to do.",
            ));
        }
        let action = super::actions::alerts::for_button(button, alert, &open);
        self.submit(actor, action, out).await
    }

    /// The refusal of a press by someone who is no operator (recorded as `what`), if so.
    async fn stranger(&self, actor: &Actor, what: &str) -> Option<Outcome> {
        if self.role_of(actor).is_some() {
            return None;
        }
        Some(
            match self
                .refuse(&actor.audit_name(), what, &Refusal::Stranger)
                .await
            {
                Ok(outcome) => outcome,
                Err(e) => Outcome::Failed(Message::text(format!("✗ {e}"))),
            },
        )
    }

    /// A press of Resume under a cell the watch suspended: `/resume NAME` as the presser
    /// (operators; a stranger learns nothing).
    pub async fn press_resume(&self, actor: &Actor, anomaly: i64, out: &dyn Replier) -> Outcome {
        if let Some(refused) = self
            .stranger(actor, &format!("press resume {anomaly}"))
            .await
        {
            return refused;
        }
        let row = match self.ctx.store.anomaly(anomaly).await {
            Ok(Some(row)) => row,
            Ok(None) => return Outcome::Refused(Message::text("That alert is not known.")),
            Err(e) => return Outcome::Failed(Message::text(format!("✗ {e}"))),
        };
        let action = Action::Resume(super::actions::lifecycle::Resume { name: row.instance });
        self.submit(actor, action, out).await
    }

    /// A press of Approve or Reject under a pairing request: `/approve` or `/reject` as
    /// the presser (operators; a viewer is refused; a late press says so and does nothing).
    pub async fn press_pairing(
        &self,
        actor: &Actor,
        button: crate::chat::PairingButton,
        request: i64,
        out: &dyn Replier,
    ) -> Outcome {
        // A stranger learns nothing, not even whether the request exists.
        if let Some(refused) = self
            .stranger(actor, &format!("press pairing {request}"))
            .await
        {
            return refused;
        }
        let row = match self.ctx.store.pairing(request).await {
            Ok(Some(row)) => row,
            Ok(None) => {
                return Outcome::Refused(Message::text("That request is not known."));
            }
            Err(e) => return Outcome::Failed(Message::text(format!("✗ {e}"))),
        };
        let (name, id) = (row.instance, request.max(0) as u64);
        let action = match button {
            crate::chat::PairingButton::Approve => {
                Action::Approve(super::actions::pairing::Approve { name, id })
            }
            crate::chat::PairingButton::Reject => {
                Action::Reject(super::actions::pairing::Reject { name, id })
            }
        };
        self.submit(actor, action, out).await
    }

    /// `/jobs`: the list, or one run now by the person who asked.
    async fn jobs(
        &self,
        actor: &Actor,
        a: &super::actions::jobs::Jobs,
    ) -> Result<Message, OpsError> {
        let Some(kind) = a.runs() else {
            return a.list(&self.ctx).await;
        };
        let Some(run) = self.ctx.jobs.claim(kind, self.ctx.clock.now()) else {
            return Err(OpsError::Refused(format!(
                "{} is running right now; /jobs shows when it ends",
                kind.name()
            )));
        };
        match self.run_job(&run, &actor.audit_name()).await {
            Ok(summary) => Ok(Message::text(format!("✓ {}: {summary}", kind.name()))),
            Err(why) => Err(OpsError::Refused(format!("{} failed: {why}", kind.name()))),
        }
    }

    /// The least role that may run `action`: its catalogue role, raised for a deploy
    /// onto a host you have to `[providers.ssh] deploy_role` (owner by default).
    async fn needed_role(&self, action: &Action) -> Role {
        let spec = action.spec().role;
        match action {
            Action::Jobs(j) if j.runs().is_some() => spec.max(Role::Operator),
            Action::Hosts(h) if h.on_host() => spec.max(
                self.ctx
                    .config
                    .providers
                    .ssh
                    .as_ref()
                    .map_or(Role::Owner, |s| s.deploy_role),
            ),
            Action::Hosts(h) if h.verb() != super::actions::hosts::Verb::List => {
                spec.max(Role::Operator)
            }
            Action::Deploy(d) if d.on_host(&self.ctx).await => {
                let on_host = self
                    .ctx
                    .config
                    .providers
                    .ssh
                    .as_ref()
                    .map_or(Role::Owner, |s| s.deploy_role);
                spec.max(on_host)
            }
            _ => spec,
        }
    }

    /// `action` with what it acts on observed now, where that matters.
    async fn observe(&self, action: &Action) -> Result<Action, OpsError> {
        match action {
            Action::Deploy(d) => Ok(Action::Deploy(d.observed(&self.ctx).await?)),
            Action::Hosts(h) => Ok(Action::Hosts(h.observed(&self.ctx).await?)),
            other => Ok(other.clone()),
        }
    }

    async fn radius(&self, action: &Action) -> Result<BlastRadius, OpsError> {
        let ctx = &*self.ctx;
        match action {
            Action::Restart(a) => a.radius(ctx).await,
            Action::Destroy(a) => a.radius(ctx).await,
            Action::Deploy(a) => a.radius(ctx).await,
            Action::Update(a) => a.radius(ctx).await,
            Action::Config(a) => a.radius(ctx).await,
            Action::Suspend(a) => a.radius(ctx).await,
            Action::Resume(a) => a.radius(ctx).await,
            Action::Restore(a) => a.radius(ctx).await,
            Action::Unpin(a) => a.radius(ctx).await,
            Action::Reconcile(a) => a.radius(ctx).await,
            Action::Migrate(a) => a.radius(ctx).await,
            Action::Recover(a) => a.radius(ctx).await,
            Action::Reboot(a) => a.radius(ctx).await,
            Action::Resize(a) => a.radius(ctx).await,
            Action::Repair(a) => a.radius(ctx).await,
            Action::Failover(a) => a.radius(ctx).await,
            Action::Failback(a) => a.radius(ctx).await,
            Action::Send(a) => a.radius(ctx).await,
            Action::Rollout(a) => a.radius(ctx).await,
            Action::Hosts(a) => a.radius(ctx).await,
            Action::Backup(_)
            | Action::Backups(_)
            | Action::Rollouts(_)
            | Action::Logs(_)
            | Action::Version(_)
            | Action::Help(_)
            | Action::List(_)
            | Action::Status(_)
            | Action::Health(_)
            | Action::Jobs(_)
            | Action::Audit(_)
            | Action::Regions(_)
            | Action::Sizes(_)
            | Action::Cost(_)
            | Action::Waste(_)
            | Action::Usage(_)
            | Action::Forget(_)
            | Action::Alerts(_)
            | Action::Ack(_)
            | Action::Silence(_)
            | Action::Unsilence(_)
            | Action::Pairings(_)
            | Action::Approve(_)
            | Action::Reject(_)
            | Action::Brief(_) => Ok(BlastRadius {
                reversible: true,
                ..BlastRadius::default()
            }),
        }
    }

    async fn execute(
        &self,
        actor: &Actor,
        who: &str,
        role: Role,
        action: &Action,
        out: &dyn Replier,
    ) -> Result<Outcome, OpsError> {
        let line = action.command_line();
        let read_only = action.spec().risk == Risk::Read;
        if !matches!(action, Action::Help(_)) {
            self.audit.record(who, Event::Requested, &line, "").await?;
        }
        tracing::info!(actor = %who, action = %line, "running");
        let message = self.run(actor, role, action, out).await?;
        if !read_only {
            self.audit.record(who, Event::Done, &line, "").await?;
        }
        if let Some(next) = self.follow_up(action).await {
            return Ok(self.offer(actor, message, next).await);
        }
        Ok(Outcome::Done(message))
    }

    async fn run(
        &self,
        actor: &Actor,
        role: Role,
        action: &Action,
        out: &dyn Replier,
    ) -> Result<Message, OpsError> {
        // The instance this action changes is held for the whole action.
        let names = action.instances_changed();
        let _held = if names.is_empty() {
            None
        } else {
            let line = action.command_line();
            Some(
                self.ctx
                    .locks
                    .take(
                        &names,
                        &line,
                        self.ctx.clock.now(),
                        self.ctx.config.safety.busy_wait,
                    )
                    .await
                    .map_err(|busy| OpsError::Refused(busy.to_string()))?,
            )
        };
        let ctx = &*self.ctx;
        match action {
            Action::Help(a) => Ok(a.run(role)),
            Action::Deploy(a) => a.run(ctx, out).await,
            Action::List(a) => a.run(ctx).await,
            Action::Status(a) => a.run(ctx).await,
            Action::Health(a) => a.run(ctx).await,
            Action::Jobs(a) => self.jobs(actor, a).await,
            Action::Restart(a) => a.run(ctx, out).await,
            Action::Destroy(a) => a.run(ctx).await,
            Action::Audit(a) => a.run(ctx).await,
            Action::Regions(a) => a.run(ctx).await,
            Action::Sizes(a) => a.run(ctx).await,
            Action::Cost(a) => a.run(ctx).await,
            Action::Waste(a) => a.run(ctx).await,
            Action::Hosts(a) => a.run(ctx).await,
            Action::Usage(a) => a.run(ctx).await,
            Action::Forget(a) => Ok(a.run(ctx, actor)),
            Action::Logs(a) => a.run(ctx).await,
            Action::Version(a) => a.run(ctx).await,
            Action::Update(a) if a.bulk.is_bulk() => {
                let rollout = a.rollout(ctx, &actor.audit_name()).await?;
                super::rollout::start(ctx, &self.audit, rollout, out).await
            }
            Action::Config(a) if a.bulk.is_bulk() => {
                let rollout = a.rollout(ctx, &actor.audit_name()).await?;
                super::rollout::start(ctx, &self.audit, rollout, out).await
            }
            Action::Update(a) => a.run(ctx).await,
            Action::Config(a) => a.run(ctx).await,
            Action::Rollouts(a) => a.run(ctx).await,
            Action::Rollout(a) => a.run(ctx, &self.audit, &actor.audit_name(), out).await,
            Action::Suspend(a) => a.run(ctx).await,
            Action::Resume(a) => a.run(ctx).await,
            Action::Backup(a) => a.run(ctx).await,
            Action::Backups(a) => a.run(ctx).await,
            Action::Restore(a) => a.run(ctx).await,
            Action::Unpin(a) => a.run(ctx).await,
            Action::Reconcile(a) => a.run(ctx).await,
            Action::Migrate(a) => a.run(ctx, &actor.audit_name(), out).await,
            Action::Recover(a) => a.run(ctx, &actor.audit_name(), out).await,
            Action::Reboot(a) => a.run(ctx).await,
            Action::Resize(a) => a.run(ctx).await,
            Action::Repair(a) => a.run(ctx, &actor.audit_name(), out).await,
            Action::Alerts(a) => a.run(ctx).await,
            Action::Ack(a) => a.run(ctx, &actor.audit_name()).await,
            Action::Silence(a) => a.run(ctx, &actor.audit_name()).await,
            Action::Unsilence(a) => a.run(ctx).await,
            Action::Failover(a) => a.run(ctx).await,
            Action::Failback(a) => a.run(ctx).await,
            Action::Pairings(a) => a.run(ctx).await,
            Action::Approve(a) => a.run(ctx, &actor.audit_name()).await,
            Action::Reject(a) => a.run(ctx, &actor.audit_name()).await,
            Action::Send(a) => a.run(ctx).await,
            Action::Brief(a) => a.run(ctx, out).await,
        }
    }

    /// What an action offers to do next, once it has run: after a migration, delete the
    /// old server; after a confirmed bulk restart, the instances that matched only since.
    async fn follow_up(&self, action: &Action) -> Option<Action> {
        match action {
            Action::Migrate(m) => Some(Action::Destroy(crate::ops::actions::destroy::Destroy {
                name: m.name.clone(),
                snapshot: false,
                old: true,
            })),
            Action::Restart(r) => r
                .newcomers(&self.ctx)
                .await
                .ok()
                .flatten()
                .map(Action::Restart),
            // A rollout that halted asks whether to go on.
            Action::Update(_) | Action::Config(_) | Action::Rollout(_) => {
                match super::rollout::open(&self.ctx).await {
                    Ok(Some((row, r))) if row.state == PlanState::Paused && r.halted.is_some() => {
                        Some(Action::Rollout(
                            super::actions::rollouts::RolloutControl::resume(row.id),
                        ))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Done, with `next` asked for when it needs a confirmation (else just done: the
    /// operator can still ask for it).
    async fn offer(&self, actor: &Actor, message: Message, next: Action) -> Outcome {
        let asked = match self.radius(&next).await {
            Ok(radius) => {
                match gate::confirmation_reason(next.spec(), &radius, &self.ctx.config.safety) {
                    Some(why) => self
                        .ask(actor, &actor.audit_name(), &next, &radius, &why)
                        .await
                        .ok(),
                    None => None,
                }
            }
            Err(_) => None,
        };
        match asked {
            Some(Outcome::Confirm {
                id,
                message: prompt,
            }) => Outcome::Offer {
                message,
                id,
                prompt,
            },
            _ => Outcome::Done(message),
        }
    }

    async fn refuse(&self, who: &str, line: &str, refusal: &Refusal) -> Result<Outcome, OpsError> {
        let command = line.trim_start_matches('/').split(' ').next().unwrap_or("");
        let detail = match refusal {
            Refusal::Stranger => "not an operator".to_string(),
            Refusal::Role { have, need } => format!("role {} < {}", have.as_str(), need.as_str()),
            Refusal::NotForTheSystem => "outside the system's policy".to_string(),
        };
        self.audit
            .record(who, Event::Refused, line, &detail)
            .await?;
        Ok(Outcome::Refused(Message::text(refusal.message(command))))
    }

    async fn ask(
        &self,
        actor: &Actor,
        who: &str,
        action: &Action,
        radius: &BlastRadius,
        why: &str,
    ) -> Result<Outcome, OpsError> {
        let Actor::Person {
            platform, user_id, ..
        } = actor
        else {
            return Err(OpsError::Refused(format!(
                "{} needs a person's confirmation ({why}); the system does not act alone",
                action.command_line()
            )));
        };
        let now = self.ctx.clock.now();
        let ttl = self.ctx.config.safety.confirmation_ttl;
        let expires = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(5));
        let id = new_id();
        let prompt = prompt(action, radius, why, ttl);
        // The press acts on what the question showed.
        let bound = match action {
            Action::Restart(r) => Action::Restart(r.bound(radius)),
            Action::Update(u) if u.bulk.is_bulk() => {
                Action::Update(super::actions::lifecycle::Update {
                    bulk: u.bulk.bound(radius),
                    ..u.clone()
                })
            }
            Action::Config(c) if c.bulk.is_bulk() => {
                Action::Config(super::actions::lifecycle::Config {
                    bulk: c.bulk.bound(radius),
                    ..c.clone()
                })
            }
            other => other.clone(),
        };
        let action = &bound;
        let row = ConfirmationRow {
            id: id.clone(),
            platform: platform.as_str().to_string(),
            user_id: user_id.clone(),
            action: self.stored(action)?,
            prompt: prompt.clone(),
            state: ConfirmationState::Pending,
            created_at: ts(now),
            expires_at: ts(expires),
            decided_at: None,
        };
        // Audit first: if the trail cannot be written, no button is issued.
        self.audit
            .record(
                who,
                Event::AwaitingConfirmation,
                &action.command_line(),
                &format!("{id}: {why}"),
            )
            .await?;
        self.ctx.store.add_confirmation(&row).await?;
        Ok(Outcome::Confirm {
            id,
            message: Message::text(prompt),
        })
    }

    async fn failed(&self, who: &str, action: &Action, e: OpsError) -> Outcome {
        let text = e.to_string();
        if let Err(audit_error) = self
            .audit
            .record(
                who,
                Event::Failed,
                &action.command_line(),
                &first_line(&text),
            )
            .await
        {
            tracing::error!(error = %audit_error, "could not record a failure in the audit trail");
        }
        Outcome::Failed(Message::text(format!("✗ {text}")))
    }
}

/// The confirmation prompt: what will happen, to what, at what cost, and whether it can be
/// undone.
fn prompt(action: &Action, radius: &BlastRadius, why: &str, ttl: std::time::Duration) -> String {
    let verb = match action {
        Action::Send(_) => "Send to".to_string(),
        _ => capitalise(action.spec().name),
    };
    let users = match radius.end_users {
        0 => "no end users".to_string(),
        1 => "1 end user".to_string(),
        n => format!("{n} end users"),
    };
    let head = match (action, radius.instances.as_slice()) {
        // A cell host is the subject; its cells are what it touches.
        (Action::Hosts(h), cells) => format!(
            "⚠ {} cell host {}{}?",
            capitalise(h.verb.as_deref().unwrap_or("change")),
            h.name.as_deref().unwrap_or("?"),
            match cells.len() {
                0 => String::new(),
                n => format!(" ({n} cells, {users})"),
            }
        ),
        (_, [(name, place)]) => format!("⚠ {verb} {name} ({place}, {users})?"),
        (_, many) => format!("⚠ {verb} {} instances ({users})?", many.len()),
    };
    let mut lines = vec![head];
    lines.extend(radius.details.iter().cloned());
    if radius.instances.len() > 1 {
        let names: Vec<&str> = radius
            .instances
            .iter()
            .take(20)
            .map(|(n, _)| n.as_str())
            .collect();
        let more = radius.instances.len().saturating_sub(20);
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        lines.push(format!("Instances: {}{tail}", names.join(", ")));
    }
    if radius.monthly_cents != 0 {
        let sign = if radius.monthly_cents > 0 {
            "adds"
        } else {
            "removes"
        };
        lines.push(format!(
            "Monthly cost: {sign} {}",
            money(radius.monthly_cents.abs(), &radius.currency)
        ));
    }
    lines.push(if radius.reversible {
        match &radius.loss {
            Some(note) => format!("Can be undone; meanwhile {note}."),
            None => "Can be undone.".to_string(),
        }
    } else {
        format!(
            "Cannot be undone: {}.",
            radius
                .loss
                .as_deref()
                .unwrap_or("the server and its data are deleted")
        )
    });
    lines.push(format!(
        "Asked because {why}. The button works for you only, once, for {}.",
        humantime::format_duration(ttl)
    ));
    lines.join("\n")
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// A random, unguessable confirmation id (128 bits, hex).
fn new_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}
