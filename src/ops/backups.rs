//! Backups as clawops keeps them: taking one (the archive sealed under the instance's own
//! key as it streams in, so it never sits whole in memory or in the clear on disk),
//! copying it off-host, fetching and checking one for a restore (hash, then seal), the
//! retention that prunes them, clawops' own store backup, and the nightly `backups` job.
//!
//! The commands (`/backup`, `/backups`, `/restore`, `/recover`) live in `ops::actions`;
//! the bucket itself in `offsite`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::config::BackupsConfig;
use crate::offsite::Offsite;
use crate::ops::OpsError;
use crate::ops::door::Ctx;
use crate::remote::{BACKUP_CAP, Host};
use crate::store::{BackupKind, BackupRow, InstanceStatus, NewBackup};

/// What backups of clawops' own store are sealed as.
pub const STORE_PURPOSE: &str = "store-backup";
/// The name the store's backups are kept under.
pub const STORE_OWNER: &str = "clawops";
/// Where in the bucket the store's backups go (under the prefix).
pub const STORE_FOLDER: &str = "clawops/store/";
/// The members of a store backup.
pub const STORE_MEMBER: &str = "clawops.db";
pub const WITNESS_MEMBER: &str = "clawops.audit-head";
/// The largest store backup opened.
const STORE_CAP: usize = 4 << 30;

/// What an instance's backups are sealed as: a key of its own, derived from the master
/// key, so forgetting the instance's other secrets never makes its kept backups unreadable.
pub fn purpose(instance: &str) -> String {
    format!("backup:{instance}")
}

/// The object key of a backup in the bucket (under the prefix): owner, time, content hash.
fn object_name(row: &BackupRow) -> String {
    let when = row
        .taken()
        .map(|t| t.format("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_else(|| row.created_at.clone());
    match row.kind {
        BackupKind::Instance => format!(
            "instances/{}/{}-{when}-{}.tar.gz.sealed",
            row.instance, row.instance, row.sha256
        ),
        BackupKind::Store => format!("{STORE_FOLDER}{when}-{}.tar.sealed", row.sha256),
    }
}

/// The bucket, or why there is none.
pub fn offsite(ctx: &Ctx) -> Result<&Offsite, OpsError> {
    ctx.offsite.as_ref().ok_or_else(|| {
        OpsError::Refused(
            "no off-host target: set [backups] (an S3-compatible bucket) in the config".into(),
        )
    })
}

/// Takes a backup of `host` (instance `instance`) into a new sealed file next to the store
/// and records it. Returns the row and the size before sealing. A failed backup leaves no
/// file.
pub async fn take(
    ctx: &Ctx,
    instance: &str,
    host: &dyn Host,
) -> Result<(BackupRow, u64), OpsError> {
    let now = ctx.clock.now();
    let file = ctx.backups.join(format!(
        "{instance}-{}.tar.gz.sealed",
        now.format("%Y%m%dT%H%M%S%3f")
    ));
    let sealed_as = purpose(instance);
    let mut sealed = SealedFile::create(ctx, &file, &sealed_as)?;
    let plain = host.backup(sealed.sink()).await?;
    let hashed = sealed.finish()?;
    let version = host.versions().await.ok().and_then(|v| v.installed);
    let row = ctx
        .store
        .add_backup(
            &NewBackup {
                kind: BackupKind::Instance,
                instance,
                file: Some(&file.display().to_string()),
                bytes: hashed.bytes as i64,
                sha256: &hashed.hex(),
                sealed_as: &sealed_as,
                openclaw_version: version.as_deref(),
            },
            now,
        )
        .await?;
    Ok((row, plain))
}

/// A new private file being sealed into, as one purpose. Dropped unfinished, the file
/// is removed.
struct SealedFile {
    path: PathBuf,
    writer: Option<crate::vault::SealingWriter<Hashing<std::io::BufWriter<std::fs::File>>>>,
}

impl SealedFile {
    fn create(ctx: &Ctx, path: &Path, purpose: &str) -> Result<SealedFile, OpsError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| cannot_write(path, e))?;
        }
        let out = crate::vault::create_private(path).map_err(|e| cannot_write(path, e))?;
        Ok(SealedFile {
            path: path.to_path_buf(),
            writer: Some(ctx.vault.sealing_writer(
                purpose,
                Hashing {
                    inner: std::io::BufWriter::new(out),
                    hash: Sha256::new(),
                    bytes: 0,
                },
            )),
        })
    }

    fn sink(&mut self) -> &mut (dyn Write + Send) {
        self.writer
            .as_mut()
            .expect("a sealed file is written until finished")
    }

    /// The last chunk sealed and the file on the disk.
    fn finish(mut self) -> Result<Hashed, OpsError> {
        let writer = self.writer.take().expect("finished once");
        let hashing = writer.finish().map_err(|e| cannot_write(&self.path, e))?;
        hashing
            .inner
            .get_ref()
            .sync_all()
            .map_err(|e| cannot_write(&self.path, e))?;
        let done = Hashed {
            hash: hashing.hash,
            bytes: hashing.bytes,
        };
        // Kept: the file is whole.
        self.path = PathBuf::new();
        Ok(done)
    }
}

