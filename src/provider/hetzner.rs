//! Hetzner Cloud (`https://api.hetzner.cloud/v1`, bearer token): SSH keys, servers created
//! with cloud-init, labels and delete protection, lookup by label, reboot, power, snapshot,
//! delete.
//! Hosts are reached over SSH as root with the instance's own key, uploaded at create.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value, json};

use super::api::{Api, ApiError, RetryPolicy};
use super::{
    Cloud, NewServer, PowerState, ProviderError, Region, Server, Size, Snapshot, labels_for,
};
use crate::remote::Host;
use crate::remote::openclaw::{Access, Runtime};

/// The image every server starts from.
pub const IMAGE: &str = "ubuntu-24.04";

/// One Hetzner Cloud project (its API token).
pub struct Hetzner {
    hosts: Option<super::HostFactory>,
    name: String,
    api: Api,
    access: Arc<Access>,
    runtime: Arc<Runtime>,
}

impl Hetzner {
    /// A project reached at `api_url` with `token`; `name` is how operators call it.
    pub fn new(
        name: &str,
        api_url: &str,
        token: &str,
        policy: RetryPolicy,
        access: Arc<Access>,
        runtime: Arc<Runtime>,
    ) -> Hetzner {
        Hetzner {
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
                "the API token was refused: check [providers.hetzner] token (or HCLOUD_TOKEN); it needs Read & Write".to_string()
            }
            ApiError::Status { body, .. } => {
                let code = body.pointer("/error/code").and_then(Value::as_str).unwrap_or("");
                let text = body.pointer("/error/message").and_then(Value::as_str).unwrap_or("");
                match code {
                    "resource_limit_exceeded" => format!("the project's limit is reached ({text}): ask Hetzner to raise it, or destroy an instance"),
                    "resource_unavailable" | "placement_error" => format!("that size is sold out or not offered in that location ({text}): try another location or size"),
                    "invalid_input" => format!("Hetzner rejected the request: {text}"),
                    "protected" => format!("the server is protected against deletion: {text}"),
                    "" => e.to_string(),
                    other => format!("{other}: {text}"),
                }
            }
            other => other.to_string(),
        };
        ProviderError::Api {
            provider: self.name.clone(),
            message,
        }
    }

    /// The id of the instance's SSH key at Hetzner, uploading it when missing.
    async fn ssh_key(&self, instance: &str) -> Result<i64, ProviderError> {
        if let Some(id) = self.find_key(instance).await? {
            return Ok(id);
        }
        let public = super::public_key_line(&self.access, &self.name, instance).await?;
        let body = json!({
            "name": format!("clawops-{instance}"),
            "public_key": public,
            "labels": labels_for(instance),
        });
        crate::provider::api::create_once(
            &self.api.policy,
            || async {
                let made = self.api.create("/ssh_keys", &body).await?;
                made.pointer("/ssh_key/id")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| {
                        crate::provider::api::ApiError::Body("no ssh_key.id in the answer".into())
                    })
            },
            || self.find_key(instance),
        )
        .await?
        .map_err(|e| self.fail(e))
    }

    /// The id of the instance's key at Hetzner, found by its labels.
    async fn find_key(&self, instance: &str) -> Result<Option<i64>, ProviderError> {
        let selector = selector(&labels_for(instance));
        let found = self
            .api
            .call(
                Method::GET,
                &format!("/ssh_keys?label_selector={selector}"),
                None,
            )
            .await
            .map_err(|e| self.fail(e))?;
        Ok(found.pointer("/ssh_keys/0/id").and_then(Value::as_i64))
    }

    fn odd(&self, what: &str) -> ProviderError {
        ProviderError::Api {
            provider: self.name.clone(),
            message: format!("unexpected answer: {what}"),
        }
    }

    async fn action(&self, id: &str, action: &str, body: Value) -> Result<(), ProviderError> {
        self.api
            .call(
                Method::POST,
                &format!("/servers/{id}/actions/{action}"),
                Some(&body),
            )
            .await
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    /// Whether action `id` has finished (an action that failed is an error).
    async fn action_done(&self, id: i64) -> Result<bool, ProviderError> {
        let v = self
            .api
            .call(Method::GET, &format!("/actions/{id}"), None)
            .await
            .map_err(|e| self.fail(e))?;
        match v.pointer("/action/status").and_then(Value::as_str) {
            Some("success") => Ok(true),
            Some("error") => Err(ProviderError::Api {
                provider: self.name.clone(),
                message: format!(
                    "action {id} failed: {}",
                    v.pointer("/action/error/message")
                        .and_then(Value::as_str)
                        .unwrap_or("no reason given")
                ),
            }),
            _ => Ok(false),
        }
    }

    /// Every server clawops made in this project.
    async fn list_managed(&self) -> Result<Vec<Server>, ProviderError> {
        let selector = format!("{}=={}", super::MANAGED_BY.0, super::MANAGED_BY.1);
        let mut servers = Vec::new();
        for page in 1..=50 {
            let found = self
                .api
                .call(
                    Method::GET,
                    &format!("/servers?label_selector={selector}&page={page}&per_page=50"),
                    None,
                )
                .await
                .map_err(|e| self.fail(e))?;
            let batch = found["servers"].as_array().cloned().unwrap_or_default();
            servers.extend(batch.iter().map(server));
            if found
                .pointer("/meta/pagination/next_page")
                .is_none_or(Value::is_null)
            {
                break;
            }
        }
        Ok(servers)
    }
}

