//! Rows of the `instances` table.

use chrono::{DateTime, Utc};

use super::{InstanceStatus, Store, StoreError, ts};

/// One instance as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct InstanceRow {
    pub name: String,
    pub provider: String,
    pub region: String,
    pub size: String,
    pub role: String,
    pub status: InstanceStatus,
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
    /// For a standby: the primary it covers.
    pub standby_of: Option<String>,
    /// Why the last probe scored what it did (comma-separated).
    pub health_reasons: Option<String>,
    /// Since when the instance has been in its current health state.
    pub health_since: Option<String>,
    /// How many readings in a row found the instance in its current health state.
    pub health_streak: i64,
    /// When a sweep last counted the end users (`None`: never; `end_users` is then the
    /// count recorded at deploy).
    pub users_counted_at: Option<String>,
    /// Why the last look could not count them (another OpenClaw state schema, say).
    pub users_unknown: Option<String>,
    /// The bot's command owner, `channel:id` (e.g. `telegram:4242`).
    pub owner: Option<String>,
    /// Where the owner came from: `deploy` (`--owner`) or `pairing` (the first approval).
    pub owner_from: Option<String>,
}

/// An instance's health after a probe; its `health_since` moves only when the state does.
pub(super) const SET_HEALTH: &str = "UPDATE instances SET
       health_streak = CASE WHEN health IS ? THEN health_streak + 1 ELSE 1 END,
       health_since = CASE WHEN health IS ? THEN COALESCE(health_since, ?) ELSE ? END,
       health = ?, health_score = ?, health_reasons = ?, probed_at = ?, updated_at = ?
     WHERE name = ?";

