//! A fake Hetzner Cloud API on loopback: stateful (servers appear, boot, get an address,
//! are protected, disappear), checking what the real API checks (the bearer token, the
//! required fields, label selectors, delete protection), and able to inject 429 with
//! Retry-After, 5xx, and a create that is done but answered too late.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub const TOKEN: &str = "hcloud-test-token-0123456789abcdef";

/// A fault for the next request.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// 429 with this Retry-After (seconds).
    RateLimited(u64),
    /// This 5xx status.
    Status(u16),
    /// Do the request, then answer only after this long.
    Late(Duration),
}

#[derive(Debug, Clone)]
struct FakeServer {
    id: i64,
    name: String,
    location: String,
    server_type: String,
    labels: BTreeMap<String, String>,
    created: Instant,
    protected: bool,
    off: bool,
    reboots: u32,
    /// The disk in GB: grown by `change_type` with `upgrade_disk`, never shrunk.
    disk: u32,
}

/// Server types and their disks (GB), as Hetzner's `server_types` lists them.
const TYPES: [(&str, u32); 4] = [("cx22", 40), ("cx32", 80), ("cx42", 160), ("cx52", 320)];

fn disk_of(server_type: &str) -> Option<u32> {
    TYPES
        .iter()
        .find(|(t, _)| *t == server_type)
        .map(|(_, d)| *d)
}

#[derive(Default)]
struct Inner {
    next_id: i64,
    servers: BTreeMap<i64, FakeServer>,
    keys: BTreeMap<i64, (String, BTreeMap<String, String>)>,
    faults: VecDeque<Fault>,
    requests: u32,
    /// Snapshots: image id → (server id, description, labels).
    images: BTreeMap<i64, (i64, String, BTreeMap<String, String>)>,
    /// Actions still running: id → how many more polls until `success`.
    running: BTreeMap<i64, u32>,
    /// Random trouble: the share of requests in percent, the longest delay of a create's
    /// answer, and the dice.
    chaos: Option<(u32, Duration, rand::rngs::StdRng)>,
}

#[derive(Clone)]
pub struct FakeHetzner {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
    boot: Duration,
}

