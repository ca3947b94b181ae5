//! Tencent Cloud: CVM instances, key pairs and a security group that opens SSH only
//! (Tencent blocks inbound traffic by default), every request signed with
//! TC3-HMAC-SHA256 (`tc3`). Errors come back inside a 200 answer
//! (`Response.Error.Code`); `RequestLimitExceeded` is retried like a 429.
//! `RunInstances` is made idempotent with a `ClientToken` derived from the instance name.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use base64::Engine;
use serde_json::{Value, json};

use super::api::RetryPolicy;
use super::tc3;
use super::{Cloud, NewServer, PowerState, ProviderError, Region, Server, Size, Snapshot};
use crate::remote::Host;
use crate::remote::openclaw::{Access, Runtime};

const CVM_VERSION: &str = "2017-03-12";
const VPC_VERSION: &str = "2017-03-12";
/// The security group clawops makes in each region: SSH in, nothing else.
const GROUP_NAME: &str = "clawops-ssh-only";

/// Zones (the region is the zone without its last `-N`).
const REGIONS: &[Region] = &[
    Region {
        code: "ap-singapore-1",
        city: "Singapore",
        country: "SG",
    },
    Region {
        code: "ap-hongkong-2",
        city: "Hong Kong",
        country: "HK",
    },
    Region {
        code: "ap-tokyo-2",
        city: "Tokyo",
        country: "JP",
    },
    Region {
        code: "eu-frankfurt-1",
        city: "Frankfurt",
        country: "DE",
    },
    Region {
        code: "na-siliconvalley-1",
        city: "Silicon Valley",
        country: "US",
    },
    Region {
        code: "ap-guangzhou-6",
        city: "Guangzhou",
        country: "CN",
    },
];

/// Standard S5 instances, smallest that runs OpenClaw (2 GB) first; USD per month (list
/// prices, pay as you go, 50 GB disk).
const SIZES: &[Size] = &[
    Size {
        code: "S5.SMALL2",
        vcpus: 1,
        memory_gb: 2,
        disk_gb: 50,
        monthly_cents: 1590,
    },
    Size {
        code: "S5.MEDIUM4",
        vcpus: 2,
        memory_gb: 4,
        disk_gb: 50,
        monthly_cents: 3050,
    },
    Size {
        code: "S5.LARGE8",
        vcpus: 4,
        memory_gb: 8,
        disk_gb: 50,
        monthly_cents: 5970,
    },
];

/// Where the APIs live (overridable for tests).
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// e.g. `https://cvm.tencentcloudapi.com`.
    pub cvm: String,
    pub vpc: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            cvm: "https://cvm.tencentcloudapi.com".into(),
            vpc: "https://vpc.tencentcloudapi.com".into(),
        }
    }
}

/// One Tencent Cloud account (a SecretId and SecretKey).
pub struct Tencent {
    hosts: Option<super::HostFactory>,
    name: String,
    secret_id: String,
    secret_key: String,
    image: String,
    endpoints: Endpoints,
    client: reqwest::Client,
    policy: RetryPolicy,
    access: Arc<Access>,
    runtime: Arc<Runtime>,
}

/// Why one Tencent call failed.
#[derive(Debug)]
enum CallError {
    /// `Response.Error` with its code and message.
    Api {
        code: String,
        message: String,
    },
    /// No answer in time (the call may have been carried out).
    Timeout,
    Network(String),
}

