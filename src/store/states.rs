//! The states rows are in, as enums the store reads and writes as text: one spelling in one
//! place instead of string literals repeated across store, door, deploy and actions.

use serde::{Deserialize, Serialize};

/// Where a plan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "TEXT", rename_all = "kebab-case")]
#[serde(rename_all = "kebab-case")]
pub enum PlanState {
    /// Steps are being applied (or were, when a process died).
    Running,
    /// Stopped at a step boundary because clawops was stopping.
    Interrupted,
    /// Undoing what it did after a failure (or deciding to, at start-up).
    RollingBack,
    /// Waiting for a person (a rollout halted at a failure, paused, or found running
    /// after a restart): `/rollout resume` goes on, `/rollout abort` ends it.
    Paused,
    Done,
    RolledBack,
    /// Ended by a person before its last step (what was done stays done).
    Aborted,
    /// Failed and could not be fully undone: the error says what is left.
    Failed,
}

impl PlanState {
    /// Still to be finished by someone: by this process or the next one.
    pub const OPEN: [PlanState; 4] = [
        PlanState::Running,
        PlanState::Interrupted,
        PlanState::RollingBack,
        PlanState::Paused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PlanState::Running => "running",
            PlanState::Interrupted => "interrupted",
            PlanState::RollingBack => "rolling-back",
            PlanState::Paused => "paused",
            PlanState::Done => "done",
            PlanState::RolledBack => "rolled-back",
            PlanState::Failed => "failed",
            PlanState::Aborted => "aborted",
        }
    }
}

/// Where one step (of a plan or a deploy) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "TEXT", rename_all = "kebab-case")]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    Pending,
    Running,
    Done,
    /// Its check found it already done.
    Skipped,
    Failed,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Running => "running",
            StepStatus::Done => "done",
            StepStatus::Skipped => "skipped",
            StepStatus::Failed => "failed",
        }
    }

    /// Done one way or the other: a resume passes it by.
    pub fn finished(self) -> bool {
        matches!(self, StepStatus::Done | StepStatus::Skipped)
    }
}

/// Where an instance is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "TEXT", rename_all = "kebab-case")]
#[serde(rename_all = "kebab-case")]
pub enum InstanceStatus {
    /// A deploy is running (or starting).
    Deploying,
    Ready,
    /// Its deploy failed at a step: `/deploy NAME --resume`.
    Failed,
    /// Its deploy was stopped with clawops: `/deploy NAME --resume`.
    Interrupted,
    /// Its gateway is stopped by `/suspend` until `/resume`.
    Suspended,
    /// A migration has deployed its new server and is restoring its state there.
    Migrating,
    Destroyed,
}

impl InstanceStatus {
    pub const ALL: [InstanceStatus; 7] = [
        InstanceStatus::Deploying,
        InstanceStatus::Ready,
        InstanceStatus::Failed,
        InstanceStatus::Interrupted,
        InstanceStatus::Suspended,
        InstanceStatus::Migrating,
        InstanceStatus::Destroyed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InstanceStatus::Deploying => "deploying",
            InstanceStatus::Ready => "ready",
            InstanceStatus::Failed => "failed",
            InstanceStatus::Interrupted => "interrupted",
            InstanceStatus::Suspended => "suspended",
            InstanceStatus::Migrating => "migrating",
            InstanceStatus::Destroyed => "destroyed",
        }
    }

    /// A deploy stopped part-way: `--resume` finishes it.
    pub fn resumable(self) -> bool {
        matches!(self, InstanceStatus::Failed | InstanceStatus::Interrupted)
    }
}

impl std::fmt::Display for InstanceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a deploy is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "TEXT", rename_all = "kebab-case")]
#[serde(rename_all = "kebab-case")]
pub enum DeployState {
    Running,
    Done,
    Failed,
    Interrupted,
    /// Closed without finishing (a migration rolled back): it cannot be resumed.
    Abandoned,
}

impl DeployState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployState::Running => "running",
            DeployState::Done => "done",
            DeployState::Failed => "failed",
            DeployState::Interrupted => "interrupted",
            DeployState::Abandoned => "abandoned",
        }
    }
}

/// What became of a server an instance left when it migrated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "TEXT", rename_all = "kebab-case")]
#[serde(rename_all = "kebab-case")]
pub enum OldServerState {
    /// Kept, gateway stopped, until an operator deletes it.
    Kept,
    Deleted,
    /// The migration rolled back: the instance is on it again.
    Back,
}

/// Where a confirmation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "TEXT", rename_all = "kebab-case")]
#[serde(rename_all = "kebab-case")]
pub enum ConfirmationState {
    Pending,
    Confirmed,
    Cancelled,
}

/// Whose a backup is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, sqlx::Type, Serialize, Deserialize,
)]
#[sqlx(type_name = "TEXT", rename_all = "kebab-case")]
#[serde(rename_all = "kebab-case")]
pub enum BackupKind {
    /// An instance's OpenClaw state.
    Instance,
    /// clawops' own store and audit witness.
    Store,
}

/// Where a cell host stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "TEXT", rename_all = "kebab-case")]
#[serde(rename_all = "kebab-case")]
pub enum CellHostState {
    /// Prepared: takes new cells.
    Ready,
    /// Keeps its cells but takes no new ones.
    Draining,
}

impl CellHostState {
    pub fn as_str(self) -> &'static str {
        match self {
            CellHostState::Ready => "ready",
            CellHostState::Draining => "draining",
        }
    }
}
