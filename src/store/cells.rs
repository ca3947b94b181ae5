//! Rows of cells: the cell hosts clawops prepared and the cell each instance on them
//! runs in (port and limits). Only the cell provider writes them.

use chrono::{DateTime, Utc};

use super::{CellHostState, Store, StoreError, ts};

/// A server prepared for cells.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CellHostRow {
    pub name: String,
    /// How clawops logs in: `ssh://root@ADDRESS:PORT`.
    pub target: String,
    /// The cloud it was bought from, when clawops bought it.
    pub provider: Option<String>,
    pub region: Option<String>,
    pub server_id: Option<String>,
    pub size: Option<String>,
    pub vcpus: i64,
    pub memory_mb: i64,
    pub monthly_cents: i64,
    pub currency: String,
    pub state: CellHostState,
    pub created_at: String,
}

/// What a new cell host is.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCellHost {
    pub name: String,
    pub target: String,
    pub provider: Option<String>,
    pub region: Option<String>,
    pub server_id: Option<String>,
    pub size: Option<String>,
    pub vcpus: i64,
    pub memory_mb: i64,
    pub monthly_cents: i64,
    pub currency: String,
}

/// One instance's cell.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CellRow {
    pub instance: String,
    pub host: String,
    pub port: i64,
    /// CPUs in thousandths (1500 = 1.5 CPUs).
    pub cpus_milli: i64,
    pub memory_mb: i64,
    pub pids: i64,
    pub disk_mb: Option<i64>,
    pub created_at: String,
}

impl Store {
    /// Records a prepared cell host (ready for cells).
    pub async fn add_cell_host(
        &self,
        new: &NewCellHost,
        now: DateTime<Utc>,
    ) -> Result<CellHostRow, StoreError> {
        sqlx::query(
            "INSERT INTO cell_hosts (name, target, provider, region, server_id, size, vcpus, memory_mb, monthly_cents, currency, state, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET target = excluded.target, vcpus = excluded.vcpus,
               memory_mb = excluded.memory_mb, server_id = excluded.server_id",
        )
        .bind(&new.name)
        .bind(&new.target)
        .bind(&new.provider)
        .bind(&new.region)
        .bind(&new.server_id)
        .bind(&new.size)
        .bind(new.vcpus)
        .bind(new.memory_mb)
        .bind(new.monthly_cents)
        .bind(&new.currency)
        .bind(CellHostState::Ready)
        .bind(ts(now))
        .execute(self.pool())
        .await?;
        Ok(
            sqlx::query_as::<_, CellHostRow>("SELECT * FROM cell_hosts WHERE name = ?")
                .bind(&new.name)
                .fetch_one(self.pool())
                .await?,
        )
    }

    /// Every cell host, by name.
    pub async fn cell_hosts(&self) -> Result<Vec<CellHostRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, CellHostRow>("SELECT * FROM cell_hosts ORDER BY name")
                .fetch_all(self.pool())
                .await?,
        )
    }

    pub async fn cell_host(&self, name: &str) -> Result<Option<CellHostRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, CellHostRow>("SELECT * FROM cell_hosts WHERE name = ?")
                .bind(name)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    pub async fn set_cell_host_state(
        &self,
        name: &str,
        state: CellHostState,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE cell_hosts SET state = ? WHERE name = ?")
            .bind(state)
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Forgets a cell host (it carries no cells).
    pub async fn remove_cell_host(&self, name: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM cell_hosts WHERE name = ?")
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Every cell, by host then port.
    pub async fn cells(&self) -> Result<Vec<CellRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, CellRow>("SELECT * FROM cells ORDER BY host, port")
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// Reserves a cell for `instance` on `host` at the lowest free port from `first`;
    /// an instance that has a cell on that host keeps it (a cell elsewhere stays too, until
    /// removed: a migration between hosts has two).
    #[allow(clippy::too_many_arguments)]
    pub async fn reserve_cell(
        &self,
        instance: &str,
        host: &str,
        first: i64,
        cpus_milli: i64,
        memory_mb: i64,
        pids: i64,
        disk_mb: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<CellRow, StoreError> {
        let mut tx = self.pool().begin().await?;
        let existing =
            sqlx::query_as::<_, CellRow>("SELECT * FROM cells WHERE instance = ? AND host = ?")
                .bind(instance)
                .bind(host)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(row) = existing {
            return Ok(row);
        }
        let used: Vec<(i64,)> = sqlx::query_as("SELECT port FROM cells WHERE host = ?")
            .bind(host)
            .fetch_all(&mut *tx)
            .await?;
        let port = (first..)
            .find(|p| !used.iter().any(|(u,)| u == p))
            .unwrap_or(first);
        sqlx::query(
            "INSERT INTO cells (instance, host, port, cpus_milli, memory_mb, pids, disk_mb, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(instance)
        .bind(host)
        .bind(port)
        .bind(cpus_milli)
        .bind(memory_mb)
        .bind(pids)
        .bind(disk_mb)
        .bind(ts(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(CellRow {
            instance: instance.to_string(),
            host: host.to_string(),
            port,
            cpus_milli,
            memory_mb,
            pids,
            disk_mb,
            created_at: ts(now),
        })
    }

    /// Forgets `instance`'s cell on `host` (its container and volume are gone).
    pub async fn remove_cell(&self, instance: &str, host: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM cells WHERE instance = ? AND host = ?")
            .bind(instance)
            .bind(host)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

/// A cell found over its limits, and whether clawops suspended it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AnomalyRow {
    pub id: i64,
    pub instance: String,
    pub reason: String,
    pub suspended: bool,
    pub at: String,
}

impl Store {
    pub async fn add_anomaly(
        &self,
        instance: &str,
        reason: &str,
        suspended: bool,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let id = sqlx::query(
            "INSERT INTO cell_anomalies (instance, reason, suspended, at) VALUES (?, ?, ?, ?)",
        )
        .bind(instance)
        .bind(reason)
        .bind(suspended)
        .bind(ts(now))
        .execute(self.pool())
        .await?
        .last_insert_rowid();
        Ok(id)
    }

    pub async fn anomaly(&self, id: i64) -> Result<Option<AnomalyRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, AnomalyRow>("SELECT * FROM cell_anomalies WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// `instance`'s newest anomaly.
    pub async fn last_anomaly(&self, instance: &str) -> Result<Option<AnomalyRow>, StoreError> {
        Ok(sqlx::query_as::<_, AnomalyRow>(
            "SELECT * FROM cell_anomalies WHERE instance = ? ORDER BY id DESC LIMIT 1",
        )
        .bind(instance)
        .fetch_optional(self.pool())
        .await?)
    }
}
