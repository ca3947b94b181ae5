//! Clouds: the one trait every provider implements (keys, servers, their lifecycle), the
//! price tables, and the registry that picks a provider by name.
//!
//! Owns all provider API traffic; it must not touch the store's fleet tables or chat.
//! Every server and key clawops creates carries the labels `managed-by=clawops` and
//! `instance=<name>`, so that a retry finds what an earlier attempt created.

pub mod api;
pub mod cell;
pub mod digitalocean;
pub mod hetzner;
pub mod sim;
pub mod ssh;
pub mod tc3;
pub mod tencent;
pub mod vultr;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use thiserror::Error;

use crate::remote::Host;

/// The label every resource clawops creates carries.
pub const MANAGED_BY: (&str, &str) = ("managed-by", "clawops");

/// Why a provider call failed, in words an operator can act on.
#[derive(Debug, Error)]
pub enum ProviderError {
    #[error("{provider} has no region {region:?}; regions: {known}")]
    UnknownRegion {
        provider: String,
        region: String,
        known: String,
    },
    #[error("{provider} has no size {size:?}; sizes: {known}")]
    UnknownSize {
        provider: String,
        size: String,
        known: String,
    },
    #[error("no provider {name:?} is enabled; enabled: {enabled} (see [providers] in the config)")]
    NotEnabled { name: String, enabled: String },
    #[error("{provider}: server {id} does not exist (deleted outside clawops?)")]
    NoServer { provider: String, id: String },
    #[error("{provider} failed: {message}")]
    Api { provider: String, message: String },
    #[error("{provider} cannot {what}")]
    Unsupported { provider: String, what: String },
}

/// A region a provider offers.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub code: &'static str,
    pub city: &'static str,
    pub country: &'static str,
}

/// A server size with its price.
#[derive(Debug, Clone, PartialEq)]
pub struct Size {
    pub code: &'static str,
    pub vcpus: u32,
    pub memory_gb: u32,
    pub disk_gb: u32,
    /// Price per month in the provider's currency, in cents.
    pub monthly_cents: i64,
}

/// A server's power state as the provider reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerState {
    Starting,
    Running,
    Off,
}

/// A server as the provider reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub region: String,
    pub size: String,
    pub state: PowerState,
    pub ipv4: Option<String>,
    pub labels: BTreeMap<String, String>,
}

/// What to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewServer {
    pub name: String,
    pub region: String,
    pub size: String,
    pub user_data: String,
    pub labels: BTreeMap<String, String>,
}

impl NewServer {
    /// The instance the server is made for (its `instance` label; the server's name may
    /// differ, e.g. during a migration within one account, where names must be unique).
    pub fn instance(&self) -> &str {
        self.labels
            .get("instance")
            .map(String::as_str)
            .unwrap_or(&self.name)
    }
}

/// A snapshot of a server's disk, kept after the server is deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub id: String,
    /// Its monthly price at most (the disk's size at the per-GB price), in cents.
    pub monthly_cents: i64,
}

/// The public half of `instance`'s own SSH key (made on first need), as one OpenSSH
/// line: what a cloud's key upload sends.
pub async fn public_key_line(
    access: &crate::remote::openclaw::Access,
    provider: &str,
    instance: &str,
) -> Result<String, ProviderError> {
    let key = access
        .instance_key(instance)
        .await
        .map_err(|e| ProviderError::Api {
            provider: provider.to_string(),
            message: e.to_string(),
        })?;
    Ok(key.public_key().to_openssh().unwrap_or_default())
}

/// The labels of every resource made for `instance`.
pub fn labels_for(instance: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string()),
        ("instance".to_string(), instance.to_string()),
    ])
}

/// One cloud account clawops can create servers in.
#[async_trait]
pub trait Cloud: Send + Sync {
    /// The name operators use for it (`sim`, `hetzner`, …).
    fn name(&self) -> &str;
    /// How it is shown next to an instance (`hetzner-sim`, `hetzner`, …).
    fn display_name(&self) -> &str;
    /// The currency of its prices, as a symbol.
    fn currency(&self) -> &str;
    /// Its regions.
    fn regions(&self) -> &[Region];
    /// Its sizes, smallest first; the first one runs OpenClaw.
    fn sizes(&self) -> &[Size];

