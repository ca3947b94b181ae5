//! A fake Vultr API on loopback: stateful instances (pending → active with an address
//! after a boot time), SSH keys, tags; checks the bearer key, the required fields and
//! that user data is base64; injects 429, 5xx and late answers.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

pub const TOKEN: &str = "VULTRTESTKEY0123456789ABCDEFGHIJ";

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    RateLimited,
    Status(u16),
    Late(Duration),
}

#[derive(Debug, Clone)]
struct Instance {
    id: String,
    label: String,
    region: String,
    plan: String,
    tags: Vec<String>,
    user_data: String,
    created: Instant,
    halted: bool,
    reboots: u32,
}

#[derive(Default)]
struct Inner {
    serial: u64,
    instances: BTreeMap<String, Instance>,
    keys: BTreeMap<String, String>,
    faults: VecDeque<Fault>,
    requests: u32,
    /// Snapshots: id → (instance id, description, polls left until `complete`).
    snapshots: BTreeMap<String, (String, String, u32)>,
}

#[derive(Clone)]
pub struct FakeVultr {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
    boot: Duration,
}

impl FakeVultr {
    pub async fn start(boot: Duration) -> FakeVultr {
        let mut fake = FakeVultr {
            inner: Arc::new(Mutex::new(Inner::default())),
            url: String::new(),
            boot,
        };
        let app = Router::new()
            .route("/v2/instances", axum::routing::get(list).post(create))
            .route(
                "/v2/instances/{id}",
                axum::routing::get(get_one).delete(delete).patch(update),
            )
            .route("/v2/instances/{id}/{what}", axum::routing::post(power))
            .route(
                "/v2/ssh-keys",
                axum::routing::get(list_keys).post(create_key),
            )
            .route("/v2/ssh-keys/{id}", axum::routing::delete(delete_key))
            .route("/v2/snapshots", axum::routing::post(create_snapshot))
            .route("/v2/snapshots/{id}", axum::routing::get(get_snapshot))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        fake.url = format!("http://{}/v2", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The snapshots taken: (instance id, description).
    pub fn snapshots(&self) -> Vec<(String, String)> {
        self.lock()
            .snapshots
            .values()
            .map(|(i, d, _)| (i.clone(), d.clone()))
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

    /// An instance's plan.
    pub fn plan(&self, id: &str) -> String {
        self.lock().instances[id].plan.clone()
    }

    pub fn reboots(&self, id: &str) -> u32 {
        self.lock().instances.get(id).map_or(0, |i| i.reboots)
    }

    /// The user data an instance was created with, decoded.
    pub fn user_data(&self, id: &str) -> String {
        self.lock()
            .instances
            .get(id)
            .map(|i| i.user_data.clone())
            .unwrap_or_default()
    }

    fn json(&self, i: &Instance) -> Value {
        let booted = i.created.elapsed() >= self.boot;
        json!({
            "id": i.id, "label": i.label, "region": i.region, "plan": i.plan, "tags": i.tags,
            "status": if booted { "active" } else { "pending" },
            "power_status": if i.halted { "stopped" } else { "running" },
            "main_ip": if booted { format!("192.0.2.{}", i.label.len()) } else { "0.0.0.0".into() },
        })
    }

    async fn gate(&self, headers: &HeaderMap) -> Result<Option<Duration>, Response> {
        let fault = {
            let mut inner = self.lock();
            inner.requests += 1;
            inner.faults.pop_front()
        };
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
        if auth != Some(&format!("Bearer {TOKEN}")) {
            return Err(error(StatusCode::UNAUTHORIZED, "Invalid API token."));
        }
        match fault {
            Some(Fault::RateLimited) => Err(error(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit reached - please try your request again later.",
            )),
            Some(Fault::Status(code)) => {
                Err(error(StatusCode::from_u16(code).unwrap(), "Internal error"))
            }
            Some(Fault::Late(d)) => Ok(Some(d)),
            None => Ok(None),
        }
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": message, "status": status.as_u16()})),
    )
        .into_response()
}

async fn list(
    State(f): State<FakeVultr>,
    h: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    if let Err(r) = f.gate(&h).await {
        return r;
    }
    let found: Vec<Value> = {
        let inner = f.lock();
        inner
            .instances
            .values()
            .filter(|i| q.get("tag").is_none_or(|t| i.tags.contains(t)))
            .map(|i| f.json(i))
            .collect()
    };
    axum::Json(json!({"instances": found, "meta": {"total": found.len(), "links": {"next": "", "prev": ""}}})).into_response()
}

async fn create(
    State(f): State<FakeVultr>,
    h: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let late = match f.gate(&h).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    for field in ["region", "plan"] {
        if !body[field].is_string() {
            return error(StatusCode::BAD_REQUEST, &format!("Invalid {field}."));
        }
    }
    if !body["os_id"].is_i64() {
        return error(StatusCode::BAD_REQUEST, "Invalid os_id.");
    }
    if ![
        "ewr", "ord", "lax", "ams", "fra", "lhr", "sgp", "nrt", "syd",
    ]
    .contains(&body["region"].as_str().unwrap())
    {
        return error(StatusCode::BAD_REQUEST, "Invalid region.");
    }
    let user_data = match body["user_data"]
        .as_str()
        .map(|u| base64::engine::general_purpose::STANDARD.decode(u))
    {
        None => String::new(),
        Some(Ok(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "Invalid user_data: must be base64 encoded.",
            );
        }
    };
    let made = {
        let mut inner = f.lock();
        inner.serial += 1;
        let id = format!("cb676a46-66fd-4dfb-b839-{:012}", inner.serial);
        let i = Instance {
            id: id.clone(),
            label: body["label"].as_str().unwrap_or("").into(),
            region: body["region"].as_str().unwrap().into(),
            plan: body["plan"].as_str().unwrap().into(),
            tags: serde_json::from_value(body["tags"].clone()).unwrap_or_default(),
            user_data,
            created: Instant::now(),
            halted: false,
            reboots: 0,
        };
        inner.instances.insert(id, i.clone());
        i
    };
    if let Some(d) = late {
        tokio::time::sleep(d).await;
    }
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({"instance": f.json(&made)})),
    )
        .into_response()
}

async fn get_one(State(f): State<FakeVultr>, h: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = f.gate(&h).await {
        return r;
    }
    let found = f.lock().instances.get(&id).cloned();
    match found {
        Some(i) => axum::Json(json!({"instance": f.json(&i)})).into_response(),
        None => error(StatusCode::NOT_FOUND, "Invalid instance-id."),
    }
}

/// Plans in upgrade order, as `/v2/plans` lists them: a plan change only goes up.
const PLANS: [&str; 3] = ["vc2-1c-2gb", "vc2-2c-4gb", "vc2-4c-8gb"];

/// `PATCH /instances/{id}`: a plan change (an upgrade; Vultr has no downgrade).
async fn update(
    State(f): State<FakeVultr>,
    h: HeaderMap,
    Path(id): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = f.gate(&h).await {
        return r;
    }
    let mut inner = f.lock();
    let Some(i) = inner.instances.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "Invalid instance-id.");
    };
    let Some(plan) = body["plan"].as_str() else {
        return error(StatusCode::BAD_REQUEST, "Nothing to update.");
    };
    let rank = |p: &str| PLANS.iter().position(|x| *x == p);
    let Some(to) = rank(plan) else {
        return error(StatusCode::BAD_REQUEST, "Invalid plan.");
    };
    if rank(&i.plan).is_some_and(|from| to < from) {
        return error(
            StatusCode::BAD_REQUEST,
            "Unable to change plan: downgrades are not supported.",
        );
    }
    i.plan = plan.to_string();
    let i = i.clone();
    drop(inner);
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({"instance": f.json(&i)})),
    )
        .into_response()
}

