//! The DigitalOcean provider against a faithful fake of its API on loopback: droplets
//! tagged for lookup, reboot, delete with the instance's key; a 429 storm answered with
//! RateLimit-Reset; a create answered too late must not make a second droplet.

#[path = "common/cloud_fx.rs"]
mod cloud_fx;
#[path = "common/fake_digitalocean.rs"]
mod fake_digitalocean;

use std::time::{Duration, Instant};

use clawops::provider::api::RetryPolicy;
use clawops::provider::digitalocean::DigitalOcean;
use clawops::provider::{Cloud, ProviderError};
use cloud_fx::policy;
use fake_digitalocean::{FakeDigitalOcean, Fault, TOKEN};

struct Fx {
    cloud: DigitalOcean,
    fake: FakeDigitalOcean,
    _dir: tempfile::TempDir,
}

async fn start(token: &str, policy: RetryPolicy) -> Fx {
    let fake = FakeDigitalOcean::start(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().unwrap();
    let (access, runtime) = cloud_fx::access(dir.path()).await;
    let cloud = DigitalOcean::new("digitalocean", &fake.url, token, policy, access, runtime);
    Fx {
        cloud,
        fake,
        _dir: dir,
    }
}

#[tokio::test]
async fn a_droplet_is_created_found_by_tag_rebooted_and_deleted() {
    let fx = start(TOKEN, policy()).await;
    let new = cloud_fx::new_server("alice-bot", "fra1", "s-1vcpu-2gb");
    let made = fx.cloud.create_server(&new).await.unwrap();
    assert_eq!(fx.fake.key_count(), 1);
    let found = fx.cloud.find_server("alice-bot").await.unwrap().unwrap();
    assert_eq!(found.id, made.id);
    assert_eq!(
        found.labels.get("managed-by").map(String::as_str),
        Some("clawops")
    );
    assert!(fx.cloud.find_server("bob-bot").await.unwrap().is_none());
    assert_eq!(fx.cloud.managed_servers().await.unwrap().len(), 1);

    let running = cloud_fx::wait_running(&fx.cloud, &made.id).await;
    assert!(
        running
            .ipv4
            .as_deref()
            .is_some_and(|ip| ip.starts_with("203.0.113.")),
        "the public address, not the private one"
    );

    fx.cloud.reboot(&made.id).await.unwrap();
    assert_eq!(fx.fake.reboots(made.id.parse().unwrap()), 1);
    fx.cloud.delete_server(&made.id).await.unwrap();
    assert_eq!(fx.fake.droplet_count(), 0);
    assert_eq!(fx.fake.key_count(), 0);
    assert!(matches!(
        fx.cloud.delete_server(&made.id).await,
        Err(ProviderError::NoServer { .. })
    ));
}

#[tokio::test]
async fn a_429_storm_waits_for_the_reset_and_a_longer_one_is_reported() {
    let fx = start(TOKEN, policy()).await;
    fx.fake
        .inject(&[Fault::RateLimited(1), Fault::RateLimited(0)]);
    let started = Instant::now();
    assert!(fx.cloud.find_server("alice-bot").await.unwrap().is_none());
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "RateLimit-Reset was not honoured"
    );
    assert_eq!(fx.fake.requests(), 3);

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
async fn a_create_answered_too_late_does_not_make_a_second_droplet() {
    let fx = start(TOKEN, policy()).await;
    // GET /account/keys, POST /account/keys, then POST /droplets is done but answered late.
    fx.fake.inject(&[
        Fault::Late(Duration::ZERO),
        Fault::Late(Duration::ZERO),
        Fault::Late(Duration::from_millis(1500)),
    ]);
    let new = cloud_fx::new_server("alice-bot", "fra1", "s-1vcpu-2gb");
    let made = fx.cloud.create_server(&new).await.unwrap();
    assert_eq!(fx.fake.droplet_count(), 1);
    assert_eq!(
        fx.cloud.find_server("alice-bot").await.unwrap().unwrap().id,
        made.id
    );
}

#[tokio::test]
async fn a_bad_token_and_a_5xx_read() {
    let fx = start("wrong", policy()).await;
    let err = fx
        .cloud
        .find_server("alice-bot")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("token was refused"), "{err}");

    let fx = start(TOKEN, policy()).await;
    fx.fake.inject(&[Fault::Status(500), Fault::Status(503)]);
    assert!(fx.cloud.find_server("alice-bot").await.unwrap().is_none());
    let bad = cloud_fx::new_server("alice-bot", "mars1", "s-1vcpu-2gb");
    let err = fx.cloud.create_server(&bad).await.unwrap_err().to_string();
    assert!(
        err.contains("not offered") || err.contains("Region is not available"),
        "{err}"
    );
    assert_eq!(fx.fake.droplet_count(), 0);
}

#[tokio::test]
async fn a_key_upload_whose_answer_is_lost_is_looked_for_and_made_once() {
    let fx = start(TOKEN, policy()).await;
    // GET /account/keys, then POST /account/keys refused with a 503 (nothing made), the
    // lookup, the second POST done but answered too late, the lookup that finds it.
    fx.fake.inject(&[
        Fault::Late(Duration::ZERO),
        Fault::Status(503),
        Fault::Late(Duration::ZERO),
        Fault::Late(Duration::from_millis(1500)),
    ]);
    let new = cloud_fx::new_server("alice-bot", "fra1", "s-1vcpu-2gb");
    fx.cloud.create_server(&new).await.unwrap();
    assert_eq!(fx.fake.key_count(), 1);
    assert_eq!(fx.fake.droplet_count(), 1);
}
