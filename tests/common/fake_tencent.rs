//! A fake Tencent Cloud API (CVM and VPC) on loopback. It recomputes every request's
//! TC3-HMAC-SHA256 signature from what it received (and refuses a wrong one as the real
//! API does, inside a 200 answer), checks the required headers and fields, keeps key
//! pairs, security groups and instances (PENDING → RUNNING with a public address),
//! honours RunInstances' ClientToken, and injects RequestLimitExceeded, InternalError and
//! late answers.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use clawops::provider::tc3;
use serde_json::{Value, json};

pub const SECRET_ID: &str = "AKIDtestSecretId0123456789";
pub const SECRET_KEY: &str = "testSecretKey0123456789abcdef";

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    RateLimited,
    Internal,
    Late(Duration),
}

#[derive(Debug, Clone)]
struct Ins {
    id: String,
    name: String,
    zone: String,
    kind: String,
    tags: Vec<(String, String)>,
    groups: Vec<String>,
    created: Instant,
    stopped: bool,
    reboots: u32,
}

#[derive(Default)]
struct Inner {
    serial: u64,
    instances: BTreeMap<String, Ins>,
    keys: BTreeMap<String, String>,
    groups: BTreeMap<String, (String, Vec<Value>)>,
    tokens: BTreeMap<String, String>,
    faults: VecDeque<Fault>,
    requests: u32,
    bad_signatures: u32,
    /// Custom images: id → (instance id, name, polls left until `NORMAL`).
    images: BTreeMap<String, (String, String, u32)>,
}

#[derive(Clone)]
pub struct FakeTencent {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
    boot: Duration,
}

impl FakeTencent {
    pub async fn start(boot: Duration) -> FakeTencent {
        let mut fake = FakeTencent {
            inner: Arc::new(Mutex::new(Inner::default())),
            url: String::new(),
            boot,
        };
        let app = Router::new()
            .route("/", axum::routing::post(handle))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        fake.url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The custom images made: (instance id, name).
    pub fn images(&self) -> Vec<(String, String)> {
        self.lock()
            .images
            .values()
            .map(|(i, n, _)| (i.clone(), n.clone()))
            .collect()
    }

    pub fn inject(&self, faults: &[Fault]) {
        self.lock().faults.extend(faults.iter().copied());
    }

    pub fn instance_count(&self) -> usize {
        self.lock().instances.len()
    }

    pub fn key_count(&self) -> usize {
        self.lock().keys.len()
    }

    pub fn requests(&self) -> u32 {
        self.lock().requests
    }

    pub fn bad_signatures(&self) -> u32 {
        self.lock().bad_signatures
    }

    pub fn reboots(&self) -> u32 {
        self.lock().instances.values().map(|i| i.reboots).sum()
    }

    /// The ingress rules of every security group the instances are in.
    pub fn ingress_of_instances(&self) -> Vec<Value> {
        let inner = self.lock();
        inner
            .instances
            .values()
            .flat_map(|i| i.groups.clone())
            .filter_map(|g| inner.groups.get(&g).map(|(_, rules)| rules.clone()))
            .flatten()
            .collect()
    }

    fn json(&self, i: &Ins) -> Value {
        let booted = i.created.elapsed() >= self.boot;
        let state = match (booted, i.stopped) {
            (false, _) => "PENDING",
            (true, true) => "STOPPED",
            (true, false) => "RUNNING",
        };
        json!({
            "InstanceId": i.id, "InstanceName": i.name, "InstanceState": state,
            "InstanceType": i.kind, "Placement": {"Zone": i.zone},
            "PublicIpAddresses": if booted { json!(["43.134.0.7"]) } else { Value::Null },
            "Tags": i.tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect::<Vec<_>>(),
        })
    }
}

fn error(code: &str, message: &str) -> Response {
    axum::Json(
        json!({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "fake"}}),
    )
    .into_response()
}

fn ok(mut v: Value) -> Response {
    v["RequestId"] = json!("fake");
    axum::Json(json!({"Response": v})).into_response()
}