impl Tencent {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        secret_id: &str,
        secret_key: &str,
        image: &str,
        endpoints: Endpoints,
        policy: RetryPolicy,
        access: Arc<Access>,
        runtime: Arc<Runtime>,
    ) -> Tencent {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Tencent {
            name: name.to_string(),
            secret_id: secret_id.to_string(),
            secret_key: secret_key.to_string(),
            image: image.to_string(),
            endpoints,
            client: reqwest::Client::builder()
                .timeout(policy.timeout)
                .build()
                .unwrap_or_default(),
            policy,
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

    fn fail(&self, e: CallError) -> ProviderError {
        let message = match e {
            CallError::Api { code, message } => match code.as_str() {
                c if c.starts_with("AuthFailure") => format!(
                    "the SecretId/SecretKey were refused ({c}): check [providers.tencent] secret_id and secret_key (or TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY)"
                ),
                "LimitExceeded.InstanceQuotaLimitExceeded" | "LimitExceeded" => {
                    format!(
                        "the account's instance quota is reached ({message}): raise it, or destroy an instance"
                    )
                }
                c if c.contains("SoldOut")
                    || c.contains("NoAvailableZone")
                    || c == "ResourceInsufficient" =>
                {
                    format!(
                        "that type is sold out in that zone ({message}): try another zone or type"
                    )
                }
                "RequestLimitExceeded" => {
                    "rate limited too many times in a row; try again in a minute".into()
                }
                other => format!("Tencent Cloud rejected the request ({other}): {message}"),
            },
            CallError::Timeout => format!("no answer within {}s", self.policy.timeout.as_secs()),
            CallError::Network(e) => format!("cannot reach the API: {e}"),
        };
        ProviderError::Api {
            provider: self.name.clone(),
            message,
        }
    }

    /// One signed call, retried on `RequestLimitExceeded`, `InternalError` and network
    /// failures (and, when `idempotent`, on timeouts), with back-off and jitter.
    async fn call(
        &self,
        service: &str,
        action: &str,
        region: &str,
        params: &Value,
        idempotent: bool,
    ) -> Result<Value, CallError> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let error = match self.once(service, action, region, params).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let retry = match &error {
                CallError::Api { code, .. } => {
                    code == "RequestLimitExceeded" || code.starts_with("InternalError")
                }
                CallError::Network(_) => true,
                CallError::Timeout => idempotent,
            };
            let wait = crate::retry::wait(self.policy.base, self.policy.cap, attempt);
            if !retry
                || attempt >= self.policy.attempts
                || started.elapsed() + wait > self.policy.budget
            {
                return Err(error);
            }
            tokio::time::sleep(wait).await;
        }
    }

    async fn once(
        &self,
        service: &str,
        action: &str,
        region: &str,
        params: &Value,
    ) -> Result<Value, CallError> {
        let (base, version) = match service {
            "vpc" => (&self.endpoints.vpc, VPC_VERSION),
            _ => (&self.endpoints.cvm, CVM_VERSION),
        };
        let host = base
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let payload = params.to_string();
        let content_type = "application/json; charset=utf-8";
        let timestamp = chrono::Utc::now().timestamp();
        let request = tc3::Request {
            service,
            host: &host,
            content_type,
            payload: &payload,
            timestamp,
        };
        let authorization = tc3::authorization(&self.secret_id, &self.secret_key, &request);
        let response = self
            .client
            .post(format!("{}/", base.trim_end_matches('/')))
            .header("Authorization", authorization)
            .header("Content-Type", content_type)
            .header("Host", &host)
            .header("X-TC-Action", action)
            .header("X-TC-Timestamp", timestamp.to_string())
            .header("X-TC-Version", version)
            .header("X-TC-Region", region)
            .body(payload)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    CallError::Timeout
                } else {
                    CallError::Network(e.to_string())
                }
            })?;
        let body: Value = response
            .json()
            .await
            .map_err(|e| CallError::Network(format!("the answer is not JSON: {e}")))?;
        let answer = body.get("Response").cloned().unwrap_or(Value::Null);
        if let Some(err) = answer.get("Error") {
            return Err(CallError::Api {
                code: err["Code"].as_str().unwrap_or("").to_string(),
                message: err["Message"].as_str().unwrap_or("").to_string(),
            });
        }
        Ok(answer)
    }

    fn zone(&self, code: &str) -> Result<(String, String), ProviderError> {
        let zone = self.region(code)?.code.to_string();
        let region = zone
            .rsplit_once('-')
            .map(|(r, _)| r.to_string())
            .unwrap_or_else(|| zone.clone());
        Ok((region, zone))
    }

    /// The id of the instance's key pair in `region`, importing it when missing.
    async fn key_pair(&self, region: &str, instance: &str) -> Result<String, ProviderError> {
        let name = format!("clawops_{}", instance.replace('-', "_"));
        let found = self
            .call(
                "cvm",
                "DescribeKeyPairs",
                region,
                &json!({"Filters": [{"Name": "key-name", "Values": [name]}]}),
                true,
            )
            .await
            .map_err(|e| self.fail(e))?;
        if let Some(id) = found.pointer("/KeyPairSet/0/KeyId").and_then(Value::as_str) {
            return Ok(id.to_string());
        }
        let key = self
            .access
            .instance_key(instance)
            .await
            .map_err(|e| ProviderError::Api {
                provider: self.name.clone(),
                message: e.to_string(),
            })?;
        let public = key.public_key().to_openssh().unwrap_or_default();
        let made = self
            .call(
                "cvm",
                "ImportKeyPair",
                region,
                &json!({"KeyName": name, "ProjectId": 0, "PublicKey": public}),
                false,
            )
            .await
            .map_err(|e| self.fail(e))?;
        made["KeyId"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| self.odd("no KeyId"))
    }

    /// The SSH-only security group of `region`, made when missing.
    async fn ssh_only_group(&self, region: &str) -> Result<String, ProviderError> {
        let found = self
            .call(
                "vpc",
                "DescribeSecurityGroups",
                region,
                &json!({"Filters": [{"Name": "security-group-name", "Values": [GROUP_NAME]}]}),
                true,
            )
            .await
            .map_err(|e| self.fail(e))?;
        if let Some(id) = found
            .pointer("/SecurityGroupSet/0/SecurityGroupId")
            .and_then(Value::as_str)
        {
            return Ok(id.to_string());
        }
        let made = self
            .call(
                "vpc",
                "CreateSecurityGroup",
                region,
                &json!({"GroupName": GROUP_NAME, "GroupDescription": "clawops: SSH in only; the OpenClaw gateway binds loopback"}),
                false,
            )
            .await
            .map_err(|e| self.fail(e))?;
        let id = made
            .pointer("/SecurityGroup/SecurityGroupId")
            .and_then(Value::as_str)
            .ok_or_else(|| self.odd("no SecurityGroupId"))?
            .to_string();
        self.call(
            "vpc",
            "CreateSecurityGroupPolicies",
            region,
            &json!({
                "SecurityGroupId": id,
                "SecurityGroupPolicySet": {"Ingress": [
                    {"Protocol": "TCP", "Port": "22", "CidrBlock": "0.0.0.0/0", "Action": "ACCEPT",
                     "PolicyDescription": "SSH"}
                ]}
            }),
            true,
        )
        .await
        .map_err(|e| self.fail(e))?;
        Ok(id)
    }

    fn odd(&self, what: &str) -> ProviderError {
        ProviderError::Api {
            provider: self.name.clone(),
            message: format!("unexpected answer: {what}"),
        }
    }

    async fn instances(&self, region: &str, filters: Value) -> Result<Vec<Server>, ProviderError> {
        let found = self
            .call(
                "cvm",
                "DescribeInstances",
                region,
                &json!({"Filters": filters, "Limit": 100}),
                true,
            )
            .await
            .map_err(|e| self.fail(e))?;
        Ok(found["InstanceSet"]
            .as_array()
            .into_iter()
            .flatten()
            .map(instance)
            .collect())
    }

    /// An instance id carries its region: `ap-singapore/ins-xxxx`.
    fn split_id<'a>(&self, id: &'a str) -> Result<(&'a str, &'a str), ProviderError> {
        id.split_once('/').ok_or_else(|| ProviderError::NoServer {
            provider: self.name.clone(),
            id: id.to_string(),
        })
    }

    async fn on_instance(&self, id: &str, action: &str) -> Result<(), ProviderError> {
        let (region, ins) = self.split_id(id)?;
        self.call("cvm", action, region, &json!({"InstanceIds": [ins]}), true)
            .await
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    /// Whether custom image `image` is stored (`NORMAL`); a failed one is an error.
    async fn image_done(&self, region: &str, image: &str) -> Result<bool, ProviderError> {
        let v = self
            .call(
                "cvm",
                "DescribeImages",
                region,
                &json!({"ImageIds": [image]}),
                true,
            )
            .await
            .map_err(|e| self.fail(e))?;
        match v.pointer("/ImageSet/0/ImageState").and_then(Value::as_str) {
            Some("NORMAL") => Ok(true),
            Some("CREATEFAILED") => Err(ProviderError::Api {
                provider: self.name.clone(),
                message: format!("image {image} could not be created"),
            }),
            _ => Ok(false),
        }
    }
}

