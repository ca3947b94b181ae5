//! Cells: a provider whose "servers" are containers on cell hosts clawops prepared (a
//! cloud server it bought for them, or a host you have, reached as root). An instance in a
//! cell is `cell` in region HOST, server `HOST/NAME`; every command reaches it through the
//! same [`Host`] as a server, driving its container instead of a service.
//!
//! Owns the cell hosts' and cells' rows (kept here in memory too, so that finding a cell's
//! host never waits), placement (the least-loaded host with room within the overcommit
//! ratio) and the price of a cell (its share of its host's price by memory).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use super::{Cloud, NewServer, PowerState, ProviderError, Region, Server, Size};
use crate::clock::Clock;
use crate::config::CellsConfig;
use crate::remote::Host;
use crate::remote::cells::{CellSpot, HostStats};
use crate::remote::openclaw::{Access, OpenclawHost, Runtime};
use crate::remote::ssh::Target;
use crate::store::{CellHostRow, CellHostState, CellRow, NewCellHost, Store, StoreError};

/// The one region the provider shows (the host is the instance's region).
static ON_A_HOST: Region = Region {
    code: "cell",
    city: "a cell host",
    country: "-",
};

/// The one size: the limits are the cell's own.
const CELL_SIZE: &[Size] = &[Size {
    code: "cell",
    vcpus: 0,
    memory_gb: 0,
    disk_gb: 0,
    monthly_cents: 0,
}];

/// What one cell may use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub cpus: f64,
    pub memory_mb: u32,
    pub pids: u32,
    pub disk_mb: Option<u32>,
}

impl Limits {
    pub fn from_row(row: &CellRow) -> Limits {
        Limits {
            cpus: row.cpus_milli as f64 / 1000.0,
            memory_mb: row.memory_mb.max(0) as u32,
            pids: row.pids.max(0) as u32,
            disk_mb: row.disk_mb.map(|d| d.max(0) as u32),
        }
    }
}

impl std::fmt::Display for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} CPU, {} MB, {} processes",
            trim_float(self.cpus),
            self.memory_mb,
            self.pids
        )?;
        if let Some(d) = self.disk_mb {
            write!(f, ", {d} MB disk")?;
        }
        Ok(())
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// One host's room: what its cells were promised against what it has.
#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    pub host: String,
    pub cells: usize,
    pub cpus_committed: f64,
    pub memory_committed_mb: u64,
    pub vcpus: f64,
    pub memory_mb: u64,
}

impl Room {
    /// Whether `want` fits within `overcommit` times the server.
    pub fn fits(&self, want: &Limits, overcommit: f64) -> bool {
        self.cpus_committed + want.cpus <= self.vcpus * overcommit + 1e-9
            && (self.memory_committed_mb + u64::from(want.memory_mb)) as f64
                <= self.memory_mb as f64 * overcommit
    }

    /// How full it is: the larger of its CPU and memory shares.
    pub fn load(&self) -> f64 {
        let cpu = self.cpus_committed / self.vcpus.max(0.01);
        let mem = self.memory_committed_mb as f64 / (self.memory_mb.max(1)) as f64;
        cpu.max(mem)
    }
}

/// Why a cell cannot go where it was asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Placement {
    #[error(
        "there is no cell host yet: /hosts add NAME REGION buys one (or /hosts add NAME ssh://root@ADDRESS prepares one you have)"
    )]
    NoHosts,
    #[error("there is no cell host {0:?}; /hosts lists them")]
    Unknown(String),
    #[error("cell host {0} is draining: it takes no new cells")]
    Draining(String),
    /// The named host has no room (the words say how full it is).
    #[error("{0}")]
    Full(String),
    #[error(
        "every cell host is full for {0} (within the overcommit ratio): /hosts shows their room; /hosts add NAME REGION buys another, or ask for less (--cpus, --memory)"
    )]
    AllFull(String),
}

