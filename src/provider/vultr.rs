//! Vultr (`https://api.vultr.com/v2`, bearer token): SSH keys, instances created with
//! base64 cloud-init user data and tags (`managed-by:clawops`, `instance:<name>`), lookup
//! by tag, reboot, start/halt, delete. Vultr has no delete protection.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use super::api::{Api, ApiError, RetryPolicy};
use super::digitalocean::tags_for;
use super::{Cloud, NewServer, PowerState, ProviderError, Region, Server, Size, Snapshot};
use crate::remote::Host;
use crate::remote::openclaw::{Access, Runtime};

/// Ubuntu 24.04 LTS x64 in Vultr's OS list.
pub const OS_ID: i64 = 2284;

const REGIONS: &[Region] = &[
    Region {
        code: "ewr",
        city: "New Jersey",
        country: "US",
    },
    Region {
        code: "ord",
        city: "Chicago",
        country: "US",
    },
    Region {
        code: "lax",
        city: "Los Angeles",
        country: "US",
    },
    Region {
        code: "ams",
        city: "Amsterdam",
        country: "NL",
    },
    Region {
        code: "fra",
        city: "Frankfurt",
        country: "DE",
    },
    Region {
        code: "lhr",
        city: "London",
        country: "GB",
    },
    Region {
        code: "sgp",
        city: "Singapore",
        country: "SG",
    },
    Region {
        code: "nrt",
        city: "Tokyo",
        country: "JP",
    },
    Region {
        code: "syd",
        city: "Sydney",
        country: "AU",
    },
];

/// Regular cloud compute, smallest that runs OpenClaw (2 GB) first; USD per month.
const SIZES: &[Size] = &[
    Size {
        code: "vc2-1c-2gb",
        vcpus: 1,
        memory_gb: 2,
        disk_gb: 55,
        monthly_cents: 1000,
    },
    Size {
        code: "vc2-2c-4gb",
        vcpus: 2,
        memory_gb: 4,
        disk_gb: 80,
        monthly_cents: 2000,
    },
    Size {
        code: "vc2-4c-8gb",
        vcpus: 4,
        memory_gb: 8,
        disk_gb: 160,
        monthly_cents: 4000,
    },
];

/// One Vultr account (its API key).
pub struct Vultr {
    hosts: Option<super::HostFactory>,
    name: String,
    api: Api,
    access: Arc<Access>,
    runtime: Arc<Runtime>,
}

impl Vultr {
    pub fn new(
        name: &str,
        api_url: &str,
        token: &str,
        policy: RetryPolicy,
        access: Arc<Access>,
        runtime: Arc<Runtime>,
    ) -> Vultr {
        Vultr {
            name: name.to_string(),
            api: Api::new(api_url, token, policy),
            access,
            runtime,
            hosts: None,
        }
    }

    /// Reaches this cloud's hosts through `hosts` instead of root over SSH.
    pub fn with_hosts(mut self, hosts: super::HostFactory) -> Self {
        self.hosts = Some(hosts);
        self
    }

    fn fail(&self, e: ApiError) -> ProviderError {
        let message = match &e {
            ApiError::Status { status: 401, .. } => {
                "the API key was refused: check [providers.vultr] token (or VULTR_API_KEY) and its IP access control".to_string()
            }
            ApiError::Status { body, .. } => {
                let text = body["error"].as_str().unwrap_or("");
                if text.contains("limit") {
                    format!("the account's limit is reached ({text}): raise it with Vultr, or destroy an instance")
                } else if text.contains("not available") || text.contains("unavailable") {
                    format!("that plan is not offered in that region right now ({text}): try another region or plan")
                } else if text.is_empty() {
                    e.to_string()
                } else {
                    format!("Vultr rejected the request: {text}")
                }
            }
            other => other.to_string(),
        };
        ProviderError::Api {
            provider: self.name.clone(),
            message,
        }
    }

    async fn keys(&self) -> Result<Vec<Value>, ProviderError> {
        let found = self
            .api
            .call(Method::GET, "/ssh-keys?per_page=500", None)
            .await
            .map_err(|e| self.fail(e))?;
        Ok(found["ssh_keys"].as_array().cloned().unwrap_or_default())
    }

