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

    /// The keys of every object under `prefix`, and their contents.
    pub async fn objects(&self, prefix: &str) -> Vec<String> {
        let body = reqwest::Client::new()
            .get(format!(
                "{}/{BUCKET}?list-type=2&prefix={prefix}",
                self.endpoint()
            ))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let mut keys: Vec<String> = body
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_string)
            .collect();
        keys.sort();
        keys
    }

    /// One object's bytes.
    pub async fn get(&self, key: &str) -> Vec<u8> {
        reqwest::Client::new()
            .get(format!("{}/{BUCKET}/{key}", self.endpoint()))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec()
    }

    /// Replaces one object's bytes (a tampered backup).
    pub async fn put(&self, key: &str, bytes: Vec<u8>) {
        let r = reqwest::Client::new()
            .put(format!("{}/{BUCKET}/{key}", self.endpoint()))
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{r:?}");
    }
}
