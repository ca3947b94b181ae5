//! `/reconcile [--adopt] [--fix]`: compare every cloud account with the store. Servers
//! that carry clawops' label but that the store does not know (orphans, e.g. after a
//! crash, a lost store, a migration's half-made server) and store rows whose server is
//! gone are listed. `--adopt` records each orphan as the instance its label names (when
//! that name is free); `--fix` deletes the orphans left and marks the gone rows destroyed,
//! after a confirmation. The servers a migration left are known, not orphans.

use serde::{Deserialize, Serialize};

use crate::chat::Message;
use crate::config::Role;
use crate::ops::catalogue::{Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::{BlastRadius, OpsError};
use crate::provider::Server;
use crate::store::{InstanceStatus, NewInstance};

/// Compare the clouds with the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reconcile {
    #[serde(default)]
    pub fix: bool,
    #[serde(default)]
    pub adopt: bool,
}

impl Command for Reconcile {
    const SPEC: Spec = Spec {
        name: "reconcile",
        summary: "Find servers the store does not know and rows whose server is gone; --adopt or --fix them",
        params: &[
            Param {
                name: "fix",
                meta: "",
                kind: Kind::Switch,
                flag: true,
                required: false,
                help: "delete the orphan servers and mark the gone rows destroyed (asks first)",
            },
            Param {
                name: "adopt",
                meta: "",
                kind: Kind::Switch,
                flag: true,
                required: false,
                help: "record each orphan as the instance its label names, when that name is free",
            },
        ],
        risk: Risk::Change,
        role: Role::Operator,
        example: "/reconcile",
    };
}

/// What becomes of an orphan.
#[derive(Debug, Clone, PartialEq)]
enum Fate {
    /// Recorded as this instance (--adopt, the name is free).
    Adopt(String),
    /// Deleted (--fix).
    Delete,
    /// Only listed.
    Report,
}

/// What a comparison found.
struct Findings {
    /// (provider, server, what becomes of it) with clawops' label and no live row.
    orphans: Vec<(String, Server, Fate)>,
    /// (instance, provider, server id) whose server is gone.
    gone: Vec<(String, String, String)>,
}

impl Reconcile {
    async fn look(&self, ctx: &Ctx) -> Result<Findings, OpsError> {
        let fleet = ctx.store.fleet().await?;
        let old = ctx.store.kept_old_servers(None).await?;
        let mut orphans = Vec::new();
        let mut gone = Vec::new();
        let mut taken: Vec<String> = fleet.iter().map(|r| r.name.clone()).collect();
        for cloud in ctx.providers.all() {
            if cloud.existing_hosts() {
                continue;
            }
            let servers = cloud.managed_servers().await?;
            for server in &servers {
                let known = fleet.iter().any(|row| {
                    row.provider == cloud.display_name()
                        && (row.server_id.as_deref() == Some(server.id.as_str())
                            || (row.server_id.is_none()
                                && server.labels.get("instance") == Some(&row.name)))
                }) || old
                    .iter()
                    .any(|o| o.provider == cloud.display_name() && o.server_id == server.id);
                if known {
                    continue;
                }
                let fate = match server.labels.get("instance") {
                    Some(name)
                        if self.adopt
                            && !taken.contains(name)
                            && crate::ops::catalogue::instance_name_problem(name).is_none() =>
                    {
                        taken.push(name.clone());
                        Fate::Adopt(name.clone())
                    }
                    _ if self.fix => Fate::Delete,
                    _ => Fate::Report,
                };
                orphans.push((cloud.display_name().to_string(), server.clone(), fate));
            }
            for row in fleet.iter().filter(|r| r.provider == cloud.display_name()) {
                if let Some(id) = &row.server_id
                    && !servers.iter().any(|s| &s.id == id)
                    && cloud.server(id).await?.is_none()
                {
                    gone.push((row.name.clone(), row.provider.clone(), id.clone()));
                }
            }
        }
        Ok(Findings { orphans, gone })
    }