impl Drop for SealedFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn cannot_write(path: &Path, e: std::io::Error) -> OpsError {
    OpsError::Refused(format!("cannot write the backup {}: {e}", path.display()))
}

/// The newest backup of `instance` that is in the bucket, or why there is none.
pub async fn newest_offsite(ctx: &Ctx, instance: &str) -> Result<BackupRow, OpsError> {
    ctx.store
        .backups(instance)
        .await?
        .into_iter()
        .find(|b| b.remote.is_some())
        .ok_or_else(|| {
            OpsError::Refused(format!(
                "{instance} has no off-host backup: nothing to recover it from"
            ))
        })
}

/// Copies a backup to the bucket and notes where it went.
pub async fn ship(ctx: &Ctx, row: &BackupRow) -> Result<String, OpsError> {
    let offsite = offsite(ctx)?;
    let file = row
        .file
        .as_deref()
        .ok_or_else(|| OpsError::Refused(format!("backup {} has no copy here to send", row.id)))?;
    let key = offsite.key(&object_name(row));
    offsite
        .upload(Path::new(file), &key)
        .await
        .map_err(|e| OpsError::Refused(format!("backup {} was not sent off-host: {e}", row.id)))?;
    ctx.store.set_backup_remote(row.id, &key).await?;
    Ok(key)
}

/// Backup `id`, checked against the hash it was recorded with, and opened: from this
/// machine when its copy is here, else fetched from the bucket.
pub async fn load(ctx: &Ctx, id: u64) -> Result<(BackupRow, Vec<u8>), OpsError> {
    let kept = ctx
        .store
        .backup(id as i64)
        .await?
        .filter(|b| b.kind == BackupKind::Instance)
        .ok_or_else(|| OpsError::Refused(format!("there is no backup {id}")))?;
    let (file, fetched) = match kept.file.as_deref().filter(|f| Path::new(f).exists()) {
        Some(file) => (PathBuf::from(file), false),
        None => {
            let key = kept.remote.as_deref().ok_or_else(|| {
                OpsError::Refused(format!(
                    "backup {} is gone: its file {} is missing and it was never sent off-host",
                    kept.id,
                    kept.file.as_deref().unwrap_or("?")
                ))
            })?;
            let to = ctx.backups.join(format!(".fetch-{}", kept.id));
            std::fs::create_dir_all(&ctx.backups).map_err(|e| {
                OpsError::Refused(format!("cannot make {}: {e}", ctx.backups.display()))
            })?;
            offsite(ctx)?.download(key, &to).await.map_err(|e| {
                OpsError::Refused(format!("backup {} cannot be fetched: {e}", kept.id))
            })?;
            (to, true)
        }
    };
    let opened = open_checked(ctx, &kept, &file);
    if fetched {
        let _ = std::fs::remove_file(&file);
    }
    Ok((kept, opened?))
}

/// Checks `file` against the row's hash, then opens its seal.
fn open_checked(ctx: &Ctx, kept: &BackupRow, file: &Path) -> Result<Vec<u8>, OpsError> {
    let unreadable = |e: std::io::Error| {
        OpsError::Refused(format!(
            "backup {} cannot be read from {}: {e}",
            kept.id,
            file.display()
        ))
    };
    if sha256_of(file).map_err(unreadable)? != kept.sha256 {
        return Err(OpsError::Refused(format!(
            "backup {} ({}) was changed since it was made: its hash does not match; nothing restored",
            kept.id,
            kept.remote
                .as_deref()
                .unwrap_or(&file.display().to_string())
        )));
    }
    let input = std::fs::File::open(file).map_err(unreadable)?;
    ctx.vault
        .open_reader(&kept.sealed_as, std::io::BufReader::new(input), BACKUP_CAP)
        .map_err(|e| OpsError::Refused(format!("backup {}: {e}; nothing restored", kept.id)))
}

