//! What a deploy is: ordered steps, each idempotent with a check (already done?) and an
//! apply, each step's state persisted as it changes, so that a deploy that failed at step 8
//! resumes at step 8 and a bot killed mid-deploy finds its work again on restart.
//!
//! Nothing here ever destroys anything on failure: the operator gets the failed step, its
//! output and how to resume. This module drives steps; providers and hosts do the work.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio_util::sync::CancellationToken;

use crate::audit::{Audit, Event};
use crate::chat::{Message, Outbound, ProgressStep, ProgressView, Replier, StepState};
use crate::clock::Clock;
use crate::provider::{Cloud, NewServer, PowerState, ProviderError, labels_for};
use crate::remote::{Host, HostPlan, HostStep, RemoteError};
use crate::store::{DeployState, InstanceStatus, StepStatus, Store, StoreError};

/// How long to wait for a server to run, and for its host to answer.
const WAIT_RUNNING: Duration = Duration::from_secs(600);
const WAIT_HOST: Duration = Duration::from_secs(600);
/// How often to look again while waiting.
const POLL: Duration = Duration::from_millis(250);
/// How much of a step's output is kept in the deploy log.
const OUTPUT_LIMIT: usize = 4000;

/// One step of a deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Resolve,
    /// Hosts you already have: record the address as the instance's server.
    RegisterHost,
    CreateServer,
    WaitRunning,
    WaitHost,
    Host(HostStep),
    HealthCheck,
    Record,
}

/// The steps of a deploy on a cloud, in order.
pub const STEPS: &[Step] = &[
    Step::Resolve,
    Step::CreateServer,
    Step::WaitRunning,
    Step::WaitHost,
    Step::Host(HostStep::PrepareHost),
    Step::Host(HostStep::InstallNode),
    Step::Host(HostStep::InstallOpenclaw),
    Step::Host(HostStep::ConfigureGateway),
    Step::Host(HostStep::StartGateway),
    Step::HealthCheck,
    Step::Record,
];

/// The steps of a deploy onto a host that already exists (`ssh://user@host`).
pub const HOST_STEPS: &[Step] = &[
    Step::Resolve,
    Step::RegisterHost,
    Step::WaitHost,
    Step::Host(HostStep::AuthorizeKey),
    Step::Host(HostStep::PrepareHost),
    Step::Host(HostStep::InstallNode),
    Step::Host(HostStep::InstallOpenclaw),
    Step::Host(HostStep::ConfigureGateway),
    Step::Host(HostStep::StartGateway),
    Step::HealthCheck,
    Step::Record,
];

/// The steps of a deploy into a cell on a prepared cell host.
pub const CELL_STEPS: &[Step] = &[
    Step::Resolve,
    Step::CreateServer,
    Step::WaitHost,
    Step::Host(HostStep::PrepareHost),
    Step::Host(HostStep::ConfigureGateway),
    Step::Host(HostStep::StartGateway),
    Step::HealthCheck,
    Step::Record,
];

/// The steps of a deploy with `cloud`.
pub fn steps_for(cloud: &dyn Cloud) -> &'static [Step] {
    if cloud.cells() {
        CELL_STEPS
    } else if cloud.existing_hosts() {
        HOST_STEPS
    } else {
        STEPS
    }
}

impl Step {
    /// The step's id in the deploy log and in `fail_once_at`.
    pub fn id(self) -> &'static str {
        match self {
            Step::Resolve => "resolve",
            Step::RegisterHost => "register-host",
            Step::CreateServer => "create-server",
            Step::WaitRunning => "wait-running",
            Step::WaitHost => "wait-ssh",
            Step::Host(h) => h.id(),
            Step::HealthCheck => "health-check",
            Step::Record => "record",
        }
    }

    /// What the operator sees.
    pub fn title(self) -> &'static str {
        match self {
            Step::Resolve => "Resolve region, size and price",
            Step::RegisterHost => "Register the host's address",
            Step::Host(HostStep::AuthorizeKey) => {
                "Pin the host key, authorize the instance's SSH key"
            }
            Step::CreateServer => "Create the server (cloud-init)",
            Step::WaitRunning => "Wait until the server runs",
            Step::WaitHost => "Wait for SSH and first-boot set-up",
            Step::Host(HostStep::PrepareHost) => "Service user, firewall (SSH only), Docker",
            Step::Host(HostStep::InstallNode) => "Node.js 24",
            Step::Host(HostStep::InstallOpenclaw) => "OpenClaw (pinned version)",
            Step::Host(HostStep::ConfigureGateway) => "Gateway and channel config",
            Step::Host(HostStep::StartGateway) => "Start the gateway service",
            Step::HealthCheck => "Health check (/health, /readyz)",
            Step::Record => "Record the instance",
        }
    }

    /// The step with id `id`.
    /// The step's title in a deploy into a cell, where some steps mean something else.
    pub fn title_in(self, cell: bool) -> &'static str {
        match (self, cell) {
            (Step::CreateServer, true) => "Reserve the cell (port, user, limits)",
            (Step::WaitHost, true) => "Reach the cell host",
            (Step::Host(HostStep::PrepareHost), true) => "The OpenClaw image and the cell's home",
            (Step::Host(HostStep::StartGateway), true) => "Start the cell's container",
            _ => self.title(),
        }
    }

    pub fn by_id(id: &str) -> Option<Step> {
        STEPS
            .iter()
            .chain(HOST_STEPS)
            .copied()
            .find(|s| s.id() == id)
    }
}