/// `k==v,k2==v2` for a label selector (URL-safe for the labels clawops writes).
fn selector(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}=={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn server(v: &Value) -> Server {
    let text = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    Server {
        id: v["id"].as_i64().map(|i| i.to_string()).unwrap_or_default(),
        name: text("/name"),
        region: text("/datacenter/location/name"),
        size: text("/server_type/name"),
        state: match v["status"].as_str() {
            Some("running") => PowerState::Running,
            Some("off") => PowerState::Off,
            _ => PowerState::Starting,
        },
        ipv4: v
            .pointer("/public_net/ipv4/ip")
            .and_then(Value::as_str)
            .map(str::to_string),
        labels: v["labels"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

#[async_trait]
impl Cloud for Hetzner {
    fn name(&self) -> &str {
        &self.name
    }

    fn display_name(&self) -> &str {
        &self.name
    }

    fn currency(&self) -> &str {
        "€"
    }

    fn regions(&self) -> &[Region] {
        super::sim::REGIONS
    }

    fn sizes(&self) -> &[Size] {
        super::sim::SIZES
    }

    /// Creates the server with the instance's key, cloud-init and labels, then turns on
    /// delete protection. A create whose answer was lost is found by its labels instead
    /// of being sent again.
    async fn create_server(&self, new: &NewServer) -> Result<Server, ProviderError> {
        let key = self.ssh_key(new.instance()).await?;
        let body = json!({
            "name": new.name,
            "server_type": new.size,
            "image": IMAGE,
            "location": new.region,
            "ssh_keys": [key],
            "user_data": new.user_data,
            "labels": new.labels,
            "start_after_create": true,
        });
        let made = crate::provider::api::create_once(
            &self.api.policy,
            || async {
                let made = self.api.create("/servers", &body).await?;
                Ok(server(&made["server"]))
            },
            || self.find_server_in(new.instance(), &new.region),
        )
        .await?
        .map_err(|e| self.fail(e))?;
        self.action(&made.id, "change_protection", json!({"delete": true}))
            .await?;
        Ok(made)
    }

    async fn managed_servers(&self) -> Result<Vec<Server>, ProviderError> {
        self.list_managed().await
    }

    async fn find_servers(&self, instance: &str) -> Result<Vec<Server>, ProviderError> {
        let found = self
            .api
            .call(
                Method::GET,
                &format!(
                    "/servers?label_selector={}",
                    selector(&labels_for(instance))
                ),
                None,
            )
            .await
            .map_err(|e| self.fail(e))?;
        Ok(found["servers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(server)
            .collect())
    }

    /// The disk grows with the type (`upgrade_disk`), so more room comes with more CPU;
    /// Hetzner never shrinks a disk, so a type with a smaller one is refused afterwards.
    fn resize_rule(&self) -> Option<super::ResizeRule> {
        Some(super::ResizeRule {
            disk_grows: true,
            shrinks: true,
            downtime: "about 1-3 minutes",
        })
    }

    /// `change_type` on the powered-off server.
    async fn change_size(&self, id: &str, size: &str) -> Result<(), ProviderError> {
        self.action(
            id,
            "change_type",
            json!({"server_type": size, "upgrade_disk": true}),
        )
        .await
    }

    /// Restarts the server (hard reset stays with the console).
    async fn reboot(&self, id: &str) -> Result<(), ProviderError> {
        self.action(id, "reboot", json!({})).await
    }

    /// Powers the server on or off.
    async fn power(&self, id: &str, on: bool) -> Result<(), ProviderError> {
        self.action(id, if on { "poweron" } else { "poweroff" }, json!({}))
            .await
    }

    /// `create_image` of type snapshot (labelled like the server), waited for.
    async fn snapshot(&self, id: &str, description: &str) -> Result<Snapshot, ProviderError> {
        let found = self.existing_server(id).await?;
        let made = self
            .api
            .create(
                &format!("/servers/{id}/actions/create_image"),
                &json!({"type": "snapshot", "description": description, "labels": found.labels}),
            )
            .await
            .map_err(|e| self.fail(e))?;
        let image = made
            .pointer("/image/id")
            .and_then(Value::as_i64)
            .ok_or_else(|| self.odd("no image.id in the answer"))?;
        let action = made
            .pointer("/action/id")
            .and_then(Value::as_i64)
            .ok_or_else(|| self.odd("no action.id in the answer"))?;
        super::wait_until(&self.name, "the snapshot", super::SNAPSHOT_WAIT, || {
            self.action_done(action)
        })
        .await?;
        Ok(Snapshot {
            id: image.to_string(),
            monthly_cents: self.snapshot_monthly_cents(&found.size).unwrap_or(0),
        })
    }

    /// €0.0119 per GB and month (Hetzner's list price for snapshots).
    fn snapshot_millicents_per_gb(&self) -> Option<i64> {
        Some(1190)
    }

    async fn server(&self, id: &str) -> Result<Option<Server>, ProviderError> {
        Ok(self
            .api
            .get_optional(&format!("/servers/{id}"))
            .await
            .map_err(|e| self.fail(e))?
            .map(|v| server(&v["server"])))
    }

    /// Lifts the delete protection (only ever inside a confirmed destroy), deletes the
    /// server, then the instance's SSH key.
    async fn delete_server(&self, id: &str) -> Result<(), ProviderError> {
        let found = self.existing_server(id).await?;
        self.action(id, "change_protection", json!({"delete": false}))
            .await?;
        self.api
            .call(Method::DELETE, &format!("/servers/{id}"), None)
            .await
            .map_err(|e| self.fail(e))?;
        if let Some(instance) = self.last_server_of(&found).await? {
            let keys = self
                .api
                .call(
                    Method::GET,
                    &format!(
                        "/ssh_keys?label_selector={}",
                        selector(&labels_for(&instance))
                    ),
                    None,
                )
                .await
                .map_err(|e| self.fail(e))?;
            for key in keys["ssh_keys"].as_array().cloned().unwrap_or_default() {
                if let Some(kid) = key["id"].as_i64() {
                    self.api
                        .call(Method::DELETE, &format!("/ssh_keys/{kid}"), None)
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