impl FakeHetzner {
    /// Starts the fake; servers run `boot` after their creation.
    pub async fn start(boot: Duration) -> FakeHetzner {
        let mut fake = FakeHetzner {
            inner: Arc::new(Mutex::new(Inner {
                next_id: 1000,
                ..Inner::default()
            })),
            url: String::new(),
            boot,
        };
        let app = Router::new()
            .route(
                "/v1/servers",
                axum::routing::get(list_servers).post(create_server),
            )
            .route(
                "/v1/servers/{id}",
                axum::routing::get(get_server).delete(delete_server),
            )
            .route(
                "/v1/servers/{id}/actions/{action}",
                axum::routing::post(server_action),
            )
            .route(
                "/v1/ssh_keys",
                axum::routing::get(list_keys).post(create_key),
            )
            .route("/v1/ssh_keys/{id}", axum::routing::delete(delete_key))
            .route("/v1/actions/{id}", axum::routing::get(get_action))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        fake.url = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues faults for the next requests, in order.
    pub fn inject(&self, faults: &[Fault]) {
        self.lock().faults.extend(faults.iter().cloned());
    }

    /// From now on `percent` % of requests fail (half 429 with `Retry-After: 1`, half 503)
    /// and every create is answered up to `slow` late (after it was done).
    pub fn chaos(&self, percent: u32, slow: Duration, seed: u64) {
        self.lock().chaos = Some((percent, slow, rand::SeedableRng::seed_from_u64(seed)));
    }

    /// How late to answer a create under chaos.
    fn slow_create(&self) -> Option<Duration> {
        let mut inner = self.lock();
        let (_, slow, dice) = inner.chaos.as_mut()?;
        let ms = rand::RngExt::random_range(dice, 0..=slow.as_millis() as u64);
        Some(Duration::from_millis(ms))
    }

    /// How many servers exist.
    pub fn server_count(&self) -> usize {
        self.lock().servers.len()
    }

    /// How many keys exist.
    pub fn key_count(&self) -> usize {
        self.lock().keys.len()
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u32 {
        self.lock().requests
    }

    /// Whether server `id` is protected against deletion.
    pub fn protected(&self, id: i64) -> bool {
        self.lock().servers.get(&id).is_some_and(|s| s.protected)
    }

    /// The snapshots taken: (server id, description, labels).
    pub fn images(&self) -> Vec<(i64, String, BTreeMap<String, String>)> {
        self.lock().images.values().cloned().collect()
    }

    /// How often server `id` was rebooted.
    /// A server's type and disk (GB).
    pub fn server_type(&self, id: i64) -> (String, u32) {
        let inner = self.lock();
        let s = &inner.servers[&id];
        (s.server_type.clone(), s.disk)
    }

    pub fn reboots(&self, id: i64) -> u32 {
        self.lock().servers.get(&id).map_or(0, |s| s.reboots)
    }

    /// A server made outside clawops' store (an orphan after a crash).
    pub fn add_server(&self, name: &str, labels: &[(&str, &str)]) -> i64 {
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.servers.insert(
            id,
            FakeServer {
                id,
                name: name.into(),
                location: "nbg1".into(),
                server_type: "cx22".into(),
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                created: Instant::now(),
                protected: false,
                off: false,
                reboots: 0,
                disk: 40,
            },
        );
        id
    }

    fn json(&self, s: &FakeServer) -> Value {
        let booted = s.created.elapsed() >= self.boot;
        let status = match (booted, s.off) {
            (false, _) => "initializing",
            (true, true) => "off",
            (true, false) => "running",
        };
        json!({
            "id": s.id,
            "name": s.name,
            "status": status,
            "server_type": {"name": s.server_type},
            "datacenter": {"location": {"name": s.location}},
            "public_net": {"ipv4": if booted { json!({"ip": format!("198.51.100.{}", s.id % 250)}) } else { Value::Null }},
            "labels": s.labels,
            "protection": {"delete": s.protected, "rebuild": s.protected},
        })
    }

    /// Checks the token and applies a queued fault. `Err` is the answer to give instead.
    async fn gate(&self, headers: &HeaderMap) -> Result<Option<Duration>, Response> {
        let fault = {
            let mut inner = self.lock();
            inner.requests += 1;
            let queued = inner.faults.pop_front();
            queued.or_else(|| {
                let (percent, _, dice) = inner.chaos.as_mut()?;
                let roll: u32 = rand::RngExt::random_range(dice, 0..200);
                (roll < 2 * *percent).then_some(if roll.is_multiple_of(2) {
                    Fault::RateLimited(1)
                } else {
                    Fault::Status(503)
                })
            })
        };
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
        if auth != Some(&format!("Bearer {TOKEN}")) {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "unable to authenticate",
            ));
        }
        match fault {
            Some(Fault::RateLimited(secs)) => {
                let mut r = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limit_exceeded",
                    "limit of 3600 requests per hour reached",
                );
                r.headers_mut()
                    .insert("retry-after", HeaderValue::from(secs));
                Err(r)
            }
            Some(Fault::Status(code)) => Err(error(
                StatusCode::from_u16(code).unwrap(),
                "service_error",
                "internal error",
            )),
            Some(Fault::Late(d)) => Ok(Some(d)),
            None => Ok(None),
        }
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// `k==v,k2==v2` (also `k=v`), as Hetzner's label selectors.
fn matches(selector: Option<&String>, labels: &BTreeMap<String, String>) -> bool {
    let Some(sel) = selector else { return true };
    sel.split(',').all(|term| {
        let (k, v) = term
            .split_once("==")
            .or_else(|| term.split_once('='))
            .unwrap_or((term, ""));
        labels.get(k).is_some_and(|have| have == v)
    })
}

async fn late(d: Option<Duration>) {
    if let Some(d) = d {
        tokio::time::sleep(d).await;
    }
}

async fn list_servers(
    State(fake): State<FakeHetzner>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let d = match fake.gate(&headers).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    late(d).await;
    let servers: Vec<Value> = {
        let inner = fake.lock();
        inner
            .servers
            .values()
            .filter(|s| matches(q.get("label_selector"), &s.labels))
            .map(|s| fake.json(s))
            .collect()
    };
    axum::Json(json!({"servers": servers, "meta": {"pagination": {"page": 1, "next_page": null}}}))
        .into_response()
}

async fn create_server(
    State(fake): State<FakeHetzner>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let d = match fake.gate(&headers).await {
        Ok(d) => d.or_else(|| fake.slow_create()),
        Err(r) => return r,
    };
    for field in ["name", "server_type", "image"] {
        if !body[field].is_string() {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                &format!("invalid input in field '{field}'"),
            );
        }
    }
    if !["nbg1", "fsn1", "hel1", "ash", "hil", "sin"]
        .contains(&body["location"].as_str().unwrap_or(""))
    {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "location not found",
        );
    }
    let name = body["name"].as_str().unwrap().to_string();
    let made = {
        let mut inner = fake.lock();
        if inner.servers.values().any(|s| s.name == name) {
            return error(
                StatusCode::CONFLICT,
                "uniqueness_error",
                "server name is already used",
            );
        }
        inner.next_id += 1;
        let id = inner.next_id;
        let server = FakeServer {
            id,
            name,
            location: body["location"].as_str().unwrap().into(),
            server_type: body["server_type"].as_str().unwrap().into(),
            labels: serde_json::from_value(body["labels"].clone()).unwrap_or_default(),
            created: Instant::now(),
            protected: false,
            off: false,
            reboots: 0,
            disk: disk_of(body["server_type"].as_str().unwrap()).unwrap_or(40),
        };
        inner.servers.insert(id, server.clone());
        server
    };
    late(d).await;
    (StatusCode::CREATED, axum::Json(json!({"server": fake.json(&made), "action": {"id": 1, "status": "running"}, "root_password": null}))).into_response()
}

