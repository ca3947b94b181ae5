//! `/backup NAME`, `/backups [NAME]` and `/restore NAME BACKUP`: an instance's OpenClaw
//! state as a sealed tar.gz, kept next to the store and, with `[backups]`, off-host too;
//! listed; restored onto the same instance or another one (from here or from the bucket,
//! checked by hash and seal first). The machinery is `ops::backups`.

use serde::{Deserialize, Serialize};

use super::lifecycle::host_of;
use super::{INSTANCE, existing, place};
use crate::chat::Message;
use crate::config::Role;
use crate::monitor;
use crate::ops::backups::{self, size};
use crate::ops::catalogue::{Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::{BlastRadius, OpsError};
use crate::store::{BackupKind, InstanceStatus};

/// Back an instance up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backup {
    pub name: String,
}

impl Command for Backup {
    const SPEC: Spec = Spec {
        name: "backup",
        summary: "Back up an instance's OpenClaw state (encrypted; off-host too with [backups])",
        params: &[INSTANCE],
        risk: Risk::Change,
        role: Role::Operator,
        example: "/backup alice-bot",
    };
}

impl Backup {
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let (row, host) = host_of(ctx, &self.name).await?;
        let (kept, plain) = backups::take(ctx, &row.name, host.as_ref()).await?;
        let here = kept.file.as_deref().unwrap_or("?");
        let offsite = match &ctx.offsite {
            None => "Kept on this machine only: set [backups] for an off-host copy.".to_string(),
            Some(_) => match backups::ship(ctx, &kept).await {
                Ok(key) => format!("Off-host copy: {key}."),
                Err(e) => format!("⚠️ {e}. The copy here is kept; the nightly job tries again."),
            },
        };
        Ok(Message::default()
            .heading(format!("✓ Backup {} of {}", kept.id, row.name))
            .para(format!(
                "{} of OpenClaw state{}, encrypted, kept at {here}.",
                size(plain),
                kept.openclaw_version
                    .as_deref()
                    .map(|v| format!(" (OpenClaw {v})"))
                    .unwrap_or_default(),
            ))
            .para(offsite)
            .para(format!(
                "/restore {} {} puts it back; /restore OTHER {} moves it to another instance.",
                row.name, kept.id, kept.id
            )))
    }
}

/// List the backups of an instance, or of the whole fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backups {
    #[serde(default)]
    pub name: Option<String>,
}

impl Command for Backups {
    const SPEC: Spec = Spec {
        name: "backups",
        summary: "List an instance's backups (where each is, its size and age), or each instance's newest",
        params: &[Param {
            required: false,
            help: "the instance (without: each instance's newest, and clawops' own store)",
            ..INSTANCE
        }],
        risk: Risk::Read,
        role: Role::Viewer,
        example: "/backups alice-bot",
    };
}

impl Backups {
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let now = ctx.clock.now();
        let age = |row: &crate::store::BackupRow| {
            row.taken()
                .map(|t| crate::ops::alerts::lasted(&crate::store::ts(t), now) + " ago")
                .unwrap_or_else(|| row.created_at.clone())
        };
        let line = |row: &crate::store::BackupRow| {
            format!(
                "{} · {} · {} · {}{}",
                row.id,
                age(row),
                size(row.bytes as u64),
                row.places(),
                row.openclaw_version
                    .as_deref()
                    .map(|v| format!(" · OpenClaw {v}"))
                    .unwrap_or_default()
            )
        };
        let target = match &ctx.offsite {
            Some(o) => format!("Off-host: {}.", o.describe()),
            None => "No off-host target: set [backups] to copy backups off this machine.".into(),
        };
        if let Some(name) = &self.name {
            let kept = ctx.store.backups(name).await?;
            if kept.is_empty() {
                // A destroyed instance's backups are kept a while and still listed; with
                // none, the name must be an instance.
                existing(&ctx.store, name).await?;
                return Ok(Message::text(format!(
                    "{name} has no backups: /backup {name} takes one. {target}"
                )));
            }
            let mut m = Message::default().heading(format!("Backups of {name}: {}", kept.len()));
            m = m.para(kept.iter().map(line).collect::<Vec<_>>().join("\n"));
            let recover = if ctx.offsite.is_some() {
                format!(
                    "; /recover {name} --to PROVIDER/REGION rebuilds it on a new server from the newest off-host one"
                )
            } else {
                String::new()
            };
            Ok(m.para(target)
                .para(format!("/restore {name} ID puts one back{recover}.")))
        } else {
            let mut newest: std::collections::BTreeMap<
                (BackupKind, String),
                (usize, crate::store::BackupRow),
            > = Default::default();
            for row in ctx.store.all_backups().await? {
                let e = newest
                    .entry((row.kind, row.instance.clone()))
                    .or_insert((0, row.clone()));
                e.0 += 1;
                e.1 = row;
            }
            let fleet = ctx.store.fleet().await?;
            let mut lines = Vec::new();
            for i in &fleet {
                match newest.get(&(BackupKind::Instance, i.name.clone())) {
                    Some((n, row)) => lines.push(format!(
                        "{}: {n} kept, newest {} ({}, {})",
                        i.name,
                        age(row),
                        size(row.bytes as u64),
                        row.places()
                    )),
                    None => lines.push(format!("{}: ⚠️ no backup", i.name)),
                }
            }
            if let Some((n, row)) = newest.get(&(BackupKind::Store, backups::STORE_OWNER.into())) {
                lines.push(format!(
                    "clawops' own store: {n} kept, newest {} ({})",
                    age(row),
                    row.places()
                ));
            }
            if lines.is_empty() {
                lines.push("no instances, no backups".into());
            }
            Ok(Message::default()
                .heading("Backups")
                .para(lines.join("\n"))
                .para(target))
        }
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
        if kept.kind != BackupKind::Instance {
            return Err(OpsError::Refused(format!(
                "backup {} is of clawops' own store: `clawops restore-store` puts it back",
                self.backup
            )));
        }
        let taken = kept
            .taken()
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|| kept.created_at.clone());
        Ok(BlastRadius {
            end_users: row.end_users.max(0) as u32,
            instances: vec![(row.name.clone(), place(&row))],
            monthly_cents: 0,
            currency: String::new(),
            reversible: false,
            loss: Some(format!(
                "the current state of {} is replaced by backup {} of {}, taken {taken}, kept {}{} (a copy stays on the host in ~/.openclaw.before-restore until the next restore)",
                row.name,
                self.backup,
                kept.instance,
                kept.places(),
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
        let (kept, archive) = backups::load(ctx, self.backup).await?;
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
