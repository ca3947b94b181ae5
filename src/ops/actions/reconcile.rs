//! `/reconcile [--fix]`: compare every cloud account with the store. Servers that carry
//! clawops' label but that the store does not know (orphans, e.g. after a crash between
//! create and record) and store rows whose server is gone are listed; `--fix` deletes the
//! orphans and marks the rows destroyed, after a confirmation.

use serde::{Deserialize, Serialize};

use crate::chat::Message;
use crate::config::Role;
use crate::ops::catalogue::{Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::{BlastRadius, OpsError};
use crate::provider::Server;

/// Compare the clouds with the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reconcile {
    #[serde(default)]
    pub fix: bool,
}

impl Command for Reconcile {
    const SPEC: Spec = Spec {
        name: "reconcile",
        summary: "Find servers the store does not know and rows whose server is gone; --fix cleans up",
        params: &[Param {
            name: "fix",
            meta: "",
            kind: Kind::Switch,
            flag: true,
            required: false,
            help: "delete the orphan servers and mark the gone rows destroyed (asks first)",
        }],
        risk: Risk::Change,
        role: Role::Operator,
        example: "/reconcile",
    };
}

/// What a comparison found.
struct Findings {
    /// (provider, server) with clawops' label and no live row.
    orphans: Vec<(String, Server)>,
    /// (instance, provider, server id) whose server is gone.
    gone: Vec<(String, String, String)>,
}

impl Reconcile {
    async fn look(&self, ctx: &Ctx) -> Result<Findings, OpsError> {
        let fleet = ctx.store.fleet().await?;
        let mut orphans = Vec::new();
        let mut gone = Vec::new();
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
                });
                if !known {
                    orphans.push((cloud.display_name().to_string(), server.clone()));
                }
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

    /// With --fix: what is deleted and forgotten.
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        if !self.fix {
            return Ok(BlastRadius {
                reversible: true,
                ..BlastRadius::default()
            });
        }
        let found = self.look(ctx).await?;
        let mut instances: Vec<(String, String)> = found
            .orphans
            .iter()
            .map(|(p, s)| {
                (
                    format!("{} (server {})", s.name, s.id),
                    format!("{p} {}", s.region),
                )
            })
            .collect();
        instances.extend(found.gone.iter().map(|(n, p, _)| (n.clone(), p.clone())));
        Ok(BlastRadius {
            instances,
            end_users: 0,
            monthly_cents: 0,
            currency: String::new(),
            reversible: false,
            loss: Some(format!(
                "{} orphan server(s) are deleted with their disks, {} row(s) whose server is gone are marked destroyed",
                found.orphans.len(),
                found.gone.len()
            )),
            billed: false,
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
        for (provider, server) in &found.orphans {
            let done = if self.fix {
                ctx.providers
                    .get(provider)?
                    .delete_server(&server.id)
                    .await?;
                "deleted"
            } else {
                "orphan: not in the store"
            };
            rows.push(vec![
                server.name.clone(),
                format!("{provider} {}", server.region),
                format!("server {}", server.id),
                done.to_string(),
            ]);
        }
        for (name, provider, id) in &found.gone {
            let done = if self.fix {
                ctx.store
                    .set_instance_status(name, "destroyed", ctx.clock.now())
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
        if !self.fix {
            m = m.para(
                "/reconcile --fix deletes the orphans and marks those rows destroyed (asks first).",
            );
        }
        Ok(m)
    }
}
