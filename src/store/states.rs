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
    Done,
    RolledBack,
    /// Failed and could not be fully undone: the error says what is left.
    Failed,
}

impl PlanState {
    /// Still to be finished by someone: by this process or the next one.
    pub const OPEN: [PlanState; 3] = [
        PlanState::Running,
        PlanState::Interrupted,
        PlanState::RollingBack,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PlanState::Running => "running",
            PlanState::Interrupted => "interrupted",
            PlanState::RollingBack => "rolling-back",
            PlanState::Done => "done",
            PlanState::RolledBack => "rolled-back",
            PlanState::Failed => "failed",
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
    /// Done one way or the other: a resume passes it by.
    pub fn finished(self) -> bool {
        matches!(self, StepStatus::Done | StepStatus::Skipped)
    }
}
