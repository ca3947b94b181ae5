//! Rows of the heal ladder: `heal_runs` (one heal of one instance) and `heal_steps` (each
//! step it took; the budget counts them).

use chrono::{DateTime, Utc};

use super::{Store, StoreError, ts};

/// One heal.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct HealRunRow {
    pub id: i64,
    pub instance: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub state_before: String,
    pub score_before: i64,
    pub reasons_before: String,
    pub state_after: Option<String>,
    pub score_after: Option<i64>,
    pub outcome: Option<String>,
}

/// One step of a heal.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct HealStepRow {
    pub run_id: i64,
    pub instance: String,
    pub rung: String,
    pub at: String,
    pub result: String,
}

impl Store {
    /// A heal of `instance` begins; returns its id.
    pub async fn start_heal(
        &self,
        instance: &str,
        state: &str,
        score: i64,
        reasons: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO heal_runs (instance, started_at, state_before, score_before, reasons_before) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(instance)
        .bind(ts(now))
        .bind(state)
        .bind(score)
        .bind(reasons)
        .fetch_one(self.pool())
        .await?)
    }

    /// A step a heal took, and what the probe after it saw.
    pub async fn add_heal_step(
        &self,
        run: i64,
        instance: &str,
        rung: &str,
        result: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO heal_steps (run_id, instance, rung, at, result) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(run)
        .bind(instance)
        .bind(rung)
        .bind(ts(now))
        .bind(result)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A heal ended.
    pub async fn finish_heal(
        &self,
        run: i64,
        state: &str,
        score: i64,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE heal_runs SET finished_at = ?, state_after = ?, score_after = ?, outcome = ? WHERE id = ?",
        )
        .bind(ts(now))
        .bind(state)
        .bind(score)
        .bind(outcome)
        .bind(run)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// How many heal steps `instance` took since `since`.
    pub async fn heal_steps_since(
        &self,
        instance: &str,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM heal_steps WHERE instance = ? AND at > ?")
                .bind(instance)
                .bind(ts(since))
                .fetch_one(self.pool())
                .await?,
        )
    }

    /// The newest heal of `instance`, and its steps.
    pub async fn last_heal(
        &self,
        instance: &str,
    ) -> Result<Option<(HealRunRow, Vec<HealStepRow>)>, StoreError> {
        let run: Option<HealRunRow> =
            sqlx::query_as("SELECT * FROM heal_runs WHERE instance = ? ORDER BY id DESC LIMIT 1")
                .bind(instance)
                .fetch_optional(self.pool())
                .await?;
        let Some(run) = run else {
            return Ok(None);
        };
        let steps = sqlx::query_as("SELECT * FROM heal_steps WHERE run_id = ? ORDER BY rowid")
            .bind(run.id)
            .fetch_all(self.pool())
            .await?;
        Ok(Some((run, steps)))
    }

    /// Heals a process left running when it died are recorded as stopped.
    pub async fn close_dead_heals(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE heal_runs SET finished_at = ?, outcome = 'stopped' WHERE finished_at IS NULL",
        )
        .bind(ts(now))
        .execute(self.pool())
        .await?
        .rows_affected())
    }
}