async fn get_server(
    State(fake): State<FakeHetzner>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = fake.gate(&headers).await {
        return r;
    }
    let found = fake.lock().servers.get(&id).cloned();
    match found {
        Some(s) => axum::Json(json!({"server": fake.json(&s)})).into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", "server not found"),
    }
}

async fn delete_server(
    State(fake): State<FakeHetzner>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = fake.gate(&headers).await {
        return r;
    }
    let mut inner = fake.lock();
    match inner.servers.get(&id) {
        None => error(StatusCode::NOT_FOUND, "not_found", "server not found"),
        Some(s) if s.protected => error(
            StatusCode::LOCKED,
            "protected",
            "server is delete protected",
        ),
        Some(_) => {
            inner.servers.remove(&id);
            axum::Json(
                json!({"action": {"id": 2, "command": "delete_server", "status": "running"}}),
            )
            .into_response()
        }
    }
}

async fn server_action(
    State(fake): State<FakeHetzner>,
    headers: HeaderMap,
    Path((id, action)): Path<(i64, String)>,
    body: Option<axum::Json<Value>>,
) -> Response {
    if let Err(r) = fake.gate(&headers).await {
        return r;
    }
    let mut inner = fake.lock();
    if action == "create_image" {
        return create_image(&mut inner, id, body.map(|b| b.0).unwrap_or_default());
    }
    let Some(s) = inner.servers.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "not_found", "server not found");
    };
    match action.as_str() {
        "reboot" => s.reboots += 1,
        "poweroff" => s.off = true,
        "poweron" => s.off = false,
        // Only on a stopped server; the disk grows with `upgrade_disk` and never shrinks.
        "change_type" => {
            let body = body.map(|b| b.0).unwrap_or_default();
            let (Some(kind), Some(upgrade)) =
                (body["server_type"].as_str(), body["upgrade_disk"].as_bool())
            else {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_input",
                    "server_type and upgrade_disk are required",
                );
            };
            let Some(disk) = disk_of(kind) else {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_input",
                    "server type not found",
                );
            };
            if !s.off {
                return error(
                    StatusCode::CONFLICT,
                    "server_not_stopped",
                    "server must be stopped before changing its type",
                );
            }
            if disk < s.disk {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_server_type",
                    "the server's disk is bigger than the server type's",
                );
            }
            s.server_type = kind.to_string();
            if upgrade {
                s.disk = disk;
            }
        }
        "change_protection" => {
            let Some(delete) = body.as_ref().and_then(|b| b["delete"].as_bool()) else {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_input",
                    "delete must be a boolean",
                );
            };
            s.protected = delete;
        }
        _ => return error(StatusCode::NOT_FOUND, "not_found", "unknown action"),
    }
    (
        StatusCode::CREATED,
        axum::Json(json!({"action": {"id": 3, "command": action, "status": "success"}})),
    )
        .into_response()
}

