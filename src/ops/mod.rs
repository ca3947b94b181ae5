//! Operations: the `Action` catalogue, the gate every action passes (who is asking, does it
//! need a confirmation, audit before execution), and execution.
//!
//! Slash commands, button presses, LLM tool calls and cron jobs all build `Action`s and
//! hand them to the one `Door`. Nothing else in the crate changes the fleet.

pub mod actions;
pub mod alerts;
pub mod backups;
pub mod briefing;
mod catalogue;
pub mod cells;
pub mod door;
pub mod gate;
pub mod grants;
pub mod heal;
pub mod ledger;
pub mod locks;
pub mod pairing;
pub mod plan;
pub mod rollout;
pub mod sweep;

pub use catalogue::{
    ArgError, ArgValue, Args, Kind, Param, Risk, Spec, build, catalogue, spec, usage_line,
    version_problem,
};
pub use door::{Door, Outcome};

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use crate::actor::Actor;

/// Every change to the world, and every question about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Help(actions::help::Help),
    Deploy(actions::deploy::Deploy),
    List(actions::list::List),
    Status(actions::status::Status),
    Health(actions::health::Health),
    Restart(actions::restart::Restart),
    Destroy(actions::destroy::Destroy),
    Audit(actions::audit::AuditTail),
    Regions(actions::prices::Regions),
    Sizes(actions::prices::Sizes),
    Cost(actions::cost::Cost),
    Waste(actions::waste::Waste),
    Hosts(actions::hosts::Hosts),
    Usage(actions::usage::Usage),
    Forget(actions::forget::Forget),
    Logs(actions::lifecycle::Logs),
    Version(actions::lifecycle::Version),
    Update(actions::lifecycle::Update),
    Config(actions::lifecycle::Config),
    Suspend(actions::lifecycle::Suspend),
    Resume(actions::lifecycle::Resume),
    Backup(actions::backup::Backup),
    Backups(actions::backup::Backups),
    Restore(actions::backup::Restore),
    Unpin(actions::unpin::Unpin),
    Reconcile(actions::reconcile::Reconcile),
    Migrate(actions::migrate::Migrate),
    Recover(actions::recover::Recover),
    Reboot(actions::reboot::Reboot),
    Resize(actions::resize::Resize),
    Repair(actions::repair::Repair),
    Jobs(actions::jobs::Jobs),
    Alerts(actions::alerts::Alerts),
    Ack(actions::alerts::Ack),
    Silence(actions::alerts::Silence),
    Unsilence(actions::alerts::Unsilence),
    Failover(actions::failover::Failover),
    Failback(actions::failover::Failback),
    Pairings(actions::pairing::Pairings),
    Approve(actions::pairing::Approve),
    Reject(actions::pairing::Reject),
    Send(actions::send::Send),
    Brief(actions::brief::Brief),
    Rollouts(actions::rollouts::Rollouts),
    Rollout(actions::rollouts::RolloutControl),
}

/// What an action does to the fleet, shown before a confirmation is pressed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BlastRadius {
    /// The instances touched, by name, with provider and region.
    pub instances: Vec<(String, String)>,
    /// How many end users lose their bot while it runs (or for good).
    pub end_users: u32,
    /// Monthly cost added (positive) or removed (negative), in cents.
    pub monthly_cents: i64,
    pub currency: String,
    /// Whether the action can be undone.
    pub reversible: bool,
    /// What is lost when it cannot be undone, e.g. "the server and its data are deleted".
    pub loss: Option<String>,
    /// Whether `monthly_cents` is real money at a cloud (not the simulator's).
    pub billed: bool,
    /// Why a person must press Confirm whatever the thresholds say (a deploy that logs in
    /// to an address someone typed).
    pub press: Option<String>,
    /// Lines the question shows under its heading (the host and its key).
    pub details: Vec<String>,
}

/// Why an action could not be done, in words an operator can act on.
#[derive(Debug, Error)]
pub enum OpsError {
    #[error("no instance called {0:?}: /list shows the fleet")]
    NoInstance(String),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Provider(#[from] crate::provider::ProviderError),
    #[error(transparent)]
    Remote(#[from] crate::remote::RemoteError),
    #[error(transparent)]
    Deploy(#[from] crate::deploy::DeployError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
}
