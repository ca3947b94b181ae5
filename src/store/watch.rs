//! Rows of the watch: `job_runs` (what each scheduled job did), `readings` (each sweep's
//! reading of each instance, raw) and `readings_hourly` (their hourly summaries), written
//! together with the instance's current health in one transaction per sweep.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, instances::SET_HEALTH, ts};

/// One run of a job.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct JobRunRow {
    pub id: i64,
    pub job: String,
    pub scheduled_for: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// running | ok | failed
    pub result: String,
    pub summary: Option<String>,
}

/// One reading of one instance by a sweep.
#[derive(Debug, Clone, PartialEq, Default, sqlx::FromRow)]
pub struct ReadingRow {
    pub instance: String,
    pub at: String,
    pub state: String,
    pub score: i64,
    pub reasons: String,
    pub cpu: Option<f64>,
    pub memory: Option<f64>,
    pub disk: Option<f64>,
    pub restarts: Option<i64>,
    pub version: Option<String>,
    pub config_rev: Option<String>,
    pub boot_id: Option<String>,
    /// The end users counted by this reading.
    pub end_users: Option<i64>,
    /// What the reading found of the end users (count and owner, or why unknown).
    #[sqlx(skip)]
    pub users: Option<crate::remote::EndUsers>,
    /// The newest message its channels received, when the gateway said.
    #[sqlx(skip)]
    pub last_inbound: Option<String>,
}

/// One hour of readings of one instance.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct HourlyRow {
    pub instance: String,
    pub hour: String,
    pub n: i64,
    pub score_min: i64,
    pub score_avg: f64,
    pub score_max: i64,
    pub cpu_max: Option<f64>,
    pub memory_max: Option<f64>,
    pub disk_max: Option<f64>,
}

