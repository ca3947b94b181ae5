//! DigitalOcean (`https://api.digitalocean.com/v2`, bearer token): account SSH keys,
//! droplets created with cloud-init and tags (`managed-by:clawops`, `instance:<name>`),
//! lookup by tag, reboot, power, snapshot, delete. DigitalOcean has no delete protection.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value, json};

use super::api::{Api, ApiError, RetryPolicy};
use super::{Cloud, NewServer, PowerState, ProviderError, Region, Server, Size, Snapshot};
use crate::remote::Host;
use crate::remote::openclaw::{Access, Runtime};

/// The image every droplet starts from.
pub const IMAGE: &str = "ubuntu-24-04-x64";

const REGIONS: &[Region] = &[
    Region {
        code: "nyc3",
        city: "New York",
        country: "US",
    },
    Region {
        code: "sfo3",
        city: "San Francisco",
        country: "US",
    },
    Region {
        code: "tor1",
        city: "Toronto",
        country: "CA",
    },
    Region {
        code: "ams3",
        city: "Amsterdam",
        country: "NL",
    },
    Region {
        code: "fra1",
        city: "Frankfurt",
        country: "DE",
    },
    Region {
        code: "lon1",
        city: "London",
        country: "GB",
    },
    Region {
        code: "sgp1",
        city: "Singapore",
        country: "SG",
    },
    Region {
        code: "blr1",
        city: "Bangalore",
        country: "IN",
    },
    Region {
        code: "syd1",
        city: "Sydney",
        country: "AU",
    },
];

/// Basic droplets, smallest that runs OpenClaw (2 GB) first; USD per month.
const SIZES: &[Size] = &[
    Size {
        code: "s-1vcpu-2gb",
        vcpus: 1,
        memory_gb: 2,
        disk_gb: 50,
        monthly_cents: 1200,
    },
    Size {
        code: "s-2vcpu-2gb",
        vcpus: 2,
        memory_gb: 2,
        disk_gb: 60,
        monthly_cents: 1800,
    },
    Size {
        code: "s-2vcpu-4gb",
        vcpus: 2,
        memory_gb: 4,
        disk_gb: 80,
        monthly_cents: 2400,
    },
    Size {
        code: "s-4vcpu-8gb",
        vcpus: 4,
        memory_gb: 8,
        disk_gb: 160,
        monthly_cents: 4800,
    },
];

/// One DigitalOcean team (its API token).
pub struct DigitalOcean {
    hosts: Option<super::HostFactory>,
    name: String,
    api: Api,
    access: Arc<Access>,
    runtime: Arc<Runtime>,
}

/// The tags of every droplet and key clawops makes for `instance`.
pub fn tags_for(instance: &str) -> [String; 2] {
    [
        format!("{}:{}", super::MANAGED_BY.0, super::MANAGED_BY.1),
        format!("instance:{instance}"),
    ]
}

