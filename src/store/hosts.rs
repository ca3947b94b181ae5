//! Rows of real hosts: instance SSH keys and other secrets (stored sealed: this module
//! never sees a plain secret), pinned host keys, and backups.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, ts};

/// An instance's SSH key pair, the private half sealed.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct KeyRow {
    pub instance: String,
    pub public_key: String,
    pub private_sealed: Vec<u8>,
    pub created_at: String,
}

/// A host key pinned on first contact.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct HostKeyRow {
    pub target: String,
    pub public_key: String,
    pub fingerprint: String,
    pub first_seen: String,
}

/// One backup: on this machine, in the bucket, or both.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BackupRow {
    pub id: i64,
    pub kind: super::BackupKind,
    pub instance: String,
    /// The sealed archive on this machine, while kept.
    pub file: Option<String>,
    /// Its object key in the bucket, once uploaded.
    pub remote: Option<String>,
    pub bytes: i64,
    /// SHA-256 of the sealed archive.
    pub sha256: String,
    /// The vault purpose it is sealed as.
    pub sealed_as: String,
    pub openclaw_version: Option<String>,
    pub created_at: String,
}

impl BackupRow {
    /// When it was taken.
    pub fn taken(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.created_at)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// Where it is, in words: "here", "off-host", "here and off-host".
    pub fn places(&self) -> &'static str {
        match (self.file.is_some(), self.remote.is_some()) {
            (true, true) => "here and off-host",
            (true, false) => "here",
            (false, true) => "off-host",
            (false, false) => "nowhere",
        }
    }
}

/// A backup to record.
#[derive(Debug, Clone)]
pub struct NewBackup<'a> {
    pub kind: super::BackupKind,
    pub instance: &'a str,
    pub file: Option<&'a str>,
    pub bytes: i64,
    pub sha256: &'a str,
    pub sealed_as: &'a str,
    pub openclaw_version: Option<&'a str>,
}

impl Store {
    /// The instance's key pair, if one was made.
    pub async fn instance_key(&self, instance: &str) -> Result<Option<KeyRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, KeyRow>("SELECT * FROM instance_keys WHERE instance = ?")
                .bind(instance)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Records the instance's key pair unless one exists; returns the one kept.
    pub async fn keep_instance_key(
        &self,
        instance: &str,
        public_key: &str,
        private_sealed: &[u8],
        now: DateTime<Utc>,
    ) -> Result<KeyRow, StoreError> {
        sqlx::query(
            "INSERT INTO instance_keys (instance, public_key, private_sealed, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(instance) DO NOTHING",
        )
        .bind(instance)
        .bind(public_key)
        .bind(private_sealed)
        .bind(ts(now))
        .execute(self.pool())
        .await?;
        self.instance_key(instance)
            .await?
            .ok_or(StoreError::Corrupt {
                what: "instance key",
                detail: format!("the key of {instance} vanished after insert"),
            })
    }

    /// Forgets one secret of an instance.
    pub async fn forget_instance_secret(
        &self,
        instance: &str,
        name: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM instance_secrets WHERE instance = ? AND name = ?")
            .bind(instance)
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Forgets an instance's key and secrets (after a destroy).
    pub async fn forget_instance_secrets(&self, instance: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM instance_keys WHERE instance = ?")
            .bind(instance)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM instance_secrets WHERE instance = ?")
            .bind(instance)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The host key pinned for `target`.
    pub async fn host_key(&self, target: &str) -> Result<Option<HostKeyRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, HostKeyRow>("SELECT * FROM host_keys WHERE target = ?")
                .bind(target)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Pins `target`'s host key unless one is pinned already.
    pub async fn pin_host_key(
        &self,
        target: &str,
        public_key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO host_keys (target, public_key, fingerprint, first_seen) VALUES (?, ?, ?, ?) ON CONFLICT(target) DO NOTHING",
        )
        .bind(target)
        .bind(public_key)
        .bind(fingerprint)
        .bind(ts(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Drops the pin of `target`; returns whether there was one.
    pub async fn unpin_host_key(&self, target: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM host_keys WHERE target = ?")
            .bind(target)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// A sealed secret of an instance.
    pub async fn instance_secret(
        &self,
        instance: &str,
        name: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT sealed FROM instance_secrets WHERE instance = ? AND name = ?",
        )
        .bind(instance)
        .bind(name)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Sets a sealed secret of an instance.
    pub async fn set_instance_secret(
        &self,
        instance: &str,
        name: &str,
        sealed: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO instance_secrets (instance, name, sealed, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(instance, name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at",
        )
        .bind(instance)
        .bind(name)
        .bind(sealed)
        .bind(ts(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records a backup.
    pub async fn add_backup(
        &self,
        new: &NewBackup<'_>,
        now: DateTime<Utc>,
    ) -> Result<BackupRow, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO backups (kind, instance, file, bytes, sha256, sealed_as, openclaw_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(new.kind)
        .bind(new.instance)
        .bind(new.file)
        .bind(new.bytes)
        .bind(new.sha256)
        .bind(new.sealed_as)
        .bind(new.openclaw_version)
        .bind(ts(now))
        .fetch_one(self.pool())
        .await?;
        self.backup(id).await?.ok_or(StoreError::Corrupt {
            what: "backup",
            detail: format!("backup {id} vanished after insert"),
        })
    }

    /// Notes where a backup went in the bucket.
    pub async fn set_backup_remote(&self, id: i64, key: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE backups SET remote = ? WHERE id = ?")
            .bind(key)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Notes that a backup's copy on this machine was removed.
    pub async fn drop_backup_file(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE backups SET file = NULL WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Forgets a backup whose copies were deleted.
    pub async fn delete_backup(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM backups WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Every backup, by owner then oldest first.
    pub async fn all_backups(&self) -> Result<Vec<BackupRow>, StoreError> {
        Ok(sqlx::query_as::<_, BackupRow>(
            "SELECT * FROM backups ORDER BY kind, instance, created_at, id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// One backup by id.
    pub async fn backup(&self, id: i64) -> Result<Option<BackupRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, BackupRow>("SELECT * FROM backups WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// The backups of an instance, newest first.
    pub async fn backups(&self, instance: &str) -> Result<Vec<BackupRow>, StoreError> {
        Ok(sqlx::query_as::<_, BackupRow>(
            "SELECT * FROM backups WHERE instance = ? AND kind = 'instance' ORDER BY created_at DESC, id DESC",
        )
        .bind(instance)
        .fetch_all(self.pool())
        .await?)
    }
}
