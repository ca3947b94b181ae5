//! `/deploy NAME [REGION] [--size SIZE] [--provider P] [--resume]`: create an instance and
//! run its deploy steps, or resume a deploy that failed or was interrupted.

use serde::{Deserialize, Serialize};

use super::existing;
use crate::chat::{Message, Replier};
use crate::config::Role;
use crate::deploy::{Params, steps_for};
use crate::ops::catalogue::{Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::{BlastRadius, OpsError};
use crate::provider::money;
use crate::store::NewInstance;

/// Deploy a new instance, or resume a stopped deploy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deploy {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default)]
    pub resume: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openclaw: Option<String>,
    /// Deploy it as the standby of this primary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standby_for: Option<String>,
}

impl Command for Deploy {
    const SPEC: Spec = Spec {
        name: "deploy",
        summary: "Deploy a new OpenClaw instance (or --resume a stopped deploy)",
        params: &[
            Param {
                name: "name",
                meta: "NAME",
                kind: Kind::Name,
                flag: false,
                required: true,
                help: "the instance's name: lowercase letters, digits, dashes",
            },
            Param {
                name: "region",
                meta: "REGION",
                kind: Kind::Place,
                flag: false,
                required: false,
                help: "where to put it, e.g. nbg1, or a host you have: ssh://root@203.0.113.5 (default from [deploy] region)",
            },
            Param {
                name: "size",
                meta: "SIZE",
                kind: Kind::Word,
                flag: true,
                required: false,
                help: "server size, e.g. cx32 (default from [deploy] size)",
            },
            Param {
                name: "provider",
                meta: "PROVIDER",
                kind: Kind::Word,
                flag: true,
                required: false,
                help: "which cloud (default from [deploy] provider)",
            },
            Param {
                name: "resume",
                meta: "",
                kind: Kind::Switch,
                flag: true,
                required: false,
                help: "continue a deploy that failed or was interrupted, from its stopped step",
            },
            Param {
                name: "openclaw",
                meta: "VERSION",
                kind: Kind::Word,
                flag: true,
                required: false,
                help: "the OpenClaw version (default from [deploy] openclaw_version; a resume may change it)",
            },
            Param {
                name: "standby_for",
                meta: "PRIMARY",
                kind: Kind::Name,
                flag: true,
                required: false,
                help: "deploy it as the standby of this primary (a primary is not destroyed while its standby is unhealthy)",
            },
        ],
        risk: Risk::Change,
        role: Role::Operator,
        example: "/deploy alice-bot nbg1 --size cx22",
    };
}

