//! What every cloud provider test needs besides its fake: host access (a store with keys
//! and pins, a vault) and the runtime settings, and a fast retry policy.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use clawops::clock::Clock;
use clawops::provider::api::RetryPolicy;
use clawops::provider::{Cloud, NewServer, PowerState, Server};
use clawops::remote::openclaw::{Access, NodeSource, Runtime};
use clawops::store::Store;
use clawops::vault::Vault;

/// Retries quick enough for tests, and a short request timeout for the late-answer case.
pub fn policy() -> RetryPolicy {
    RetryPolicy {
        attempts: 5,
        base: Duration::from_millis(20),
        cap: Duration::from_millis(200),
        budget: Duration::from_secs(20),
        timeout: Duration::from_millis(700),
    }
}

/// Access and runtime over a store in `dir`.
pub async fn access(dir: &std::path::Path) -> (Arc<Access>, Arc<Runtime>) {
    access_on(Store::open(&dir.join("fleet.db")).await.unwrap())
}

/// Access and runtime over `store`.
pub fn access_on(store: Store) -> (Arc<Access>, Arc<Runtime>) {
    let access = Access::new(store, Vault::new([3; 32]), Clock::system(), None);
    let runtime = Runtime {
        node_version: "24.21.0".into(),
        node_source: NodeSource::Nodejs,
        npm_registry: "https://registry.npmjs.org".into(),
        npm_version: "11.21.2".into(),
        gateway_port: 18789,
        models: vec![],
    };
    (Arc::new(access), Arc::new(runtime))
}

/// What a deploy asks a cloud to create for `name`.
pub fn new_server(name: &str, region: &str, size: &str) -> NewServer {
    NewServer {
        name: name.into(),
        region: region.into(),
        size: size.into(),
        user_data: clawops::deploy::cloud_init(None),
        labels: clawops::provider::labels_for(name),
    }
}

/// Polls `cloud` until server `id` runs (at most 5 s) and returns it.
pub async fn wait_running(cloud: &dyn Cloud, id: &str) -> Server {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let s = cloud.server(id).await.unwrap().expect("the server exists");
        if s.state == PowerState::Running {
            return s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server {id} never ran"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