/// The SHA-256 of a file, in hex.
pub fn sha256_of(file: &Path) -> std::io::Result<String> {
    let mut hashing = Hashing {
        inner: std::io::sink(),
        hash: Sha256::new(),
        bytes: 0,
    };
    std::io::copy(&mut std::fs::File::open(file)?, &mut hashing)?;
    Ok(hex::encode(hashing.hash.finalize()))
}

/// A hash and a count, once sealing is done.
struct Hashed {
    hash: Sha256,
    bytes: u64,
}

impl Hashed {
    fn hex(&self) -> String {
        hex::encode(self.hash.clone().finalize())
    }
}

/// Passes bytes on to `inner`, hashing and counting them.
struct Hashing<W: Write> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// How many backups are kept: the newest of each of the last `daily` days, `weekly` ISO
/// weeks and `monthly` months that have one (days, weeks and months in UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
}

impl From<&BackupsConfig> for Retention {
    fn from(c: &BackupsConfig) -> Retention {
        Retention {
            daily: c.keep_daily,
            weekly: c.keep_weekly,
            monthly: c.keep_monthly,
        }
    }
}

impl Retention {
    /// The ids kept of one owner's backups (`(id, taken)`, any order). The newest is
    /// always kept.
    pub fn keep(&self, backups: &[(i64, DateTime<Utc>)]) -> BTreeSet<i64> {
        let mut newest_first: Vec<(i64, DateTime<Utc>)> = backups.to_vec();
        newest_first.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
        let mut kept = BTreeSet::new();
        kept.extend(newest_first.first().map(|b| b.0));
        let day = |t: &DateTime<Utc>| (t.year(), t.ordinal(), 0u8);
        let week = |t: &DateTime<Utc>| {
            let w = t.iso_week();
            (w.year(), w.week(), 1u8)
        };
        let month = |t: &DateTime<Utc>| (t.year(), t.month(), 2u8);
        for (count, bucket) in [
            (
                self.daily,
                &day as &dyn Fn(&DateTime<Utc>) -> (i32, u32, u8),
            ),
            (self.weekly, &week),
            (self.monthly, &month),
        ] {
            let mut seen = BTreeSet::new();
            for (id, taken) in &newest_first {
                if seen.len() >= count as usize {
                    break;
                }
                // The first (newest) of each bucket.
                if seen.insert(bucket(taken)) {
                    kept.insert(*id);
                }
            }
        }
        kept
    }
}

/// What one prune did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Pruned {
    /// Backups deleted (both copies).
    pub deleted: usize,
    /// Local copies removed (the backup stays off-host).
    pub local_dropped: usize,
    /// What could not be deleted, and why.
    pub problems: Vec<String>,
}

/// Deletes the backups retention no longer keeps (off-host and here), the backups of
/// instances that are gone once `keep_destroyed` has passed since their newest, and the
/// local copies beyond `keep_local` of the ones sent off-host.
pub async fn prune(ctx: &Ctx, now: DateTime<Utc>) -> Result<Pruned, OpsError> {
    let offsite = offsite(ctx)?;
    let config = ctx
        .config
        .backups
        .as_ref()
        .ok_or_else(|| OpsError::Refused("no [backups] in the config".into()))?;
    let retention = Retention::from(config);
    let keep_destroyed = Duration::from_std(config.keep_destroyed).unwrap_or(Duration::MAX);
    let live: BTreeSet<String> = ctx
        .store
        .fleet()
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let mut owners: BTreeMap<(BackupKind, String), Vec<BackupRow>> = BTreeMap::new();
    for row in ctx.store.all_backups().await? {
        owners
            .entry((row.kind, row.instance.clone()))
            .or_default()
            .push(row);
    }
    let mut done = Pruned::default();
    for ((kind, owner), rows) in owners {
        let dated: Vec<(i64, DateTime<Utc>)> = rows
            .iter()
            .map(|r| (r.id, r.taken().unwrap_or(now)))
            .collect();
        let gone = kind == BackupKind::Instance && !live.contains(&owner);
        let keep: BTreeSet<i64> = if gone {
            let newest = dated.iter().map(|d| d.1).max().unwrap_or(now);
            if now - newest >= keep_destroyed {
                BTreeSet::new()
            } else {
                dated.iter().map(|d| d.0).collect()
            }
        } else {
            retention.keep(&dated)
        };
        // Newest first, for keep_local.
        let mut kept_here = 0u32;
        for row in rows.iter().rev() {
            if !keep.contains(&row.id) {
                match delete(ctx, offsite, row).await {
                    Ok(()) => done.deleted += 1,
                    Err(e) => done.problems.push(e),
                }
                continue;
            }
            if row.file.is_some() && row.remote.is_some() {
                kept_here += 1;
                if kept_here > config.keep_local {
                    drop_local(ctx, row).await?;
                    done.local_dropped += 1;
                }
            }
        }
    }
    Ok(done)
}

