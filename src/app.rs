//! Putting the parts together: open the store, enable the providers, build the door and
//! the bot, recover what a previous process left running, and start the surfaces.

use std::sync::Arc;

use thiserror::Error;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::agent::Agent;
use crate::agent::memory::Memory;
use crate::bot::Bot;
use crate::chat::Replier;
use crate::chat::console::{self, ConsoleOut};
use crate::chat::discord::{Discord, DiscordError, Reach};
use crate::chat::telegram::{Telegram, TelegramError};
use crate::clock::Clock;
use crate::config::Config;
use crate::config::{DeployConfig, SshConfig};
use crate::jobs::{Job, JobKind, Jobs, Scheduler};
use crate::ops::door::Ctx;
use crate::ops::{Door, OpsError};
use crate::provider::api::RetryPolicy;
use crate::provider::digitalocean::DigitalOcean;
use crate::provider::hetzner::Hetzner;
use crate::provider::tencent::{Endpoints, Tencent};
use crate::provider::vultr::Vultr;
use crate::provider::{Cloud, Providers, sim::SimCloud, ssh::SshHosts};
use crate::remote::openclaw::{Access, Bootstrap, Runtime};
use crate::remote::ssh::Credential;
use crate::store::{Store, StoreError};
use crate::vault::Vault;