async fn list_keys(
    State(fake): State<FakeHetzner>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    if let Err(r) = fake.gate(&headers).await {
        return r;
    }
    let keys: Vec<Value> = fake
        .lock()
        .keys
        .iter()
        .filter(|(_, (_, labels))| matches(q.get("label_selector"), labels))
        .map(|(id, (name, labels))| json!({"id": id, "name": name, "labels": labels}))
        .collect();
    axum::Json(json!({"ssh_keys": keys})).into_response()
}

async fn create_key(
    State(fake): State<FakeHetzner>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = fake.gate(&headers).await {
        return r;
    }
    let Some(public) = body["public_key"].as_str() else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "public_key is required",
        );
    };
    if !public.starts_with("ssh-ed25519 ") {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "invalid public key",
        );
    }
    let mut inner = fake.lock();
    inner.next_id += 1;
    let id = inner.next_id;
    let labels = serde_json::from_value(body["labels"].clone()).unwrap_or_default();
    inner
        .keys
        .insert(id, (body["name"].as_str().unwrap_or("").into(), labels));
    (
        StatusCode::CREATED,
        axum::Json(json!({"ssh_key": {"id": id}})),
    )
        .into_response()
}

async fn delete_key(
    State(fake): State<FakeHetzner>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = fake.gate(&headers).await {
        return r;
    }
    match fake.lock().keys.remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", "ssh key not found"),
    }
}

/// `create_image`: the type must be snapshot or backup; the action runs for one poll.
fn create_image(inner: &mut Inner, id: i64, body: Value) -> Response {
    let Some(server) = inner.servers.get(&id).cloned() else {
        return error(StatusCode::NOT_FOUND, "not_found", "server not found");
    };
    if !matches!(body["type"].as_str(), Some("snapshot" | "backup")) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "invalid input in field 'type'",
        );
    }
    inner.next_id += 1;
    let image = inner.next_id;
    inner.next_id += 1;
    let action = inner.next_id;
    let labels = serde_json::from_value(body["labels"].clone()).unwrap_or_default();
    inner.images.insert(
        image,
        (
            server.id,
            body["description"].as_str().unwrap_or("").to_string(),
            labels,
        ),
    );
    inner.running.insert(action, 1);
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "image": {"id": image, "type": "snapshot", "status": "creating", "image_size": null, "disk_size": 40},
            "action": {"id": action, "command": "create_image", "status": "running"},
        })),
    )
        .into_response()
}

async fn get_action(
    State(fake): State<FakeHetzner>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = fake.gate(&headers).await {
        return r;
    }
    let mut inner = fake.lock();
    let status = match inner.running.get_mut(&id) {
        Some(0) => "success",
        Some(left) => {
            *left -= 1;
            "running"
        }
        None => return error(StatusCode::NOT_FOUND, "not_found", "action not found"),
    };
    axum::Json(json!({"action": {"id": id, "status": status, "error": null}})).into_response()
}
