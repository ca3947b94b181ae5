//! The Hetzner Cloud provider against a faithful fake of its API on loopback: servers with
//! labels and delete protection, lookup by label, reboot, delete; a 429 storm; 5xx on a
//! read; a create that is done but answered too late must not make a second server.

#[path = "common/cloud_fx.rs"]
mod cloud_fx;
#[path = "common/fake_hetzner.rs"]
mod fake_hetzner;

use std::time::{Duration, Instant};

use clawops::provider::api::RetryPolicy;
use clawops::provider::hetzner::Hetzner;
use clawops::provider::{Cloud, NewServer, ProviderError};
use cloud_fx::policy;
use fake_hetzner::{FakeHetzner, Fault, TOKEN};

struct Fx {
    cloud: Hetzner,
    fake: FakeHetzner,
    _dir: tempfile::TempDir,
}

async fn start(token: &str, policy: RetryPolicy) -> Fx {
    let fake = FakeHetzner::start(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().unwrap();
    let (access, runtime) = cloud_fx::access(dir.path()).await;
    let cloud = Hetzner::new("hetzner", &fake.url, token, policy, access, runtime);
    Fx {
        cloud,
        fake,
        _dir: dir,
    }
}

fn new_server(name: &str) -> NewServer {
    cloud_fx::new_server(name, "nbg1", "cx22")
}

#[tokio::test]
async fn a_server_is_created_protected_found_by_label_rebooted_and_deleted() {
    let fx = start(TOKEN, policy()).await;
    let made = fx
        .cloud
        .create_server(&new_server("alice-bot"))
        .await
        .unwrap();
    let id: i64 = made.id.parse().unwrap();
    assert!(fx.fake.protected(id), "created without delete protection");
    assert_eq!(
        fx.fake.key_count(),
        1,
        "the instance's key is uploaded once"
    );

    let found = fx.cloud.find_server("alice-bot").await.unwrap().unwrap();
    assert_eq!(found.id, made.id);
    assert_eq!(
        found.labels.get("managed-by").map(String::as_str),
        Some("clawops")
    );
    assert!(fx.cloud.find_server("bob-bot").await.unwrap().is_none());

    // It boots and gets an address.
    let running = cloud_fx::wait_running(&fx.cloud, &made.id).await;
    assert!(running.ipv4.is_some());

    fx.cloud.reboot(&made.id).await.unwrap();
    assert_eq!(fx.fake.reboots(id), 1);

    fx.cloud.delete_server(&made.id).await.unwrap();
    assert_eq!(fx.fake.server_count(), 0);
    assert_eq!(
        fx.fake.key_count(),
        0,
        "the instance's key is deleted with its server"
    );
    assert!(fx.cloud.server(&made.id).await.unwrap().is_none());
    assert!(matches!(
        fx.cloud.delete_server(&made.id).await,
        Err(ProviderError::NoServer { .. })
    ));
}

#[tokio::test]
async fn a_429_storm_is_waited_out_and_a_longer_one_is_reported() {
    let fx = start(TOKEN, policy()).await;
    fx.fake.inject(&[
        Fault::RateLimited(1),
        Fault::RateLimited(1),
        Fault::RateLimited(0),
    ]);
    let started = Instant::now();
    assert!(fx.cloud.find_server("alice-bot").await.unwrap().is_none());
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After was not honoured"
    );
    assert_eq!(fx.fake.requests(), 4);

    fx.fake.inject(&[Fault::RateLimited(0); 8]);
    let err = fx
        .cloud
        .find_server("alice-bot")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("rate limited 5 times"), "{err}");
}

#[tokio::test]
async fn a_5xx_on_a_read_is_retried() {
    let fx = start(TOKEN, policy()).await;
    fx.fake.inject(&[Fault::Status(503), Fault::Status(502)]);
    assert!(fx.cloud.find_server("alice-bot").await.unwrap().is_none());
    assert_eq!(fx.fake.requests(), 3);
}

#[tokio::test]
async fn a_create_answered_too_late_does_not_make_a_second_server() {
    let fx = start(TOKEN, policy()).await;
    // GET /ssh_keys, POST /ssh_keys, then POST /servers is done but answered late.
    fx.fake.inject(&[
        Fault::Late(Duration::ZERO),
        Fault::Late(Duration::ZERO),
        Fault::Late(Duration::from_millis(1500)),
    ]);
    let made = fx
        .cloud
        .create_server(&new_server("alice-bot"))
        .await
        .unwrap();
    assert_eq!(fx.fake.server_count(), 1);
    assert!(fx.fake.protected(made.id.parse().unwrap()));
    // A retry of the whole deploy step finds it too.
    let again = fx.cloud.find_server("alice-bot").await.unwrap().unwrap();
    assert_eq!(again.id, made.id);
}

#[tokio::test]
async fn a_bad_token_and_a_bad_location_say_what_to_do() {
    let fx = start("wrong-token", policy()).await;
    let err = fx
        .cloud
        .find_server("alice-bot")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("token was refused"), "{err}");

    let fx = start(TOKEN, policy()).await;
    let mut bad = new_server("alice-bot");
    bad.region = "mars1".into();
    let err = fx.cloud.create_server(&bad).await.unwrap_err().to_string();
    assert!(
        err.contains("Hetzner rejected the request: location not found"),
        "{err}"
    );
    assert_eq!(fx.fake.server_count(), 0);
}
