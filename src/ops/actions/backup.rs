//! `/backup NAME` and `/restore NAME BACKUP`: a tar.gz of the instance's OpenClaw state,
//! sealed by the vault and kept next to the store; restored onto the same instance or
//! another one (the migrate flow of the references).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::lifecycle::host_of;
use super::{INSTANCE, existing, place};
use crate::chat::Message;
use crate::config::Role;
use crate::monitor;
use crate::ops::catalogue::{Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::{BlastRadius, OpsError};
use crate::remote::{BACKUP_CAP, Host};
use crate::store::InstanceStatus;

/// What every backup is sealed as (not bound to an instance: it may be restored elsewhere).
const PURPOSE: &str = "backup";

/// Back an instance up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backup {
    pub name: String,
}

impl Command for Backup {
    const SPEC: Spec = Spec {
        name: "backup",
        summary: "Back up an instance's OpenClaw state (encrypted, kept by clawops)",
        params: &[INSTANCE],
        risk: Risk::Change,
        role: Role::Operator,
        example: "/backup alice-bot",
    };
}

impl Backup {
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let (row, host) = host_of(ctx, &self.name).await?;
        let (kept, plain) = take(ctx, &row.name, host.as_ref()).await?;
        let file = &kept.file;
        Ok(Message::default()
            .heading(format!("✓ Backup {} of {}", kept.id, row.name))
            .para(format!(
                "{} of OpenClaw state{}, encrypted, kept at {}.",
                size(plain),
                kept.openclaw_version
                    .as_deref()
                    .map(|v| format!(" (OpenClaw {v})"))
                    .unwrap_or_default(),
                file
            ))
            .para(format!(
                "/restore {} {} puts it back; /restore OTHER {} moves it to another instance.",
                row.name, kept.id, kept.id
            )))
    }
}

/// Takes a backup of `host` (instance `instance`): the archive is sealed as it arrives,
/// in chunks, straight into a new file next to the store, so it never sits whole in
/// memory or in the clear on disk; then it is recorded. Returns the row and the size of
/// the archive before sealing. A failed backup leaves no file.
pub async fn take(
    ctx: &Ctx,
    instance: &str,
    host: &dyn Host,
) -> Result<(crate::store::BackupRow, u64), OpsError> {
    let now = ctx.clock.now();
    let file = ctx.backups.join(format!(
        "{instance}-{}.tar.gz.sealed",
        now.format("%Y%m%dT%H%M%S%3f")
    ));
    let cannot = |e: std::io::Error| {
        OpsError::Refused(format!("cannot write the backup {}: {e}", file.display()))
    };
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(cannot)?;
    }
    let out = crate::vault::create_private(&file).map_err(cannot)?;
    let mut sealing = ctx.vault.sealing_writer(
        PURPOSE,
        Hashing {
            inner: std::io::BufWriter::new(out),
            hash: Sha256::new(),
            bytes: 0,
        },
    );
    let taken = host.backup(&mut sealing).await;
    let finished = taken.map_err(OpsError::from).and_then(|plain| {
        // finish() flushes the buffer; then the file reaches the disk.
        let hashing = sealing.finish().map_err(cannot)?;
        hashing.inner.get_ref().sync_all().map_err(cannot)?;
        Ok((plain, hashing))
    });
    let (plain, hashing) = match finished {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_file(&file);
            return Err(e);
        }
    };
    let version = host.versions().await.ok().and_then(|v| v.installed);
    let row = ctx
        .store
        .add_backup(
            instance,
            &file.display().to_string(),
            hashing.bytes as i64,
            &hex::encode(hashing.hash.finalize()),
            version.as_deref(),
            now,
        )
        .await?;
    Ok((row, plain))
}