    /// Creates a server.
    async fn create_server(&self, new: &NewServer) -> Result<Server, ProviderError>;
    /// The servers clawops made for `instance`, found by their labels (two during a
    /// migration within one account).
    async fn find_servers(&self, instance: &str) -> Result<Vec<Server>, ProviderError>;
    /// The server clawops made for `instance`, found by its labels.
    async fn find_server(&self, instance: &str) -> Result<Option<Server>, ProviderError> {
        Ok(self.find_servers(instance).await?.into_iter().next())
    }
    /// The server clawops made for `instance` in `region`.
    async fn find_server_in(
        &self,
        instance: &str,
        region: &str,
    ) -> Result<Option<Server>, ProviderError> {
        Ok(self
            .find_servers(instance)
            .await?
            .into_iter()
            .find(|s| s.region.eq_ignore_ascii_case(region)))
    }
    /// The instance `found` was made for, when no other server of that instance remains
    /// (its SSH key goes with its last server; a migration keeps two a while).
    async fn last_server_of(&self, found: &Server) -> Result<Option<String>, ProviderError> {
        let Some(instance) = found.labels.get("instance") else {
            return Ok(None);
        };
        let servers = self.find_servers(instance).await?;
        Ok(servers
            .iter()
            .all(|s| s.id == found.id)
            .then(|| instance.clone()))
    }
    /// Reboots a server.
    async fn reboot(&self, id: &str) -> Result<(), ProviderError> {
        Err(self.unsupported(&format!("reboot server {id}")))
    }
    /// Powers a server on or off.
    async fn power(&self, id: &str, on: bool) -> Result<(), ProviderError> {
        let what = if on { "power on" } else { "power off" };
        Err(self.unsupported(&format!("{what} server {id}")))
    }
    /// Takes a snapshot of a server's disk and waits until it is stored.
    async fn snapshot(&self, id: &str, description: &str) -> Result<Snapshot, ProviderError> {
        let _ = description;
        Err(self.unsupported(&format!("snapshot server {id}")))
    }
    /// What keeping a snapshot costs per GB and month, in thousandths of a cent (None:
    /// this provider takes no snapshots).
    fn snapshot_millicents_per_gb(&self) -> Option<i64> {
        None
    }
    /// What a snapshot of a server of `size` costs per month at most, in cents.
    fn snapshot_monthly_cents(&self, size: &str) -> Option<i64> {
        let rate = self.snapshot_millicents_per_gb()?;
        let gb = self.size(size).ok()?.disk_gb as i64;
        Some((gb * rate + 999) / 1000)
    }
    /// The error of an operation this provider does not have.
    fn unsupported(&self, what: &str) -> ProviderError {
        ProviderError::Unsupported {
            provider: self.display_name().to_string(),
            what: what.to_string(),
        }
    }
    /// How this provider resizes a server (`None`: it cannot).
    fn resize_rule(&self) -> Option<ResizeRule> {
        None
    }
    /// Changes a powered-off server to `size` (the provider's own call).
    async fn change_size(&self, id: &str, size: &str) -> Result<(), ProviderError> {
        Err(self.unsupported(&format!("resize server {id} to {size}")))
    }
    /// Resizes a server: power off, wait until off, change the size, wait until the
    /// provider reports it, power on, wait until it runs.
    async fn resize(&self, id: &str, size: &str) -> Result<(), ProviderError> {
        let who = self.display_name().to_string();
        let state =
            |want: PowerState| async move { Ok(self.existing_server(id).await?.state == want) };
        self.power(id, false).await?;
        wait_until(&who, "the power-off", RESIZE_WAIT, || {
            state(PowerState::Off)
        })
        .await?;
        self.change_size(id, size).await?;
        wait_until(&who, "the size change", RESIZE_WAIT, || async move {
            Ok(self.existing_server(id).await?.size == size)
        })
        .await?;
        self.power(id, true).await?;
        wait_until(&who, "the start", RESIZE_WAIT, || {
            state(PowerState::Running)
        })
        .await
    }
    /// One server by id.
    async fn server(&self, id: &str) -> Result<Option<Server>, ProviderError>;
    /// One server by id that must exist.
    async fn existing_server(&self, id: &str) -> Result<Server, ProviderError> {
        self.server(id)
            .await?
            .ok_or_else(|| ProviderError::NoServer {
                provider: self.display_name().to_string(),
                id: id.to_string(),
            })
    }
    /// Deletes a server.
    async fn delete_server(&self, id: &str) -> Result<(), ProviderError>;
    /// The host behind an instance's server: how the deploy's shared steps, the probes and
    /// the lifecycle commands reach it.
    fn host(&self, instance: &str, server_id: &str, address: Option<&str>) -> Arc<dyn Host>;
    /// Every server of this account that carries clawops' label (for /reconcile).
    async fn managed_servers(&self) -> Result<Vec<Server>, ProviderError> {
        Ok(Vec::new())
    }
    /// Whether its prices are simulated (nobody is billed).
    fn simulated(&self) -> bool {
        false
    }
    /// Whether this provider manages hosts that already exist (no server to create).
    fn existing_hosts(&self) -> bool {
        false
    }
    /// Whether its "servers" are cells on cell hosts.
    fn cells(&self) -> bool {
        false
    }

