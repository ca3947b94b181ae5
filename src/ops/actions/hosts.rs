//! `/hosts`: the cell hosts (servers that carry many instances, each in its own limited
//! container) with their room and the price per cell; `/hosts add NAME PLACE` buys one at
//! a cloud (`nbg1`, `hetzner/nbg1`) or prepares one you have (`ssh://root@ADDRESS`);
//! `/hosts drain|undrain|remove|reboot NAME`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::deploy::{check_pin, key_text, parse_key, tenant};
use crate::chat::Message;
use crate::config::Role;
use crate::ops::catalogue::{ArgError, Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::{BlastRadius, OpsError};
use crate::provider::cell::CellCloud;
use crate::provider::{NewServer, PowerState, money};
use crate::remote::Host;
use crate::remote::openclaw::{OpenclawHost, cell_host_key};
use crate::remote::ssh::{CONNECT_TIMEOUT, Session, Target, fingerprint};
use crate::remote::{HostPlan, HostStep, RemoteError};
use crate::store::{CellHostRow, CellHostState, NewCellHost};

/// How long a cloud server may take to run and answer SSH.
const BOOT_WAIT: Duration = Duration::from_secs(600);
/// Preparing a host: packages, Node, OpenClaw and its image.
const PREPARE_TIME: Duration = Duration::from_secs(1800);

/// What `/hosts` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    List,
    Add,
    Drain,
    Undrain,
    Remove,
    Reboot,
}

impl Verb {
    fn parse(word: Option<&str>) -> Option<Verb> {
        Some(match word {
            None => Verb::List,
            Some("add") => Verb::Add,
            Some("drain") => Verb::Drain,
            Some("undrain") => Verb::Undrain,
            Some("remove") => Verb::Remove,
            Some("reboot") => Verb::Reboot,
            Some(_) => return None,
        })
    }
}

/// List the cell hosts, or add, drain, remove or reboot one.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Hosts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verb: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// A host you have: the key it offered when the question was asked. Set by the door.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key: Option<String>,
}

impl Command for Hosts {
    const SPEC: Spec = Spec {
        name: "hosts",
        summary: "Cell hosts (many instances per server, each in a limited container): room and price per cell; add, drain, undrain, remove, reboot",
        params: &[
            Param {
                name: "verb",
                meta: "add|drain|undrain|remove|reboot",
                kind: Kind::Word,
                flag: false,
                required: false,
                help: "nothing lists the hosts; add NAME PLACE buys or prepares one (operator)",
            },
            Param {
                name: "name",
                meta: "HOST",
                kind: Kind::Name,
                flag: false,
                required: false,
                help: "the cell host",
            },
            Param {
                name: "place",
                meta: "PLACE",
                kind: Kind::Place,
                flag: false,
                required: false,
                help: "with add: a region (nbg1, hetzner/nbg1) or a host you have as root (ssh://root@203.0.113.5)",
            },
            Param {
                name: "size",
                meta: "SIZE",
                kind: Kind::Word,
                flag: true,
                required: false,
                help: "with add at a cloud: the server size (default from [cells] host_size)",
            },
        ],
        risk: Risk::Change,
        role: Role::Viewer,
        example: "/hosts add cells-1 hetzner/nbg1 --size cx42",
    };

    fn check(&self) -> Result<(), ArgError> {
        let usage = "write /hosts, /hosts add NAME REGION [--size SIZE], /hosts add NAME ssh://root@ADDRESS, or /hosts drain|undrain|remove|reboot NAME";
        let verb =
            Verb::parse(self.verb.as_deref()).ok_or_else(|| ArgError::Invalid(usage.into()))?;
        let ok = match verb {
            Verb::List => self.name.is_none() && self.place.is_none(),
            Verb::Add => self.name.is_some() && self.place.is_some(),
            _ => self.name.is_some() && self.place.is_none() && self.size.is_none(),
        };
        if ok {
            Ok(())
        } else {
            Err(ArgError::Invalid(usage.into()))
        }
    }
}

impl Hosts {
    pub fn verb(&self) -> Verb {
        Verb::parse(self.verb.as_deref()).unwrap_or(Verb::List)
    }

    fn host_name(&self) -> Result<&str, OpsError> {
        self.name
            .as_deref()
            .ok_or_else(|| OpsError::Refused("name the cell host".into()))
    }

