//! Rows of the `plans` and `plan_steps` tables: each plan's JSON and where each of its steps
//! is, saved as it goes so that a plan a dead process left behind is found and finished.

use chrono::{DateTime, Utc};

use super::{PlanState, StepStatus, Store, StoreError, ts};

/// One plan.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PlanRow {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub actor: String,
    pub state: PlanState,
    pub body: String,
    pub error: Option<String>,
    pub started_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
}

/// One step of one plan.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PlanStepRow {
    pub plan_id: i64,
    pub position: i64,
    pub step: String,
    pub state: StepStatus,
    pub output: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

/// What a new plan is.
pub struct NewPlan<'a> {
    pub kind: &'a str,
    pub subject: &'a str,
    pub actor: &'a str,
    pub body: &'a str,
    pub steps: &'a [&'a str],
}

impl Store {
    /// Starts a plan with all its steps pending. Refused (a unique index) while another
    /// plan on the same subject is open.
    pub async fn start_plan(
        &self,
        new: &NewPlan<'_>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO plans (kind, subject, actor, state, body, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(new.kind)
        .bind(new.subject)
        .bind(new.actor)
        .bind(PlanState::Running)
        .bind(new.body)
        .bind(ts(now))
        .bind(ts(now))
        .fetch_one(&mut *tx)
        .await?;
        for (i, step) in new.steps.iter().enumerate() {
            sqlx::query(
                "INSERT INTO plan_steps (plan_id, position, step, state) VALUES (?, ?, ?, ?)",
            )
            .bind(id)
            .bind(i as i64)
            .bind(step)
            .bind(StepStatus::Pending)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// One plan.
    pub async fn plan(&self, id: i64) -> Result<Option<PlanRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM plans WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// Plans not finished, oldest first.
    pub async fn open_plans(&self) -> Result<Vec<PlanRow>, StoreError> {
        let [a, b, c, d] = PlanState::OPEN;
        Ok(
            sqlx::query_as("SELECT * FROM plans WHERE state IN (?, ?, ?, ?) ORDER BY id")
                .bind(a)
                .bind(b)
                .bind(c)
                .bind(d)
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// The newest `limit` plans of `kind`, newest first.
    pub async fn plans_of_kind(&self, kind: &str, limit: i64) -> Result<Vec<PlanRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM plans WHERE kind = ? ORDER BY id DESC LIMIT ?")
                .bind(kind)
                .bind(limit)
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// Saves a plan's JSON (a person resumed it: who acts from now on).
    pub async fn set_plan_body(
        &self,
        id: i64,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE plans SET body = ?, updated_at = ? WHERE id = ?")
            .bind(body)
            .bind(ts(now))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A plan's steps in order.
    pub async fn plan_steps(&self, id: i64) -> Result<Vec<PlanStepRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM plan_steps WHERE plan_id = ? ORDER BY position")
                .bind(id)
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// Sets a plan's state (and why, when it stopped on an error).
    pub async fn set_plan_state(
        &self,
        id: i64,
        state: PlanState,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let finished = (!PlanState::OPEN.contains(&state)).then(|| ts(now));
        sqlx::query(
            "UPDATE plans SET state = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ?",
        )
        .bind(state)
        .bind(error)
        .bind(ts(now))
        .bind(finished)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A step began.
    pub async fn plan_step_started(
        &self,
        id: i64,
        position: usize,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE plan_steps SET state = ?, started_at = ?, finished_at = NULL WHERE plan_id = ? AND position = ?",
        )
        .bind(StepStatus::Running)
        .bind(ts(now))
        .bind(id)
        .bind(position as i64)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A step ended; the plan's JSON as it stands after it is saved in the same write.
    pub async fn plan_step_finished(
        &self,
        id: i64,
        position: usize,
        state: StepStatus,
        output: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE plan_steps SET state = ?, output = ?, finished_at = ? WHERE plan_id = ? AND position = ?",
        )
        .bind(state)
        .bind(output)
        .bind(ts(now))
        .bind(id)
        .bind(position as i64)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE plans SET body = ?, updated_at = ? WHERE id = ?")
            .bind(body)
            .bind(ts(now))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