/// What a deploy was asked to build; persisted with it so a resume builds the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub instance: String,
    pub provider: String,
    pub region: String,
    pub size: String,
    pub openclaw_version: String,
    /// The server's name when it cannot be the instance's (a migration within one
    /// account, where the old server still holds the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
}

/// Why a deploy stopped.
#[derive(Debug, Error)]
pub enum DeployError {
    #[error(
        "deploy of {instance} failed at step {position}/{total} ({step}): {reason}\nThe server is kept. Fix the cause, then /deploy {instance} --resume"
    )]
    StepFailed {
        instance: String,
        step: &'static str,
        position: usize,
        total: usize,
        reason: String,
    },
    #[error(
        "deploy of {instance} was interrupted before step {position}/{total} ({step}) because clawops is shutting down; /deploy {instance} --resume continues it"
    )]
    Interrupted {
        instance: String,
        step: &'static str,
        position: usize,
        total: usize,
    },
    #[error("the deploy log of {0} names a step this version does not know: {1}")]
    UnknownStep(String, String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
}

/// A failure inside one step.
#[derive(Debug, Error)]
enum StepError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Other(String),
    #[error("shutting down")]
    Shutdown,
}

/// How a finished deploy went.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub server_id: String,
    pub ipv4: Option<String>,
    pub steps_run: usize,
    pub steps_skipped: usize,
    pub elapsed: Duration,
}

/// Runs deploys.
#[derive(Clone)]
pub struct Deployer {
    pub store: Store,
    pub clock: Clock,
    pub shutdown: CancellationToken,
    /// Seals the host key a new cloud server gets in cloud-init.
    pub vault: crate::vault::Vault,
}

/// One deploy in progress: what the steps share.
struct Run<'a> {
    params: &'a Params,
    cloud: Arc<dyn Cloud>,
    server_id: Option<String>,
    ipv4: Option<String>,
}