/// Why the bot could not start.
#[derive(Debug, Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ops(#[from] OpsError),
    #[error(transparent)]
    Telegram(#[from] TelegramError),
    #[error(transparent)]
    Discord(#[from] DiscordError),
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    #[error("[providers.ssh] {0}")]
    Bootstrap(String),
    #[error(transparent)]
    Offsite(#[from] crate::offsite::OffsiteError),
    #[error("[providers.{kind}] {name}: {problem}")]
    Cloud {
        kind: &'static str,
        name: String,
        problem: String,
    },
    #[error("no surface is enabled: enable [console] (or a chat surface) in the config")]
    NoSurface,
    #[error("[watch] metrics_listen {0}: {1}")]
    Metrics(String, std::io::Error),
    #[error("[[jobs]] {0}: {1}")]
    Job(String, crate::schedule::ScheduleError),
}

/// Lets this process hold an SSH session per host of a large fleet (each is a socket, and
/// the soft limit of open files is often 1,024): raised to the hard limit.
pub fn raise_open_files() {
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(error = %e, "cannot raise the limit of open files");
    }
}

/// A started clawops: the bot and what it runs on.
pub struct App {
    pub bot: Bot,
    pub store: Store,
    pub shutdown: CancellationToken,
    pub config: Arc<Config>,
    /// The work surfaces started (Telegram updates being handled): a stop waits for it.
    pub tasks: TaskTracker,
    /// Plans start-up found interrupted and decided to finish ([`App::resume_plans`]).
    pub resume: Vec<i64>,
}

impl App {
    /// Opens the store and builds the bot; deploys left running by a dead process are
    /// marked interrupted and reported to `notes`.
    pub async fn start(
        config: Config,
        clock: Clock,
        shutdown: CancellationToken,
        notes: &dyn Replier,
    ) -> Result<App, StartError> {
        // Every configured secret is known before anything can print it.
        for secret in secrets(&config) {
            crate::secrets::register(&secret);
        }
        let store = Store::open(&config.store.path).await?;
        let mut providers = Providers::default();
        if let Some(sim) = config.providers.sim.as_ref().filter(|s| s.enabled) {
            providers.add(Arc::new(SimCloud::new(
                store.clone(),
                clock.clone(),
                sim.clone(),
            )));
        }
        let vault = Vault::load(
            std::env::var(crate::vault::MASTER_KEY_ENV).ok(),
            &config.store.path.with_extension("key"),
        )?;
        let ssh = config.providers.ssh.as_ref().filter(|s| s.enabled);
        let bootstrap = match ssh {
            Some(ssh) => bootstrap(ssh)?.map(|credential| Bootstrap {
                credential,
                hosts: ssh.bootstrap_hosts.clone(),
            }),
            None => None,
        };
        let access = Arc::new(Access::new(
            store.clone(),
            vault.clone(),
            clock.clone(),
            bootstrap,
        ));
        let runtime = Arc::new(runtime(&config.deploy));
        if ssh.is_some() {
            providers.add(Arc::new(SshHosts::new(access.clone(), runtime.clone())));
        }
        for cloud in clouds(&config, &access, &runtime, &|name| std::env::var(name).ok())? {
            providers.add(cloud);
        }
        let cells = Arc::new(
            crate::provider::cell::CellCloud::load(
                access.clone(),
                runtime.clone(),
                store.clone(),
                clock.clone(),
                config.cells.clone(),
            )
            .await?,
        );
        providers.add(cells.clone());
        let backups = config
            .store
            .path
            .parent()
            .map(|d| d.join("backups"))
            .unwrap_or_else(|| "backups".into());
        let offsite = match &config.backups {
            Some(b) => Some(crate::offsite::Offsite::new(b, &|var| {
                std::env::var(var).ok()
            })?),
            None => None,
        };
        let jobs = scheduler(&config, &store, &clock).await?;
        let config = Arc::new(config);
        let memory = Arc::new(Memory::default());
        let door = Door::new(Ctx {
            store: store.clone(),
            clock,
            config: config.clone(),
            providers,
            shutdown: shutdown.clone(),
            memory: memory.clone(),
            vault,
            backups,
            offsite,
            locks: Default::default(),
            jobs,
            metrics: Default::default(),
            postboxes: Default::default(),
            heals: Default::default(),
            briefer: Default::default(),
            cells: Some(cells),
        });
        if let Some(said) = door.audit().upgrade().await.map_err(OpsError::from)? {
            notes
                .send(crate::chat::Outbound::Message(crate::chat::Message::text(
                    said,
                )))
                .await;
        }
        let recovered = door.recover().await?;
        for note in recovered.notes {
            notes.send(crate::chat::Outbound::Message(note)).await;
        }
        let bot = match &config.llm {
            Some(llm) => {
                let agent = Arc::new(Agent::new(
                    llm.clone(),
                    door.clone(),
                    memory,
                    secrets(&config),
                ));
                door.ctx().briefer.attach(agent.clone());
                Bot::with_agent(door, agent)
            }
            None => Bot::new(door),
        };
        Ok(App {
            bot,
            store,
            shutdown,
            config,
            tasks: TaskTracker::new(),
            resume: recovered.resume,
        })
    }

    /// The Telegram surface, when configured; alerts to Telegram ops channels go
    /// through it from now on.
    pub fn telegram(&self) -> Option<Result<Telegram, TelegramError>> {
        let tg = self.config.telegram.as_ref().filter(|t| t.enabled)?;
        let surface = Telegram::new(self.bot.clone(), tg.clone(), self.tasks.clone());
        if let Ok(surface) = &surface {
            self.bot.door().ctx().postboxes.attach(
                crate::config::Platform::Telegram,
                Arc::new(surface.postbox()),
            );
        }
        Some(surface)
    }

    /// The Discord surface, when `[discord]` is configured and enabled; alerts, pairing
    /// requests and briefings to Discord ops channels go through it from now on.
    /// `reach` is Discord itself, or (tests) a fake on loopback.
    pub async fn discord(&self, reach: Reach) -> Option<Result<Discord, DiscordError>> {
        let dc = self.config.discord.as_ref().filter(|d| d.enabled)?;
        let surface = Discord::new(self.bot.clone(), dc.clone(), self.tasks.clone(), reach).await;
        if let Ok(surface) = &surface {
            self.bot.door().ctx().postboxes.attach(
                crate::config::Platform::Discord,
                Arc::new(surface.postbox()),
            );
        }
        Some(surface)
    }

    /// Runs the console on this process's standard input and output until the input
    /// ends or shutdown begins.
    pub async fn console(&self, out: Arc<ConsoleOut<tokio::io::Stdout>>) {
        let input = tokio::io::BufReader::new(tokio::io::stdin());
        console::run(self.bot.clone(), input, out, self.shutdown.clone()).await;
    }

    /// Closes the store cleanly.
    pub async fn close(self) {
        self.store.close().await;
    }

    /// Starts the watch: the metrics endpoint when `[watch] metrics_listen` is set, and
    /// the scheduler: each job runs as the system when it is due (a run missed while
    /// clawops was down first, once, within its window); a job still running at its next
    /// tick is skipped and counted. Both stop with the shutdown token.
    pub async fn start_watch(&self) -> Result<(), StartError> {
        if let Some(addr) = &self.config.watch.metrics_listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| StartError::Metrics(addr.clone(), e))?;
            let metrics = self.bot.door().ctx().metrics.clone();
            let shutdown = self.shutdown.clone();
            self.tasks.spawn(async move {
                if let Err(e) = crate::metrics::serve(listener, metrics, shutdown).await {
                    tracing::error!(error = %e, "the metrics endpoint stopped");
                }
            });
        }
        let door = self.bot.door().clone();
        let shutdown = self.shutdown.clone();
        let tasks = self.tasks.clone();
        self.tasks.spawn(async move {
            let ctx = door.ctx();
            loop {
                let due = ctx.jobs.due(ctx.clock.now());
                for kind in ctx.jobs.take_skipped() {
                    ctx.metrics.job_skipped(kind.name());
                }
                for run in due {
                    let door = door.clone();
                    tasks.spawn(async move {
                        let _ = door.run_job(&run, "system").await;
                    });
                }
                // Wake at the next fire time (at least every minute, to notice a clock
                // that jumped).
                let wait = ctx
                    .jobs
                    .next_wake()
                    .and_then(|t| (t - ctx.clock.now()).to_std().ok())
                    .unwrap_or(std::time::Duration::ZERO)
                    .clamp(
                        std::time::Duration::from_millis(100),
                        std::time::Duration::from_secs(60),
                    );
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        });
        Ok(())
    }

    /// Finishes, in the background, the plans start-up decided to resume; their progress
    /// and results go to `out` (the ops chats, or the console).
    pub fn resume_plans(&self, out: Arc<dyn Replier>) {
        for &id in &self.resume {
            let door = self.bot.door().clone();
            let out = out.clone();
            self.tasks.spawn(async move {
                let said = door.resume_plan(id, out.as_ref()).await;
                out.send(crate::chat::Outbound::Message(said)).await;
            });
        }
    }

    /// Stops: no new work is taken (the shutdown token), running steps get up to `grace`
    /// to reach a step boundary (a deploy then records itself interrupted), and whatever
    /// is still running after that is recorded as interrupted now; then the store closes.
    /// Returns what to tell the operators.
    pub async fn stop(self, grace: std::time::Duration) -> Vec<crate::chat::Message> {
        self.shutdown.cancel();
        self.tasks.close();
        let mut notes = Vec::new();
        // Heals run on their own tracker: they stop at their next step boundary too.
        let heals = self.bot.door().ctx().heals.clone();
        let settled = async {
            self.tasks.wait().await;
            heals.settled().await;
        };
        if tokio::time::timeout(grace, settled).await.is_err() {
            tracing::warn!(
                running = self.tasks.len(),
                "stop: work still running after {}s; recorded as interrupted",
                grace.as_secs()
            );
            match self.bot.door().interrupted().await {
                Ok(n) => notes = n,
                Err(e) => tracing::error!(error = %e, "stop: could not record interrupted work"),
            }
        }
        self.store.close().await;
        notes
    }
}