/// What a deploy knows about an instance when it first records it.
#[derive(Debug, Clone)]
pub struct NewInstance<'a> {
    pub name: &'a str,
    pub provider: &'a str,
    pub region: &'a str,
    pub size: &'a str,
    pub monthly_cents: i64,
    pub currency: &'a str,
    /// The bot's command owner given at deploy (`--owner`), `channel:id`.
    pub owner: Option<&'a str>,
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
            "INSERT INTO instances (name, provider, region, size, status, monthly_cents, currency, created_at, updated_at, end_users, owner, owner_from)
             VALUES (?, ?, ?, ?, 'deploying', ?, ?, ?, ?, 0, ?, CASE WHEN ? IS NULL THEN NULL ELSE 'deploy' END)
             ON CONFLICT(name) DO UPDATE SET provider = excluded.provider, region = excluded.region,
               size = excluded.size, status = 'deploying', monthly_cents = excluded.monthly_cents,
               currency = excluded.currency, server_id = NULL, ipv4 = NULL, role = 'primary', end_users = 0,
               users_counted_at = NULL, users_unknown = NULL, owner = excluded.owner, owner_from = excluded.owner_from,
               standby_of = NULL, health = NULL, health_score = NULL, probed_at = NULL,
               updated_at = excluded.updated_at",
        )
        .bind(new.name)
        .bind(new.provider)
        .bind(new.region)
        .bind(new.size)
        .bind(new.monthly_cents)
        .bind(new.currency)
        .bind(ts(now))
        .bind(ts(now))
        .bind(new.owner)
        .bind(new.owner)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records a server clawops made but the store lost (found by /reconcile) as the
    /// ready instance `new.name`.
    pub async fn adopt_instance(
        &self,
        new: &NewInstance<'_>,
        server_id: &str,
        ipv4: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO instances (name, provider, region, size, status, server_id, ipv4, monthly_cents, currency, created_at, updated_at)
             VALUES (?, ?, ?, ?, 'ready', ?, ?, ?, ?, ?, ?)
             ON CONFLICT(name) DO UPDATE SET provider = excluded.provider, region = excluded.region,
               size = excluded.size, status = 'ready', server_id = excluded.server_id, ipv4 = excluded.ipv4,
               monthly_cents = excluded.monthly_cents, currency = excluded.currency, role = 'primary',
               standby_of = NULL, health = NULL, health_score = NULL, probed_at = NULL,
               updated_at = excluded.updated_at
             WHERE instances.status = 'destroyed'",
        )
        .bind(new.name)
        .bind(new.provider)
        .bind(new.region)
        .bind(new.size)
        .bind(server_id)
        .bind(ipv4)
        .bind(new.monthly_cents)
        .bind(new.currency)
        .bind(ts(now))
        .bind(ts(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Makes `name` the standby of `primary`.
    pub async fn set_standby_of(
        &self,
        name: &str,
        primary: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE instances SET role = 'standby', standby_of = ?, updated_at = ? WHERE name = ?",
        )
        .bind(primary)
        .bind(ts(now))
        .bind(name)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// `active` becomes the primary and `standby` its standby (a failover or a failback).
    pub async fn swap_roles(
        &self,
        active: &str,
        standby: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE instances SET role = 'primary', standby_of = NULL, updated_at = ? WHERE name = ?",
        )
        .bind(ts(now))
        .bind(active)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE instances SET role = 'standby', standby_of = ?, updated_at = ? WHERE name = ?",
        )
        .bind(active)
        .bind(ts(now))
        .bind(standby)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The standbys (not destroyed) covering `primary`.
    pub async fn standbys_of(&self, primary: &str) -> Result<Vec<InstanceRow>, StoreError> {
        Ok(sqlx::query_as::<_, InstanceRow>(
            "SELECT * FROM instances WHERE standby_of = ? AND status <> 'destroyed' ORDER BY name",
        )
        .bind(primary)
        .fetch_all(self.pool())
        .await?)
    }

    /// Points an instance at a new place with no server yet (a migration's new server is
    /// then deployed); its health is unknown until probed again.
    pub async fn move_instance(
        &self,
        new: &NewInstance<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE instances SET provider = ?, region = ?, size = ?, monthly_cents = ?, currency = ?,
               server_id = NULL, ipv4 = NULL, health = NULL, health_score = NULL, probed_at = NULL,
               status = 'deploying', updated_at = ? WHERE name = ?",
        )
        .bind(new.provider)
        .bind(new.region)
        .bind(new.size)
        .bind(new.monthly_cents)
        .bind(new.currency)
        .bind(ts(now))
        .bind(new.name)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Points an instance back at the server it left (a migration that failed).
    pub async fn put_back(
        &self,
        old: &super::OldServerRow,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE instances SET provider = ?, region = ?, size = ?, monthly_cents = ?, currency = ?,
               server_id = ?, ipv4 = ?, status = 'ready', updated_at = ? WHERE name = ?",
        )
        .bind(&old.provider)
        .bind(&old.region)
        .bind(&old.size)
        .bind(old.monthly_cents)
        .bind(&old.currency)
        .bind(&old.server_id)
        .bind(&old.ipv4)
        .bind(ts(now))
        .bind(&old.instance)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Sets an instance's status.
    pub async fn set_instance_status(
        &self,
        name: &str,
        status: InstanceStatus,
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

    /// Records an instance's new server size and its monthly price (after a resize).
    pub async fn set_instance_size(
        &self,
        name: &str,
        size: &str,
        monthly_cents: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE instances SET size = ?, monthly_cents = ?, updated_at = ? WHERE name = ?",
        )
        .bind(size)
        .bind(monthly_cents)
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

    /// Records the result of a probe: state, score and reasons; `health_since` moves only
    /// when the state changes.
    pub async fn set_instance_health(
        &self,
        name: &str,
        state: &str,
        score: i64,
        reasons: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(SET_HEALTH)
            .bind(state)
            .bind(state)
            .bind(ts(now))
            .bind(ts(now))
            .bind(state)
            .bind(score)
            .bind(reasons)
            .bind(ts(now))
            .bind(ts(now))
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
