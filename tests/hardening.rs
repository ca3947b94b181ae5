//! The security review's findings that need no real host (issue "Hardening I"): each test
//! is named after its item, shows the defect against the code as it was, and holds the
//! fix in place. The ones that need the real OpenSSH server are in tests/host_trust.rs.

use std::time::Duration;

use clawops::chat::Replier;
use clawops::remote::Host;
use clawops::remote::ssh::Target;
use clawops::store::{NewInstance, Store};
use clawops::vault::Vault;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "common/door_fx.rs"]
mod door_fx;
use door_fx::{Fx, OPERATOR, OWNER};

const SIM: &str = "[providers.sim]\nboot_time = \"0s\"\nstep_time = \"0s\"\n";

fn with_ssh(extra: &str) -> String {
    format!("{SIM}[providers.ssh]\nenabled = true\n{extra}")
}

#[path = "common/offline_host.rs"]
mod offline_host;
use offline_host::closed_port;

// ---- 1. The bootstrap credential and who may deploy onto a host ----------------------

#[tokio::test]
async fn hardening_01_deploying_onto_a_host_needs_the_owner() {
    let fx = Fx::start(&with_ssh("")).await;
    let port = closed_port();
    let (said, asked) = fx
        .say_as(
            OPERATOR,
            &format!("/deploy bob-bot ssh://root@127.0.0.1:{port}"),
        )
        .await;
    assert!(said.contains("it needs owner"), "{said}");
    assert!(asked.is_none());
    // Nothing was tried: no instance row, no contact (the port would have refused).
    assert!(fx.app.store.instance("bob-bot").await.unwrap().is_none());
    // The owner gets past the gate, to the host key, which a closed port cannot show.
    let (said, asked) = fx
        .say_as(
            OWNER,
            &format!("/deploy bob-bot ssh://root@127.0.0.1:{port}"),
        )
        .await;
    assert!(said.contains("connection refused"), "{said}");
    assert!(asked.is_none());
    assert!(fx.app.store.instance("bob-bot").await.unwrap().is_none());
    // A deploy on a cloud stays an operator's.
    let (said, _) = fx.say_as(OPERATOR, "/deploy alice-bot nbg1").await;
    assert!(said.contains("✓ alice-bot is ready"), "{said}");
}

#[tokio::test]
async fn hardening_01_the_config_may_let_operators_deploy_onto_hosts() {
    let fx = Fx::start(&with_ssh("deploy_role = \"operator\"\n")).await;
    let port = closed_port();
    let (said, _) = fx
        .say_as(
            OPERATOR,
            &format!("/deploy bob-bot ssh://root@127.0.0.1:{port}"),
        )
        .await;
    assert!(!said.contains("needs owner"), "{said}");
    assert!(said.contains("connection refused"), "{said}");
}

#[test]
fn hardening_01_a_host_key_cannot_be_given_as_an_argument() {
    let mut args = clawops::ops::Args::new();
    args.insert(
        "name".into(),
        clawops::ops::ArgValue::Text("bob-bot".into()),
    );
    args.insert(
        "host_key".into(),
        clawops::ops::ArgValue::Text("ssh-ed25519 AAAA".into()),
    );
    assert!(clawops::ops::build("deploy", &args).is_err());
}

#[test]
fn hardening_01_bootstrap_hosts_match_by_pattern_and_empty_means_none() {
    let t = Target::parse("ssh://root@203.0.113.5:2222").unwrap();
    let allowed = |p: &[&str]| {
        clawops::config::bootstrap_allowed(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &t)
    };
    assert!(!allowed(&[]));
    assert!(allowed(&["203.0.113.*"]));
    assert!(allowed(&["root@203.0.113.5"]));
    assert!(allowed(&["ssh://root@203.0.113.5:2222"]));
    assert!(!allowed(&["deploy@203.0.113.5"]));
    assert!(!allowed(&["203.0.113.50"]));
}

// ---- 3. Cloud servers get their host key from clawops ---------------------------------

#[test]
fn hardening_03_cloud_init_carries_the_host_key() {
    let key = clawops::remote::ssh::new_key();
    let text = clawops::deploy::cloud_init(Some(&key));
    let public = key.public_key().to_openssh().unwrap();
    assert!(text.starts_with("#cloud-config\n"), "{text}");
    assert!(
        text.contains(&format!("  ed25519_public: {public}\n")),
        "{text}"
    );
    assert!(text.contains("  ed25519_private: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n"));
    // No other host key types are made: the server offers only the one clawops pinned.
    assert!(text.contains("ssh_genkeytypes: []\n"), "{text}");
    assert!(text.contains("first-boot-done"), "{text}");
}

// ---- 5. A destroy forgets every secret --------------------------------------------------