/// The host a new cell goes to: `named`, or the least-loaded ready host with room.
pub fn place(
    rooms: &[Room],
    states: &HashMap<String, CellHostState>,
    want: &Limits,
    overcommit: f64,
    named: Option<&str>,
) -> Result<String, Placement> {
    if let Some(name) = named {
        let room = rooms
            .iter()
            .find(|r| r.host == name)
            .ok_or_else(|| Placement::Unknown(name.to_string()))?;
        if states.get(name) == Some(&CellHostState::Draining) {
            return Err(Placement::Draining(name.to_string()));
        }
        if !room.fits(want, overcommit) {
            return Err(Placement::Full(format!(
                "{name} has no room for {want}: {} of {} CPUs and {} of {} MB are promised to its cells (overcommit {}); pick another host, smaller limits, or /hosts add",
                trim_float(room.cpus_committed),
                trim_float(room.vcpus),
                room.memory_committed_mb,
                room.memory_mb,
                trim_float(overcommit)
            )));
        }
        return Ok(name.to_string());
    }
    if rooms.is_empty() {
        return Err(Placement::NoHosts);
    }
    rooms
        .iter()
        .filter(|r| states.get(&r.host) != Some(&CellHostState::Draining))
        .filter(|r| r.fits(want, overcommit))
        .min_by(|a, b| a.load().total_cmp(&b.load()).then(a.host.cmp(&b.host)))
        .map(|r| r.host.clone())
        .ok_or_else(|| Placement::AllFull(want.to_string()))
}

/// The cell provider.
pub struct CellCloud {
    access: Arc<Access>,
    runtime: Arc<Runtime>,
    store: Store,
    clock: Clock,
    pub config: CellsConfig,
    hosts: RwLock<BTreeMap<String, CellHostRow>>,
    /// By (instance, host).
    cells: RwLock<BTreeMap<(String, String), CellRow>>,
    stats: RwLock<HashMap<String, Arc<HostStats>>>,
}

impl CellCloud {
    /// The provider with the hosts and cells the store holds.
    pub async fn load(
        access: Arc<Access>,
        runtime: Arc<Runtime>,
        store: Store,
        clock: Clock,
        config: CellsConfig,
    ) -> Result<CellCloud, StoreError> {
        let hosts = store.cell_hosts().await?;
        let cells = store.cells().await?;
        Ok(CellCloud {
            access,
            runtime,
            store,
            clock,
            config,
            hosts: RwLock::new(hosts.into_iter().map(|h| (h.name.clone(), h)).collect()),
            cells: RwLock::new(
                cells
                    .into_iter()
                    .map(|c| ((c.instance.clone(), c.host.clone()), c))
                    .collect(),
            ),
            stats: RwLock::default(),
        })
    }