    /// The region `code`, or an error listing the known ones.
    fn region(&self, code: &str) -> Result<&Region, ProviderError> {
        self.regions()
            .iter()
            .find(|r| r.code == code)
            .ok_or_else(|| ProviderError::UnknownRegion {
                provider: self.display_name().to_string(),
                region: code.to_string(),
                known: self
                    .regions()
                    .iter()
                    .map(|r| r.code)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The size `code` (any case: `s5.small2` is `S5.SMALL2`), or an error listing the
    /// known ones.
    fn size(&self, code: &str) -> Result<&Size, ProviderError> {
        self.sizes()
            .iter()
            .find(|s| s.code.eq_ignore_ascii_case(code))
            .ok_or_else(|| ProviderError::UnknownSize {
                provider: self.display_name().to_string(),
                size: code.to_string(),
                known: self
                    .sizes()
                    .iter()
                    .map(|s| s.code)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// The enabled providers, by name.
#[derive(Clone, Default)]
pub struct Providers {
    clouds: BTreeMap<String, Arc<dyn Cloud>>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.clouds.keys()).finish()
    }
}

impl Providers {
    /// Adds a provider under its name.
    pub fn add(&mut self, cloud: Arc<dyn Cloud>) {
        self.clouds.insert(cloud.name().to_string(), cloud);
    }

    /// The provider called `name` (an instance stores its provider's display name, so
    /// either name is accepted).
    pub fn get(&self, name: &str) -> Result<Arc<dyn Cloud>, ProviderError> {
        self.clouds
            .values()
            .find(|c| c.name() == name || c.display_name() == name)
            .cloned()
            .ok_or_else(|| ProviderError::NotEnabled {
                name: name.to_string(),
                // Cells are always there, and not what a typo meant.
                enabled: self
                    .clouds
                    .values()
                    .filter(|c| !c.cells())
                    .map(|c| c.name().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Every enabled provider, by name.
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Cloud>> {
        self.clouds.values()
    }

    /// The names of the enabled providers.
    pub fn names(&self) -> Vec<String> {
        self.clouds.keys().cloned().collect()
    }
}

/// Builds the host of a cloud server from the instance's name and the server's address:
/// how hosts are reached can be swapped (the tests reach stand-in hosts).
pub type HostFactory = Arc<dyn Fn(&str, Option<&str>) -> Arc<dyn Host> + Send + Sync>;

/// The host of a cloud server: root over SSH on its public address, with the instance's
/// own key (uploaded when the server was created); patient while it boots.
pub fn root_host(
    access: &Arc<crate::remote::openclaw::Access>,
    runtime: &Arc<crate::remote::openclaw::Runtime>,
    instance: &str,
    address: Option<&str>,
) -> Arc<dyn Host> {
    let target = crate::remote::ssh::Target {
        user: "root".into(),
        host: address.unwrap_or("0.0.0.0").to_string(),
        port: 22,
    };
    Arc::new(crate::remote::openclaw::OpenclawHost::new(
        access.clone(),
        runtime.clone(),
        instance,
        target,
        true,
    ))
}

/// Waits until `done` says a long job at a provider (a snapshot) has finished: asked
/// with growing pauses (0.5 s doubling to 5 s), for at most `limit`.
pub async fn wait_until<F, Fut>(
    provider: &str,
    what: &str,
    limit: std::time::Duration,
    mut done: F,
) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, ProviderError>>,
{
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(500);
    loop {
        if done().await? {
            return Ok(());
        }
        if started.elapsed() + pause > limit {
            return Err(ProviderError::Api {
                provider: provider.to_string(),
                message: format!(
                    "{what} did not finish within {}s; look in the provider's console",
                    limit.as_secs()
                ),
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_secs(5));
    }
}

/// How long each stage of a resize (off, change, on) may take.
pub const RESIZE_WAIT: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// What a provider's resize can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResizeRule {
    /// The disk grows to the new size's and can never shrink again, so a later resize
    /// to a size with a smaller disk is refused.
    pub disk_grows: bool,
    /// Whether a size with fewer CPUs or less memory is possible at all.
    pub shrinks: bool,
    /// About how long the instance is down (off, change, boot), for the question.
    pub downtime: &'static str,
}

/// How long clawops waits for a snapshot to be stored.
pub const SNAPSHOT_WAIT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// Labels from `key:value` tags (clouds that have tags, not labels).
pub fn labels_from_tags(tags: &serde_json::Value) -> BTreeMap<String, String> {
    tags.as_array()
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .filter_map(|t| t.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Money for people: `€3.79`.
pub fn money(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.abs();
    format!("{sign}{currency}{}.{:02}", c / 100, c % 100)
}

#[cfg(test)]
mod tests {
    use super::money;

    #[test]
    fn money_formats_cents() {
        assert_eq!(money(379, "€"), "€3.79");
        assert_eq!(money(-1205, "$"), "-$12.05");
        assert_eq!(money(0, "€"), "€0.00");
    }
}