async fn delete(State(f): State<FakeVultr>, h: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = f.gate(&h).await {
        return r;
    }
    match f.lock().instances.remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(StatusCode::NOT_FOUND, "Invalid instance-id."),
    }
}

async fn power(
    State(f): State<FakeVultr>,
    h: HeaderMap,
    Path((id, what)): Path<(String, String)>,
) -> Response {
    if let Err(r) = f.gate(&h).await {
        return r;
    }
    let mut inner = f.lock();
    let Some(i) = inner.instances.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "Invalid instance-id.");
    };
    match what.as_str() {
        "reboot" => i.reboots += 1,
        "halt" => i.halted = true,
        "start" => i.halted = false,
        _ => return error(StatusCode::NOT_FOUND, "Invalid action."),
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn list_keys(State(f): State<FakeVultr>, h: HeaderMap) -> Response {
    if let Err(r) = f.gate(&h).await {
        return r;
    }
    let keys: Vec<Value> = f
        .lock()
        .keys
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name}))
        .collect();
    axum::Json(json!({"ssh_keys": keys, "meta": {"total": keys.len()}})).into_response()
}

async fn create_key(
    State(f): State<FakeVultr>,
    h: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = f.gate(&h).await {
        return r;
    }
    if !body["ssh_key"]
        .as_str()
        .is_some_and(|k| k.starts_with("ssh-ed25519 "))
        || !body["name"].is_string()
    {
        return error(StatusCode::BAD_REQUEST, "Invalid ssh_key.");
    }
    let mut inner = f.lock();
    inner.serial += 1;
    let id = format!("3b8066a7-b438-455a-9688-{:012}", inner.serial);
    inner
        .keys
        .insert(id.clone(), body["name"].as_str().unwrap().into());
    (
        StatusCode::CREATED,
        axum::Json(json!({"ssh_key": {"id": id}})),
    )
        .into_response()
}

async fn delete_key(State(f): State<FakeVultr>, h: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = f.gate(&h).await {
        return r;
    }
    match f.lock().keys.remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(StatusCode::NOT_FOUND, "Invalid ssh-key-id."),
    }
}

/// `POST /snapshots`: `instance_id` must name an instance; pending for one poll.
async fn create_snapshot(
    State(f): State<FakeVultr>,
    h: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = f.gate(&h).await {
        return r;
    }
    let mut inner = f.lock();
    let Some(instance) = body["instance_id"].as_str().map(str::to_string) else {
        return error(StatusCode::BAD_REQUEST, "instance_id is required");
    };
    if !inner.instances.contains_key(&instance) {
        return error(StatusCode::NOT_FOUND, "Invalid instance-id.");
    }
    inner.serial += 1;
    let id = format!("5a4c2b3d-0000-4f00-8000-{:012}", inner.serial);
    let description = body["description"].as_str().unwrap_or("").to_string();
    inner
        .snapshots
        .insert(id.clone(), (instance, description.clone(), 1));
    (
        StatusCode::CREATED,
        axum::Json(
            json!({"snapshot": {"id": id, "description": description, "status": "pending"}}),
        ),
    )
        .into_response()
}

async fn get_snapshot(
    State(f): State<FakeVultr>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = f.gate(&h).await {
        return r;
    }
    let mut inner = f.lock();
    let Some(snap) = inner.snapshots.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "Invalid snapshot ID.");
    };
    let status = if snap.2 == 0 {
        "complete"
    } else {
        snap.2 -= 1;
        "pending"
    };
    axum::Json(json!({"snapshot": {"id": id, "description": snap.1, "status": status}}))
        .into_response()
}