    /// The id of the instance's SSH key, uploading it when missing (once, even when an
    /// upload's answer is lost).
    async fn ssh_key(&self, instance: &str) -> Result<String, ProviderError> {
        let name = format!("clawops-{instance}");
        if let Some(id) = self.find_key(&name).await? {
            return Ok(id);
        }
        let public = super::public_key_line(&self.access, &self.name, instance).await?;
        let body = json!({"name": name, "ssh_key": public});
        crate::provider::api::create_once(
            &self.api.policy,
            || async {
                let made = self.api.create("/ssh-keys", &body).await?;
                made.pointer("/ssh_key/id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| {
                        crate::provider::api::ApiError::Body("no ssh_key.id in the answer".into())
                    })
            },
            || self.find_key(&name),
        )
        .await?
        .map_err(|e| self.fail(e))
    }

    /// The id of the account's key called `name`.
    async fn find_key(&self, name: &str) -> Result<Option<String>, ProviderError> {
        Ok(self
            .keys()
            .await?
            .iter()
            .find(|k| k["name"] == name)
            .and_then(|k| k["id"].as_str())
            .map(str::to_string))
    }
    async fn post(&self, id: &str, what: &str) -> Result<(), ProviderError> {
        self.api
            .call(
                Method::POST,
                &format!("/instances/{id}/{what}"),
                Some(&json!({})),
            )
            .await
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    /// Whether snapshot `id` is stored.
    async fn snapshot_done(&self, id: &str) -> Result<bool, ProviderError> {
        let v = self
            .api
            .call(Method::GET, &format!("/snapshots/{id}"), None)
            .await
            .map_err(|e| self.fail(e))?;
        Ok(v.pointer("/snapshot/status").and_then(Value::as_str) == Some("complete"))
    }

    /// Every instance clawops made in this account.
    async fn list_managed(&self) -> Result<Vec<Server>, ProviderError> {
        self.tagged(&tags_for("")[0]).await
    }

    async fn tagged(&self, tag: &str) -> Result<Vec<Server>, ProviderError> {
        let mut servers = Vec::new();
        let mut cursor = String::new();
        for _ in 0..50 {
            let found = self
                .api
                .call(
                    Method::GET,
                    &format!("/instances?tag={tag}&per_page=500&cursor={cursor}"),
                    None,
                )
                .await
                .map_err(|e| self.fail(e))?;
            servers.extend(
                found["instances"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(instance),
            );
            match found.pointer("/meta/links/next").and_then(Value::as_str) {
                Some(next) if !next.is_empty() => cursor = next.to_string(),
                _ => break,
            }
        }
        Ok(servers)
    }
}

fn instance(v: &Value) -> Server {
    let ip = v["main_ip"].as_str().filter(|ip| *ip != "0.0.0.0");
    let running = v["status"] == "active" && v["power_status"] == "running" && ip.is_some();
    Server {
        id: v["id"].as_str().unwrap_or("").to_string(),
        name: v["label"].as_str().unwrap_or("").to_string(),
        region: v["region"].as_str().unwrap_or("").to_string(),
        size: v["plan"].as_str().unwrap_or("").to_string(),
        state: if running {
            PowerState::Running
        } else if v["power_status"] == "stopped" {
            PowerState::Off
        } else {
            PowerState::Starting
        },
        ipv4: ip.map(str::to_string),
        labels: super::labels_from_tags(&v["tags"]),
    }
}

#[async_trait]
impl Cloud for Vultr {
    fn name(&self) -> &str {
        &self.name
    }

    fn display_name(&self) -> &str {
        &self.name
    }

    fn currency(&self) -> &str {
        "$"
    }

    fn regions(&self) -> &[Region] {
        REGIONS
    }

    fn sizes(&self) -> &[Size] {
        SIZES
    }

    /// Creates the instance (user data base64, as Vultr wants it); a create whose answer
    /// was lost is found by its tag instead of being sent again.
    async fn create_server(&self, new: &NewServer) -> Result<Server, ProviderError> {
        let key = self.ssh_key(new.instance()).await?;
        let body = json!({
            "region": new.region,
            "plan": new.size,
            "os_id": OS_ID,
            "label": new.name,
            "hostname": new.name,
            "sshkey_id": [key],
            "user_data": base64::engine::general_purpose::STANDARD.encode(&new.user_data),
            "tags": tags_for(new.instance()),
        });
        crate::provider::api::create_once(
            &self.api.policy,
            || async {
                let made = self.api.create("/instances", &body).await?;
                Ok(instance(&made["instance"]))
            },
            || self.find_server_in(new.instance(), &new.region),
        )
        .await?
        .map_err(|e| self.fail(e))
    }

    async fn managed_servers(&self) -> Result<Vec<Server>, ProviderError> {
        self.list_managed().await
    }

    async fn find_servers(&self, instance_name: &str) -> Result<Vec<Server>, ProviderError> {
        self.tagged(&tags_for(instance_name)[1]).await
    }

    async fn reboot(&self, id: &str) -> Result<(), ProviderError> {
        self.post(id, "reboot").await
    }

    /// A plan change only goes up (Vultr has no downgrade) and the disk grows with it.
    fn resize_rule(&self) -> Option<super::ResizeRule> {
        Some(super::ResizeRule {
            disk_grows: true,
            shrinks: false,
            downtime: "about 2-5 minutes",
        })
    }

    /// `PATCH /instances/{id}` with the new plan.
    async fn change_size(&self, id: &str, size: &str) -> Result<(), ProviderError> {
        self.api
            .call(
                Method::PATCH,
                &format!("/instances/{id}"),
                Some(&json!({"plan": size})),
            )
            .await
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    async fn power(&self, id: &str, on: bool) -> Result<(), ProviderError> {
        self.post(id, if on { "start" } else { "halt" }).await
    }

    /// `POST /snapshots` of the instance, waited for until `complete`.
    async fn snapshot(&self, id: &str, description: &str) -> Result<Snapshot, ProviderError> {
        let found = self.existing_server(id).await?;
        let made = self
            .api
            .create(
                "/snapshots",
                &json!({"instance_id": id, "description": description}),
            )
            .await
            .map_err(|e| self.fail(e))?;
        let snap = made
            .pointer("/snapshot/id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| ProviderError::Api {
                provider: self.name.clone(),
                message: "unexpected answer: no snapshot.id".into(),
            })?;
        super::wait_until(&self.name, "the snapshot", super::SNAPSHOT_WAIT, || {
            self.snapshot_done(&snap)
        })
        .await?;
        Ok(Snapshot {
            id: snap,
            monthly_cents: self.snapshot_monthly_cents(&found.size).unwrap_or(0),
        })
    }

    /// $0.05 per GB and month (Vultr's list price for snapshots).
    fn snapshot_millicents_per_gb(&self) -> Option<i64> {
        Some(5000)
    }

    async fn server(&self, id: &str) -> Result<Option<Server>, ProviderError> {
        Ok(self
            .api
            .get_optional(&format!("/instances/{id}"))
            .await
            .map_err(|e| self.fail(e))?
            .map(|v| instance(&v["instance"])))
    }

    /// Deletes the instance, then the instance's key.
    async fn delete_server(&self, id: &str) -> Result<(), ProviderError> {
        let found = self.existing_server(id).await?;
        self.api
            .call(Method::DELETE, &format!("/instances/{id}"), None)
            .await
            .map_err(|e| self.fail(e))?;
        if let Some(name) = self.last_server_of(&found).await? {
            let key_name = format!("clawops-{name}");
            for key in self.keys().await? {
                if key["name"] == key_name.as_str()
                    && let Some(kid) = key["id"].as_str()
                {
                    self.api
                        .call(Method::DELETE, &format!("/ssh-keys/{kid}"), None)
                        .await
                        .map_err(|e| self.fail(e))?;
                }
            }
        }
        Ok(())
    }

    fn host(&self, instance: &str, _server_id: &str, address: Option<&str>) -> Arc<dyn Host> {
        match &self.hosts {
            Some(make) => make(instance, address),
            None => super::root_host(&self.access, &self.runtime, instance, address),
        }
    }
}
