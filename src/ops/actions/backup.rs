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
        let archive = host.backup().await?;
        let version = host.versions().await.ok().and_then(|v| v.installed);
        let kept = keep(ctx, &row.name, &archive, version.as_deref()).await?;
        let file = &kept.file;
        Ok(Message::default()
            .heading(format!("✓ Backup {} of {}", kept.id, row.name))
            .para(format!(
                "{} of OpenClaw state{}, encrypted, kept at {}.",
                size(archive.len()),
                version
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

/// Seals `archive` (an instance's OpenClaw state), writes it next to the store and
/// records it; `version` is the OpenClaw version it was made with.
pub async fn keep(
    ctx: &Ctx,
    instance: &str,
    archive: &[u8],
    version: Option<&str>,
) -> Result<crate::store::BackupRow, OpsError> {
    let sealed = ctx.vault.seal(PURPOSE, archive);
    let now = ctx.clock.now();
    let file = ctx.backups.join(format!(
        "{instance}-{}.tar.gz.sealed",
        now.format("%Y%m%dT%H%M%S%3f")
    ));
    crate::vault::write_private(&file, &sealed).map_err(|e| {
        OpsError::Refused(format!("cannot write the backup {}: {e}", file.display()))
    })?;
    let sha = hex::encode(Sha256::digest(&sealed));
    Ok(ctx
        .store
        .add_backup(
            instance,
            &file.display().to_string(),
            sealed.len() as i64,
            &sha,
            version,
            now,
        )
        .await?)
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
        Ok(BlastRadius {
            end_users: row.end_users.max(0) as u32,
            instances: vec![(row.name.clone(), place(&row))],
            monthly_cents: 0,
            currency: String::new(),
            reversible: false,
            loss: Some(format!(
                "the current state of {} is replaced by backup {} (a copy stays on the host in ~/.openclaw.before-restore until the next restore)",
                row.name, self.backup
            )),
            billed: false,
        })
    }

    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let kept = ctx
            .store
            .backup(self.backup as i64)
            .await?
            .ok_or_else(|| OpsError::Refused(format!("there is no backup {}", self.backup)))?;
        let sealed = std::fs::read(&kept.file).map_err(|e| {
            OpsError::Refused(format!(
                "backup {} cannot be read from {}: {e}",
                kept.id, kept.file
            ))
        })?;
        if hex::encode(Sha256::digest(&sealed)) != kept.sha256 {
            return Err(OpsError::Refused(format!(
                "backup {} at {} was changed since it was made; nothing restored",
                kept.id, kept.file
            )));
        }
        let archive = ctx
            .vault
            .open(PURPOSE, &sealed)
            .map_err(|e| OpsError::Refused(format!("backup {}: {e}", kept.id)))?;
        let (row, host) = host_of(ctx, &self.name).await?;
        let said = host.restore(&archive).await?;
        ctx.store
            .set_instance_status(&row.name, "ready", ctx.clock.now())
            .await?;
        let reading = host.probe().await.ok();
        let (state, score, _) = monitor::assess(reading.as_ref());
        ctx.store
            .set_instance_health(&row.name, state.as_str(), score.into(), ctx.clock.now())
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

fn size(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / (1 << 10) as f64),
        b => format!("{b} bytes"),
    }
}
