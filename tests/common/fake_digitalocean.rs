//! A fake DigitalOcean API on loopback: stateful droplets (new → active with a public
//! address after a boot time), account keys, tags; checks the bearer token and the
//! required fields, and injects 429 (with RateLimit-Reset), 5xx and late answers.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub const TOKEN: &str = "dop_v1_test_token_0123456789abcdef";

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// 429 with RateLimit-Reset this many seconds from now.
    RateLimited(u64),
    Status(u16),
    Late(Duration),
}

#[derive(Debug, Clone)]
struct Droplet {
    id: i64,
    name: String,
    region: String,
    size: String,
    tags: Vec<String>,
    created: Instant,
    off: bool,
    reboots: u32,
    /// The disk in GB: grown by a `resize` with `disk: true`, never shrunk.
    disk: u32,
}

/// Droplet sizes and their disks (GB), as `/v2/sizes` lists them.
const SIZES: [(&str, u32); 4] = [
    ("s-1vcpu-2gb", 50),
    ("s-2vcpu-2gb", 60),
    ("s-2vcpu-4gb", 80),
    ("s-4vcpu-8gb", 160),
];

fn disk_of(size: &str) -> Option<u32> {
    SIZES.iter().find(|(s, _)| *s == size).map(|(_, d)| *d)
}

#[derive(Default)]
struct Inner {
    next_id: i64,
    droplets: BTreeMap<i64, Droplet>,
    keys: BTreeMap<i64, String>,
    faults: VecDeque<Fault>,
    requests: u32,
    /// Snapshots: (id, droplet id, name).
    snapshots: Vec<(i64, i64, String)>,
    /// Actions in progress: id → polls left until `completed`.
    running: BTreeMap<i64, u32>,
}

#[derive(Clone)]
pub struct FakeDigitalOcean {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
    boot: Duration,
}

impl FakeDigitalOcean {
    pub async fn start(boot: Duration) -> FakeDigitalOcean {
        let mut fake = FakeDigitalOcean {
            inner: Arc::new(Mutex::new(Inner {
                next_id: 5000,
                ..Inner::default()
            })),
            url: String::new(),
            boot,
        };
        let app = Router::new()
            .route("/v2/droplets", axum::routing::get(list).post(create))
            .route(
                "/v2/droplets/{id}",
                axum::routing::get(get_one).delete(delete),
            )
            .route("/v2/droplets/{id}/actions", axum::routing::post(action))
            .route(
                "/v2/droplets/{id}/snapshots",
                axum::routing::get(droplet_snapshots),
            )
            .route("/v2/actions/{id}", axum::routing::get(get_action))
            .route(
                "/v2/account/keys",
                axum::routing::get(list_keys).post(create_key),
            )
            .route("/v2/account/keys/{id}", axum::routing::delete(delete_key))
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

    pub fn inject(&self, faults: &[Fault]) {
        self.lock().faults.extend(faults.iter().copied());
    }

    /// The snapshots taken: (droplet id, name).
    pub fn snapshots(&self) -> Vec<(i64, String)> {
        self.lock()
            .snapshots
            .iter()
            .map(|(_, d, n)| (*d, n.clone()))
            .collect()
    }

    pub fn droplet_count(&self) -> usize {
        self.lock().droplets.len()
    }

    pub fn key_count(&self) -> usize {
        self.lock().keys.len()
    }

    pub fn requests(&self) -> u32 {
        self.lock().requests
    }

    /// A droplet's size and disk (GB).
    pub fn size(&self, id: i64) -> (String, u32) {
        let inner = self.lock();
        let d = &inner.droplets[&id];
        (d.size.clone(), d.disk)
    }

    pub fn reboots(&self, id: i64) -> u32 {
        self.lock().droplets.get(&id).map_or(0, |d| d.reboots)
    }

    fn json(&self, d: &Droplet) -> Value {
        let booted = d.created.elapsed() >= self.boot;
        let status = match (booted, d.off) {
            (false, _) => "new",
            (true, true) => "off",
            (true, false) => "active",
        };
        let v4 = if booted {
            json!([{"ip_address": format!("203.0.113.{}", d.id % 250), "type": "public"},
                   {"ip_address": "10.10.0.5", "type": "private"}])
        } else {
            json!([])
        };
        json!({"id": d.id, "name": d.name, "status": status, "size_slug": d.size,
               "region": {"slug": d.region}, "networks": {"v4": v4}, "tags": d.tags})
    }

    async fn gate(&self, headers: &HeaderMap) -> Result<Option<Duration>, Response> {
        let fault = {
            let mut inner = self.lock();
            inner.requests += 1;
            inner.faults.pop_front()
        };
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
        if auth != Some(&format!("Bearer {TOKEN}")) {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unable to authenticate you.",
            ));
        }
        match fault {
            Some(Fault::RateLimited(secs)) => {
                let mut r = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_requests",
                    "API Rate limit exceeded.",
                );
                let reset = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
                    + secs;
                r.headers_mut()
                    .insert("ratelimit-reset", HeaderValue::from(reset));
                Err(r)
            }
            Some(Fault::Status(code)) => Err(error(
                StatusCode::from_u16(code).unwrap(),
                "server_error",
                "Server Error",
            )),
            Some(Fault::Late(d)) => Ok(Some(d)),
            None => Ok(None),
        }
    }
}