/// Deletes both copies of a backup, then its row (the row stays while a copy does).
async fn delete(ctx: &Ctx, offsite: &Offsite, row: &BackupRow) -> Result<(), String> {
    if let Some(key) = &row.remote {
        offsite
            .delete(key)
            .await
            .map_err(|e| format!("backup {} of {}: {e}", row.id, row.instance))?;
    }
    if let Some(file) = &row.file {
        remove_if_there(file)
            .map_err(|e| format!("backup {} of {}: {file}: {e}", row.id, row.instance))?;
    }
    ctx.store
        .delete_backup(row.id)
        .await
        .map_err(|e| format!("backup {}: {e}", row.id))
}

async fn drop_local(ctx: &Ctx, row: &BackupRow) -> Result<(), OpsError> {
    if let Some(file) = &row.file {
        remove_if_there(file)
            .map_err(|e| OpsError::Refused(format!("cannot remove the local copy {file}: {e}")))?;
    }
    ctx.store.drop_backup_file(row.id).await?;
    Ok(())
}

/// Removes a file; one already gone counts as removed.
fn remove_if_there(file: &str) -> std::io::Result<()> {
    match std::fs::remove_file(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Backs up clawops' own store (a consistent snapshot) and the audit witness beside it,
/// sealed as one tar, and sends it off-host. The master key never goes with it.
pub async fn back_up_store(ctx: &Ctx) -> Result<BackupRow, OpsError> {
    let now = ctx.clock.now();
    let work = ctx
        .backups
        .join(format!(".store-{}", now.format("%Y%m%dT%H%M%S%3f")));
    let cannot = |e: std::io::Error| {
        OpsError::Refused(format!(
            "cannot stage the store's backup in {}: {e}",
            work.display()
        ))
    };
    std::fs::create_dir_all(&work).map_err(cannot)?;
    let result = async {
        // The witness first: it may lag the snapshot (a row written between), as after a
        // crash, which the verifier accepts; never name a row the snapshot lacks.
        let witness = work.join(WITNESS_MEMBER);
        let live_witness = crate::audit::witness_path(&ctx.config.store.path);
        if live_witness.exists() {
            std::fs::copy(&live_witness, &witness).map_err(cannot)?;
        }
        let snapshot = work.join(STORE_MEMBER);
        ctx.store.snapshot(&snapshot).await?;
        let file = ctx.backups.join(format!(
            "{STORE_OWNER}-{}.tar.sealed",
            now.format("%Y%m%dT%H%M%S%3f")
        ));
        let mut sealed = SealedFile::create(ctx, &file, STORE_PURPOSE)?;
        {
            let mut tar = tar::Builder::new(sealed.sink());
            tar.append_path_with_name(&snapshot, STORE_MEMBER)
                .map_err(cannot)?;
            if witness.exists() {
                tar.append_path_with_name(&witness, WITNESS_MEMBER)
                    .map_err(cannot)?;
            }
            tar.finish().map_err(cannot)?;
        }
        let hashed = sealed.finish()?;
        let row = ctx
            .store
            .add_backup(
                &NewBackup {
                    kind: BackupKind::Store,
                    instance: STORE_OWNER,
                    file: Some(&file.display().to_string()),
                    bytes: hashed.bytes as i64,
                    sha256: &hashed.hex(),
                    sealed_as: STORE_PURPOSE,
                    openclaw_version: None,
                },
                now,
            )
            .await?;
        ship(ctx, &row).await?;
        Ok(row)
    }
    .await;
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// What a nightly run did.
#[derive(Debug, Default)]
pub struct Night {
    pub backed_up: Vec<(String, u64)>,
    pub skipped: Vec<(String, String)>,
    pub failed: Vec<(String, String)>,
    pub store: Option<Result<u64, String>>,
    pub pruned: Option<Pruned>,
}

impl std::fmt::Display for Night {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bytes: u64 = self.backed_up.iter().map(|b| b.1).sum();
        write!(
            f,
            "{} backed up off-host ({})",
            crate::ops::alerts::count(self.backed_up.len(), "instance"),
            size(bytes)
        )?;
        match &self.store {
            Some(Ok(_)) => write!(f, ", clawops' store too")?,
            Some(Err(e)) => write!(f, "; clawops' store FAILED: {e}")?,
            None => {}
        }
        if !self.skipped.is_empty() {
            let names: Vec<String> = self
                .skipped
                .iter()
                .map(|(n, why)| format!("{n} ({why})"))
                .collect();
            write!(f, "; skipped {}", names.join(", "))?;
        }
        if let Some(p) = &self.pruned {
            write!(f, "; {} pruned", p.deleted)?;
            if !p.problems.is_empty() {
                write!(
                    f,
                    " ({} could not be: {})",
                    p.problems.len(),
                    p.problems.join("; ")
                )?;
            }
        }
        if !self.failed.is_empty() {
            let names: Vec<String> = self
                .failed
                .iter()
                .map(|(n, why)| format!("{n}: {why}"))
                .collect();
            write!(f, "; {} FAILED: {}", self.failed.len(), names.join("; "))?;
        }
        Ok(())
    }
}

impl Night {
    pub fn failures(&self) -> usize {
        self.failed.len()
            + usize::from(matches!(self.store, Some(Err(_))))
            + self.pruned.as_ref().map(|p| p.problems.len()).unwrap_or(0)
    }
}

/// The nightly `backups` job: every ready instance (standbys are copies: not theirs),
/// each under its own lock, backed up and sent off-host; then clawops' own store; then the
/// prune. Failures are said, counted, and posted to the ops channels that get alerts.
pub async fn nightly(ctx: &Ctx) -> Result<Night, OpsError> {
    offsite(ctx)?;
    let mut night = Night::default();
    for row in ctx.store.fleet().await? {
        if row.status != InstanceStatus::Ready || row.standby_of.is_some() {
            continue;
        }
        let Ok(_held) =
            ctx.locks
                .try_take(std::slice::from_ref(&row.name), "backups", ctx.clock.now())
        else {
            night.skipped.push((row.name.clone(), "busy".into()));
            continue;
        };
        let one = async {
            let cloud = ctx.providers.get(&row.provider)?;
            let server = row
                .server_id
                .as_deref()
                .ok_or_else(|| OpsError::Refused("no server recorded".into()))?;
            let host = cloud.host(&row.name, server, row.ipv4.as_deref());
            let (kept, _) = take(ctx, &row.name, host.as_ref()).await?;
            ship(ctx, &kept).await?;
            Ok::<u64, OpsError>(kept.bytes as u64)
        };
        match one.await {
            Ok(bytes) => night.backed_up.push((row.name.clone(), bytes)),
            Err(e) => night.failed.push((row.name.clone(), e.to_string())),
        }
    }
    night.store = Some(
        back_up_store(ctx)
            .await
            .map(|r| r.bytes as u64)
            .map_err(|e| e.to_string()),
    );
    night.pruned = Some(prune(ctx, ctx.clock.now()).await?);
    if night.failures() > 0 {
        let said = crate::chat::Message::default()
            .heading("⚠️ Nightly backups: not all went through")
            .para(night.to_string());
        crate::ops::alerts::announce(
            ctx,
            crate::config::Feed::Alerts,
            crate::chat::Outbound::Message(said),
            false,
        )
        .await;
    }
    Ok(night)
}

/// A size for people.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / (1 << 10) as f64),
        b => format!("{b} bytes"),
    }
}