    /// A host you have (`ssh://…`), when `add` names one.
    fn address(&self) -> Result<Option<Target>, OpsError> {
        match self.place.as_deref() {
            Some(p) if p.starts_with("ssh://") => {
                let target = Target::parse(p).map_err(OpsError::Refused)?;
                if target.user != "root" {
                    return Err(OpsError::Refused(format!(
                        "a cell host is driven as root (rootful containers apply the limits): write ssh://root@{}:{}",
                        target.host, target.port
                    )));
                }
                Ok(Some(target))
            }
            _ => Ok(None),
        }
    }

    /// Whether this adds a host you have (the role `[providers.ssh] deploy_role` names).
    pub fn on_host(&self) -> bool {
        self.verb() == Verb::Add && self.address().ok().flatten().is_some()
    }

    /// The key the host offers now, for the question (a host you have, first contact).
    pub async fn observed(&self, ctx: &Ctx) -> Result<Hosts, OpsError> {
        let mut seen = Hosts {
            host_key: None,
            ..self.clone()
        };
        if self.verb() != Verb::Add {
            return Ok(seen);
        }
        let name = self.host_name()?;
        if ctx.cells()?.host_row(name).is_some() {
            return Err(OpsError::Refused(format!(
                "there is a cell host {name} already: /hosts lists them"
            )));
        }
        let Some(target) = self.address()? else {
            return Ok(seen);
        };
        let offered = Session::host_key_of(&target, CONNECT_TIMEOUT)
            .await
            .map_err(RemoteError::from)?;
        check_pin(ctx, &target, &offered).await?;
        if let Some(other) = tenant(ctx, name, &target, &offered).await? {
            return Err(OpsError::Refused(format!(
                "{target} already carries {other}: a cell host carries cells only"
            )));
        }
        if ctx.store.host_key(&target.url()).await?.is_none() {
            seen.host_key = Some(key_text(&offered)?);
        }
        Ok(seen)
    }