#[tokio::test]
async fn hardening_05_a_destroyed_instance_leaves_no_secret_and_its_name_starts_fresh() {
    let fx = Fx::start(SIM).await;
    let (said, _) = fx.say_as(OPERATOR, "/deploy alice-bot nbg1").await;
    assert!(said.contains("✓ alice-bot is ready"), "{said}");
    let store = &fx.app.store;
    let now = chrono::Utc::now();
    store
        .keep_instance_key("alice-bot", "ssh-ed25519 AAAA", b"sealed", now)
        .await
        .unwrap();
    for name in ["gateway-token", "telegram-token", "host-key"] {
        store
            .set_instance_secret("alice-bot", name, b"sealed", now)
            .await
            .unwrap();
    }
    let before = store.instance("alice-bot").await.unwrap().unwrap();
    assert!(before.server_id.is_some());

    let (_, done) = fx.confirmed_as(OPERATOR, "/destroy alice-bot").await;
    assert!(done.contains("✓ Destroyed alice-bot"), "{done}");
    assert!(store.instance_key("alice-bot").await.unwrap().is_none());
    for name in ["gateway-token", "telegram-token", "host-key"] {
        assert!(
            store
                .instance_secret("alice-bot", name)
                .await
                .unwrap()
                .is_none(),
            "{name} outlived the destroy"
        );
    }
    // The name deployed again starts without the old server's id or address.
    store
        .upsert_deploying(
            &NewInstance {
                name: "alice-bot",
                provider: "hetzner-sim",
                region: "nbg1",
                size: "cx22",
                monthly_cents: 379,
                currency: "EUR",
                owner: None,
            },
            now,
        )
        .await
        .unwrap();
    let again = store.instance("alice-bot").await.unwrap().unwrap();
    assert_eq!((again.server_id, again.ipv4), (None, None));
}

// ---- 6. The gateway's HTTP replies ------------------------------------------------------

/// Serves one canned HTTP reply per connection, `raw` as given.
async fn http_server(raw: Vec<u8>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        for _ in 0..4 {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let raw = raw.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(&raw).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (addr, task)
}

#[tokio::test]
async fn hardening_06_a_chunk_boundary_inside_a_character_is_read() {
    let body = r#"{"ready":false,"failing":["café"],"uptimeMs":5}"#.as_bytes();
    let cut = body.iter().position(|&b| b == 0xC3).unwrap() + 1; // inside "é"
    let mut raw = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for part in [&body[..cut], &body[cut..]] {
        raw.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        raw.extend_from_slice(part);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let (addr, server) = http_server(raw).await;
    let probe = clawops::gateway::probe(&addr).await;
    let readiness = probe.readiness.expect("the readiness is read");
    assert!(!readiness.ready);
    assert_eq!(readiness.failing, vec![serde_json::json!("café")]);
    server.abort();
}

#[tokio::test]
async fn hardening_06_a_reply_too_large_is_not_read_whole() {
    // A valid readiness reply padded to 4 MB: read whole it would say ready; the probe
    // stops at its cap and reads nothing.
    let body = format!(
        r#"{{"ready":true,"failing":[],"pad":"{}"}}"#,
        "x".repeat(4 << 20)
    );
    let mut raw = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    raw.extend_from_slice(body.as_bytes());
    let (addr, server) = http_server(raw).await;
    let probe = tokio::time::timeout(Duration::from_secs(30), clawops::gateway::probe(&addr))
        .await
        .expect("the probe ends");
    assert!(probe.readiness.is_none(), "{probe:?}");
    server.abort();
}

// ---- 7. Backups are sealed as they stream --------------------------------------------

#[test]
fn hardening_07_a_backup_is_sealed_in_chunks_and_opens_only_whole() {
    let vault = Vault::new([7; 32]);
    let plain: Vec<u8> = (0..(clawops::vault::CHUNK * 2 + 12345))
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let mut writer = vault.sealing_writer("backup", Vec::new());
    for piece in plain.chunks(70_000) {
        std::io::Write::write_all(&mut writer, piece).unwrap();
    }
    let sealed = writer.finish().unwrap();
    assert!(sealed.starts_with(b"CV2\0"));
    let opened = vault
        .open_reader("backup", sealed.as_slice(), clawops::remote::BACKUP_CAP)
        .unwrap();
    assert_eq!(opened, plain);
    // Cut off after the first chunk: refused, not a shorter backup.
    let first = 4 + 1 + 24 + 4 + clawops::vault::CHUNK + 16;
    assert!(
        vault
            .open_reader("backup", &sealed[..first], usize::MAX)
            .is_err()
    );
    // Over the cap: refused.
    assert!(
        vault
            .open_reader("backup", sealed.as_slice(), 1000)
            .is_err()
    );
    // Another purpose, another key: refused.
    assert!(
        vault
            .open_reader("ssh-key", sealed.as_slice(), usize::MAX)
            .is_err()
    );
    // The old single-piece format still opens.
    let old = vault.seal("backup", b"{}");
    assert_eq!(
        vault.open_reader("backup", old.as_slice(), 10).unwrap(),
        b"{}"
    );
}

// ---- 8. Restore takes only the OpenClaw state -------------------------------------------

fn tar_gz(path: &str) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_mode(0o644);
    h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
    h.set_cksum();
    b.append(&h, &b"evil"[..]).unwrap();
    b.into_inner().unwrap().finish().unwrap()
}

#[tokio::test]
async fn hardening_08_restore_refuses_members_outside_the_state_before_contacting_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let (_, host) = offline_host::host_at_closed_port(dir.path(), "alice-bot").await;
    for bad in [
        ".ssh/authorized_keys",
        ".openclaw/../.profile",
        "/etc/cron.d/x",
    ] {
        let e = host.restore(&tar_gz(bad)).await.unwrap_err().to_string();
        assert!(
            e.contains("not restored") && e.contains("member"),
            "{bad}: {e}"
        );
    }
}

