//! Rows of `old_servers`: the servers an instance left behind when it migrated, kept
//! (gateway stopped) until an operator deletes them, so a migration can be undone.

use chrono::{DateTime, Utc};

use super::{InstanceRow, OldServerState, Store, StoreError, ts};

/// A server an instance left.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OldServerRow {
    pub id: i64,
    pub instance: String,
    pub provider: String,
    pub region: String,
    pub size: String,
    pub server_id: String,
    pub ipv4: Option<String>,
    pub monthly_cents: i64,
    pub currency: String,
    pub state: OldServerState,
    pub retired_at: String,
    pub decided_at: Option<String>,
}

/// A snapshot clawops made (billed until deleted at the provider).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SnapshotRow {
    pub id: i64,
    pub instance: String,
    pub provider: String,
    pub snapshot_id: String,
    pub monthly_cents: i64,
    pub currency: String,
    pub created_at: String,
}

impl Store {
    /// Records a snapshot made before a destroy.
    pub async fn add_snapshot(
        &self,
        instance: &str,
        provider: &str,
        snapshot_id: &str,
        monthly_cents: i64,
        currency: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO snapshots (instance, provider, snapshot_id, monthly_cents, currency, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(instance)
        .bind(provider)
        .bind(snapshot_id)
        .bind(monthly_cents)
        .bind(currency)
        .bind(ts(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The snapshots clawops made, oldest first.
    pub async fn snapshots(&self) -> Result<Vec<SnapshotRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, SnapshotRow>("SELECT * FROM snapshots ORDER BY id")
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// When each instance's channels last received a message, where known.
    pub async fn last_inbound(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT name, last_inbound_at FROM instances WHERE last_inbound_at IS NOT NULL",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// Keeps the server `row` is on now as an old server of its instance.
    pub async fn keep_old_server(
        &self,
        row: &InstanceRow,
        server_id: &str,
        now: DateTime<Utc>,
    ) -> Result<OldServerRow, StoreError> {
        Ok(sqlx::query_as::<_, OldServerRow>(
            "INSERT INTO old_servers (instance, provider, region, size, server_id, ipv4, monthly_cents, currency, state, retired_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'kept', ?) RETURNING *",
        )
        .bind(&row.name)
        .bind(&row.provider)
        .bind(&row.region)
        .bind(&row.size)
        .bind(server_id)
        .bind(&row.ipv4)
        .bind(row.monthly_cents)
        .bind(&row.currency)
        .bind(ts(now))
        .fetch_one(self.pool())
        .await?)
    }

    /// One old server.
    pub async fn old_server(&self, id: i64) -> Result<Option<OldServerRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, OldServerRow>("SELECT * FROM old_servers WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// The old servers still kept: of `instance`, or of every instance.
    pub async fn kept_old_servers(
        &self,
        instance: Option<&str>,
    ) -> Result<Vec<OldServerRow>, StoreError> {
        Ok(sqlx::query_as::<_, OldServerRow>(
            "SELECT * FROM old_servers WHERE state = 'kept' AND (? IS NULL OR instance = ?) ORDER BY id",
        )
        .bind(instance)
        .bind(instance)
        .fetch_all(self.pool())
        .await?)
    }

    /// Records what became of an old server (deleted, or back in use).
    pub async fn decide_old_server(
        &self,
        id: i64,
        state: OldServerState,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE old_servers SET state = ?, decided_at = ? WHERE id = ?")
            .bind(state)
            .bind(ts(now))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
