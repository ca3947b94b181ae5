//! "Hosts you already have": a provider whose servers are SSH addresses
//! (`ssh://user@host:port`) instead of a cloud API. Nothing is created or deleted at a
//! cloud; the deploy's shared host steps do all the work, and a destroy removes what
//! clawops installed on the host.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::{Cloud, NewServer, PowerState, ProviderError, Region, Server, Size};
use crate::remote::Host;
use crate::remote::openclaw::{Access, OpenclawHost, Runtime};
use crate::remote::ssh::Target;

/// The one "region" of this provider: wherever the address points.
static ANYWHERE: Region = Region {
    code: "ssh",
    city: "your host",
    country: "-",
};

/// The one "size": the host as it is, at no price clawops knows.
const HOST_SIZE: &[Size] = &[Size {
    code: "host",
    vcpus: 0,
    memory_gb: 0,
    disk_gb: 0,
    monthly_cents: 0,
}];

/// Existing hosts reached over SSH.
pub struct SshHosts {
    access: Arc<Access>,
    runtime: Arc<Runtime>,
}

impl SshHosts {
    pub fn new(access: Arc<Access>, runtime: Arc<Runtime>) -> SshHosts {
        SshHosts { access, runtime }
    }

    fn target(&self, address: &str) -> Result<Target, ProviderError> {
        Target::parse(address).map_err(|message| ProviderError::Api {
            provider: "ssh".into(),
            message,
        })
    }
}

#[async_trait]
impl Cloud for SshHosts {
    fn name(&self) -> &str {
        "ssh"
    }

    fn display_name(&self) -> &str {
        "ssh"
    }

    fn currency(&self) -> &str {
        ""
    }

    fn regions(&self) -> &[Region] {
        std::slice::from_ref(&ANYWHERE)
    }

    fn sizes(&self) -> &[Size] {
        HOST_SIZE
    }

    /// Any SSH address is a "region" of this provider.
    fn region(&self, code: &str) -> Result<&Region, ProviderError> {
        Target::parse(code)
            .map(|_| &ANYWHERE)
            .map_err(|why| ProviderError::UnknownRegion {
                provider: "ssh".into(),
                region: code.to_string(),
                known: format!("an address like ssh://root@203.0.113.5 ({why})"),
            })
    }

    fn existing_hosts(&self) -> bool {
        true
    }

    /// Registers the host: its address is its id.
    async fn create_server(&self, new: &NewServer) -> Result<Server, ProviderError> {
        let target = self.target(&new.region)?;
        Ok(Server {
            id: target.url(),
            name: new.name.clone(),
            region: target.url(),
            size: "host".into(),
            state: PowerState::Running,
            ipv4: Some(target.host.clone()),
            labels: new.labels.clone(),
        })
    }

    /// Existing hosts carry no labels to find them by: the deploy registers the address.
    async fn find_servers(&self, _instance: &str) -> Result<Vec<Server>, ProviderError> {
        Ok(Vec::new())
    }

    async fn server(&self, id: &str) -> Result<Option<Server>, ProviderError> {
        let target = self.target(id)?;
        Ok(Some(Server {
            id: target.url(),
            name: String::new(),
            region: target.url(),
            size: "host".into(),
            state: PowerState::Running,
            ipv4: Some(target.host),
            labels: BTreeMap::new(),
        }))
    }

    /// Nothing to delete at a cloud: the destroy action removes what clawops installed.
    async fn delete_server(&self, _id: &str) -> Result<(), ProviderError> {
        Ok(())
    }

    fn host(&self, instance: &str, server_id: &str, _address: Option<&str>) -> Arc<dyn Host> {
        let target = Target::parse(server_id).unwrap_or(Target {
            user: "invalid".into(),
            host: "invalid.invalid".into(),
            port: 22,
        });
        Arc::new(OpenclawHost::new(
            self.access.clone(),
            self.runtime.clone(),
            instance,
            target,
            false,
        ))
    }
}