/// The regions of the zone table, each once.
fn regions() -> Vec<String> {
    let mut regions: Vec<String> = REGIONS
        .iter()
        .filter_map(|r| r.code.rsplit_once('-').map(|(reg, _)| reg.to_string()))
        .collect();
    regions.sort();
    regions.dedup();
    regions
}

fn instance(v: &Value) -> Server {
    let zone = v
        .pointer("/Placement/Zone")
        .and_then(Value::as_str)
        .unwrap_or("");
    let region = zone.rsplit_once('-').map(|(r, _)| r).unwrap_or(zone);
    Server {
        id: format!("{region}/{}", v["InstanceId"].as_str().unwrap_or("")),
        name: v["InstanceName"].as_str().unwrap_or("").to_string(),
        region: zone.to_string(),
        size: v["InstanceType"].as_str().unwrap_or("").to_string(),
        state: match v["InstanceState"].as_str() {
            Some("RUNNING") => PowerState::Running,
            Some("STOPPED") => PowerState::Off,
            _ => PowerState::Starting,
        },
        ipv4: v
            .pointer("/PublicIpAddresses/0")
            .and_then(Value::as_str)
            .map(str::to_string),
        labels: v["Tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some((
                    t["Key"].as_str()?.to_string(),
                    t["Value"].as_str()?.to_string(),
                ))
            })
            .collect(),
    }
}

