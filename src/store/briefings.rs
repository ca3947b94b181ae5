//! Rows the briefings read and write: `briefings` (which ops channel got which briefing
//! for which local day), `fleet_days` (the monthly run-rate per day), and the history a
//! briefing tells of (changes in the audit trail, incidents, heals, daily health).

use chrono::{DateTime, NaiveDate, Utc};

use super::{AuditRow, HealRunRow, IncidentRow, Store, StoreError, ts};

/// The fleet's monthly run-rate on one day, in one currency.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FleetDayRow {
    pub day: String,
    pub currency: String,
    pub monthly_cents: i64,
    pub instances: i64,
}

/// One day's mean health score over every reading of the fleet.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct HealthDayRow {
    pub day: String,
    pub score: f64,
}

/// The audit actions a briefing tells as changes to the fleet.
const CHANGES: &[&str] = &[
    "/deploy",
    "/destroy",
    "/update",
    "/migrate",
    "/failover",
    "/failback",
    "/restore",
    "/reboot",
    "/suspend",
    "/resume",
    "/config",
];

impl Store {
    /// When `chat` last got any briefing.
    pub async fn last_briefing(
        &self,
        platform: &str,
        chat: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar(
                "SELECT max(sent_at) FROM briefings WHERE platform = ? AND chat = ?",
            )
            .bind(platform)
            .bind(chat)
            .fetch_one(self.pool())
            .await?,
        )
    }

    /// Whether `chat` got the `kind` briefing of `local_date` already.
    pub async fn briefed(
        &self,
        platform: &str,
        chat: &str,
        kind: &str,
        local_date: NaiveDate,
    ) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM briefings WHERE platform = ? AND chat = ? AND kind = ? AND local_date = ?",
        )
        .bind(platform)
        .bind(chat)
        .bind(kind)
        .bind(local_date.to_string())
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }

    /// Records a briefing sent; `false` when that one was recorded already.
    pub async fn record_briefing(
        &self,
        platform: &str,
        chat: &str,
        kind: &str,
        local_date: NaiveDate,
        writer: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO briefings (platform, chat, kind, local_date, sent_at, writer) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(platform)
        .bind(chat)
        .bind(kind)
        .bind(local_date.to_string())
        .bind(ts(now))
        .bind(writer)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Keeps today's run-rate of the fleet (servers still billed: every instance not
    /// destroyed, and old servers kept after a move).
    pub async fn record_fleet_day(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let day = now.date_naive().to_string();
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM fleet_days WHERE day = ?")
            .bind(&day)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO fleet_days (day, currency, monthly_cents, instances)
             SELECT ?, currency, sum(monthly_cents), count(*) FROM (
               SELECT currency, monthly_cents FROM instances WHERE status <> 'destroyed'
               UNION ALL
               SELECT currency, monthly_cents FROM old_servers WHERE state = 'kept'
             ) GROUP BY currency",
        )
        .bind(&day)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The run-rate days from `since` (a UTC date) on, oldest first.
    pub async fn fleet_days(&self, since: NaiveDate) -> Result<Vec<FleetDayRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM fleet_days WHERE day >= ? ORDER BY day, currency")
                .bind(since.to_string())
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// The fleet's mean health score per UTC day since `since`, from the hourly summaries.
    pub async fn health_days(&self, since: DateTime<Utc>) -> Result<Vec<HealthDayRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT substr(hour, 1, 10) AS day, sum(score_avg * n) / sum(n) AS score
             FROM readings_hourly WHERE hour >= ? GROUP BY day ORDER BY day",
        )
        .bind(ts(since))
        .fetch_all(self.pool())
        .await?)
    }

    /// Changes to the fleet done since `since`, oldest first (scheduled jobs left out).
    pub async fn changes_since(&self, since: DateTime<Utc>) -> Result<Vec<AuditRow>, StoreError> {
        let rows: Vec<AuditRow> =
            sqlx::query_as("SELECT * FROM audit WHERE at > ? AND event = 'done' ORDER BY seq")
                .bind(ts(since))
                .fetch_all(self.pool())
                .await?;
        Ok(rows
            .into_iter()
            .filter(|r| {
                CHANGES
                    .iter()
                    .any(|c| r.action == *c || r.action.starts_with(&format!("{c} ")))
            })
            .collect())
    }

    /// Incidents open at any time since `since` (opened since, resolved since, or open).
    pub async fn incidents_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<IncidentRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT * FROM incidents WHERE opened_at > ? OR resolved_at > ? OR resolved_at IS NULL ORDER BY opened_at",
        )
        .bind(ts(since))
        .bind(ts(since))
        .fetch_all(self.pool())
        .await?)
    }

    /// Heals started since `since`, oldest first.
    pub async fn heals_since(&self, since: DateTime<Utc>) -> Result<Vec<HealRunRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM heal_runs WHERE started_at > ? ORDER BY id")
                .bind(ts(since))
                .fetch_all(self.pool())
                .await?,
        )
    }
}