/// The scheduler over the configured jobs; runs a dead process left `running` are closed
/// first, and each job's newest run decides whether a missed one is caught up.
async fn scheduler(config: &Config, store: &Store, clock: &Clock) -> Result<Jobs, StartError> {
    let now = clock.now();
    store.close_dead_job_runs(now).await?;
    store.close_dead_heals(now).await?;
    let mut last = std::collections::HashMap::new();
    for run in store.last_job_runs().await? {
        if let (Some(kind), Ok(t)) = (
            JobKind::parse(&run.job),
            crate::store::parse_ts("job run", &run.scheduled_for),
        ) {
            last.insert(kind, t);
        }
    }
    let mut jobs = Vec::new();
    for c in config.jobs() {
        jobs.push(Job::from_config(&c).map_err(|e| StartError::Job(c.name.clone(), e))?);
    }
    Ok(Jobs::new(Scheduler::new(jobs, &last, now)))
}

/// What hosts get installed, from `[deploy]`.
pub fn runtime(d: &DeployConfig) -> Runtime {
    Runtime {
        node_version: d.node_version.clone(),
        node_source: d.node_source,
        npm_registry: d.npm_registry.clone(),
        npm_version: d.npm_version.clone(),
        gateway_port: d.gateway_port,
        models: d.models.clone(),
    }
}

