//! How clawops trusts hosts, against the real OpenSSH server on loopback (started by
//! `scripts/test-host up`): a deploy onto a host you have is the owner's, asks first
//! with the host's key, and offers the bootstrap credential only to named hosts; a host
//! carries one instance, known by its key; a cloud server must offer the key clawops gave
//! it and never sees the bootstrap; a destroy on a root login takes the instance's key
//! out of root's file; command output is capped. Items of issue "Hardening I".

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clawops::clock::Clock;
use clawops::remote::openclaw::{Access, Bootstrap, OpenclawHost};
use clawops::remote::ssh::{Credential, Session, SshError, Target, fingerprint};
use clawops::remote::{Host, HostPlan, HostStep, RemoteError};
use clawops::store::{NewInstance, Store};
use clawops::vault::Vault;
use russh::keys::{PrivateKey, PublicKey};

#[path = "common/door_fx.rs"]
mod door_fx;
use door_fx::{Fx, OPERATOR, OWNER};

#[path = "common/host_env.rs"]
mod host_env;
use host_env::HostEnv;

#[path = "common/offline_host.rs"]
mod offline_host;
use offline_host::runtime;

fn host_key(env: &HostEnv) -> PublicKey {
    let path = PathBuf::from(format!("{}.pub", env.get("CLAWOPS_TEST_HOST_KEY")));
    PublicKey::from_openssh(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn private_key(path: &str) -> Arc<PrivateKey> {
    Arc::new(PrivateKey::from_openssh(std::fs::read_to_string(path).unwrap().as_bytes()).unwrap())
}

/// sshd's log, and how much of it there was before a test's part began.
struct SshdLog(PathBuf, usize);

impl SshdLog {
    fn mark(env: &HostEnv) -> SshdLog {
        let file = Path::new(env.get("CLAWOPS_TEST_HOST_KEY")).with_file_name("sshd.log");
        let len = std::fs::read(&file).map(|b| b.len()).unwrap_or(0);
        SshdLog(file, len)
    }

    /// The lines logged since the mark.
    fn since(&self) -> String {
        let all = std::fs::read(&self.0).unwrap_or_default();
        String::from_utf8_lossy(&all[self.1.min(all.len())..]).into_owned()
    }
}

fn ssh_section(env: &HostEnv, hosts: &str) -> String {
    format!(
        "[providers.sim]\nboot_time = \"0s\"\nstep_time = \"0s\"\n[providers.ssh]\nbootstrap_key_file = \"{}\"\nbootstrap_hosts = [{hosts}]\n",
        env.get("CLAWOPS_TEST_BOOTSTRAP_KEY")
    )
}

async fn seed_on_host(store: &Store, name: &str, url: &str) {
    let now = chrono::Utc::now();
    store
        .upsert_deploying(
            &NewInstance {
                name,
                provider: "ssh",
                region: url,
                size: "host",
                monthly_cents: 0,
                currency: "",
                owner: None,
            },
            now,
        )
        .await
        .unwrap();
    store
        .set_instance_server(name, url, Some("127.0.0.1"), now)
        .await
        .unwrap();
    store
        .set_instance_status(name, clawops::store::InstanceStatus::Ready, now)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardening_01_a_deploy_onto_a_host_asks_first_shows_its_key_and_keeps_the_bootstrap_to_named_hosts()
 {
    let env = HostEnv::load();
    let ssh = env.get("CLAWOPS_TEST_SSH").to_string();
    let target = Target::parse(&ssh).unwrap();
    let expected = fingerprint(&host_key(&env));
    let bootstrap = private_key(env.get("CLAWOPS_TEST_BOOTSTRAP_KEY"));
    let log = SshdLog::mark(&env);
    let fx = Fx::start(&ssh_section(&env, "")).await;

    let (said, asked) = fx.say_as(OPERATOR, &format!("/deploy b1-bot {ssh}")).await;
    assert!(said.contains("needs owner") && asked.is_none(), "{said}");

    let (question, asked) = fx.say_as(OWNER, &format!("/deploy b1-bot {ssh}")).await;
    let id = asked.unwrap_or_else(|| panic!("no question: {question}"));
    assert!(
        question.contains(&format!("Host: clawtest@127.0.0.1:{}", target.port)),
        "{question}"
    );
    assert!(
        question.contains(&format!("Host key: {expected} (first contact")),
        "{question}"
    );
    assert!(
        question.contains("the instance's own key only"),
        "{question}"
    );
    // Nothing is pinned, nothing is recorded, before the press.
    assert!(fx.app.store.host_key(&ssh).await.unwrap().is_none());
    assert!(fx.app.store.instance("b1-bot").await.unwrap().is_none());

    let (said, done) = fx.press_as(OWNER, &id).await;
    assert!(!done, "{said}");
    assert!(
        said.contains("failed at step 4/11 (authorize-key)"),
        "{said}"
    );
    assert!(
        said.contains("bootstrap_hosts does not name this host"),
        "{said}"
    );
    assert!(
        said.contains("ssh-ed25519 "),
        "the key line to add by hand: {said}"
    );
    let pinned = fx.app.store.host_key(&ssh).await.unwrap().unwrap();
    assert_eq!(pinned.fingerprint, expected);
    // The bootstrap key never logged in during all this.
    let since = log.since();
    let bootstrap_fp = fingerprint(bootstrap.public_key());
    assert!(
        !since
            .lines()
            .any(|l| l.contains("Accepted") && l.contains(&bootstrap_fp)),
        "{since}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardening_02_a_second_instance_on_a_host_is_refused_by_the_hosts_key() {
    let env = HostEnv::load();
    let ssh = env.get("CLAWOPS_TEST_SSH").to_string();
    let root = env.get("CLAWOPS_TEST_ROOT_SSH").to_string();
    let key = host_key(&env);
    let fx = Fx::start(&ssh_section(&env, "\"127.0.0.1\"")).await;
    let store = &fx.app.store;
    seed_on_host(store, "alice-bot", &ssh).await;
    store
        .pin_host_key(
            &ssh,
            &key.to_openssh().unwrap(),
            &fingerprint(&key),
            chrono::Utc::now(),
        )
        .await
        .unwrap();

    // Another user of the same machine is the same host: its key says so.
    for address in [&root, &ssh] {
        let (said, asked) = fx
            .say_as(OWNER, &format!("/deploy bob-bot {address}"))
            .await;
        assert!(asked.is_none(), "{address}: {said}");
        assert!(
            said.contains("already carries alice-bot") && said.contains("/destroy alice-bot"),
            "{address}: {said}"
        );
    }
    assert!(store.instance("bob-bot").await.unwrap().is_none());

    // Once alice-bot is gone, the host is free again.
    store
        .set_instance_status(
            "alice-bot",
            clawops::store::InstanceStatus::Destroyed,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let (question, asked) = fx.say_as(OWNER, &format!("/deploy bob-bot {root}")).await;
    assert!(asked.is_some(), "{question}");
    assert!(
        question.contains("bootstrap credential (bootstrap_hosts names this host)"),
        "{question}"
    );
}

async fn access(dir: &Path, bootstrap: Option<Bootstrap>) -> Arc<Access> {
    let store = Store::open(&dir.join("fleet.db")).await.unwrap();
    Arc::new(Access::new(
        store,
        Vault::new([9; 32]),
        Clock::system(),
        bootstrap,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardening_03_a_cloud_server_must_offer_the_host_key_given_in_cloud_init() {
    let env = HostEnv::load();
    let target = Target::parse(env.get("CLAWOPS_TEST_SSH")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let access = access(dir.path(), None).await;
    let given = access.cloud_host_key("cloud-bot").await.unwrap();
    let cloud = OpenclawHost::new(access.clone(), runtime(), "cloud-bot", target.clone(), true);
    let refused = cloud.reachable().await.unwrap_err();
    assert!(
        matches!(refused, RemoteError::Ssh(SshError::HostKeyChanged { .. })),
        "{refused}"
    );
    assert!(
        refused
            .to_string()
            .contains(&format!("pinned {}", fingerprint(given.public_key()))),
        "{refused}"
    );
    let pin = access.store.host_key(&target.url()).await.unwrap().unwrap();
    assert_eq!(pin.fingerprint, fingerprint(given.public_key()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardening_03_a_cloud_server_is_never_offered_the_bootstrap() {
    let env = HostEnv::load();
    let target = Target::parse(env.get("CLAWOPS_TEST_SSH")).unwrap();
    let bootstrap = private_key(env.get("CLAWOPS_TEST_BOOTSTRAP_KEY"));
    let dir = tempfile::tempdir().unwrap();
    let access = access(
        dir.path(),
        Some(Bootstrap {
            credential: Credential::Key(bootstrap.clone()),
            hosts: vec!["*".into()],
        }),
    )
    .await;
    let key = host_key(&env);
    access.pin(&target, &key).await.unwrap();
    let log = SshdLog::mark(&env);
    // The instance's own key is not authorized there; the bootstrap key would be.
    let cloud = OpenclawHost::new(access.clone(), runtime(), "cloud-bot", target.clone(), true);
    let reached = cloud.reachable().await;
    assert!(
        matches!(reached, Err(RemoteError::Ssh(SshError::AuthFailed { .. }))),
        "{reached:?}"
    );
    let bootstrap_fp = fingerprint(bootstrap.public_key());
    assert!(!log.since().contains(&bootstrap_fp), "{}", log.since());
    // The same host as a host you have, named by bootstrap_hosts, does get it.
    let yours = OpenclawHost::new(access.clone(), runtime(), "yours-bot", target, false);
    assert!(yours.reachable().await.unwrap());
    assert!(log.since().contains(&bootstrap_fp), "{}", log.since());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardening_04_destroy_on_a_root_login_takes_the_key_out_of_roots_file() {
    let env = HostEnv::load();
    let root = env.get("CLAWOPS_TEST_ROOT_SSH").to_string();
    let target = Target::parse(&root).unwrap();
    let fx = Fx::start(&ssh_section(&env, "\"127.0.0.1\"")).await;
    let before = std::fs::read_to_string("/root/.ssh/authorized_keys").unwrap_or_default();

    // As the deploy's authorize step leaves it: root-bot's key added to root's file.
    let vault = Vault::load(None, &fx.dir.path().join("fleet.key")).unwrap();
    let access = Arc::new(Access::new(
        fx.app.store.clone(),
        vault,
        Clock::system(),
        Some(Bootstrap {
            credential: Credential::Key(private_key(env.get("CLAWOPS_TEST_ROOT_KEY"))),
            hosts: vec!["127.0.0.1".into()],
        }),
    ));
    seed_on_host(&fx.app.store, "root-bot", &root).await;
    access.pin(&target, &host_key(&env)).await.unwrap();
    let host = OpenclawHost::new(access.clone(), runtime(), "root-bot", target, false);
    let plan = HostPlan {
        instance: "root-bot".into(),
        openclaw_version: "2026.9.6".into(),
    };
    host.apply_step(HostStep::AuthorizeKey, &plan)
        .await
        .unwrap();
    let public = access
        .instance_key("root-bot")
        .await
        .unwrap()
        .public_key()
        .to_openssh()
        .unwrap();
    let added = std::fs::read_to_string("/root/.ssh/authorized_keys").unwrap();
    assert!(added.lines().any(|l| l == public), "{added}");

    let (_, done) = fx.confirmed_as(OPERATOR, "/destroy root-bot").await;
    assert!(done.contains("✓ Destroyed root-bot"), "{done}");
    assert!(
        done.contains("removed from ~root/.ssh/authorized_keys"),
        "{done}"
    );
    let after = std::fs::read_to_string("/root/.ssh/authorized_keys").unwrap_or_default();
    assert!(!after.lines().any(|l| l == public), "{after}");
    assert_eq!(after, before, "root's other keys are kept as they were");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardening_07_command_output_is_capped() {
    let env = HostEnv::load();
    let target = Target::parse(env.get("CLAWOPS_TEST_SSH")).unwrap();
    let key = Credential::Key(private_key(env.get("CLAWOPS_TEST_BOOTSTRAP_KEY")));
    let session = Session::connect(&target, &key, Some(&host_key(&env)))
        .await
        .unwrap();
    let small = session
        .run("head -c 1000 /dev/zero", None, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(small.stdout.len(), 1000);
    let big = session
        .run("head -c 20000000 /dev/zero", None, Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(matches!(big, SshError::TooMuchOutput { .. }), "{big}");
    assert!(big.to_string().contains("printed more than"), "{big}");
    // The session is still usable after the refusal.
    let again = session
        .run("echo ok", None, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(again.stdout_text().trim(), "ok");
    session.close().await;
}