/// A store backup fetched and opened by `clawops restore-store`: the newest in the bucket,
/// its hash checked against its name, its seal opened, its two files written into
/// `store_path`'s folder. Refuses to overwrite an existing store.
pub async fn restore_store(
    offsite: &Offsite,
    vault: &crate::vault::Vault,
    store_path: &Path,
) -> Result<String, OpsError> {
    if store_path.exists() {
        return Err(OpsError::Refused(format!(
            "{} exists: restore-store only fills an empty place (move the old store away first)",
            store_path.display()
        )));
    }
    let objects = offsite
        .list(STORE_FOLDER)
        .await
        .map_err(|e| OpsError::Refused(e.to_string()))?;
    let newest = objects
        .iter()
        .rev()
        .find(|o| o.key.ends_with(".tar.sealed"))
        .ok_or_else(|| {
            OpsError::Refused(format!(
                "no store backup in {}/{STORE_FOLDER}",
                offsite.describe()
            ))
        })?;
    let expected = newest
        .key
        .trim_end_matches(".tar.sealed")
        .rsplit('-')
        .next()
        .unwrap_or_default()
        .to_string();
    let dir = store_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| OpsError::Refused(format!("cannot make {}: {e}", dir.display())))?;
    let fetched = dir.join(".restore-store.sealed");
    offsite
        .download(&newest.key, &fetched)
        .await
        .map_err(|e| OpsError::Refused(e.to_string()))?;
    let opened = (|| {
        let hash = sha256_of(&fetched)
            .map_err(|e| OpsError::Refused(format!("cannot read {}: {e}", fetched.display())))?;
        if hash != expected {
            return Err(OpsError::Refused(format!(
                "{} was changed since it was made: its hash does not match its name; nothing restored",
                newest.key
            )));
        }
        let input = std::fs::File::open(&fetched)
            .map_err(|e| OpsError::Refused(format!("cannot read {}: {e}", fetched.display())))?;
        vault
            .open_reader(STORE_PURPOSE, std::io::BufReader::new(input), STORE_CAP)
            .map_err(|e| OpsError::Refused(format!("the store backup: {e}; nothing restored")))
    })();
    let _ = std::fs::remove_file(&fetched);
    let tar_bytes = opened?;
    let witness = crate::audit::witness_path(store_path);
    let mut archive = tar::Archive::new(std::io::Cursor::new(tar_bytes));
    let mut wrote = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| OpsError::Refused(format!("the store backup is not a tar: {e}")))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| OpsError::Refused(format!("the store backup is damaged: {e}")))?;
        let name = entry
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let to = match name.as_str() {
            STORE_MEMBER => store_path.to_path_buf(),
            WITNESS_MEMBER => witness.clone(),
            other => {
                return Err(OpsError::Refused(format!(
                    "the store backup holds an unexpected {other:?}; nothing more restored"
                )));
            }
        };
        let mut out = crate::vault::create_private(&to)
            .map_err(|e| OpsError::Refused(format!("cannot write {}: {e}", to.display())))?;
        std::io::copy(&mut entry, &mut out)
            .and_then(|_| out.sync_all())
            .map_err(|e| OpsError::Refused(format!("cannot write {}: {e}", to.display())))?;
        wrote.push(to.display().to_string());
    }
    Ok(format!(
        "{} ({}, {}) restored into {}",
        newest.key,
        size(newest.bytes),
        newest.modified.format("%Y-%m-%d %H:%M UTC"),
        wrote.join(" and ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn night(day: u32, month: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, month, day, 2, 15, 0).unwrap()
    }

    #[test]
    fn retention_keeps_the_newest_of_each_day_week_and_month() {
        let policy = Retention {
            daily: 2,
            weekly: 2,
            monthly: 2,
        };
        // Mon 2026-11-30 twice, Sun 11-29, Sat 11-28, Sun 11-22, 10-31, 09-30.
        let backups = vec![
            (1, night(30, 9)),
            (2, night(31, 10)),
            (3, night(22, 11)),
            (4, night(28, 11)),
            (5, night(29, 11)),
            (6, night(30, 11)),
            (7, night(30, 11) + Duration::hours(3)),
        ];
        let kept = policy.keep(&backups);
        // Days: 7 (Mon, newest of the two), 5 (Sun). Weeks: 7 (week 49), 5 (week 48).
        // Months: 7 (November), 2 (October).
        assert_eq!(kept, BTreeSet::from([2, 5, 7]));
    }

    #[test]
    fn retention_always_keeps_the_newest() {
        let policy = Retention {
            daily: 0,
            weekly: 0,
            monthly: 0,
        };
        assert_eq!(
            policy.keep(&[(1, night(1, 1)), (2, night(2, 1))]),
            BTreeSet::from([2])
        );
    }
}