/// Checks the signature as Tencent does; the error is the answer to give.
fn verify(headers: &HeaderMap, body: &str) -> Result<(), Box<Response>> {
    check_signature(headers, body).map_err(|(code, message)| Box::new(error(code, &message)))
}

fn check_signature(headers: &HeaderMap, body: &str) -> Result<(), (&'static str, String)> {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    for needed in [
        "x-tc-action",
        "x-tc-version",
        "x-tc-region",
        "x-tc-timestamp",
        "authorization",
    ] {
        if h(needed).is_empty() {
            return Err((
                "MissingParameter",
                format!("the request is missing header {needed}"),
            ));
        }
    }
    let auth = h("authorization");
    let Some(rest) = auth.strip_prefix("TC3-HMAC-SHA256 Credential=") else {
        return Err((
            "AuthFailure.SignatureFailure",
            "unsupported authorization".into(),
        ));
    };
    let credential = rest.split(',').next().unwrap_or("");
    let parts: Vec<&str> = credential.split('/').collect();
    if parts.len() != 4 || parts[0] != SECRET_ID {
        return Err((
            "AuthFailure.SecretIdNotFound",
            "the SecretId is not found".into(),
        ));
    }
    let timestamp: i64 = h("x-tc-timestamp").parse().unwrap_or(0);
    if parts[1] != tc3::date(timestamp) || parts[3] != "tc3_request" {
        return Err((
            "AuthFailure.SignatureFailure",
            "the credential scope is wrong".into(),
        ));
    }
    let now = chrono::Utc::now().timestamp();
    if (now - timestamp).abs() > 300 {
        return Err((
            "AuthFailure.SignatureExpire",
            "the signature expired".into(),
        ));
    }
    let content_type = h("content-type");
    let host = h("host");
    let request = tc3::Request {
        service: parts[2],
        host: &host,
        content_type: &content_type,
        payload: body,
        timestamp,
    };
    let expected = tc3::authorization(SECRET_ID, SECRET_KEY, &request);
    if expected != auth {
        return Err((
            "AuthFailure.SignatureFailure",
            "the provided credentials could not be validated".into(),
        ));
    }
    Ok(())
}

async fn handle(State(f): State<FakeTencent>, headers: HeaderMap, body: String) -> Response {
    let fault = {
        let mut inner = f.lock();
        inner.requests += 1;
        inner.faults.pop_front()
    };
    if let Err(r) = verify(&headers, &body) {
        f.lock().bad_signatures += 1;
        return *r;
    }
    let late = match fault {
        Some(Fault::RateLimited) => {
            return error("RequestLimitExceeded", "the request frequency is too high");
        }
        Some(Fault::Internal) => return error("InternalError", "internal error"),
        Some(Fault::Late(d)) => Some(d),
        None => None,
    };
    let Ok(p) = serde_json::from_str::<Value>(&body) else {
        return error("InvalidParameter", "the body is not JSON");
    };
    let action = headers
        .get("x-tc-action")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let region = headers
        .get("x-tc-region")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let answer = act(&f, &action, &region, &p);
    if let Some(d) = late {
        tokio::time::sleep(d).await;
    }
    answer
}