impl Store {
    /// A job run begins.
    pub async fn start_job_run(
        &self,
        job: &str,
        scheduled_for: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO job_runs (job, scheduled_for, started_at, result) VALUES (?, ?, ?, 'running') RETURNING id",
        )
        .bind(job)
        .bind(ts(scheduled_for))
        .bind(ts(now))
        .fetch_one(self.pool())
        .await?)
    }

    /// A job run ended: `ok` or `failed`, with what it did.
    pub async fn finish_job_run(
        &self,
        id: i64,
        ok: bool,
        summary: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE job_runs SET result = ?, summary = ?, finished_at = ? WHERE id = ?")
            .bind(if ok { "ok" } else { "failed" })
            .bind(summary)
            .bind(ts(now))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The newest run of each job.
    pub async fn last_job_runs(&self) -> Result<Vec<JobRunRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT * FROM job_runs WHERE id IN (SELECT max(id) FROM job_runs GROUP BY job) ORDER BY job",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// Runs that were still `running` when a process died are marked failed.
    pub async fn close_dead_job_runs(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE job_runs SET result = 'failed', summary = 'clawops stopped during the run', finished_at = ? WHERE result = 'running'",
        )
        .bind(ts(now))
        .execute(self.pool())
        .await?
        .rows_affected())
    }

    /// Keeps one sweep's readings: raw rows, the hourly summaries, and each instance's
    /// current health, in one transaction.
    pub async fn record_readings(&self, readings: &[ReadingRow]) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for r in readings {
            sqlx::query(
                "INSERT INTO readings (instance, at, state, score, reasons, cpu, memory, disk, restarts, version, config_rev, boot_id, end_users) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&r.instance)
            .bind(&r.at)
            .bind(&r.state)
            .bind(r.score)
            .bind(&r.reasons)
            .bind(r.cpu)
            .bind(r.memory)
            .bind(r.disk)
            .bind(r.restarts)
            .bind(&r.version)
            .bind(&r.config_rev)
            .bind(&r.boot_id)
            .bind(r.end_users)
            .execute(&mut *tx)
            .await?;
            let hour = format!("{}:00:00.000Z", r.at.get(..13).unwrap_or(&r.at));
            sqlx::query(
                "INSERT INTO readings_hourly (instance, hour, n, score_min, score_avg, score_max, cpu_max, memory_max, disk_max)
                 VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT(instance, hour) DO UPDATE SET
                   score_avg = (score_avg * n + excluded.score_avg) / (n + 1),
                   n = n + 1,
                   score_min = min(score_min, excluded.score_min),
                   score_max = max(score_max, excluded.score_max),
                   cpu_max = max(coalesce(cpu_max, excluded.cpu_max), coalesce(excluded.cpu_max, cpu_max)),
                   memory_max = max(coalesce(memory_max, excluded.memory_max), coalesce(excluded.memory_max, memory_max)),
                   disk_max = max(coalesce(disk_max, excluded.disk_max), coalesce(excluded.disk_max, disk_max))",
            )
            .bind(&r.instance)
            .bind(&hour)
            .bind(r.score)
            .bind(r.score as f64)
            .bind(r.score)
            .bind(r.cpu)
            .bind(r.memory)
            .bind(r.disk)
            .execute(&mut *tx)
            .await?;
            sqlx::query(SET_HEALTH)
                .bind(&r.state)
                .bind(&r.state)
                .bind(&r.at)
                .bind(&r.at)
                .bind(&r.state)
                .bind(r.score)
                .bind(&r.reasons)
                .bind(&r.at)
                .bind(&r.at)
                .bind(&r.instance)
                .execute(&mut *tx)
                .await?;
            if let Some(users) = &r.users {
                record_users(&mut tx, &r.instance, users, &r.at).await?;
            }
            if let Some(at) = &r.last_inbound {
                sqlx::query(
                    "UPDATE instances SET last_inbound_at = ? WHERE name = ? AND (last_inbound_at IS NULL OR last_inbound_at < ?)",
                )
                .bind(at)
                .bind(&r.instance)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Readings of `instance` since `since`, oldest first.
    pub async fn readings_of(
        &self,
        instance: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<ReadingRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM readings WHERE instance = ? AND at >= ? ORDER BY at")
                .bind(instance)
                .bind(ts(since))
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// Hourly summaries of `instance` since `since`, oldest first.
    pub async fn hourly_of(
        &self,
        instance: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<HourlyRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT * FROM readings_hourly WHERE instance = ? AND hour >= ? ORDER BY hour",
        )
        .bind(instance)
        .bind(ts(since))
        .fetch_all(self.pool())
        .await?)
    }

    /// Drops raw readings older than `raw_before`, summaries older than `hourly_before`
    /// and job runs older than `runs_before`.
    pub async fn prune_watch(
        &self,
        raw_before: DateTime<Utc>,
        hourly_before: DateTime<Utc>,
        runs_before: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM readings WHERE at < ?")
            .bind(ts(raw_before))
            .execute(self.pool())
            .await?;
        sqlx::query("DELETE FROM readings_hourly WHERE hour < ?")
            .bind(ts(hourly_before))
            .execute(self.pool())
            .await?;
        sqlx::query("DELETE FROM job_runs WHERE started_at < ? AND result <> 'running'")
            .bind(ts(runs_before))
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

/// An instance's end users as a reading found them: the true count (and the owner
/// OpenClaw chose at the first approval, unless one was set at deploy), or why unknown,
/// the last count kept.
async fn record_users(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    instance: &str,
    users: &crate::remote::EndUsers,
    at: &str,
) -> Result<(), StoreError> {
    match users {
        crate::remote::EndUsers::Counted { count, owner } => {
            sqlx::query(
                "UPDATE instances SET end_users = ?, users_counted_at = ?, users_unknown = NULL WHERE name = ?",
            )
            .bind(i64::from(*count))
            .bind(at)
            .bind(instance)
            .execute(&mut **tx)
            .await?;
            if let Some(owner) = owner {
                sqlx::query(
                    "UPDATE instances SET owner = ?, owner_from = 'pairing'
                     WHERE name = ? AND (owner_from IS NULL OR owner_from = 'pairing')",
                )
                .bind(owner)
                .bind(instance)
                .execute(&mut **tx)
                .await?;
            }
        }
        crate::remote::EndUsers::Unknown(why) => {
            sqlx::query("UPDATE instances SET users_unknown = ? WHERE name = ?")
                .bind(why)
                .bind(instance)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}