    /// With --fix: what is deleted and forgotten; with --adopt: what joins the fleet
    /// (and its bill).
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        if !self.fix && !self.adopt {
            return Ok(BlastRadius {
                reversible: true,
                ..BlastRadius::default()
            });
        }
        let found = self.look(ctx).await?;
        let mut instances = Vec::new();
        let (mut deleted, mut adopted, mut cents, mut billed) = (0, 0, 0, false);
        let mut currency = String::new();
        for (p, s, fate) in &found.orphans {
            let what = match fate {
                Fate::Report => continue,
                Fate::Delete => {
                    deleted += 1;
                    format!("{} (server {}, deleted)", s.name, s.id)
                }
                Fate::Adopt(name) => {
                    adopted += 1;
                    let cloud = ctx.providers.get(p)?;
                    cents += cloud.size(&s.size).map(|z| z.monthly_cents).unwrap_or(0);
                    billed |= !cloud.simulated();
                    currency = cloud.currency().to_string();
                    format!("{name} (server {}, adopted)", s.id)
                }
            };
            instances.push((what, format!("{p} {}", s.region)));
        }
        if self.fix {
            instances.extend(found.gone.iter().map(|(n, p, _)| (n.clone(), p.clone())));
        }
        let gone = if self.fix { found.gone.len() } else { 0 };
        Ok(BlastRadius {
            instances,
            end_users: 0,
            monthly_cents: cents,
            currency,
            reversible: deleted == 0 && gone == 0,
            loss: (deleted + gone > 0).then(|| {
                format!(
                    "{deleted} orphan server(s) are deleted with their disks, {gone} row(s) whose server is gone are marked destroyed, {adopted} server(s) adopted"
                )
            }),
            billed,
            ..BlastRadius::default()
        })
    }

    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let found = self.look(ctx).await?;
        if found.orphans.is_empty() && found.gone.is_empty() {
            return Ok(Message::text(
                "✓ The clouds and the store agree: no orphan server, no row without its server.",
            ));
        }
        let mut rows = Vec::new();
        for (provider, server, fate) in &found.orphans {
            let done = match fate {
                Fate::Delete => {
                    ctx.providers
                        .get(provider)?
                        .delete_server(&server.id)
                        .await?;
                    "deleted".to_string()
                }
                Fate::Adopt(name) => adopt(ctx, provider, server, name).await?,
                Fate::Report => "orphan: not in the store".to_string(),
            };
            rows.push(vec![
                server.name.clone(),
                format!("{provider} {}", server.region),
                format!("server {}", server.id),
                done,
            ]);
        }
        for (name, provider, id) in &found.gone {
            let done = if self.fix {
                ctx.store
                    .set_instance_status(name, InstanceStatus::Destroyed, ctx.clock.now())
                    .await?;
                "marked destroyed"
            } else {
                "its server is gone"
            };
            rows.push(vec![
                name.clone(),
                provider.clone(),
                format!("server {id}"),
                done.to_string(),
            ]);
        }
        let mut m = Message::default()
            .heading(format!(
                "{} orphan server(s), {} row(s) without a server",
                found.orphans.len(),
                found.gone.len()
            ))
            .table(&["name", "where", "server", "state"], rows);
        if !self.fix && !self.adopt {
            m = m.para(
                "/reconcile --adopt records orphans as the instances their labels name; /reconcile --fix deletes the orphans and marks those rows destroyed (asks first).",
            );
        }
        Ok(m)
    }
}

/// Records `server` as instance `name`, then probes it: says how it stands.
async fn adopt(ctx: &Ctx, provider: &str, server: &Server, name: &str) -> Result<String, OpsError> {
    let cloud = ctx.providers.get(provider)?;
    let price = cloud
        .size(&server.size)
        .map(|z| z.monthly_cents)
        .unwrap_or(0);
    ctx.store
        .adopt_instance(
            &NewInstance {
                name,
                provider: cloud.display_name(),
                region: &server.region,
                size: &server.size,
                monthly_cents: price,
                currency: cloud.currency(),
                owner: None,
            },
            &server.id,
            server.ipv4.as_deref(),
            ctx.clock.now(),
        )
        .await?;
    let row = super::existing(&ctx.store, name).await?;
    let probe = super::probe_now(ctx, &row, &server.id).await?;
    Ok(format!(
        "adopted as {name}: {} ({}/100)",
        probe.state.as_str(),
        probe.score
    ))
}
