//! `/rollouts` (the rollouts, the open one first, with their progress) and
//! `/rollout pause|resume|abort ID` (a person's hand on one). A rollout itself is started
//! by the bulk forms of `/update` and `/config` (see `ops::rollout`).

use serde::{Deserialize, Serialize};

use crate::audit::Audit;
use crate::chat::{Message, Replier};
use crate::config::Role;
use crate::ops::catalogue::{Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::plan::PlanKind;
use crate::ops::rollout::{self, TargetState};
use crate::ops::{BlastRadius, OpsError};
use crate::store::{PlanRow, PlanState};

/// How many rollouts `/rollouts` lists.
const LISTED: i64 = 8;

/// The rollouts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollouts {}

impl Command for Rollouts {
    const SPEC: Spec = Spec {
        name: "rollouts",
        summary: "List rollouts: where each is, what it changed, why one halted",
        params: &[],
        risk: Risk::Read,
        role: Role::Viewer,
        example: "/rollouts",
    };
}

impl Rollouts {
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let rows = ctx
            .store
            .plans_of_kind(PlanKind::Rollout.as_str(), LISTED)
            .await?;
        if rows.is_empty() {
            return Ok(Message::text(
                "No rollouts yet. /update --all --version V or /config --all set KEY VALUE starts one.",
            ));
        }
        let mut lines = Vec::new();
        for row in &rows {
            lines.push(line(row));
        }
        Ok(Message::default().heading("Rollouts").pre(lines.join("\n")))
    }
}

/// One rollout in a line (two when it waits for a person).
fn line(row: &PlanRow) -> String {
    let Ok(r) = rollout::read(row) else {
        return format!(
            "{} · {} · cannot be read by this version",
            row.id,
            row.state.as_str()
        );
    };
    let since = row.started_at.get(11..16).unwrap_or("");
    let mut s = format!(
        "{} · {} · {} · {} · by {} · {} {since} UTC",
        row.id,
        row.state.as_str(),
        r.change.describe(),
        r.tally(),
        r.actor,
        &row.started_at.get(..10).unwrap_or("")
    );
    if row.state == PlanState::Paused
        && let Some(why) = r.halted.as_deref().or(row.error.as_deref())
    {
        s.push_str(&format!("\n    {why}"));
    }
    s
}

/// What a person does to a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verb {
    Pause,
    Resume,
    Abort,
}

/// `/rollout pause|resume|abort ID`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutControl {
    pub verb: Verb,
    pub id: u64,
}

impl Command for RolloutControl {
    const SPEC: Spec = Spec {
        name: "rollout",
        summary: "Pause, resume or abort a rollout (what was changed stays changed)",
        params: &[
            Param {
                name: "verb",
                meta: "pause|resume|abort",
                kind: Kind::Word,
                flag: false,
                required: true,
                help: "pause (after the current batch), resume, or abort",
            },
            Param {
                name: "id",
                meta: "ID",
                kind: Kind::Number {
                    min: 1,
                    max: 1 << 40,
                },
                flag: false,
                required: true,
                help: "the rollout, as /rollouts lists it",
            },
        ],
        risk: Risk::Change,
        role: Role::Operator,
        example: "/rollout resume 7",
    };
}

impl RolloutControl {
    /// The resume of rollout `id` a halted rollout offers.
    pub fn resume(id: i64) -> RolloutControl {
        RolloutControl {
            verb: Verb::Resume,
            id: id as u64,
        }
    }

    async fn row(&self, ctx: &Ctx) -> Result<PlanRow, OpsError> {
        ctx.store
            .plan(self.id as i64)
            .await?
            .filter(|r| r.kind == PlanKind::Rollout.as_str())
            .ok_or_else(|| {
                OpsError::Refused(format!(
                    "there is no rollout {}: /rollouts lists them",
                    self.id
                ))
            })
    }