    /// What the question shows: the price of a new server, the cells a reboot stops.
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        let cells = ctx.cells()?;
        match self.verb() {
            Verb::Add => self.add_radius(ctx).await,
            Verb::Reboot | Verb::Remove => {
                let name = self.host_name()?;
                let host = known(cells, name)?;
                let on = cells.cells_on(name);
                let mut end_users = 0;
                let mut instances = Vec::new();
                for c in &on {
                    if let Some(row) = ctx.store.instance(&c.instance).await? {
                        end_users += row.end_users.max(0) as u32;
                    }
                    instances.push((c.instance.clone(), format!("cell on {name}")));
                }
                if self.verb() == Verb::Reboot {
                    return Ok(BlastRadius {
                        instances,
                        end_users,
                        reversible: true,
                        press: Some(format!(
                            "a reboot of {name} stops every cell on it ({}) until it is back",
                            on.len()
                        )),
                        ..BlastRadius::default()
                    });
                }
                Ok(BlastRadius {
                    monthly_cents: -host.monthly_cents,
                    currency: host.currency.clone(),
                    reversible: host.provider.is_none(),
                    loss: host
                        .provider
                        .as_ref()
                        .map(|p| format!("the server {name} at {p} is deleted")),
                    billed: host.provider.is_some(),
                    press: Some(format!("{name} stops being a cell host")),
                    ..BlastRadius::default()
                })
            }
            _ => Ok(BlastRadius {
                reversible: true,
                ..BlastRadius::default()
            }),
        }
    }

    async fn add_radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        let name = self.host_name()?;
        if let Some(target) = self.address()? {
            let key = match (&self.host_key, ctx.store.host_key(&target.url()).await?) {
                (_, Some(row)) => format!(
                    "Host key: {} (pinned since {})",
                    row.fingerprint, row.first_seen
                ),
                (Some(text), None) => format!(
                    "Host key: {} (first contact: pinned when you confirm)",
                    fingerprint(&parse_key(text)?)
                ),
                (None, None) => "Host key: not read yet".into(),
            };
            return Ok(BlastRadius {
                reversible: true,
                press: Some(format!(
                    "clawops will log in to {target} as root, an address given in chat, install podman and build the OpenClaw image there"
                )),
                details: vec![format!("Cell host {name}: {target}"), key],
                ..BlastRadius::default()
            });
        }
        let (cloud, region, size) = self.cloud_place(ctx)?;
        let s = cloud.size(&size)?;
        Ok(BlastRadius {
            monthly_cents: s.monthly_cents,
            currency: cloud.currency().to_string(),
            reversible: true,
            billed: !cloud.simulated(),
            details: vec![format!(
                "Cell host {name}: {} {region}, {} ({} vCPU, {} GB) for {}/month",
                cloud.display_name(),
                s.code,
                s.vcpus,
                s.memory_gb,
                money(s.monthly_cents, cloud.currency())
            )],
            press: Some(format!("a new server {name} is bought for cells")),
            ..BlastRadius::default()
        })
    }

    /// The provider, region and size `add` buys at.
    fn cloud_place(
        &self,
        ctx: &Ctx,
    ) -> Result<(std::sync::Arc<dyn crate::provider::Cloud>, String, String), OpsError> {
        let place = self.place.clone().unwrap_or_default();
        let (provider, region) = match place.split_once('/') {
            Some((p, r)) => (p.to_string(), r.to_string()),
            None => (ctx.config.deploy.provider.clone(), place),
        };
        let cloud = ctx.providers.get(&provider)?;
        if cloud.existing_hosts() || cloud.cells() {
            return Err(OpsError::Refused(format!(
                "{provider} buys no servers: name a cloud region (hetzner/nbg1), or a host you have as ssh://root@ADDRESS"
            )));
        }
        if cloud.simulated() {
            return Err(OpsError::Refused(format!(
                "{} is simulated: it has no real server to install podman on. Name a real cloud's region (hetzner/nbg1), or a host you have as ssh://root@ADDRESS",
                cloud.display_name()
            )));
        }
        cloud.region(&region)?;
        let wanted = self
            .size
            .clone()
            .unwrap_or_else(|| ctx.config.cells.host_size.clone());
        let size = match cloud.size(&wanted) {
            Ok(s) => s.code.to_string(),
            Err(e) if self.size.is_some() => return Err(e.into()),
            // The configured size is another cloud's: the first with 8 GB or more here.
            Err(_) => cloud
                .sizes()
                .iter()
                .find(|s| s.memory_gb >= 8)
                .or_else(|| cloud.sizes().last())
                .map(|s| s.code.to_string())
                .unwrap_or_default(),
        };
        Ok((cloud, region, size))
    }

    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let cells = ctx.cells()?;
        match self.verb() {
            Verb::List => Ok(list(ctx, cells)),
            Verb::Add => self.add(ctx, cells).await,
            Verb::Drain | Verb::Undrain => {
                let name = self.host_name()?;
                known(cells, name)?;
                let (state, said) = if self.verb() == Verb::Drain {
                    (
                        CellHostState::Draining,
                        "takes no new cells; its cells stay",
                    )
                } else {
                    (CellHostState::Ready, "takes new cells again")
                };
                cells.set_host_state(name, state).await?;
                Ok(Message::text(format!("✓ {name} {said}.")))
            }
            Verb::Remove => self.remove(ctx, cells).await,
            Verb::Reboot => self.reboot(ctx, cells).await,
        }
    }

    async fn add(&self, ctx: &Ctx, cells: &CellCloud) -> Result<Message, OpsError> {
        let name = self.host_name()?;
        if cells.host_row(name).is_some() {
            return Err(OpsError::Refused(format!(
                "there is a cell host {name} already: /hosts lists them"
            )));
        }
        let (row, said) = match self.address()? {
            Some(target) => self.add_yours(ctx, cells, name, target).await?,
            None => self.add_bought(ctx, cells, name).await?,
        };
        Ok(Message::default()
            .heading(format!("✓ {} is a cell host", row.name))
            .para(format!(
                "{}: {} CPUs, {} MB. {said}",
                row.target, row.vcpus, row.memory_mb
            ))
            .para(format!(
                "/deploy NAME --cell --cell-host {} puts an instance in a cell there; /hosts shows its room.",
                row.name
            )))
    }

    /// A host you have: its key pinned as shown in the question, clawops' key authorized
    /// (with the bootstrap credential where `bootstrap_hosts` names it), then prepared.
    async fn add_yours(
        &self,
        ctx: &Ctx,
        cells: &CellCloud,
        name: &str,
        target: Target,
    ) -> Result<(CellHostRow, String), OpsError> {
        let url = target.url();
        match (&self.host_key, ctx.store.host_key(&url).await?) {
            (_, Some(_)) => {}
            (Some(text), None) => {
                let key = parse_key(text)?;
                ctx.store
                    .pin_host_key(&url, &key_text(&key)?, &fingerprint(&key), ctx.clock.now())
                    .await?;
            }
            (None, None) => {
                return Err(OpsError::Refused(format!(
                    "the host key of {url} was not read before: send /hosts add again"
                )));
            }
        }
        let row = NewCellHost {
            name: name.to_string(),
            target: url,
            provider: None,
            region: None,
            server_id: None,
            size: None,
            vcpus: 0,
            memory_mb: 0,
            monthly_cents: 0,
            currency: String::new(),
        };
        let host = cells.host_itself(&row.name, &row.target, row.provider.is_some());
        if !host.reachable().await? {
            return Err(OpsError::Refused(format!("{target} does not answer")));
        }
        let plan = HostPlan {
            instance: cell_host_key(name),
            openclaw_version: ctx.config.deploy.openclaw_version.clone(),
        };
        if !host.step_done(HostStep::AuthorizeKey, &plan).await? {
            host.apply_step(HostStep::AuthorizeKey, &plan).await?;
        }
        let (facts, said) = prepare(ctx, &host).await?;
        let row = cells
            .add_host(&NewCellHost {
                vcpus: facts.0,
                memory_mb: facts.1,
                ..row
            })
            .await?;
        Ok((row, said))
    }

    /// A new cloud server for cells: made with clawops' host key in cloud-init, waited for,
    /// then prepared.
    async fn add_bought(
        &self,
        ctx: &Ctx,
        cells: &CellCloud,
        name: &str,
    ) -> Result<(CellHostRow, String), OpsError> {
        let (cloud, region, size) = self.cloud_place(ctx)?;
        let owner = cell_host_key(name);
        let key =
            crate::remote::openclaw::cloud_host_key(&ctx.store, &ctx.vault, &ctx.clock, &owner)
                .await?;
        let labels = std::collections::BTreeMap::from([
            (
                crate::provider::MANAGED_BY.0.to_string(),
                crate::provider::MANAGED_BY.1.to_string(),
            ),
            ("cell-host".to_string(), name.to_string()),
        ]);
        let server = cloud
            .create_server(&NewServer {
                name: name.to_string(),
                region: region.clone(),
                size: size.clone(),
                user_data: crate::deploy::cloud_init(Some(&key)),
                labels,
            })
            .await?;
        let id = server.id.clone();
        crate::provider::wait_until(cloud.display_name(), "the server to run", BOOT_WAIT, || {
            let (cloud, id) = (cloud.clone(), id.clone());
            async move { Ok(cloud.existing_server(&id).await?.state == PowerState::Running) }
        })
        .await?;
        let address = cloud
            .existing_server(&id)
            .await?
            .ipv4
            .ok_or_else(|| OpsError::Refused(format!("server {id} has no address yet")))?;
        let s = cloud.size(&size)?;
        let row = NewCellHost {
            name: name.to_string(),
            target: format!("ssh://root@{address}:22"),
            provider: Some(cloud.display_name().to_string()),
            region: Some(region),
            server_id: Some(id),
            size: Some(s.code.to_string()),
            vcpus: i64::from(s.vcpus),
            memory_mb: i64::from(s.memory_gb) * 1024,
            monthly_cents: s.monthly_cents,
            currency: cloud.currency().to_string(),
        };
        let host = cells.host_itself(&row.name, &row.target, row.provider.is_some());
        let started = std::time::Instant::now();
        loop {
            match host.reachable().await {
                Ok(true) => break,
                Err(e) if e.permanent() => return Err(e.into()),
                _ if started.elapsed() > BOOT_WAIT => {
                    return Err(OpsError::Refused(format!(
                        "{name} did not answer SSH within {}s; /hosts add {name} … again picks it up",
                        BOOT_WAIT.as_secs()
                    )));
                }
                _ => tokio::time::sleep(Duration::from_secs(3)).await,
            }
        }
        let (_, said) = prepare(ctx, &host).await?;
        Ok((cells.add_host(&row).await?, said))
    }

    async fn remove(&self, ctx: &Ctx, cells: &CellCloud) -> Result<Message, OpsError> {
        let name = self.host_name()?;
        let row = known(cells, name)?;
        let on = cells.cells_on(name);
        if !on.is_empty() {
            let names: Vec<String> = on.iter().map(|c| c.instance.clone()).collect();
            return Err(OpsError::Refused(format!(
                "{name} still carries {}: /hosts drain {name}, then move each (/migrate NAME --to cell/OTHER or --to PROVIDER/REGION) or /destroy it",
                names.join(", ")
            )));
        }
        let said = match (&row.provider, &row.server_id) {
            (Some(provider), Some(id)) => {
                ctx.providers.get(provider)?.delete_server(id).await?;
                format!("the server {id} at {provider} is deleted")
            }
            _ => format!(
                "{} keeps podman and the OpenClaw image; clawops no longer uses it",
                row.target
            ),
        };
        cells.forget_host(name).await?;
        Ok(Message::text(format!(
            "✓ {name} is no cell host any more: {said}."
        )))
    }

    async fn reboot(&self, ctx: &Ctx, cells: &CellCloud) -> Result<Message, OpsError> {
        let name = self.host_name()?;
        let row = known(cells, name)?;
        match (&row.provider, &row.server_id) {
            (Some(provider), Some(id)) => ctx.providers.get(provider)?.reboot(id).await?,
            _ => {
                let host = cells.host_itself(&row.name, &row.target, row.provider.is_some());
                // The session ends with the reboot: its answer does not matter.
                let _ = host
                    .cell_host_script("reboot", &[], Duration::from_secs(30))
                    .await;
            }
        }
        Ok(Message::text(format!(
            "✓ {name} is rebooting; its {} cells start again with it (the next sweep shows them).",
            cells.cells_on(name).len()
        )))
    }
}

