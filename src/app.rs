//! Putting the parts together: open the store, enable the providers, build the door and
//! the bot, recover what a previous process left running, and start the surfaces.

use std::sync::Arc;

use thiserror::Error;
use tokio_util::sync::CancellationToken;

use crate::agent::Agent;
use crate::agent::memory::Memory;
use crate::bot::Bot;
use crate::chat::Replier;
use crate::chat::console::{self, ConsoleOut};
use crate::chat::telegram::{Telegram, TelegramError};
use crate::clock::Clock;
use crate::config::Config;
use crate::config::{DeployConfig, SshConfig};
use crate::ops::door::Ctx;
use crate::ops::{Door, OpsError};
use crate::provider::{Providers, sim::SimCloud, ssh::SshHosts};
use crate::remote::openclaw::{Access, Runtime};
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
    Vault(#[from] crate::vault::VaultError),
    #[error("[providers.ssh] {0}")]
    Bootstrap(String),
    #[error("no surface is enabled: enable [console] (or a chat surface) in the config")]
    NoSurface,
}

/// A started clawops: the bot and what it runs on.
pub struct App {
    pub bot: Bot,
    pub store: Store,
    pub shutdown: CancellationToken,
    pub config: Arc<Config>,
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
        let store = Store::open(&config.store.path).await?;
        store.sync_operators(&config.operators).await?;
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
        if let Some(ssh) = config.providers.ssh.as_ref().filter(|s| s.enabled) {
            let access = Access::new(store.clone(), vault.clone(), clock.clone(), bootstrap(ssh)?);
            providers.add(Arc::new(SshHosts::new(
                Arc::new(access),
                Arc::new(runtime(&config.deploy)),
            )));
        }
        let backups = config
            .store
            .path
            .parent()
            .map(|d| d.join("backups"))
            .unwrap_or_else(|| "backups".into());
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
        });
        for note in door.recover().await? {
            notes.send(crate::chat::Outbound::Message(note)).await;
        }
        let bot = match &config.llm {
            Some(llm) => {
                let agent = Agent::new(llm.clone(), door.clone(), memory, secrets(&config));
                Bot::with_agent(door, Arc::new(agent))
            }
            None => Bot::new(door),
        };
        Ok(App {
            bot,
            store,
            shutdown,
            config,
        })
    }

    /// The Telegram surface, when `[telegram]` is configured and enabled.
    pub fn telegram(&self) -> Option<Result<Telegram, TelegramError>> {
        let tg = self.config.telegram.as_ref().filter(|t| t.enabled)?;
        Some(Telegram::new(self.bot.clone(), tg.clone()))
    }

    /// Runs the console on this process's standard input and output until the input
    /// ends or shutdown begins.
    pub async fn console(&self, out: ConsoleOut<tokio::io::Stdout>) {
        let input = tokio::io::BufReader::new(tokio::io::stdin());
        console::run(self.bot.clone(), input, out, self.shutdown.clone()).await;
    }

    /// Closes the store cleanly.
    pub async fn close(self) {
        self.store.close().await;
    }
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
    all
}