impl Deploy {
    /// One new instance, at its size's monthly price.
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        if self.resume {
            // Nothing new is bought: the server (if any) exists already.
            let row = existing(&ctx.store, &self.name).await?;
            return Ok(BlastRadius {
                instances: vec![(row.name.clone(), super::place(&row))],
                reversible: true,
                ..BlastRadius::default()
            });
        }
        let params = self.params(ctx)?;
        let cloud = ctx.providers.get(&params.provider)?;
        let size = cloud.size(&params.size)?;
        Ok(BlastRadius {
            instances: vec![(
                self.name.clone(),
                format!("{} {}", cloud.display_name(), params.region),
            )],
            end_users: 0,
            monthly_cents: size.monthly_cents,
            currency: cloud.currency().to_string(),
            reversible: true,
            loss: None,
            billed: !cloud.simulated(),
        })
    }

    /// What to build: an `ssh://` address as the region means the `ssh` provider (a host
    /// you already have); otherwise the flags, then `[deploy]`.
    fn params(&self, ctx: &Ctx) -> Result<Params, OpsError> {
        let d = &ctx.config.deploy;
        let on_host = self
            .region
            .as_deref()
            .is_some_and(|r| r.starts_with("ssh://"));
        // `hetzner/hel1` names the provider with the region.
        let (named, region) = match self.region.as_deref().and_then(|r| r.split_once('/')) {
            Some((p, r)) if !on_host => (Some(p.to_string()), Some(r.to_string())),
            _ => (None, self.region.clone()),
        };
        let provider = match (self.provider.clone().or(named), on_host) {
            (Some(p), _) => p,
            (None, true) => "ssh".to_string(),
            (None, false) => d.provider.clone(),
        };
        let cloud = ctx.providers.get(&provider)?;
        // The configured size where this provider has it, else its smallest.
        let size = match &self.size {
            Some(s) => s.clone(),
            None if cloud.size(&d.size).is_ok() => d.size.clone(),
            None => cloud
                .sizes()
                .first()
                .map(|s| s.code.to_string())
                .unwrap_or_default(),
        };
        // The provider's own spelling of the size (chat lowercases words).
        let size = cloud
            .size(&size)
            .map(|s| s.code.to_string())
            .unwrap_or(size);
        let region = region.unwrap_or_else(|| d.region.clone());
        let region = match crate::remote::ssh::Target::parse(&region) {
            Ok(t) if cloud.existing_hosts() => t.url(),
            _ => region,
        };
        Ok(Params {
            instance: self.name.clone(),
            provider,
            region,
            size,
            openclaw_version: self
                .openclaw
                .clone()
                .unwrap_or_else(|| d.openclaw_version.clone()),
            server_name: None,
        })
    }

    /// Runs the deploy; progress goes to `out` as one view edited in place.
    pub async fn run(&self, ctx: &Ctx, out: &dyn Replier) -> Result<Message, OpsError> {
        let (id, params) = if self.resume {
            self.reopen(ctx).await?
        } else {
            self.start(ctx).await?
        };
        let cloud = ctx.providers.get(&params.provider)?;
        let summary = ctx.deployer().run(id, &params, cloud.clone(), out).await?;
        let row = existing(&ctx.store, &self.name).await?;
        let region = cloud.region(&row.region)?;
        let place = if cloud.existing_hosts() {
            row.region.clone()
        } else {
            format!("{} {} ({})", cloud.display_name(), region.code, region.city)
        };
        Ok(Message::default()
            .heading(format!("✓ {} is ready", row.name))
            .table(
                &["id", "region", "size", "price/month", "IP"],
                vec![vec![
                    format!("server {}", summary.server_id),
                    place,
                    row.size.clone(),
                    money(row.monthly_cents, &row.currency),
                    summary.ipv4.unwrap_or_else(|| "-".into()),
                ]],
            )
            .para(format!(
                "{} steps run, {} already done, in {:.1}s. /status {} shows its health.",
                summary.steps_run,
                summary.steps_skipped,
                summary.elapsed.as_secs_f64(),
                row.name
            )))
    }

    async fn start(&self, ctx: &Ctx) -> Result<(i64, Params), OpsError> {
        if let Some(row) = ctx.store.instance(&self.name).await? {
            let hint = match row.status.as_str() {
                "destroyed" => None,
                "failed" | "interrupted" => Some(format!(
                    "the last deploy of {} stopped ({}): /deploy {} --resume continues it, /destroy {} removes it",
                    row.name, row.status, row.name, row.name
                )),
                "deploying" => Some(format!("{} is being deployed right now", row.name)),
                _ => Some(format!(
                    "{} already exists ({}, {}): pick another name, or /destroy it first",
                    row.name,
                    row.status,
                    super::place(&row)
                )),
            };
            if let Some(hint) = hint {
                return Err(OpsError::Refused(hint));
            }
        }
        let primary = self.primary(ctx).await?;
        let params = self.params(ctx)?;
        let cloud = ctx.providers.get(&params.provider)?;
        cloud.region(&params.region)?;
        let size = cloud.size(&params.size)?.clone();
        let now = ctx.clock.now();
        ctx.store
            .upsert_deploying(
                &NewInstance {
                    name: &self.name,
                    provider: cloud.display_name(),
                    region: &params.region,
                    size: &params.size,
                    monthly_cents: size.monthly_cents,
                    currency: cloud.currency(),
                },
                now,
            )
            .await?;
        if let Some(primary) = &primary {
            ctx.store.set_standby_of(&self.name, primary, now).await?;
        }
        let json = serde_json::to_string(&params)
            .map_err(|e| OpsError::Refused(format!("cannot record the deploy: {e}")))?;
        let steps: Vec<&str> = steps_for(cloud.as_ref()).iter().map(|s| s.id()).collect();
        let id = ctx
            .store
            .start_deploy(&self.name, &json, &steps, now)
            .await?;
        Ok((id, params))
    }

    /// With --standby-for: the primary, which must exist and not be a standby itself.
    async fn primary(&self, ctx: &Ctx) -> Result<Option<String>, OpsError> {
        let Some(name) = &self.standby_for else {
            return Ok(None);
        };
        if name == &self.name {
            return Err(OpsError::Refused(format!(
                "{name} cannot be its own standby"
            )));
        }
        let primary = existing(&ctx.store, name).await?;
        if let Some(of) = &primary.standby_of {
            return Err(OpsError::Refused(format!(
                "{name} is itself the standby of {of}: pick a primary"
            )));
        }
        Ok(Some(primary.name))
    }

    async fn reopen(&self, ctx: &Ctx) -> Result<(i64, Params), OpsError> {
        let Some(last) = ctx.store.latest_deploy(&self.name).await? else {
            return Err(OpsError::Refused(format!(
                "{} has no deploy to resume: /deploy {} starts one",
                self.name, self.name
            )));
        };
        if !ctx.store.reopen_deploy(last.id).await? {
            return Err(OpsError::Refused(match last.state.as_str() {
                "running" => format!("the deploy of {} is running right now", self.name),
                _ => format!(
                    "the last deploy of {} finished ({}); nothing to resume",
                    self.name, last.state
                ),
            }));
        }
        let mut params: Params = serde_json::from_str(&last.params).map_err(|e| {
            OpsError::Refused(format!(
                "the stored deploy of {} cannot be read: {e}",
                self.name
            ))
        })?;
        // A resume picks up the version given now, else the one pinned in the config, so a
        // wrong version can be fixed and the deploy resumed.
        params.openclaw_version = self
            .openclaw
            .clone()
            .unwrap_or_else(|| ctx.config.deploy.openclaw_version.clone());
        ctx.store
            .set_instance_status(&self.name, "deploying", ctx.clock.now())
            .await?;
        Ok((last.id, params))
    }
}