#[tokio::test]
async fn hardening_08_the_restore_question_names_the_source_and_date() {
    let fx = Fx::start(SIM).await;
    fx.say_as(OPERATOR, "/deploy alice-bot nbg1").await;
    fx.say_as(OPERATOR, "/deploy bob-bot nbg1").await;
    let (said, _) = fx.say_as(OPERATOR, "/backup alice-bot").await;
    assert!(said.contains("✓ Backup 1 of alice-bot"), "{said}");
    let (question, asked) = fx.say_as(OPERATOR, "/restore bob-bot 1").await;
    assert!(asked.is_some(), "{question}");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(
        question.contains("backup 1 of alice-bot, taken ") && question.contains(&today),
        "{question}"
    );
    let (said, _) = fx.say_as(OPERATOR, "/restore bob-bot 9").await;
    assert!(said.contains("there is no backup 9"), "{said}");
}

// ---- 9. Versions are checked wherever they come from --------------------------------------

#[test]
fn hardening_09_versions_keep_their_case_and_refuse_paths() {
    use clawops::ops::version_problem;
    for good in [
        "2026.9.6",
        "2026.10.0-RC.1",
        "1.0.0+build.7",
        "0.0.0-no-such-version",
    ] {
        assert_eq!(version_problem(good), None, "{good}");
    }
    for bad in [
        "",
        "../../etc",
        "2026.9.6; rm -rf ~",
        "-rf",
        "a/b",
        "2026..1",
        "v 1",
    ] {
        assert!(version_problem(bad).is_some(), "{bad:?}");
    }
    let action = clawops::command::parse("/update alice-bot 2026.10.0-RC.1").unwrap();
    assert_eq!(action.command_line(), "/update alice-bot 2026.10.0-RC.1");
    let action = clawops::command::parse("/deploy a-bot nbg1 --openclaw 2026.10.0-RC.1").unwrap();
    assert!(action.command_line().contains("--openclaw 2026.10.0-RC.1"));
    assert!(clawops::command::parse("/update alice-bot ../x").is_err());
}

// ---- 10. Host output in the terminal ---------------------------------------------------

#[tokio::test]
async fn hardening_10_the_console_prints_no_control_characters() {
    let (writer, mut reader) = tokio::io::duplex(1 << 16);
    let out = clawops::chat::console::ConsoleOut::new(writer);
    let hostile = "gateway says \u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31mred\r\u{202e}txt.exe\tok";
    out.send(clawops::chat::Outbound::Message(
        clawops::chat::Message::text(hostile),
    ))
    .await;
    drop(out);
    let mut shown = String::new();
    reader.read_to_string(&mut shown).await.unwrap();
    assert!(
        !shown
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "{shown:?}"
    );
    assert!(!shown.contains('\u{202e}'), "{shown:?}");
    assert!(shown.contains("gateway says") && shown.contains("red") && shown.contains("\tok"));
}

// ---- 11. The store's files ---------------------------------------------------------------

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn hardening_11_the_store_and_its_wal_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.db");
    {
        let store = Store::open(&path).await.unwrap();
        store
            .set_instance_secret("a", "b", b"c", chrono::Utc::now())
            .await
            .unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let file = dir.path().join(format!("fleet.db{suffix}"));
            assert!(file.exists(), "{suffix}");
            assert_eq!(mode(&file), 0o600, "fleet.db{suffix}");
        }
    }
    // A store left readable by others (made by an older clawops) is made private.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    Store::open(&path).await.unwrap();
    assert_eq!(mode(&path), 0o600);
}

#[cfg(unix)]
#[test]
fn hardening_11_a_key_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.key");
    Vault::load(None, &path).unwrap();
    assert_eq!(mode(&path), 0o600);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = Vault::load(None, &path).unwrap_err().to_string();
    assert!(e.contains("chmod 600") && e.contains("0644"), "{e}");
}

#[cfg(unix)]
#[test]
fn hardening_11_an_empty_key_file_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.key");
    let file = clawops::vault::create_private(&path).unwrap();
    drop(file);
    let e = Vault::load(None, &path).unwrap_err().to_string();
    assert!(e.contains("is empty") && e.contains("delete it"), "{e}");
    // A key is written whole or not at all: no temporary file is left beside it.
    std::fs::remove_file(&path).unwrap();
    Vault::load(None, &path).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["fleet.key"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap().trim().len(), 64);
}