fn error(status: StatusCode, id: &str, message: &str) -> Response {
    (status, axum::Json(json!({"id": id, "message": message}))).into_response()
}

async fn list(
    State(f): State<FakeDigitalOcean>,
    h: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let d = match f.gate(&h).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    if let Some(d) = d {
        tokio::time::sleep(d).await;
    }
    let droplets: Vec<Value> = {
        let inner = f.lock();
        inner
            .droplets
            .values()
            .filter(|d| q.get("tag_name").is_none_or(|t| d.tags.contains(t)))
            .map(|d| f.json(d))
            .collect()
    };
    axum::Json(json!({"droplets": droplets, "links": {}, "meta": {"total": droplets.len()}}))
        .into_response()
}

async fn create(
    State(f): State<FakeDigitalOcean>,
    h: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let late = match f.gate(&h).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    for field in ["name", "region", "size", "image"] {
        if !body[field].is_string() {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable_entity",
                &format!("You must specify {field}."),
            );
        }
    }
    let region = body["region"].as_str().unwrap();
    if ![
        "nyc3", "sfo3", "tor1", "ams3", "fra1", "lon1", "sgp1", "blr1", "syd1",
    ]
    .contains(&region)
    {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable_entity",
            "Region is not available",
        );
    }
    for tag in body["tags"].as_array().into_iter().flatten() {
        let ok = tag.as_str().is_some_and(|t| {
            t.chars()
                .all(|c| c.is_ascii_alphanumeric() || ":-_".contains(c))
        });
        if !ok {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable_entity",
                "tags may contain letters, numbers, colons, dashes, and underscores",
            );
        }
    }
    let made = {
        let mut inner = f.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        let d = Droplet {
            id,
            name: body["name"].as_str().unwrap().into(),
            region: region.into(),
            size: body["size"].as_str().unwrap().into(),
            tags: serde_json::from_value(body["tags"].clone()).unwrap_or_default(),
            created: Instant::now(),
            off: false,
            reboots: 0,
            disk: disk_of(body["size"].as_str().unwrap()).unwrap_or(50),
        };
        inner.droplets.insert(id, d.clone());
        d
    };
    if let Some(d) = late {
        tokio::time::sleep(d).await;
    }
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({"droplet": f.json(&made)})),
    )
        .into_response()
}

async fn get_one(State(f): State<FakeDigitalOcean>, h: HeaderMap, Path(id): Path<i64>) -> Response {
    if let Err(r) = f.gate(&h).await {
        return r;
    }
    let found = f.lock().droplets.get(&id).cloned();
    match found {
        Some(d) => axum::Json(json!({"droplet": f.json(&d)})).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "The resource you were accessing could not be found.",
        ),
    }
}

async fn delete(State(f): State<FakeDigitalOcean>, h: HeaderMap, Path(id): Path<i64>) -> Response {
    if let Err(r) = f.gate(&h).await {
        return r;
    }
    match f.lock().droplets.remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "The resource you were accessing could not be found.",
        ),
    }
}