    pub fn hosts(&self) -> Vec<CellHostRow> {
        self.hosts
            .read()
            .map(|h| h.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn host_row(&self, name: &str) -> Option<CellHostRow> {
        self.hosts.read().ok()?.get(name).cloned()
    }

    pub fn cells(&self) -> Vec<CellRow> {
        self.cells
            .read()
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default()
    }

    /// `instance`'s newest cell (a migration between hosts has two a while).
    pub fn cell(&self, instance: &str) -> Option<CellRow> {
        self.cells()
            .into_iter()
            .filter(|c| c.instance == instance)
            .max_by(|a, b| a.created_at.cmp(&b.created_at))
    }

    /// `instance`'s cell on `host`.
    pub fn cell_at(&self, instance: &str, host: &str) -> Option<CellRow> {
        self.cells
            .read()
            .ok()?
            .get(&(instance.to_string(), host.to_string()))
            .cloned()
    }

    /// The cells on `host`, by port.
    pub fn cells_on(&self, host: &str) -> Vec<CellRow> {
        let mut on: Vec<CellRow> = self
            .cells()
            .into_iter()
            .filter(|c| c.host == host)
            .collect();
        on.sort_by_key(|c| c.port);
        on
    }

    /// Each host's room.
    pub fn rooms(&self) -> Vec<Room> {
        let cells = self.cells();
        self.hosts()
            .into_iter()
            .map(|h| {
                let on: Vec<&CellRow> = cells.iter().filter(|c| c.host == h.name).collect();
                Room {
                    cells: on.len(),
                    cpus_committed: on.iter().map(|c| c.cpus_milli as f64 / 1000.0).sum(),
                    memory_committed_mb: on.iter().map(|c| c.memory_mb.max(0) as u64).sum(),
                    vcpus: h.vcpus as f64,
                    memory_mb: h.memory_mb.max(0) as u64,
                    host: h.name,
                }
            })
            .collect()
    }

    /// Where a new cell with `want` goes.
    pub fn place(&self, want: &Limits, named: Option<&str>) -> Result<String, Placement> {
        let states = self
            .hosts()
            .into_iter()
            .map(|h| (h.name, h.state))
            .collect();
        place(&self.rooms(), &states, want, self.config.overcommit, named)
    }

    /// The limits `[cells]` gives where a flag does not.
    pub fn limits(&self, cpus: Option<f64>, memory_mb: Option<u32>, pids: Option<u32>) -> Limits {
        Limits {
            cpus: cpus.unwrap_or(self.config.cpus),
            memory_mb: memory_mb.unwrap_or(self.config.memory_mb),
            pids: pids.unwrap_or(self.config.pids),
            disk_mb: self.config.disk_mb,
        }
    }

    /// A cell's monthly price: its host's price shared by memory promised, and the
    /// host's currency.
    pub fn price(&self, host: &str, memory_mb: u32) -> (i64, String) {
        match self.host_row(host) {
            Some(h) if h.memory_mb > 0 => (
                (h.monthly_cents * i64::from(memory_mb) + h.memory_mb - 1) / h.memory_mb,
                h.currency,
            ),
            Some(h) => (0, h.currency),
            None => (0, String::new()),
        }
    }

    /// Records a prepared host.
    pub async fn add_host(&self, new: &NewCellHost) -> Result<CellHostRow, StoreError> {
        let row = self.store.add_cell_host(new, self.clock.now()).await?;
        if let Ok(mut hosts) = self.hosts.write() {
            hosts.insert(row.name.clone(), row.clone());
        }
        Ok(row)
    }

    pub async fn set_host_state(&self, name: &str, state: CellHostState) -> Result<(), StoreError> {
        self.store.set_cell_host_state(name, state).await?;
        if let Ok(mut hosts) = self.hosts.write()
            && let Some(h) = hosts.get_mut(name)
        {
            h.state = state;
        }
        Ok(())
    }

    pub async fn forget_host(&self, name: &str) -> Result<(), StoreError> {
        self.store.remove_cell_host(name).await?;
        if let Ok(mut hosts) = self.hosts.write() {
            hosts.remove(name);
        }
        Ok(())
    }

    /// Reserves `instance`'s cell on `host` (kept when it has one there).
    pub async fn reserve(
        &self,
        instance: &str,
        host: &str,
        limits: &Limits,
    ) -> Result<CellRow, StoreError> {
        let row = self
            .store
            .reserve_cell(
                instance,
                host,
                i64::from(self.config.first_port),
                (limits.cpus * 1000.0).round() as i64,
                i64::from(limits.memory_mb),
                i64::from(limits.pids),
                limits.disk_mb.map(i64::from),
                self.clock.now(),
            )
            .await?;
        if let Ok(mut cells) = self.cells.write() {
            cells.insert((instance.to_string(), host.to_string()), row.clone());
        }
        Ok(row)
    }

    pub async fn forget_cell(&self, instance: &str, host: &str) -> Result<(), StoreError> {
        self.store.remove_cell(instance, host).await?;
        if let Ok(mut cells) = self.cells.write() {
            cells.remove(&(instance.to_string(), host.to_string()));
        }
        Ok(())
    }

    fn target(url: &str) -> Target {
        Target::parse(url).unwrap_or(Target {
            user: "root".into(),
            host: "invalid.invalid".into(),
            port: 22,
        })
    }

    /// A sweep begins: every host is looked at afresh, once for all its cells.
    pub async fn new_looks(&self) {
        let all: Vec<Arc<HostStats>> = self
            .stats
            .read()
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default();
        for stats in all {
            stats.stale().await;
        }
    }

    fn stats_of(&self, host: &str) -> Arc<HostStats> {
        if let Some(s) = self.stats.read().ok().and_then(|s| s.get(host).cloned()) {
            return s;
        }
        let mut all = match self.stats.write() {
            Ok(all) => all,
            Err(_) => return Arc::default(),
        };
        all.entry(host.to_string()).or_default().clone()
    }

    /// The cell host `name` at `target` (`ssh://root@…`) itself, as root; `bought`: a
    /// cloud server clawops made (its host key was given in cloud-init).
    pub fn host_itself(&self, name: &str, target: &str, bought: bool) -> OpenclawHost {
        OpenclawHost::cell_host(
            self.access.clone(),
            self.runtime.clone(),
            name,
            Self::target(target),
            bought,
        )
    }

    /// The cell server `id` (`HOST/NAME`) names, as its host drives it.
    fn in_cell(&self, id: &str) -> Option<OpenclawHost> {
        let (host, instance) = id.split_once('/')?;
        let cell = self.cell_at(instance, host)?;
        let host = self.host_row(&cell.host)?;
        let limits = Limits::from_row(&cell);
        let spot = CellSpot {
            host: host.name.clone(),
            port: u16::try_from(cell.port).ok()?,
            cpus: limits.cpus,
            memory_mb: limits.memory_mb,
            pids: limits.pids,
            disk_mb: limits.disk_mb,
            image: self.config.image.clone(),
            stats: self.stats_of(&host.name),
        };
        Some(OpenclawHost::in_cell(
            self.access.clone(),
            self.runtime.clone(),
            instance,
            Self::target(&host.target),
            host.provider.is_some(),
            spot,
        ))
    }

    fn server_of(&self, cell: &CellRow) -> Server {
        let address = self
            .host_row(&cell.host)
            .map(|h| Self::target(&h.target).host);
        Server {
            id: format!("{}/{}", cell.host, cell.instance),
            name: cell.instance.clone(),
            region: cell.host.clone(),
            size: "cell".into(),
            state: PowerState::Running,
            ipv4: address,
            labels: super::labels_for(&cell.instance),
        }
    }

    /// The cell server `id` names: (instance, host).
    fn cell_of(&self, id: &str) -> Option<CellRow> {
        let (host, instance) = id.split_once('/')?;
        self.cell_at(instance, host)
    }
}

#[async_trait]
impl Cloud for CellCloud {
    fn name(&self) -> &str {
        "cell"
    }

    fn display_name(&self) -> &str {
        "cell"
    }

    fn currency(&self) -> &str {
        ""
    }

    fn regions(&self) -> &[Region] {
        std::slice::from_ref(&ON_A_HOST)
    }

    fn sizes(&self) -> &[Size] {
        CELL_SIZE
    }

    /// Any cell host is a "region" of this provider.
    fn region(&self, code: &str) -> Result<&Region, ProviderError> {
        if self.host_row(code).is_some() {
            return Ok(&ON_A_HOST);
        }
        Err(ProviderError::UnknownRegion {
            provider: "cell".into(),
            region: code.to_string(),
            known: self
                .hosts()
                .into_iter()
                .map(|h| h.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    fn cells(&self) -> bool {
        true
    }

    /// The cell the deploy reserved on the host its region names.
    async fn create_server(&self, new: &NewServer) -> Result<Server, ProviderError> {
        let cell = self
            .cell_at(new.instance(), &new.region)
            .ok_or_else(|| ProviderError::Api {
                provider: "cell".into(),
                message: format!(
                    "no cell is reserved for {} on {}: /deploy {} --cell reserves one",
                    new.instance(),
                    new.region,
                    new.instance()
                ),
            })?;
        Ok(self.server_of(&cell))
    }

    async fn find_servers(&self, instance: &str) -> Result<Vec<Server>, ProviderError> {
        Ok(self
            .cells()
            .iter()
            .filter(|c| c.instance == instance)
            .map(|c| self.server_of(c))
            .collect())
    }

    async fn server(&self, id: &str) -> Result<Option<Server>, ProviderError> {
        Ok(self.cell_of(id).map(|c| self.server_of(&c)))
    }

    /// The container and its volume go; the host stays for its other cells.
    async fn delete_server(&self, id: &str) -> Result<(), ProviderError> {
        let Some(cell) = self.cell_of(id) else {
            return Ok(());
        };
        if let Some(host) = self.in_cell(id) {
            host.remove().await.map_err(|e| ProviderError::Api {
                provider: "cell".into(),
                message: e.to_string(),
            })?;
        }
        self.forget_cell(&cell.instance, &cell.host)
            .await
            .map_err(|e| ProviderError::Api {
                provider: "cell".into(),
                message: e.to_string(),
            })
    }

    /// A cell's "reboot" restarts its container; its host is never rebooted for one cell.
    async fn reboot(&self, id: &str) -> Result<(), ProviderError> {
        let host = self.in_cell(id).ok_or_else(|| ProviderError::NoServer {
            provider: "cell".into(),
            id: id.to_string(),
        })?;
        host.restart_service()
            .await
            .map(|_| ())
            .map_err(|e| ProviderError::Api {
                provider: "cell".into(),
                message: e.to_string(),
            })
    }

    fn host(&self, instance: &str, server_id: &str, _address: Option<&str>) -> Arc<dyn Host> {
        match self.in_cell(server_id) {
            Some(host) => Arc::new(host),
            None => Arc::new(OpenclawHost::new(
                self.access.clone(),
                self.runtime.clone(),
                instance,
                Target {
                    user: "root".into(),
                    host: "invalid.invalid".into(),
                    port: 22,
                },
                false,
            )),
        }
    }

    async fn managed_servers(&self) -> Result<Vec<Server>, ProviderError> {
        Ok(self.cells().iter().map(|c| self.server_of(c)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(host: &str, cells: usize, cpus: f64, mem: u64) -> Room {
        Room {
            host: host.into(),
            cells,
            cpus_committed: cpus,
            memory_committed_mb: mem,
            vcpus: 4.0,
            memory_mb: 8192,
        }
    }

    const ONE: Limits = Limits {
        cpus: 1.0,
        memory_mb: 1024,
        pids: 256,
        disk_mb: None,
    };

    #[test]
    fn a_cell_goes_to_the_least_loaded_host_with_room() {
        let rooms = [room("a", 3, 3.0, 3072), room("b", 1, 1.0, 1024)];
        let states = HashMap::new();
        assert_eq!(place(&rooms, &states, &ONE, 1.0, None), Ok("b".into()));
        // A draining host takes none.
        let draining = HashMap::from([("b".to_string(), CellHostState::Draining)]);
        assert_eq!(place(&rooms, &draining, &ONE, 1.0, None), Ok("a".into()));
        assert_eq!(
            place(&rooms, &draining, &ONE, 1.0, Some("b")),
            Err(Placement::Draining("b".into()))
        );
    }

    #[test]
    fn overcommit_past_the_ratio_is_refused() {
        let full = [room("a", 4, 4.0, 4096)];
        let states = HashMap::new();
        // Four CPUs promised on four: a fifth is refused at 1.0, taken at 1.5.
        assert!(matches!(
            place(&full, &states, &ONE, 1.0, Some("a")),
            Err(Placement::Full(_))
        ));
        assert_eq!(
            place(&full, &states, &ONE, 1.0, None),
            Err(Placement::AllFull(ONE.to_string()))
        );
        assert_eq!(place(&full, &states, &ONE, 1.5, None), Ok("a".into()));
        assert_eq!(
            place(&[], &states, &ONE, 1.0, None),
            Err(Placement::NoHosts)
        );
        assert_eq!(
            place(&full, &states, &ONE, 1.0, Some("zz")),
            Err(Placement::Unknown("zz".into()))
        );
    }
}
