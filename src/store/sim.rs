//! Rows of the simulated cloud (`sim_servers`). The sim keeps its state in the
//! store so that, like a real cloud, its servers outlive a restart of clawops.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, ts};

/// One simulated server.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SimServerRow {
    pub id: i64,
    pub name: String,
    pub labels: String,
    pub region: String,
    pub size: String,
    pub ipv4: String,
    pub created_at: String,
    pub boots_at: String,
    pub host: String,
}

impl Store {
    /// Creates a simulated server and returns it.
    #[allow(clippy::too_many_arguments)]
    pub async fn sim_create_server(
        &self,
        name: &str,
        labels: &str,
        region: &str,
        size: &str,
        now: DateTime<Utc>,
        boots_at: DateTime<Utc>,
    ) -> Result<SimServerRow, StoreError> {
        let mut tx = self.pool().begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sim_servers (name, labels, region, size, ipv4, created_at, boots_at) VALUES (?, ?, ?, ?, '', ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(labels)
        .bind(region)
        .bind(size)
        .bind(ts(now))
        .bind(ts(boots_at))
        .fetch_one(&mut *tx)
        .await?;
        // Addresses from TEST-NET-3 (RFC 5737): documentation addresses nobody routes.
        let ipv4 = format!("203.0.113.{}", 1 + (id - 1) % 254);
        sqlx::query("UPDATE sim_servers SET ipv4 = ? WHERE id = ?")
            .bind(&ipv4)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.sim_server(id).await?.ok_or(StoreError::Corrupt {
            what: "sim server",
            detail: format!("server {id} vanished after insert"),
        })
    }

    /// One simulated server by id.
    pub async fn sim_server(&self, id: i64) -> Result<Option<SimServerRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, SimServerRow>("SELECT * FROM sim_servers WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Every simulated server, by id.
    pub async fn sim_servers(&self) -> Result<Vec<SimServerRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, SimServerRow>("SELECT * FROM sim_servers ORDER BY id")
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// The simulated servers made for `instance` (by their `instance` label).
    pub async fn sim_servers_of(&self, instance: &str) -> Result<Vec<SimServerRow>, StoreError> {
        Ok(sqlx::query_as::<_, SimServerRow>(
            "SELECT * FROM sim_servers WHERE json_extract(labels, '$.instance') = ? ORDER BY id",
        )
        .bind(instance)
        .fetch_all(self.pool())
        .await?)
    }

    /// Records a snapshot of simulated server `server_id`; returns its id.
    pub async fn sim_add_snapshot(
        &self,
        server_id: i64,
        description: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO sim_snapshots (server_id, description, created_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(server_id)
        .bind(description)
        .bind(ts(now))
        .fetch_one(self.pool())
        .await?)
    }

    /// How many snapshots the simulated cloud keeps.
    pub async fn sim_snapshot_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM sim_snapshots")
            .fetch_one(self.pool())
            .await?)
    }

    /// Reboots a simulated server: it is up again at `boots_at`. Returns whether it exists.
    pub async fn sim_reboot(&self, id: i64, boots_at: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE sim_servers SET boots_at = ? WHERE id = ?")
            .bind(ts(boots_at))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Changes a simulated server's size; returns whether it existed.
    pub async fn sim_set_size(&self, id: i64, size: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE sim_servers SET size = ? WHERE id = ?")
            .bind(size)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces what a simulated host has installed.
    pub async fn sim_set_host(&self, id: i64, host: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sim_servers SET host = ? WHERE id = ?")
            .bind(host)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Deletes a simulated server; returns whether it existed.
    pub async fn sim_delete_server(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM sim_servers WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