async fn action(
    State(f): State<FakeDigitalOcean>,
    h: HeaderMap,
    Path(id): Path<i64>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = f.gate(&h).await {
        return r;
    }
    let mut inner = f.lock();
    let Some(d) = inner.droplets.get_mut(&id) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "The resource you were accessing could not be found.",
        );
    };
    match body["type"].as_str() {
        Some("snapshot") => {
            let Some(name) = body["name"].as_str().map(str::to_string) else {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unprocessable_entity",
                    "Name is required for a snapshot",
                );
            };
            inner.next_id += 1;
            let snap = inner.next_id;
            inner.next_id += 1;
            let action = inner.next_id;
            inner.snapshots.push((snap, id, name));
            inner.running.insert(action, 1);
            return (
                StatusCode::CREATED,
                axum::Json(
                    json!({"action": {"id": action, "status": "in-progress", "type": "snapshot"}}),
                ),
            )
                .into_response();
        }
        Some("reboot") => d.reboots += 1,
        Some("power_off") => d.off = true,
        Some("power_on") => d.off = false,
        // Only on a powered-off droplet; `disk: true` grows the disk for good.
        Some("resize") => {
            let no = |why: &str| {
                error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unprocessable_entity",
                    why,
                )
            };
            let Some(disk) = body["size"].as_str().and_then(disk_of) else {
                return no("Size is invalid");
            };
            if !d.off {
                return no("Droplet must be powered off to resize");
            }
            if disk < d.disk {
                return no("The droplet's disk is larger than the new size allows");
            }
            d.size = body["size"].as_str().unwrap().to_string();
            if body["disk"].as_bool() == Some(true) {
                d.disk = disk;
            }
        }
        _ => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable_entity",
                "Type is invalid",
            );
        }
    }
    (
        StatusCode::CREATED,
        axum::Json(json!({"action": {"id": 1, "status": "in-progress", "type": body["type"]}})),
    )
        .into_response()
}

async fn list_keys(State(f): State<FakeDigitalOcean>, h: HeaderMap) -> Response {
    if let Err(r) = f.gate(&h).await {
        return r;
    }
    let keys: Vec<Value> = f
        .lock()
        .keys
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name}))
        .collect();
    axum::Json(json!({"ssh_keys": keys})).into_response()
}

async fn create_key(
    State(f): State<FakeDigitalOcean>,
    h: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = f.gate(&h).await {
        return r;
    }
    if !body["public_key"]
        .as_str()
        .is_some_and(|k| k.starts_with("ssh-ed25519 "))
        || !body["name"].is_string()
    {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable_entity",
            "Key invalid, key should be of the format `type key [comment]`",
        );
    }
    let mut inner = f.lock();
    inner.next_id += 1;
    let id = inner.next_id;
    inner.keys.insert(id, body["name"].as_str().unwrap().into());
    (
        StatusCode::CREATED,
        axum::Json(json!({"ssh_key": {"id": id}})),
    )
        .into_response()
}

async fn delete_key(
    State(f): State<FakeDigitalOcean>,
    h: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = f.gate(&h).await {
        return r;
    }
    match f.lock().keys.remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "The resource you were accessing could not be found.",
        ),
    }
}

async fn get_action(
    State(f): State<FakeDigitalOcean>,
    h: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = f.gate(&h).await {
        return r;
    }
    let mut inner = f.lock();
    let status = match inner.running.get_mut(&id) {
        Some(0) => "completed",
        Some(left) => {
            *left -= 1;
            "in-progress"
        }
        None => {
            return error(
                StatusCode::NOT_FOUND,
                "not_found",
                "The resource you were accessing could not be found.",
            );
        }
    };
    axum::Json(json!({"action": {"id": id, "status": status}})).into_response()
}

async fn droplet_snapshots(
    State(f): State<FakeDigitalOcean>,
    h: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = f.gate(&h).await {
        return r;
    }
    let snaps: Vec<Value> = f
        .lock()
        .snapshots
        .iter()
        .filter(|(_, d, _)| *d == id)
        .map(|(s, _, n)| json!({"id": s, "name": n, "resource_type": "droplet"}))
        .collect();
    axum::Json(json!({"snapshots": snaps, "meta": {"total": snaps.len()}})).into_response()
}