    /// A resume is confirmed by a person (it goes on over the instances not yet
    /// changed); pause and abort stop work and are not asked.
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        if self.verb != Verb::Resume {
            return Ok(BlastRadius {
                reversible: true,
                ..BlastRadius::default()
            });
        }
        let row = self.row(ctx).await?;
        if let Some(no) = self.refusal(&row) {
            return Err(no);
        }
        let r = rollout::read(&row)?;
        let pending: Vec<String> = r
            .targets
            .iter()
            .filter(|t| t.state == TargetState::Pending)
            .map(|t| t.name.clone())
            .collect();
        let mut instances = Vec::new();
        let mut end_users = 0;
        for name in &pending {
            if let Some(i) = ctx.store.instance(name).await? {
                end_users += i.end_users.max(0) as u32;
                instances.push((i.name.clone(), super::place(&i)));
            }
        }
        let mut details = vec![format!(
            "Rollout {}: {} — {}",
            row.id,
            r.change.describe(),
            r.tally()
        )];
        details.extend(r.halted.clone().or(row.error.clone()));
        Ok(BlastRadius {
            instances,
            end_users,
            reversible: true,
            loss: Some("each instance restarts its gateway once".into()),
            press: Some("a halted or paused rollout goes on only when a person says so".into()),
            details,
            ..BlastRadius::default()
        })
    }

    /// Why this verb cannot apply to the rollout as it stands, if it cannot.
    fn refusal(&self, row: &PlanRow) -> Option<OpsError> {
        let id = row.id;
        let no = |why: String| Some(OpsError::Refused(why));
        match (self.verb, row.state) {
            (
                _,
                PlanState::Done | PlanState::RolledBack | PlanState::Failed | PlanState::Aborted,
            ) => no(format!(
                "rollout {id} is {}: nothing to {}",
                row.state.as_str(),
                self.verb.word()
            )),
            (Verb::Resume, PlanState::Running | PlanState::RollingBack) => no(format!(
                "rollout {id} is running: /rollouts shows where it is"
            )),
            _ => None,
        }
    }

    pub async fn run(
        &self,
        ctx: &Ctx,
        audit: &Audit,
        actor: &str,
        out: &dyn Replier,
    ) -> Result<Message, OpsError> {
        let row = self.row(ctx).await?;
        let id = row.id;
        let now = ctx.clock.now();
        if let Some(no) = self.refusal(&row) {
            return Err(no);
        }
        match (self.verb, row.state) {
            (Verb::Pause, PlanState::Paused) => Ok(Message::text(format!(
                "Rollout {id} is paused already. /rollout resume {id} goes on."
            ))),
            (Verb::Pause, _) => {
                ctx.store
                    .set_plan_state(
                        id,
                        PlanState::Paused,
                        Some(&format!("paused by {actor}")),
                        now,
                    )
                    .await?;
                Ok(Message::text(format!(
                    "⏸ Rollout {id} pauses: no batch starts after the one running now. /rollout resume {id} goes on."
                )))
            }
            (Verb::Abort, state) => {
                ctx.store
                    .set_plan_state(
                        id,
                        PlanState::Aborted,
                        Some(&format!("aborted by {actor}")),
                        now,
                    )
                    .await?;
                let r = rollout::read(&row)?;
                let running = if state == PlanState::Running {
                    " The instance changing now finishes its batch; nothing more starts."
                } else {
                    ""
                };
                Ok(Message::text(format!(
                    "■ Rollout {id} aborted: {}. What was changed stays changed.{running}",
                    r.tally()
                )))
            }
            (Verb::Resume, _) => {
                let mut r = rollout::read(&row)?;
                r.actor = actor.to_string();
                r.halted = None;
                let body = serde_json::to_string(&r)
                    .map_err(|e| OpsError::Refused(format!("cannot save rollout {id}: {e}")))?;
                ctx.store.set_plan_body(id, &body, now).await?;
                rollout::drive(ctx, audit, r, out).await
            }
        }
    }
}

impl Verb {
    fn word(self) -> &'static str {
        match self {
            Verb::Pause => "pause",
            Verb::Resume => "resume",
            Verb::Abort => "abort",
        }
    }
}
