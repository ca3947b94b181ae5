//! Rows of the `instances` table.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, ts};

/// One instance as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct InstanceRow {
    pub name: String,
    pub provider: String,
    pub region: String,
    pub size: String,
    pub role: String,
    pub status: String,
    pub server_id: Option<String>,
    pub ipv4: Option<String>,
    pub monthly_cents: i64,
    pub currency: String,
    pub end_users: i64,
    pub health: Option<String>,
    pub health_score: Option<i64>,
    pub probed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// What a deploy knows about an instance when it first records it.
#[derive(Debug, Clone)]
pub struct NewInstance<'a> {
    pub name: &'a str,
    pub provider: &'a str,
    pub region: &'a str,
    pub size: &'a str,
    pub monthly_cents: i64,
    pub currency: &'a str,
}

impl Store {
    /// The instance called `name`, destroyed ones included.
    pub async fn instance(&self, name: &str) -> Result<Option<InstanceRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, InstanceRow>("SELECT * FROM instances WHERE name = ?")
                .bind(name)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Every instance not destroyed, by name.
    pub async fn fleet(&self) -> Result<Vec<InstanceRow>, StoreError> {
        Ok(sqlx::query_as::<_, InstanceRow>(
            "SELECT * FROM instances WHERE status <> 'destroyed' ORDER BY name",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// Records a new instance (or revives a destroyed name) in status `deploying`.
    pub async fn upsert_deploying(
        &self,
        new: &NewInstance<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO instances (name, provider, region, size, status, monthly_cents, currency, created_at, updated_at)
             VALUES (?, ?, ?, ?, 'deploying', ?, ?, ?, ?)
             ON CONFLICT(name) DO UPDATE SET provider = excluded.provider, region = excluded.region,
               size = excluded.size, status = 'deploying', monthly_cents = excluded.monthly_cents,
               currency = excluded.currency, updated_at = excluded.updated_at",
        )
        .bind(new.name)
        .bind(new.provider)
        .bind(new.region)
        .bind(new.size)
        .bind(new.monthly_cents)
        .bind(new.currency)
        .bind(ts(now))
        .bind(ts(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Sets an instance's status (deploying, ready, failed, interrupted, destroyed).
    pub async fn set_instance_status(
        &self,
        name: &str,
        status: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE instances SET status = ?, updated_at = ? WHERE name = ?")
            .bind(status)
            .bind(ts(now))
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records the provider's server id and address once the server exists.
    pub async fn set_instance_server(
        &self,
        name: &str,
        server_id: &str,
        ipv4: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE instances SET server_id = ?, ipv4 = ?, updated_at = ? WHERE name = ?")
            .bind(server_id)
            .bind(ipv4)
            .bind(ts(now))
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records the result of a probe.
    pub async fn set_instance_health(
        &self,
        name: &str,
        state: &str,
        score: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE instances SET health = ?, health_score = ?, probed_at = ?, updated_at = ? WHERE name = ?",
        )
        .bind(state)
        .bind(score)
        .bind(ts(now))
        .bind(ts(now))
        .bind(name)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