impl DigitalOcean {
    pub fn new(
        name: &str,
        api_url: &str,
        token: &str,
        policy: RetryPolicy,
        access: Arc<Access>,
        runtime: Arc<Runtime>,
    ) -> DigitalOcean {
        DigitalOcean {
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
                "the API token was refused: check [providers.digitalocean] token (or DIGITALOCEAN_TOKEN); it needs write scope".to_string()
            }
            ApiError::Status { body, .. } => {
                let id = body["id"].as_str().unwrap_or("");
                let text = body["message"].as_str().unwrap_or("");
                if text.contains("droplet limit") {
                    format!("the team's droplet limit is reached ({text}): raise it in the control panel, or destroy an instance")
                } else if text.contains("not available") || text.contains("unavailable") {
                    format!("that size is not offered in that region right now ({text}): try another region or size")
                } else if id.is_empty() {
                    e.to_string()
                } else {
                    format!("DigitalOcean rejected the request ({id}): {text}")
                }
            }
            other => other.to_string(),
        };
        ProviderError::Api {
            provider: self.name.clone(),
            message,
        }
    }

    fn odd(&self, what: &str) -> ProviderError {
        ProviderError::Api {
            provider: self.name.clone(),
            message: format!("unexpected answer: {what}"),
        }
    }

    /// The id of the instance's SSH key in the account, uploading it when missing (once,
    /// even when an upload's answer is lost).
    async fn ssh_key(&self, instance: &str) -> Result<i64, ProviderError> {
        let name = format!("clawops-{instance}");
        if let Some(id) = self.find_key(&name).await? {
            return Ok(id);
        }
        let public = super::public_key_line(&self.access, &self.name, instance).await?;
        let body = json!({"name": name, "public_key": public});
        crate::provider::api::create_once(
            &self.api.policy,
            || async {
                let made = self.api.create("/account/keys", &body).await?;
                made.pointer("/ssh_key/id")
                    .and_then(Value::as_i64)
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
    async fn find_key(&self, name: &str) -> Result<Option<i64>, ProviderError> {
        let keys = self
            .api
            .call(Method::GET, "/account/keys?per_page=200", None)
            .await
            .map_err(|e| self.fail(e))?;
        Ok(keys["ssh_keys"]
            .as_array()
            .and_then(|a| a.iter().find(|k| k["name"] == name))
            .and_then(|k| k["id"].as_i64()))
    }

    async fn action(&self, id: &str, kind: &str) -> Result<(), ProviderError> {
        self.api
            .call(
                Method::POST,
                &format!("/droplets/{id}/actions"),
                Some(&json!({"type": kind})),
            )
            .await
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    /// Whether droplet action `id` has finished (one that errored is an error).
    async fn action_done(&self, id: i64) -> Result<bool, ProviderError> {
        let v = self
            .api
            .call(Method::GET, &format!("/actions/{id}"), None)
            .await
            .map_err(|e| self.fail(e))?;
        match v.pointer("/action/status").and_then(Value::as_str) {
            Some("completed") => Ok(true),
            Some("errored") => Err(ProviderError::Api {
                provider: self.name.clone(),
                message: format!("action {id} errored"),
            }),
            _ => Ok(false),
        }
    }

    /// Every droplet clawops made in this team.
    async fn list_managed(&self) -> Result<Vec<Server>, ProviderError> {
        self.tagged(&tags_for("")[0]).await
    }

    async fn tagged(&self, tag: &str) -> Result<Vec<Server>, ProviderError> {
        let mut servers = Vec::new();
        for page in 1..=50 {
            let found = self
                .api
                .call(
                    Method::GET,
                    &format!("/droplets?tag_name={tag}&page={page}&per_page=200"),
                    None,
                )
                .await
                .map_err(|e| self.fail(e))?;
            servers.extend(
                found["droplets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(droplet),
            );
            if found
                .pointer("/links/pages/next")
                .is_none_or(Value::is_null)
            {
                break;
            }
        }
        Ok(servers)
    }
}

fn droplet(v: &Value) -> Server {
    let ipv4 = v
        .pointer("/networks/v4")
        .and_then(Value::as_array)
        .and_then(|nets| nets.iter().find(|n| n["type"] == "public"))
        .and_then(|n| n["ip_address"].as_str())
        .map(str::to_string);
    let labels = super::labels_from_tags(&v["tags"]);
    Server {
        id: v["id"].as_i64().map(|i| i.to_string()).unwrap_or_default(),
        name: v["name"].as_str().unwrap_or("").to_string(),
        region: v
            .pointer("/region/slug")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        size: v["size_slug"].as_str().unwrap_or("").to_string(),
        state: match v["status"].as_str() {
            Some("active") => PowerState::Running,
            Some("off") => PowerState::Off,
            _ => PowerState::Starting,
        },
        ipv4,
        labels,
    }
}

#[async_trait]
impl Cloud for DigitalOcean {
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

    /// Creates the droplet; a create whose answer was lost is found by its tag instead of
    /// being sent again.
    async fn create_server(&self, new: &NewServer) -> Result<Server, ProviderError> {
        let key = self.ssh_key(new.instance()).await?;
        let body = json!({
            "name": new.name,
            "region": new.region,
            "size": new.size,
            "image": IMAGE,
            "ssh_keys": [key],
            "user_data": new.user_data,
            "tags": tags_for(new.instance()),
        });
        crate::provider::api::create_once(
            &self.api.policy,
            || async {
                let made = self.api.create("/droplets", &body).await?;
                Ok(droplet(&made["droplet"]))
            },
            || self.find_server_in(new.instance(), &new.region),
        )
        .await?
        .map_err(|e| self.fail(e))
    }

    async fn managed_servers(&self) -> Result<Vec<Server>, ProviderError> {
        self.list_managed().await
    }

    async fn find_servers(&self, instance: &str) -> Result<Vec<Server>, ProviderError> {
        self.tagged(&tags_for(instance)[1]).await
    }

    async fn reboot(&self, id: &str) -> Result<(), ProviderError> {
        self.action(id, "reboot").await
    }

    /// A `resize` with `disk: true`: the disk grows with the size and DigitalOcean can
    /// never shrink it again.
    fn resize_rule(&self) -> Option<super::ResizeRule> {
        Some(super::ResizeRule {
            disk_grows: true,
            shrinks: true,
            downtime: "about 1-5 minutes (a minute per GB of disk moved)",
        })
    }

    /// A `resize` droplet action on the powered-off droplet.
    async fn change_size(&self, id: &str, size: &str) -> Result<(), ProviderError> {
        self.api
            .call(
                Method::POST,
                &format!("/droplets/{id}/actions"),
                Some(&json!({"type": "resize", "size": size, "disk": true})),
            )
            .await
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    async fn power(&self, id: &str, on: bool) -> Result<(), ProviderError> {
        self.action(id, if on { "power_on" } else { "power_off" })
            .await
    }

    /// A `snapshot` droplet action, waited for; its id is then read from the droplet's
    /// snapshots by name.
    async fn snapshot(&self, id: &str, description: &str) -> Result<Snapshot, ProviderError> {
        let found = self.existing_server(id).await?;
        let made = self
            .api
            .create(
                &format!("/droplets/{id}/actions"),
                &json!({"type": "snapshot", "name": description}),
            )
            .await
            .map_err(|e| self.fail(e))?;
        let action = made
            .pointer("/action/id")
            .and_then(Value::as_i64)
            .ok_or_else(|| self.odd("no action.id in the answer"))?;
        super::wait_until(&self.name, "the snapshot", super::SNAPSHOT_WAIT, || {
            self.action_done(action)
        })
        .await?;
        let list = self
            .api
            .call(Method::GET, &format!("/droplets/{id}/snapshots"), None)
            .await
            .map_err(|e| self.fail(e))?;
        let snap = list["snapshots"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["name"] == description)
            .and_then(|s| {
                s["id"]
                    .as_i64()
                    .map(|i| i.to_string())
                    .or_else(|| s["id"].as_str().map(str::to_string))
            })
            .ok_or_else(|| self.odd("the finished snapshot is not listed"))?;
        Ok(Snapshot {
            id: snap,
            monthly_cents: self.snapshot_monthly_cents(&found.size).unwrap_or(0),
        })
    }

    /// $0.06 per GB and month (DigitalOcean's list price for snapshots).
    fn snapshot_millicents_per_gb(&self) -> Option<i64> {
        Some(6000)
    }

    async fn server(&self, id: &str) -> Result<Option<Server>, ProviderError> {
        Ok(self
            .api
            .get_optional(&format!("/droplets/{id}"))
            .await
            .map_err(|e| self.fail(e))?
            .map(|v| droplet(&v["droplet"])))
    }

    /// Deletes the droplet, then the instance's key.
    async fn delete_server(&self, id: &str) -> Result<(), ProviderError> {
        let found = self.existing_server(id).await?;
        self.api
            .call(Method::DELETE, &format!("/droplets/{id}"), None)
            .await
            .map_err(|e| self.fail(e))?;
        if let Some(instance) = self.last_server_of(&found).await? {
            let keys = self
                .api
                .call(Method::GET, "/account/keys?per_page=200", None)
                .await
                .map_err(|e| self.fail(e))?;
            let name = format!("clawops-{instance}");
            for key in keys["ssh_keys"].as_array().into_iter().flatten() {
                if key["name"] == name.as_str()
                    && let Some(kid) = key["id"].as_i64()
                {
                    self.api
                        .call(Method::DELETE, &format!("/account/keys/{kid}"), None)
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