impl Deployer {
    /// Runs (or resumes) deploy `id`: steps already done are skipped without a look;
    /// the others are checked, and applied only when their check says they are not done.
    pub async fn run(
        &self,
        id: i64,
        params: &Params,
        cloud: Arc<dyn Cloud>,
        progress: &dyn Replier,
    ) -> Result<Summary, DeployError> {
        let started = Instant::now();
        let rows = self.store.deploy_steps(id).await?;
        let mut steps = Vec::with_capacity(rows.len());
        for row in &rows {
            let step = Step::by_id(&row.step).ok_or_else(|| {
                DeployError::UnknownStep(params.instance.clone(), row.step.clone())
            })?;
            steps.push(step);
        }
        let mut view = ProgressView {
            key: id as u64,
            title: format!(
                "Deploying {} to {} {} ({})",
                params.instance,
                cloud.display_name(),
                params.region,
                params.size
            ),
            steps: rows
                .iter()
                .zip(&steps)
                .map(|(row, step)| ProgressStep {
                    title: step.title_in(cloud.cells()).to_string(),
                    state: if row.state.finished() {
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
        };
        let instance = self.store.instance(&params.instance).await?;
        let mut run = Run {
            params,
            cloud,
            server_id: instance.as_ref().and_then(|i| i.server_id.clone()),
            ipv4: instance.and_then(|i| i.ipv4),
        };
        let (mut ran, mut skipped) = (0, 0);
        let total = steps.len();
        for (i, (row, step)) in rows.iter().zip(&steps).enumerate() {
            if row.state.finished() {
                skipped += 1;
                continue;
            }
            if self.shutdown.is_cancelled() {
                return Err(self.interrupt(id, params, *step, i, total).await);
            }
            let step_started = Instant::now();
            view.steps[i].state = StepState::Running;
            view.elapsed = started.elapsed();
            progress.send(Outbound::Progress(view.clone())).await;
            self.store
                .step_started(id, i as i64, self.clock.now())
                .await?;
            let result = match self.check(*step, &mut run).await {
                Ok(true) => Ok(None),
                Ok(false) => self.apply(*step, &mut run).await.map(Some),
                Err(e) => Err(e),
            };
            view.steps[i].elapsed = Some(step_started.elapsed());
            match result {
                Ok(output) => {
                    let (state, stored) = match &output {
                        None => (StepState::Skipped, "already done".to_string()),
                        Some(out) => (StepState::Done, out.clone()),
                    };
                    let state_name = if state == StepState::Done {
                        StepStatus::Done
                    } else {
                        StepStatus::Skipped
                    };
                    self.store
                        .step_finished(id, i as i64, state_name, &clip(&stored), self.clock.now())
                        .await?;
                    view.steps[i].state = state;
                    view.steps[i].note = output.as_deref().and_then(note);
                    if state == StepState::Done {
                        ran += 1;
                    } else {
                        skipped += 1;
                    }
                }
                Err(StepError::Shutdown) => {
                    self.store
                        .step_finished(
                            id,
                            i as i64,
                            StepStatus::Pending,
                            "interrupted",
                            self.clock.now(),
                        )
                        .await?;
                    return Err(self.interrupt(id, params, *step, i, total).await);
                }
                Err(e) => {
                    let reason = e.to_string();
                    self.store
                        .step_finished(
                            id,
                            i as i64,
                            StepStatus::Failed,
                            &clip(&reason),
                            self.clock.now(),
                        )
                        .await?;
                    self.store
                        .finish_deploy(
                            id,
                            DeployState::Failed,
                            Some(step.id()),
                            Some(&clip(&reason)),
                            self.clock.now(),
                        )
                        .await?;
                    self.store
                        .set_instance_status(
                            &params.instance,
                            InstanceStatus::Failed,
                            self.clock.now(),
                        )
                        .await?;
                    view.steps[i].state = StepState::Failed;
                    view.steps[i].note = Some(first_line(&reason));
                    view.elapsed = started.elapsed();
                    view.finished = Some(false);
                    progress.send(Outbound::Progress(view)).await;
                    return Err(DeployError::StepFailed {
                        instance: params.instance.clone(),
                        step: step.id(),
                        position: i + 1,
                        total,
                        reason,
                    });
                }
            }
        }
        self.store
            .finish_deploy(id, DeployState::Done, None, None, self.clock.now())
            .await?;
        view.elapsed = started.elapsed();
        view.finished = Some(true);
        progress.send(Outbound::Progress(view)).await;
        Ok(Summary {
            server_id: run.server_id.unwrap_or_default(),
            ipv4: run.ipv4,
            steps_run: ran,
            steps_skipped: skipped,
            elapsed: started.elapsed(),
        })
    }

    async fn interrupt(
        &self,
        id: i64,
        params: &Params,
        step: Step,
        i: usize,
        total: usize,
    ) -> DeployError {
        let now = self.clock.now();
        let reason = "clawops shut down";
        if let Err(e) = self
            .store
            .finish_deploy(
                id,
                DeployState::Interrupted,
                Some(step.id()),
                Some(reason),
                now,
            )
            .await
        {
            return e.into();
        }
        if let Err(e) = self
            .store
            .set_instance_status(&params.instance, InstanceStatus::Interrupted, now)
            .await
        {
            return e.into();
        }
        DeployError::Interrupted {
            instance: params.instance.clone(),
            step: step.id(),
            position: i + 1,
            total,
        }
    }

    /// Deploys that were running when the last process died (or when a stop ran out of
    /// time) are marked interrupted, each with an audit row; returns what to tell the
    /// operators. Deploys of the instances in `planned` belong to a plan, which resumes
    /// them or rolls them back itself: they are marked, not announced.
    pub async fn recover(
        &self,
        audit: &Audit,
        planned: &[String],
    ) -> Result<Vec<Message>, DeployError> {
        let now = self.clock.now();
        let mut notes = Vec::new();
        for d in self.store.deploys_in_state(DeployState::Running).await? {
            let steps = self.store.deploy_steps(d.id).await?;
            let stopped = steps.iter().find(|s| !s.state.finished());
            let (pos, step) = stopped
                .map(|s| (s.position + 1, s.step.clone()))
                .unwrap_or((steps.len() as i64, "record".into()));
            for s in steps.iter().filter(|s| s.state == StepStatus::Running) {
                self.store
                    .step_finished(d.id, s.position, StepStatus::Pending, "interrupted", now)
                    .await?;
            }
            self.store
                .finish_deploy(
                    d.id,
                    DeployState::Interrupted,
                    Some(&step),
                    Some("clawops stopped"),
                    now,
                )
                .await?;
            if planned.contains(&d.instance) {
                continue;
            }
            self.store
                .set_instance_status(&d.instance, InstanceStatus::Interrupted, now)
                .await?;
            audit
                .record(
                    "system",
                    Event::Failed,
                    &format!("/deploy {}", d.instance),
                    &format!("interrupted at step {pos} ({step}) by a restart"),
                )
                .await?;
            notes.push(Message::text(format!(
                "⚠ The deploy of {} was interrupted at step {pos}/{} ({step}) when clawops stopped. /deploy {} --resume continues it.",
                d.instance,
                steps.len(),
                d.instance
            )));
        }
        Ok(notes)
    }

    /// Whether `step` is already done.
    async fn check(&self, step: Step, run: &mut Run<'_>) -> Result<bool, StepError> {
        match step {
            Step::Resolve | Step::HealthCheck | Step::Record => Ok(false),
            Step::RegisterHost => Ok(run.server_id.as_deref() == Some(run.params.region.as_str())
                || run.server_id.as_ref().is_some_and(|id| {
                    crate::remote::ssh::Target::parse(&run.params.region)
                        .is_ok_and(|t| t.url() == *id)
                })),
            Step::CreateServer => {
                // A server made by an earlier attempt (even one whose reply was lost) is
                // found by its labels, so a retry never makes a second one.
                match run
                    .cloud
                    .find_server_in(&run.params.instance, &run.params.region)
                    .await?
                {
                    Some(server) => {
                        self.remember_server(run, &server.id, server.ipv4.as_deref())
                            .await?;
                        Ok(true)
                    }
                    None => Ok(false),
                }
            }
            Step::WaitRunning => {
                let id = server_id(run)?;
                Ok(matches!(
                    run.cloud.server(&id).await?.map(|s| s.state),
                    Some(PowerState::Running)
                ))
            }
            Step::WaitHost => match host(run)?.reachable().await {
                Ok(up) => Ok(up),
                Err(e) if e.permanent() || run.cloud.existing_hosts() => Err(e.into()),
                Err(_) => Ok(false),
            },
            Step::Host(h) => Ok(host(run)?.step_done(h, &plan(run.params)).await?),
        }
    }

    /// Does `step`; returns its output.
    async fn apply(&self, step: Step, run: &mut Run<'_>) -> Result<String, StepError> {
        match step {
            Step::Resolve => {
                let region = run.cloud.region(&run.params.region)?;
                let size = run.cloud.size(&run.params.size)?;
                Ok(format!(
                    "{} {} ({}), {}: {} vCPU, {} GB, {} GB disk, {}/month",
                    run.cloud.display_name(),
                    region.code,
                    region.city,
                    size.code,
                    size.vcpus,
                    size.memory_gb,
                    size.disk_gb,
                    crate::provider::money(size.monthly_cents, run.cloud.currency())
                ))
            }
            Step::RegisterHost | Step::CreateServer => {
                let user_data = if step == Step::CreateServer && !run.cloud.cells() {
                    let key = crate::remote::openclaw::cloud_host_key(
                        &self.store,
                        &self.vault,
                        &self.clock,
                        &run.params.instance,
                    )
                    .await?;
                    cloud_init(Some(&key))
                } else {
                    String::new()
                };
                let new = NewServer {
                    name: run
                        .params
                        .server_name
                        .clone()
                        .unwrap_or_else(|| run.params.instance.clone()),
                    region: run.params.region.clone(),
                    size: run.params.size.clone(),
                    user_data,
                    labels: labels_for(&run.params.instance),
                };
                let server = run.cloud.create_server(&new).await?;
                self.remember_server(run, &server.id, server.ipv4.as_deref())
                    .await?;
                Ok(format!(
                    "server {} at {}",
                    server.id,
                    server.ipv4.as_deref().unwrap_or("(no address yet)")
                ))
            }
            Step::WaitRunning => {
                let id = server_id(run)?;
                let cloud = run.cloud.clone();
                let server = self
                    .wait(WAIT_RUNNING, "the server to run", || {
                        let (cloud, id) = (cloud.clone(), id.clone());
                        async move {
                            Ok(cloud
                                .server(&id)
                                .await?
                                .filter(|s| s.state == PowerState::Running))
                        }
                    })
                    .await?;
                self.remember_server(run, &server.id, server.ipv4.as_deref())
                    .await?;
                Ok(format!("server {} running", server.id))
            }
            Step::WaitHost => {
                let host = host(run)?;
                self.wait(WAIT_HOST, "the host to answer", || {
                    let host = host.clone();
                    async move {
                        match host.reachable().await {
                            Ok(up) => Ok(up.then_some(())),
                            Err(e) if e.permanent() => Err(e.into()),
                            Err(e) => {
                                tracing::debug!("host not reachable yet: {e}");
                                Ok(None)
                            }
                        }
                    }
                })
                .await?;
                Ok("host answers; first-boot set-up finished".into())
            }
            Step::Host(h) => Ok(host(run)?.apply_step(h, &plan(run.params)).await?),
            Step::HealthCheck => {
                let reading = host(run)?.probe().await?;
                let (state, score, why) = crate::monitor::assess(Some(&reading));
                if !reading.gateway_ready {
                    return Err(StepError::Other(format!(
                        "the gateway does not answer ready ({}, score {score}: {})",
                        state.as_str(),
                        why.join(", ")
                    )));
                }
                self.store
                    .set_instance_health(
                        &run.params.instance,
                        state.as_str(),
                        score.into(),
                        &why.join(", "),
                        self.clock.now(),
                    )
                    .await?;
                Ok(format!("{} ({score}/100)", state.as_str()))
            }
            Step::Record => {
                self.store
                    .set_instance_status(
                        &run.params.instance,
                        InstanceStatus::Ready,
                        self.clock.now(),
                    )
                    .await?;
                Ok("instance ready".into())
            }
        }
    }

    async fn remember_server(
        &self,
        run: &mut Run<'_>,
        id: &str,
        ipv4: Option<&str>,
    ) -> Result<(), StepError> {
        run.server_id = Some(id.to_string());
        run.ipv4 = ipv4.map(str::to_string);
        self.store
            .set_instance_server(&run.params.instance, id, ipv4, self.clock.now())
            .await?;
        Ok(())
    }

    /// Polls `look` until it yields a value, the time runs out, or shutdown begins.
    async fn wait<T, F, Fut>(
        &self,
        limit: Duration,
        what: &str,
        mut look: F,
    ) -> Result<T, StepError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, StepError>>,
    {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(v) = look().await? {
                return Ok(v);
            }
            if Instant::now() >= deadline {
                return Err(StepError::Other(format!(
                    "gave up waiting for {what} after {}s",
                    limit.as_secs()
                )));
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return Err(StepError::Shutdown),
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

fn server_id(run: &Run<'_>) -> Result<String, StepError> {
    run.server_id
        .clone()
        .ok_or_else(|| StepError::Other("no server recorded for this instance yet".into()))
}

fn host(run: &Run<'_>) -> Result<Arc<dyn Host>, StepError> {
    Ok(run
        .cloud
        .host(&run.params.instance, &server_id(run)?, run.ipv4.as_deref()))
}

fn plan(params: &Params) -> HostPlan {
    HostPlan {
        instance: params.instance.clone(),
        openclaw_version: params.openclaw_version.clone(),
    }
}

/// The first-boot script given to every cloud server: it installs the SSH host key
/// clawops made for it (so the key is pinned before first contact and a different one is
/// refused), and marks the end of first boot with a sentinel file, which the
/// wait-for-host step looks for.
pub fn cloud_init(host_key: Option<&russh::keys::PrivateKey>) -> String {
    let mut text = String::from("#cloud-config\npackage_update: true\n");
    if let Some(key) = host_key {
        let private = key
            .to_openssh(russh::keys::ssh_key::LineEnding::LF)
            .map(|p| p.to_string())
            .unwrap_or_default();
        let public = key.public_key().to_openssh().unwrap_or_default();
        text.push_str(
            "ssh_deletekeys: true\nssh_genkeytypes: []\nssh_keys:\n  ed25519_private: |\n",
        );
        for line in private.lines() {
            text.push_str(&format!("    {line}\n"));
        }
        text.push_str(&format!("  ed25519_public: {public}\n"));
    }
    text.push_str("runcmd:\n  - [ sh, -c, 'mkdir -p /var/lib/clawops && touch /var/lib/clawops/first-boot-done' ]\n");
    text
}

fn clip(s: &str) -> String {
    clip_to(s, OUTPUT_LIMIT)
}

/// `s` cut to at most `limit` bytes (at a character boundary), with `…` when cut: what a
/// step log keeps of a step's output.
pub(crate) fn clip_to(s: &str, limit: usize) -> String {
    if s.len() <= limit {
        return s.to_string();
    }
    let mut end = limit;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(200).collect()
}

fn note(output: &str) -> Option<String> {
    let line = first_line(output);
    (!line.is_empty()).then_some(line)
}