/// Backup `id`, checked against the hash it was recorded with, and opened.
pub async fn load(ctx: &Ctx, id: u64) -> Result<(crate::store::BackupRow, Vec<u8>), OpsError> {
    let kept = ctx
        .store
        .backup(id as i64)
        .await?
        .ok_or_else(|| OpsError::Refused(format!("there is no backup {id}")))?;
    let unreadable = |e: std::io::Error| {
        OpsError::Refused(format!(
            "backup {} cannot be read from {}: {e}",
            kept.id, kept.file
        ))
    };
    let mut hashing = Hashing {
        inner: std::io::sink(),
        hash: Sha256::new(),
        bytes: 0,
    };
    let mut file = std::fs::File::open(&kept.file).map_err(unreadable)?;
    std::io::copy(&mut file, &mut hashing).map_err(unreadable)?;
    if hex::encode(hashing.hash.finalize()) != kept.sha256 {
        return Err(OpsError::Refused(format!(
            "backup {} at {} was changed since it was made; nothing restored",
            kept.id, kept.file
        )));
    }
    let file = std::fs::File::open(&kept.file).map_err(unreadable)?;
    let archive = ctx
        .vault
        .open_reader(PURPOSE, std::io::BufReader::new(file), BACKUP_CAP)
        .map_err(|e| OpsError::Refused(format!("backup {}: {e}", kept.id)))?;
    Ok((kept, archive))
}

/// Passes bytes on to `inner`, hashing and counting them.
struct Hashing<W: std::io::Write> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
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

/// Restore a backup onto an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Restore {
    pub name: String,
    pub backup: u64,
}

impl Command for Restore {
    const SPEC: Spec = Spec {
        name: "restore",
        summary: "Replace an instance's OpenClaw state with a backup (asks for a confirmation)",
        params: &[
            INSTANCE,
            Param {
                name: "backup",
                meta: "BACKUP",
                kind: Kind::Number {
                    min: 1,
                    max: i64::MAX as u64,
                },
                flag: false,
                required: true,
                help: "the backup's number, as /backup printed it",
            },
        ],
        risk: Risk::Destructive,
        role: Role::Operator,
        example: "/restore alice-bot 3",
    };
}

impl Restore {
    /// One instance whose current state is replaced (kept aside on the host).
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        let row = existing(&ctx.store, &self.name).await?;
        let kept = ctx.store.backup(self.backup as i64).await?.ok_or_else(|| {
            OpsError::Refused(format!(
                "there is no backup {}: /backup {} takes one",
                self.backup, row.name
            ))
        })?;
        let taken = chrono::DateTime::parse_from_rfc3339(&kept.created_at)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|_| kept.created_at.clone());
        Ok(BlastRadius {
            end_users: row.end_users.max(0) as u32,
            instances: vec![(row.name.clone(), place(&row))],
            monthly_cents: 0,
            currency: String::new(),
            reversible: false,
            loss: Some(format!(
                "the current state of {} is replaced by backup {} of {}, taken {taken}{} (a copy stays on the host in ~/.openclaw.before-restore until the next restore)",
                row.name,
                self.backup,
                kept.instance,
                kept.openclaw_version
                    .as_deref()
                    .map(|v| format!(" with OpenClaw {v}"))
                    .unwrap_or_default()
            )),
            billed: false,
            ..BlastRadius::default()
        })
    }

    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let (kept, archive) = load(ctx, self.backup).await?;
        let (row, host) = host_of(ctx, &self.name).await?;
        let said = host.restore(&archive).await?;
        ctx.store
            .set_instance_status(&row.name, InstanceStatus::Ready, ctx.clock.now())
            .await?;
        let reading = host.probe().await.ok();
        let (state, score, why) = monitor::assess(reading.as_ref());
        ctx.store
            .set_instance_health(
                &row.name,
                state.as_str(),
                score.into(),
                &why.join(", "),
                ctx.clock.now(),
            )
            .await?;
        Ok(Message::default()
            .heading(format!(
                "✓ Backup {} of {} restored onto {}",
                kept.id, kept.instance, row.name
            ))
            .para(said)
            .para(format!("Health: {} ({score}/100)", state.as_str())))
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / (1 << 10) as f64),
        b => format!("{b} bytes"),
    }
}