/// Does `action` in `region` (instances are regional, as at Tencent).
fn act(f: &FakeTencent, action: &str, region: &str, p: &Value) -> Response {
    let mut inner = f.lock();
    match action {
        "DescribeKeyPairs" => {
            let want = p.pointer("/Filters/0/Values/0").and_then(Value::as_str);
            let set: Vec<Value> = inner
                .keys
                .iter()
                .filter(|(_, name)| want.is_none_or(|w| w == name.as_str()))
                .map(|(id, name)| json!({"KeyId": id, "KeyName": name}))
                .collect();
            ok(json!({"KeyPairSet": set, "TotalCount": set.len()}))
        }
        "ImportKeyPair" => {
            let (Some(name), Some(key)) = (p["KeyName"].as_str(), p["PublicKey"].as_str()) else {
                return error("MissingParameter", "KeyName and PublicKey are required");
            };
            if !p["ProjectId"].is_i64() {
                return error("MissingParameter", "ProjectId is required");
            }
            if !key.starts_with("ssh-ed25519 ") || name.contains('-') {
                return error(
                    "InvalidParameterValue",
                    "the key or its name is invalid (names take letters, digits and underscores)",
                );
            }
            inner.serial += 1;
            let id = format!("skey-{:08}", inner.serial);
            inner.keys.insert(id.clone(), name.into());
            ok(json!({"KeyId": id}))
        }
        "DeleteKeyPairs" => {
            for id in p["KeyIds"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                inner.keys.remove(id);
            }
            ok(json!({}))
        }
        "DescribeSecurityGroups" => {
            let want = p.pointer("/Filters/0/Values/0").and_then(Value::as_str);
            let set: Vec<Value> = inner
                .groups
                .iter()
                .filter(|(_, (name, _))| want.is_none_or(|w| w == name.as_str()))
                .map(|(id, (name, _))| json!({"SecurityGroupId": id, "SecurityGroupName": name}))
                .collect();
            ok(json!({"SecurityGroupSet": set, "TotalCount": set.len()}))
        }
        "CreateSecurityGroup" => {
            let Some(name) = p["GroupName"].as_str() else {
                return error("MissingParameter", "GroupName is required");
            };
            if !p["GroupDescription"].is_string() {
                return error("MissingParameter", "GroupDescription is required");
            }
            inner.serial += 1;
            let id = format!("sg-{:08}", inner.serial);
            inner.groups.insert(id.clone(), (name.into(), vec![]));
            ok(json!({"SecurityGroup": {"SecurityGroupId": id}}))
        }
        "CreateSecurityGroupPolicies" => {
            let id = p["SecurityGroupId"].as_str().unwrap_or("");
            let rules = p
                .pointer("/SecurityGroupPolicySet/Ingress")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            match inner.groups.get_mut(id) {
                Some((_, have)) => {
                    have.extend(rules);
                    ok(json!({}))
                }
                None => error("ResourceNotFound", "the security group does not exist"),
            }
        }
        "RunInstances" => {
            for field in ["InstanceType", "ImageId"] {
                if !p[field].is_string() {
                    return error("MissingParameter", &format!("{field} is required"));
                }
            }
            let Some(zone) = p.pointer("/Placement/Zone").and_then(Value::as_str) else {
                return error("MissingParameter", "Placement.Zone is required");
            };
            if !zone.starts_with(&format!("{region}-")) {
                return error(
                    "InvalidZone.MismatchRegion",
                    "the zone is not in the request's region",
                );
            }
            if p["UserData"].as_str().is_some_and(|u| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.decode(u).is_err()
            }) {
                return error("InvalidParameterValue", "UserData must be base64");
            }
            if let Some(id) = p["ClientToken"].as_str().and_then(|t| inner.tokens.get(t)) {
                return ok(json!({"InstanceIdSet": [id]}));
            }
            inner.serial += 1;
            let id = format!("ins-{:08}", inner.serial);
            let tags = p
                .pointer("/TagSpecification/0/Tags")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let ins = Ins {
                id: id.clone(),
                name: p["InstanceName"].as_str().unwrap_or("").into(),
                zone: zone.into(),
                kind: p["InstanceType"].as_str().unwrap().into(),
                tags: tags
                    .iter()
                    .filter_map(|t| {
                        Some((
                            t["Key"].as_str()?.to_string(),
                            t["Value"].as_str()?.to_string(),
                        ))
                    })
                    .collect(),
                groups: p["SecurityGroupIds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|g| g.as_str().map(str::to_string))
                    .collect(),
                created: Instant::now(),
                stopped: false,
                reboots: 0,
            };
            inner.instances.insert(id.clone(), ins);
            if let Some(t) = p["ClientToken"].as_str() {
                inner.tokens.insert(t.into(), id.clone());
            }
            ok(json!({"InstanceIdSet": [id]}))
        }
        "DescribeInstances" => {
            let ids: Vec<&str> = p["InstanceIds"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let tag = p.pointer("/Filters/0").and_then(|f| {
                let key = f["Name"].as_str()?.strip_prefix("tag:")?.to_string();
                Some((key, f.pointer("/Values/0")?.as_str()?.to_string()))
            });
            let set: Vec<Value> = inner
                .instances
                .values()
                .filter(|i| i.zone.starts_with(&format!("{region}-")))
                .filter(|i| ids.is_empty() || ids.contains(&i.id.as_str()))
                .filter(|i| tag.as_ref().is_none_or(|t| i.tags.contains(t)))
                .map(|i| f.json(i))
                .collect();
            ok(json!({"InstanceSet": set, "TotalCount": set.len()}))
        }
        "RebootInstances" | "StartInstances" | "StopInstances" | "TerminateInstances" => {
            let ids = instance_ids(p);
            for id in &ids {
                if !inner.instances.contains_key(id) {
                    return error(
                        "InvalidInstanceId.NotFound",
                        &format!("{id} does not exist"),
                    );
                }
            }
            for id in ids {
                match action {
                    "TerminateInstances" => {
                        inner.instances.remove(&id);
                    }
                    _ => {
                        let i = inner.instances.get_mut(&id).unwrap();
                        match action {
                            "RebootInstances" => i.reboots += 1,
                            "StopInstances" => i.stopped = true,
                            _ => i.stopped = false,
                        }
                    }
                }
            }
            ok(json!({}))
        }
        // Only on a STOPPED instance; the type is CPU and memory, the disk stays.
        "ResetInstancesType" => {
            let ids = instance_ids(p);
            let Some(kind) = p["InstanceType"].as_str() else {
                return error("MissingParameter", "InstanceType is required");
            };
            if !["S5.SMALL2", "S5.MEDIUM4", "S5.LARGE8"].contains(&kind) {
                return error(
                    "InvalidInstanceType.NotSupported",
                    &format!("{kind} is not sold here"),
                );
            }
            if ids.len() != 1 {
                return error("InvalidParameterValue", "exactly one InstanceId");
            }
            let Some(i) = inner.instances.get_mut(&ids[0]) else {
                return error(
                    "InvalidInstanceId.NotFound",
                    &format!("{} does not exist", ids[0]),
                );
            };
            if !i.stopped {
                return error(
                    "InvalidInstanceState.NotStopped",
                    "the instance must be STOPPED to change its type",
                );
            }
            i.kind = kind.to_string();
            ok(json!({}))
        }
        "CreateImage" => {
            let (Some(ins), Some(name)) = (p["InstanceId"].as_str(), p["ImageName"].as_str())
            else {
                return error("MissingParameter", "InstanceId and ImageName are required");
            };
            if name.chars().count() > 60 {
                return error(
                    "InvalidParameterValue.TooLong",
                    "ImageName is at most 60 characters",
                );
            }
            let Some(i) = inner.instances.get(ins) else {
                return error(
                    "InvalidInstanceId.NotFound",
                    &format!("{ins} does not exist"),
                );
            };
            if !i.stopped && p["ForcePoweroff"].as_str() != Some("TRUE") {
                return error(
                    "InvalidInstance.NotSupported",
                    "the instance is running: stop it or pass ForcePoweroff",
                );
            }
            inner.serial += 1;
            let id = format!("img-{:08}", inner.serial);
            inner
                .images
                .insert(id.clone(), (ins.to_string(), name.to_string(), 1));
            ok(json!({"ImageId": id}))
        }
        "DescribeImages" => {
            let ids: Vec<&str> = p["ImageIds"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let mut set = Vec::new();
            for id in ids {
                if let Some(img) = inner.images.get_mut(id) {
                    let state = if img.2 == 0 {
                        "NORMAL"
                    } else {
                        img.2 -= 1;
                        "CREATING"
                    };
                    set.push(json!({"ImageId": id, "ImageName": img.1, "ImageState": state}));
                }
            }
            ok(json!({"ImageSet": set, "TotalCount": set.len()}))
        }
        other => error(
            "InvalidAction",
            &format!("{other} is not an action of this fake"),
        ),
    }
}

/// The `InstanceIds` of a request.
fn instance_ids(p: &Value) -> Vec<String> {
    p["InstanceIds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}