#[async_trait]
impl Cloud for Tencent {
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

    /// Imports the key pair and makes the SSH-only security group if needed, then runs the
    /// instance with a `ClientToken`, so a retry after a lost answer cannot make a second.
    async fn create_server(&self, new: &NewServer) -> Result<Server, ProviderError> {
        let (region, zone) = self.zone(&new.region)?;
        let key = self.key_pair(&region, new.instance()).await?;
        let group = self.ssh_only_group(&region).await?;
        let tags: Vec<Value> = new
            .labels
            .iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect();
        let body = json!({
            "Placement": {"Zone": zone},
            "InstanceType": new.size,
            "ImageId": self.image,
            "InstanceName": new.name,
            "InstanceChargeType": "POSTPAID_BY_HOUR",
            "LoginSettings": {"KeyIds": [key]},
            "SecurityGroupIds": [group],
            "InternetAccessible": {"PublicIpAssigned": true, "InternetMaxBandwidthOut": 10},
            "UserData": base64::engine::general_purpose::STANDARD.encode(&new.user_data),
            "TagSpecification": [{"ResourceType": "instance", "Tags": tags}],
            "ClientToken": format!("clawops-{}", new.name),
        });
        let ran = self.call("cvm", "RunInstances", &region, &body, true).await;
        let id = match ran {
            Ok(v) => v
                .pointer("/InstanceIdSet/0")
                .and_then(Value::as_str)
                .map(|i| format!("{region}/{i}"))
                .ok_or_else(|| self.odd("no InstanceIdSet"))?,
            Err(CallError::Timeout) => {
                match self.find_server_in(new.instance(), &new.region).await? {
                    Some(s) => return Ok(s),
                    None => return Err(self.fail(CallError::Timeout)),
                }
            }
            Err(e) => return Err(self.fail(e)),
        };
        Ok(self.server(&id).await?.unwrap_or(Server {
            id,
            name: new.name.clone(),
            region: zone,
            size: new.size.clone(),
            state: PowerState::Starting,
            ipv4: None,
            labels: new.labels.clone(),
        }))
    }

    /// Looks in every region of the table for the instance's tag.
    async fn find_servers(&self, name: &str) -> Result<Vec<Server>, ProviderError> {
        let mut all = Vec::new();
        for region in regions() {
            all.extend(
                self.instances(&region, json!([{"Name": "tag:instance", "Values": [name]}]))
                    .await?,
            );
        }
        Ok(all)
    }

    async fn reboot(&self, id: &str) -> Result<(), ProviderError> {
        self.on_instance(id, "RebootInstances").await
    }

