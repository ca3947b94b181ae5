//! A real S3-compatible server on loopback for the backup tests: moto in server mode,
//! installed by `./scripts/test` into ~/.cache/clawops/moto (or named by
//! `CLAWOPS_MOTO_SERVER`). Each test starts its own on a free port; dropped, it is killed.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bucket every test uses.
pub const BUCKET: &str = "clawops-test";

pub struct S3 {
    child: Child,
    pub port: u16,
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto() -> PathBuf {
    if let Some(p) = std::env::var_os("CLAWOPS_MOTO_SERVER") {
        return p.into();
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    PathBuf::from(home).join(".cache/clawops/moto/bin/moto_server")
}

impl S3 {
    /// moto on a free loopback port, with the test bucket made.
    pub async fn start() -> S3 {
        let bin = moto();
        assert!(
            bin.exists(),
            "{} is missing: ./scripts/test installs moto (pip install \"moto[server]\")",
            bin.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let s3 = S3 { child, port };
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // moto answers unsigned requests: the bucket is made as soon as it listens.
            match http.put(format!("{}/{BUCKET}", s3.endpoint())).send().await {
                Ok(r) if r.status().is_success() => break,
                _ if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                other => panic!("moto did not start on port {port}: {other:?}"),
            }
        }
        s3
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `[backups]` section for this server.
    pub fn config(&self) -> String {
        format!(
            r#"
[backups]
endpoint = "{}"
bucket = "{BUCKET}"
path_style = true
access_key = "test-access-key"
secret_key = "test-secret-key"
"#,
            self.endpoint()
        )
    }

    /// The bucket as clawops sees it (signed requests: moto keeps objects private).
    pub fn bucket(&self) -> clawops::offsite::Offsite {
        let config = clawops::config::Config::parse(
            &format!(
                "[store]\npath = \"unused.db\"\n[providers.sim]\n{}",
                self.config()
            ),
            "s3 fixture",
        )
        .unwrap();
        clawops::offsite::Offsite::new(config.backups.as_ref().unwrap(), &|_| None).unwrap()
    }

    /// The keys of every object under `prefix` (below clawops' own prefix), sorted.
    pub async fn objects(&self, under: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .bucket()
            .list(under)
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect();
        keys.sort();
        keys
    }

    /// One object's bytes.
    pub async fn get(&self, key: &str) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("object");
        self.bucket().download(key, &file).await.unwrap();
        std::fs::read(&file).unwrap()
    }

    /// Replaces one object's bytes (a tampered backup).
    pub async fn put(&self, key: &str, bytes: Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("object");
        std::fs::write(&file, bytes).unwrap();
        self.bucket().upload(&file, key).await.unwrap();
    }
}
