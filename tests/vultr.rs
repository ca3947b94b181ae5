//! The Vultr provider against a faithful fake of its API on loopback: instances tagged for
//! lookup with base64 user data, reboot, delete with the instance's key; a 429 storm; a
//! create answered too late must not make a second instance.

#[path = "common/cloud_fx.rs"]
mod cloud_fx;
#[path = "common/fake_vultr.rs"]
mod fake_vultr;

use std::time::Duration;

use clawops::provider::api::RetryPolicy;
use clawops::provider::vultr::Vultr;
use clawops::provider::{Cloud, ProviderError};
use cloud_fx::policy;
use fake_vultr::{FakeVultr, Fault, TOKEN};

struct Fx {
    cloud: Vultr,
    fake: FakeVultr,
    _dir: tempfile::TempDir,
}

async fn start(token: &str, policy: RetryPolicy) -> Fx {
    let fake = FakeVultr::start(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().unwrap();
    let (access, runtime) = cloud_fx::access(dir.path()).await;
    let cloud = Vultr::new("vultr", &fake.url, token, policy, access, runtime);
    Fx {
        cloud,
        fake,
        _dir: dir,
    }
}

#[tokio::test]
async fn an_instance_is_created_found_by_tag_rebooted_and_deleted() {
    let fx = start(TOKEN, policy()).await;
    let new = cloud_fx::new_server("alice-bot", "fra", "vc2-1c-2gb");
    let made = fx.cloud.create_server(&new).await.unwrap();
    assert_eq!(
        fx.fake.user_data(&made.id),
        new.user_data,
        "user data arrives base64-decoded intact"
    );
    assert_eq!(fx.fake.key_count(), 1);
    let found = fx.cloud.find_server("alice-bot").await.unwrap().unwrap();
    assert_eq!(found.id, made.id);
    assert_eq!(
        found.labels.get("managed-by").map(String::as_str),
        Some("clawops")
    );
    assert!(fx.cloud.find_server("bob-bot").await.unwrap().is_none());

    let running = cloud_fx::wait_running(&fx.cloud, &made.id).await;
    assert!(running.ipv4.is_some());

    fx.cloud.reboot(&made.id).await.unwrap();
    assert_eq!(fx.fake.reboots(&made.id), 1);
    fx.cloud.delete_server(&made.id).await.unwrap();
    assert_eq!(fx.fake.instance_count(), 0);
    assert_eq!(fx.fake.key_count(), 0);
    assert!(matches!(
        fx.cloud.delete_server(&made.id).await,
        Err(ProviderError::NoServer { .. })
    ));
}

#[tokio::test]
async fn a_429_storm_is_backed_off_and_a_longer_one_is_reported() {
    let fx = start(TOKEN, policy()).await;
    fx.fake
        .inject(&[Fault::RateLimited, Fault::RateLimited, Fault::Status(502)]);
    assert!(fx.cloud.find_server("alice-bot").await.unwrap().is_none());
    assert_eq!(fx.fake.requests(), 4);

    fx.fake.inject(&[Fault::RateLimited; 8]);
    let err = fx
        .cloud
        .find_server("alice-bot")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("rate limited 5 times"), "{err}");
}

#[tokio::test]
async fn a_create_answered_too_late_does_not_make_a_second_instance() {
    let fx = start(TOKEN, policy()).await;
    // GET /ssh-keys, POST /ssh-keys, then POST /instances is done but answered late.
    fx.fake.inject(&[
        Fault::Late(Duration::ZERO),
        Fault::Late(Duration::ZERO),
        Fault::Late(Duration::from_millis(1500)),
    ]);
    let new = cloud_fx::new_server("alice-bot", "fra", "vc2-1c-2gb");
    let made = fx.cloud.create_server(&new).await.unwrap();
    assert_eq!(fx.fake.instance_count(), 1);
    assert_eq!(
        fx.cloud.find_server("alice-bot").await.unwrap().unwrap().id,
        made.id
    );
}

#[tokio::test]
async fn a_bad_key_and_a_bad_region_say_what_to_do() {
    let fx = start("wrong", policy()).await;
    let err = fx
        .cloud
        .find_server("alice-bot")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("API key was refused"), "{err}");

    let fx = start(TOKEN, policy()).await;
    let bad = cloud_fx::new_server("alice-bot", "mars", "vc2-1c-2gb");
    let err = fx.cloud.create_server(&bad).await.unwrap_err().to_string();
    assert!(
        err.contains("Vultr rejected the request: Invalid region."),
        "{err}"
    );
    assert_eq!(fx.fake.instance_count(), 0);
}

#[tokio::test]
async fn a_key_upload_whose_answer_is_lost_is_looked_for_and_made_once() {
    let fx = start(TOKEN, policy()).await;
    // GET /ssh-keys, then POST /ssh-keys refused with a 503 (nothing made), the lookup,
    // the second POST done but answered too late, the lookup that finds it.
    fx.fake.inject(&[
        Fault::Late(Duration::ZERO),
        Fault::Status(503),
        Fault::Late(Duration::ZERO),
        Fault::Late(Duration::from_millis(1500)),
    ]);
    let new = cloud_fx::new_server("alice-bot", "fra", "vc2-1c-2gb");
    fx.cloud.create_server(&new).await.unwrap();
    assert_eq!(fx.fake.key_count(), 1);
    assert_eq!(fx.fake.instance_count(), 1);
}