    /// An instance type is CPU and memory only: the system disk stays as it is, and a
    /// smaller type is possible.
    fn resize_rule(&self) -> Option<super::ResizeRule> {
        Some(super::ResizeRule {
            disk_grows: false,
            shrinks: true,
            downtime: "about 1-3 minutes",
        })
    }

    /// `ResetInstancesType` on the stopped instance.
    async fn change_size(&self, id: &str, size: &str) -> Result<(), ProviderError> {
        let (region, ins) = self.split_id(id)?;
        self.call(
            "cvm",
            "ResetInstancesType",
            region,
            &json!({"InstanceIds": [ins], "InstanceType": size}),
            true,
        )
        .await
        .map(|_| ())
        .map_err(|e| self.fail(e))
    }

    async fn power(&self, id: &str, on: bool) -> Result<(), ProviderError> {
        self.on_instance(
            id,
            if on {
                "StartInstances"
            } else {
                "StopInstances"
            },
        )
        .await
    }

    /// A custom image of the instance (`CreateImage`), waited for until `NORMAL`. Not
    /// retried after a lost answer: Tencent takes no client token for it.
    async fn snapshot(&self, id: &str, description: &str) -> Result<Snapshot, ProviderError> {
        let found = self.existing_server(id).await?;
        let (region, ins) = self.split_id(id)?;
        let made = self
            .call(
                "cvm",
                "CreateImage",
                region,
                // The server is deleted next: stopping it makes a consistent image.
                &json!({
                    "InstanceId": ins,
                    "ImageName": description.chars().take(60).collect::<String>(),
                    "ImageDescription": description,
                    "ForcePoweroff": "TRUE",
                }),
                false,
            )
            .await
            .map_err(|e| self.fail(e))?;
        let image = made
            .get("ImageId")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| self.odd("no ImageId"))?;
        super::wait_until(&self.name, "the image", super::SNAPSHOT_WAIT, || {
            self.image_done(region, &image)
        })
        .await?;
        Ok(Snapshot {
            id: format!("{region}/{image}"),
            monthly_cents: self.snapshot_monthly_cents(&found.size).unwrap_or(0),
        })
    }

    /// About $0.05 per GB and month (the snapshot storage behind a custom image).
    fn snapshot_millicents_per_gb(&self) -> Option<i64> {
        Some(5000)
    }

    async fn managed_servers(&self) -> Result<Vec<Server>, ProviderError> {
        let (key, value) = super::MANAGED_BY;
        let mut all = Vec::new();
        for region in regions() {
            all.extend(
                self.instances(
                    &region,
                    json!([{"Name": format!("tag:{key}"), "Values": [value]}]),
                )
                .await?,
            );
        }
        Ok(all)
    }

    async fn server(&self, id: &str) -> Result<Option<Server>, ProviderError> {
        let (region, ins) = self.split_id(id)?;
        let found = self
            .call(
                "cvm",
                "DescribeInstances",
                region,
                &json!({"InstanceIds": [ins]}),
                true,
            )
            .await
            .map_err(|e| self.fail(e))?;
        Ok(found["InstanceSet"]
            .as_array()
            .and_then(|a| a.first())
            .map(instance))
    }

    /// Terminates the instance, then deletes the instance's key pair.
    async fn delete_server(&self, id: &str) -> Result<(), ProviderError> {
        let found = self.existing_server(id).await?;
        self.on_instance(id, "TerminateInstances").await?;
        let (region, _) = self.split_id(id)?;
        if let Some(name) = self.last_server_of(&found).await? {
            let key_name = format!("clawops_{}", name.replace('-', "_"));
            let keys = self
                .call(
                    "cvm",
                    "DescribeKeyPairs",
                    region,
                    &json!({"Filters": [{"Name": "key-name", "Values": [key_name]}]}),
                    true,
                )
                .await
                .map_err(|e| self.fail(e))?;
            let ids: Vec<&str> = keys["KeyPairSet"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|k| k["KeyId"].as_str())
                .collect();
            if !ids.is_empty() {
                self.call(
                    "cvm",
                    "DeleteKeyPairs",
                    region,
                    &json!({"KeyIds": ids}),
                    true,
                )
                .await
                .map_err(|e| self.fail(e))?;
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