/// Prepares the host for cells; returns its CPUs and memory (MB) and what it said.
async fn prepare(ctx: &Ctx, host: &OpenclawHost) -> Result<((i64, i64), String), OpsError> {
    let firewall = if ctx.config.cells.firewall {
        "yes"
    } else {
        "no"
    };
    let mut args = vec![firewall.to_string()];
    args.extend(host.image_args(&ctx.config.deploy.openclaw_version));
    if let (Some(image), Some(last)) = (&ctx.config.cells.image, args.last_mut()) {
        *last = image.replace("{version}", &ctx.config.deploy.openclaw_version);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = host
        .cell_host_script("prepare", &args, PREPARE_TIME)
        .await?;
    let word = |name: &str| -> i64 {
        out.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let said = out
        .lines()
        .filter(|l| !l.starts_with("cpus="))
        .collect::<Vec<_>>()
        .join("; ");
    Ok(((word("cpus"), word("memory_mb")), said))
}

fn known(cells: &CellCloud, name: &str) -> Result<CellHostRow, OpsError> {
    cells.host_row(name).ok_or_else(|| {
        OpsError::Refused(format!("there is no cell host {name:?}; /hosts lists them"))
    })
}

/// The table of cell hosts.
fn list(ctx: &Ctx, cells: &CellCloud) -> Message {
    let hosts = cells.hosts();
    if hosts.is_empty() {
        return Message::text(
            "No cell hosts yet. /hosts add NAME REGION buys a server for cells; /hosts add NAME ssh://root@ADDRESS prepares one you have.",
        );
    }
    let rooms = cells.rooms();
    let rows = hosts
        .iter()
        .map(|h| {
            let room = rooms.iter().find(|r| r.host == h.name);
            let n = room.map_or(0, |r| r.cells);
            let place = match (&h.provider, &h.region) {
                (Some(p), Some(r)) => format!("{p} {r}"),
                _ => h.target.clone(),
            };
            let per_cell = if h.monthly_cents == 0 {
                "-".to_string()
            } else if n == 0 {
                format!("{} (no cells)", money(h.monthly_cents, &h.currency))
            } else {
                money(h.monthly_cents / n as i64, &h.currency)
            };
            vec![
                h.name.clone(),
                place,
                h.state.as_str().to_string(),
                n.to_string(),
                format!(
                    "{}/{}",
                    room.map_or("0".into(), |r| format!("{:.1}", r.cpus_committed)),
                    h.vcpus
                ),
                format!(
                    "{}/{} MB",
                    room.map_or(0, |r| r.memory_committed_mb),
                    h.memory_mb
                ),
                if h.monthly_cents == 0 {
                    "-".into()
                } else {
                    money(h.monthly_cents, &h.currency)
                },
                per_cell,
            ]
        })
        .collect();
    Message::default()
        .heading("Cell hosts")
        .table(
            &["host", "where", "state", "cells", "CPUs", "memory", "price/month", "per cell"],
            rows,
        )
        .para(format!(
            "Promised limits against the server (overcommit up to {}×). /deploy NAME --cell places an instance on the least-loaded host with room.",
            ctx.config.cells.overcommit
        ))
}
