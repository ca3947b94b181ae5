//! Rows of the `deploys` and `deploy_steps` tables: the persisted state of every deploy,
//! so that a deploy that failed or was killed resumes where it stopped.

use chrono::{DateTime, Utc};

use super::{DeployState, StepStatus, Store, StoreError, ts};

/// One deploy run of one instance.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeployRow {
    pub id: i64,
    pub instance: String,
    pub state: DeployState,
    pub params: String,
    pub failed_step: Option<String>,
    pub error: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
}

/// One step of one deploy.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StepRow {
    pub deploy_id: i64,
    pub position: i64,
    pub step: String,
    pub state: StepStatus,
    pub attempts: i64,
    pub output: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

impl Store {
    /// Starts a deploy with all its steps pending. Fails if one is already running for the
    /// instance (a unique index guards it, so two processes cannot both start one).
    pub async fn start_deploy(
        &self,
        instance: &str,
        params: &str,
        steps: &[&str],
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO deploys (instance, state, params, started_at) VALUES (?, 'running', ?, ?) RETURNING id",
        )
        .bind(instance)
        .bind(params)
        .bind(ts(now))
        .fetch_one(&mut *tx)
        .await?;
        for (i, step) in steps.iter().enumerate() {
            sqlx::query(
                "INSERT INTO deploy_steps (deploy_id, position, step, state) VALUES (?, ?, ?, 'pending')",
            )
            .bind(id)
            .bind(i as i64)
            .bind(step)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Marks a stopped deploy as running again (resume). Returns false if it was not stopped.
    pub async fn reopen_deploy(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE deploys SET state = 'running', failed_step = NULL, error = NULL, finished_at = NULL
             WHERE id = ? AND state IN ('failed', 'interrupted')",
        )
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// One deploy.
    pub async fn deploy(&self, id: i64) -> Result<Option<DeployRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, DeployRow>("SELECT * FROM deploys WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// The newest deploy of an instance.
    pub async fn latest_deploy(&self, instance: &str) -> Result<Option<DeployRow>, StoreError> {
        Ok(sqlx::query_as::<_, DeployRow>(
            "SELECT * FROM deploys WHERE instance = ? ORDER BY id DESC LIMIT 1",
        )
        .bind(instance)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Every deploy in a given state, oldest first.
    pub async fn deploys_in_state(&self, state: DeployState) -> Result<Vec<DeployRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, DeployRow>("SELECT * FROM deploys WHERE state = ? ORDER BY id")
                .bind(state)
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// The steps of a deploy, in order.
    pub async fn deploy_steps(&self, id: i64) -> Result<Vec<StepRow>, StoreError> {
        Ok(sqlx::query_as::<_, StepRow>(
            "SELECT * FROM deploy_steps WHERE deploy_id = ? ORDER BY position",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Marks a step as started (and counts the attempt).
    pub async fn step_started(
        &self,
        id: i64,
        position: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE deploy_steps SET state = 'running', attempts = attempts + 1, started_at = ?, finished_at = NULL
             WHERE deploy_id = ? AND position = ?",
        )
        .bind(ts(now))
        .bind(id)
        .bind(position)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records how a step ended: done, skipped (already done) or failed, with its output.
    pub async fn step_finished(
        &self,
        id: i64,
        position: i64,
        state: StepStatus,
        output: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE deploy_steps SET state = ?, output = ?, finished_at = ? WHERE deploy_id = ? AND position = ?",
        )
        .bind(state)
        .bind(output)
        .bind(ts(now))
        .bind(id)
        .bind(position)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Ends a deploy: done, or failed/interrupted at a step with an error.
    pub async fn finish_deploy(
        &self,
        id: i64,
        state: DeployState,
        failed_step: Option<&str>,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE deploys SET state = ?, failed_step = ?, error = ?, finished_at = ? WHERE id = ?",
        )
        .bind(state)
        .bind(failed_step)
        .bind(error)
        .bind(ts(now))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Marks a stopped deploy abandoned (a migration rolled back): it cannot be resumed.
    pub async fn abandon_deploy(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE deploys SET state = 'abandoned' WHERE id = ? AND state <> 'done'")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
