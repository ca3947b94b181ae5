//! A real-host driver (`OpenclawHost`) pointed at a loopback port nothing listens on: for
//! the checks clawops makes before it contacts a host at all.
#![allow(dead_code)]

use std::sync::Arc;

use clawops::clock::Clock;
use clawops::remote::openclaw::{Access, NodeSource, OpenclawHost, Runtime};
use clawops::remote::ssh::Target;
use clawops::store::Store;
use clawops::vault::Vault;

/// What hosts get installed, as the tests need it (nothing is installed).
pub fn runtime() -> Arc<Runtime> {
    Arc::new(Runtime {
        node_version: "24.21.0".into(),
        node_source: NodeSource::Npm,
        npm_registry: String::new(),
        npm_version: String::new(),
        gateway_port: 18789,
        models: Vec::new(),
    })
}

/// A port on 127.0.0.1 that nothing listens on.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Instance `instance`'s host at a closed port, with its store in `dir`.
pub async fn host_at_closed_port(dir: &std::path::Path, instance: &str) -> (Store, OpenclawHost) {
    let store = Store::open(&dir.join("fleet.db")).await.unwrap();
    let access = Arc::new(Access::new(
        store.clone(),
        Vault::new([7; 32]),
        Clock::system(),
        None,
    ));
    let target = Target::parse(&format!("ssh://u@127.0.0.1:{}", closed_port())).unwrap();
    let host = OpenclawHost::new(access, runtime(), instance, target, false);
    (store, host)
}
