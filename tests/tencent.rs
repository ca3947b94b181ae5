//! The Tencent Cloud provider against a fake CVM/VPC API on loopback that recomputes every
//! TC3-HMAC-SHA256 signature: key pair, SSH-only security group, tagged instance, reboot,
//! terminate; RequestLimitExceeded storms; a RunInstances answered too late is retried with
//! its ClientToken and makes one instance.

#[path = "common/cloud_fx.rs"]
mod cloud_fx;
#[path = "common/fake_tencent.rs"]
mod fake_tencent;

use std::time::Duration;

use clawops::provider::api::RetryPolicy;
use clawops::provider::tencent::{Endpoints, Tencent};
use clawops::provider::{Cloud, ProviderError};
use cloud_fx::policy;
use fake_tencent::{FakeTencent, Fault, SECRET_ID, SECRET_KEY};

struct Fx {
    cloud: Tencent,
    fake: FakeTencent,
    _dir: tempfile::TempDir,
}

async fn start(secret_key: &str, policy: RetryPolicy) -> Fx {
    let fake = FakeTencent::start(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().unwrap();
    let (access, runtime) = cloud_fx::access(dir.path()).await;
    let endpoints = Endpoints {
        cvm: fake.url.clone(),
        vpc: fake.url.clone(),
    };
    let cloud = Tencent::new(
        "tencent",
        SECRET_ID,
        secret_key,
        "img-487zeit5",
        endpoints,
        policy,
        access,
        runtime,
    );
    Fx {
        cloud,
        fake,
        _dir: dir,
    }
}

#[tokio::test]
async fn an_instance_is_created_behind_ssh_only_found_rebooted_and_terminated() {
    let fx = start(SECRET_KEY, policy()).await;
    let new = cloud_fx::new_server("alice-bot", "ap-singapore-1", "S5.SMALL2");
    let made = fx.cloud.create_server(&new).await.unwrap();
    assert_eq!(
        fx.fake.bad_signatures(),
        0,
        "every request was signed right"
    );
    assert_eq!(fx.fake.key_count(), 1);
    let ingress = fx.fake.ingress_of_instances();
    assert_eq!(ingress.len(), 1, "{ingress:?}");
    assert_eq!(ingress[0]["Port"], "22");
    assert_eq!(ingress[0]["Protocol"], "TCP");

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
    assert_eq!(fx.fake.reboots(), 1);
    fx.cloud.delete_server(&made.id).await.unwrap();
    assert_eq!(fx.fake.instance_count(), 0);
    assert_eq!(fx.fake.key_count(), 0);
    assert!(matches!(
        fx.cloud.delete_server(&made.id).await,
        Err(ProviderError::NoServer { .. })
    ));
}

#[tokio::test]
async fn request_limit_storms_are_retried_and_a_longer_one_is_reported() {
    let fx = start(SECRET_KEY, policy()).await;
    fx.fake
        .inject(&[Fault::RateLimited, Fault::Internal, Fault::RateLimited]);
    let one = "ap-singapore/ins-missing";
    assert!(fx.cloud.server(one).await.unwrap().is_none());
    assert_eq!(fx.fake.requests(), 4);

    fx.fake.inject(&[Fault::RateLimited; 8]);
    let err = fx.cloud.server(one).await.unwrap_err().to_string();
    assert!(err.contains("rate limited"), "{err}");
}

#[tokio::test]
async fn a_run_instances_answered_too_late_makes_one_instance() {
    let fx = start(SECRET_KEY, policy()).await;
    // Key pair (describe, import), security group (describe, create, rules), then
    // RunInstances is done but answered late: the retry carries the same ClientToken.
    let on_time = Fault::Late(Duration::ZERO);
    fx.fake.inject(&[
        on_time,
        on_time,
        on_time,
        on_time,
        on_time,
        Fault::Late(Duration::from_millis(1500)),
    ]);
    let new = cloud_fx::new_server("alice-bot", "ap-singapore-1", "S5.SMALL2");
    let made = fx.cloud.create_server(&new).await.unwrap();
    assert_eq!(fx.fake.instance_count(), 1);
    assert_eq!(
        fx.cloud.find_server("alice-bot").await.unwrap().unwrap().id,
        made.id
    );
}

#[tokio::test]
async fn a_wrong_secret_is_refused_by_the_signature_check() {
    let fx = start("not-the-secret", policy()).await;
    let err = fx
        .cloud
        .server("ap-singapore/ins-1")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("SecretId/SecretKey were refused"), "{err}");
    assert_eq!(fx.fake.bad_signatures(), 1);
}
