//! Rows of the `audit` table. Appending keeps the chain: the caller computes the hash from
//! the previous row's, inside one transaction so that two appends cannot share a parent.

use super::{Store, StoreError};

/// One audit row as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub event: String,
    pub action: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
    /// 1 when `hash` is the keyed HMAC; 0 for a row written before the chain was keyed.
    pub keyed: i64,
}

impl Store {
    /// Appends one row. `seal` gets the new row's sequence number and the previous row's
    /// hash (or the genesis value) and returns the row to insert.
    pub async fn append_audit(
        &self,
        genesis: &str,
        seal: impl FnOnce(i64, &str) -> AuditRow,
    ) -> Result<AuditRow, StoreError> {
        // BEGIN IMMEDIATE takes the write lock before reading the tip, so the read and the
        // insert are one step for every writer of this file.
        let mut conn = self.pool().acquire().await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let result = async {
            let tip: Option<(i64, String)> =
                sqlx::query_as("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&mut *conn)
                    .await?;
            let (seq, prev) = match &tip {
                Some((s, h)) => (s + 1, h.as_str()),
                None => (1, genesis),
            };
            let row = seal(seq, prev);
            sqlx::query(
                "INSERT INTO audit (seq, at, actor, event, action, detail, prev_hash, hash, keyed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(row.seq)
            .bind(&row.at)
            .bind(&row.actor)
            .bind(&row.event)
            .bind(&row.action)
            .bind(&row.detail)
            .bind(&row.prev_hash)
            .bind(&row.hash)
            .bind(row.keyed)
            .execute(&mut *conn)
            .await?;
            Ok::<_, sqlx::Error>(row)
        }
        .await;
        match result {
            Ok(row) => {
                sqlx::query("COMMIT").execute(&mut *conn).await?;
                Ok(row)
            }
            Err(e) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                Err(e.into())
            }
        }
    }

    /// The newest `limit` rows, oldest first.
    pub async fn audit_tail(&self, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        let mut rows =
            sqlx::query_as::<_, AuditRow>("SELECT * FROM audit ORDER BY seq DESC LIMIT ?")
                .bind(limit)
                .fetch_all(self.pool())
                .await?;
        rows.reverse();
        Ok(rows)
    }

    /// Rows from `after` (exclusive), in order, at most `limit`: for walking the chain.
    pub async fn audit_page(&self, after: i64, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, AuditRow>("SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?")
                .bind(after)
                .bind(limit)
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// How many rows were written before the chain was keyed.
    pub async fn unkeyed_audit_rows(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM audit WHERE keyed = 0")
                .fetch_one(self.pool())
                .await?,
        )
    }

    /// Replaces the links and hashes of `rows` (re-sealed), in one transaction.
    pub async fn reseal_audit(&self, rows: &[AuditRow]) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for row in rows {
            sqlx::query("UPDATE audit SET prev_hash = ?, hash = ?, keyed = ? WHERE seq = ?")
                .bind(&row.prev_hash)
                .bind(&row.hash)
                .bind(row.keyed)
                .bind(row.seq)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The row numbered `seq`.
    pub async fn audit_row(&self, seq: i64) -> Result<Option<AuditRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, AuditRow>("SELECT * FROM audit WHERE seq = ?")
                .bind(seq)
                .fetch_optional(self.pool())
                .await?,
        )
    }
}