/// The cloud accounts of `[providers.*]`, their secrets from the file or the environment.
pub fn clouds(
    config: &Config,
    access: &Arc<Access>,
    runtime: &Arc<Runtime>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Arc<dyn Cloud>>, StartError> {
    let policy = RetryPolicy::default();
    let mut all: Vec<Arc<dyn Cloud>> = Vec::new();
    for (kind, account) in config.providers.clouds() {
        let name = account.name_or(kind);
        let missing = |what: &str, var: &str| StartError::Cloud {
            kind,
            name: name.clone(),
            problem: format!("no {what}: set {what} = \"...\" or the environment variable {var}"),
        };
        let secret = |value: &Option<String>, var: &Option<String>, default: &str, what: &str| {
            let var = var.clone().unwrap_or_else(|| default.to_string());
            let found = value
                .clone()
                .filter(|v| !v.is_empty())
                .or_else(|| env(&var).filter(|v| !v.is_empty()))
                .ok_or_else(|| missing(what, &var))?;
            crate::secrets::register(&found);
            Ok::<String, StartError>(found)
        };
        let url = |default: &str| {
            account
                .api_url
                .clone()
                .unwrap_or_else(|| default.to_string())
        };
        let (a, r) = (access.clone(), runtime.clone());
        let cloud: Arc<dyn Cloud> = match kind {
            "hetzner" => {
                let token = secret(&account.token, &account.token_env, "HCLOUD_TOKEN", "token")?;
                Arc::new(Hetzner::new(
                    &name,
                    &url("https://api.hetzner.cloud/v1"),
                    &token,
                    policy,
                    a,
                    r,
                ))
            }
            "digitalocean" => {
                let token = secret(
                    &account.token,
                    &account.token_env,
                    "DIGITALOCEAN_TOKEN",
                    "token",
                )?;
                Arc::new(DigitalOcean::new(
                    &name,
                    &url("https://api.digitalocean.com/v2"),
                    &token,
                    policy,
                    a,
                    r,
                ))
            }
            "vultr" => {
                let token = secret(&account.token, &account.token_env, "VULTR_API_KEY", "token")?;
                Arc::new(Vultr::new(
                    &name,
                    &url("https://api.vultr.com/v2"),
                    &token,
                    policy,
                    a,
                    r,
                ))
            }
            _ => {
                let id = secret(
                    &account.secret_id,
                    &account.secret_id_env,
                    "TENCENTCLOUD_SECRET_ID",
                    "secret_id",
                )?;
                let key = secret(
                    &account.secret_key,
                    &account.secret_key_env,
                    "TENCENTCLOUD_SECRET_KEY",
                    "secret_key",
                )?;
                let endpoints = Endpoints {
                    cvm: url("https://cvm.tencentcloudapi.com"),
                    vpc: account
                        .vpc_url
                        .clone()
                        .unwrap_or_else(|| "https://vpc.tencentcloudapi.com".into()),
                };
                let image = account.image.clone().unwrap_or_default();
                Arc::new(Tencent::new(
                    &name, &id, &key, &image, endpoints, policy, a, r,
                ))
            }
        };
        all.push(cloud);
    }
    Ok(all)
}

/// The credential for first contact with a host, from `[providers.ssh]`.
fn bootstrap(ssh: &SshConfig) -> Result<Option<Credential>, StartError> {
    if let Some(path) = &ssh.bootstrap_key_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            StartError::Bootstrap(format!(
                "cannot read bootstrap_key_file {}: {e}",
                path.display()
            ))
        })?;
        let key = russh::keys::PrivateKey::from_openssh(text.as_bytes()).map_err(|e| {
            StartError::Bootstrap(format!(
                "bootstrap_key_file {} is not an OpenSSH private key: {e}",
                path.display()
            ))
        })?;
        if key.is_encrypted() {
            return Err(StartError::Bootstrap(format!(
                "bootstrap_key_file {} has a passphrase; give clawops a key without one (it is used once per host)",
                path.display()
            )));
        }
        return Ok(Some(Credential::Key(Arc::new(key))));
    }
    if let Some(var) = &ssh.bootstrap_password_env {
        let password = std::env::var(var).map_err(|_| {
            StartError::Bootstrap(format!(
                "bootstrap_password_env names {var}, which is not set"
            ))
        })?;
        crate::secrets::register(&password);
        return Ok(Some(Credential::Password(password)));
    }
    Ok(None)
}

/// Every configured secret, so the LLM operator can cut them out of what it sends.
fn secrets(config: &Config) -> Vec<String> {
    let mut all = Vec::new();
    if let Some(tg) = &config.telegram {
        all.extend(tg.token.clone());
    }
    if let Some(dc) = &config.discord {
        all.extend(dc.token.clone());
    }
    if let Some(llm) = &config.llm {
        all.extend(llm.api_key.clone());
    }
    // A heartbeat ping URL lets anyone ping (or silence) the operator's dead-man's switch.
    all.extend(config.watch.heartbeat_url.clone());
    for (_, account) in config.providers.clouds() {
        all.extend(account.token.clone());
        all.extend(account.secret_key.clone());
    }
    if let Some(b) = &config.backups {
        all.extend(b.access_key.clone());
        all.extend(b.secret_key.clone());
        for var in [&b.access_key_env, &b.secret_key_env] {
            all.extend(std::env::var(var).ok().filter(|v| v.len() >= 8));
        }
    }
    for var in [
        "HCLOUD_TOKEN",
        "DIGITALOCEAN_TOKEN",
        "VULTR_API_KEY",
        "TENCENTCLOUD_SECRET_KEY",
    ] {
        all.extend(std::env::var(var).ok().filter(|v| v.len() >= 8));
    }
    all
}
