//! What `scripts/test-host up` wrote for the real-host tests: the loopback sshd's address,
//! its throwaway users and keys, the pinned versions.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

pub struct HostEnv(HashMap<String, String>);

impl HostEnv {
    pub fn load() -> HostEnv {
        let file = std::env::var("CLAWOPS_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/clawops")
            })
            .join("test-host/env");
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
            panic!(
                "the real-host tests need a test host: run `sudo scripts/test-host up` first ({}: {e})",
                file.display()
            )
        });
        HostEnv(
            text.lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> &str {
        self.0
            .get(key)
            .unwrap_or_else(|| panic!("{key} missing from the test-host env"))
    }
}
