//! Access to hosts: what every host shares — the store's keys, pins and secrets, the
//! vault, the bootstrap credential and which hosts may be offered it, and the open SSH
//! sessions (one per host). Each instance's own SSH key and each cloud server's host key
//! (given in cloud-init) are made and sealed here on first need; host keys are pinned
//! here, and the bootstrap credential is only ever sent to a pinned host.

use std::collections::HashMap;
use std::sync::Arc;

use russh::keys::{PrivateKey, PublicKey};
use tokio::sync::Mutex;

use super::RemoteError;
use super::ssh::{Credential, Session, Target, fingerprint, new_key};
use crate::clock::Clock;
use crate::store::Store;
use crate::vault::Vault;

/// The first-contact credential for hosts you have, and which hosts may be offered it.
#[derive(Clone, Debug)]
pub struct Bootstrap {
    pub credential: Credential,
    /// Patterns from `[providers.ssh] bootstrap_hosts`; empty: no host.
    pub hosts: Vec<String>,
}

/// What all hosts share: the store (keys, pins, secrets), the vault, the bootstrap
/// credential for first contact, and the open connections (one per host).
pub struct Access {
    pub store: Store,
    pub vault: Vault,
    pub clock: Clock,
    pub bootstrap: Option<Bootstrap>,
    pub(super) sessions: Mutex<HashMap<String, Arc<Session>>>,
    /// Hosts a sweep could not reach: how many times in a row, and when a sweep may try
    /// again (a person's action always tries).
    backoff: std::sync::Mutex<HashMap<String, (u32, chrono::DateTime<chrono::Utc>)>>,
}

/// The first wait after a host could not be reached by a sweep; it doubles with each
/// failure in a row.
const FIRST_WAIT: std::time::Duration = std::time::Duration::from_secs(30);
/// The longest wait between a sweep's tries of one host.
const LONGEST_WAIT: std::time::Duration = std::time::Duration::from_secs(300);

impl Access {
    pub fn new(store: Store, vault: Vault, clock: Clock, bootstrap: Option<Bootstrap>) -> Access {
        Access {
            store,
            vault,
            clock,
            bootstrap,
            sessions: Mutex::new(HashMap::new()),
            backoff: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Whether a sweep should leave `target` alone for now: `Some((failures, until))`
    /// while its back-off runs.
    pub fn backing_off(&self, target: &Target) -> Option<(u32, chrono::DateTime<chrono::Utc>)> {
        let now = self.clock.now();
        self.backoff
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&target.url())
            .copied()
            .filter(|(_, until)| *until > now)
    }

    /// A sweep could not reach `target`: it waits 30 s, then twice as long after each
    /// failure in a row, at most 5 min.
    pub fn unreached(&self, target: &Target) {
        let now = self.clock.now();
        let mut backoff = self.backoff.lock().unwrap_or_else(|p| p.into_inner());
        let entry = backoff.entry(target.url()).or_insert((0, now));
        entry.0 += 1;
        let wait = FIRST_WAIT
            .saturating_mul(1 << (entry.0 - 1).min(16))
            .min(LONGEST_WAIT);
        entry.1 = now + chrono::Duration::from_std(wait).unwrap_or_default();
    }

    /// `target` answered: no more waiting.
    pub fn reached(&self, target: &Target) {
        self.backoff
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&target.url());
    }

    /// The bootstrap credential, when `target` is one of `bootstrap_hosts`.
    pub fn bootstrap_for(&self, target: &Target) -> Option<&Credential> {
        self.bootstrap
            .as_ref()
            .filter(|b| crate::config::bootstrap_allowed(&b.hosts, target))
            .map(|b| &b.credential)
    }

    /// The instance's private key, made and sealed on first need.
    pub async fn instance_key(&self, instance: &str) -> Result<Arc<PrivateKey>, RemoteError> {
        let purpose = format!("ssh-key:{instance}");
        let row = match self.store.instance_key(instance).await.map_err(state)? {
            Some(row) => row,
            None => {
                let key = new_key();
                let private = key
                    .to_openssh(russh::keys::ssh_key::LineEnding::LF)
                    .map_err(|e| RemoteError::State(e.to_string()))?;
                let public = key
                    .public_key()
                    .to_openssh()
                    .map_err(|e| RemoteError::State(e.to_string()))?;
                let sealed = self.vault.seal_text(&purpose, &private);
                self.store
                    .keep_instance_key(instance, &public, &sealed, self.clock.now())
                    .await
                    .map_err(state)?
            }
        };
        let text = self
            .vault
            .open_text(&purpose, &row.private_sealed)
            .map_err(|e| RemoteError::State(e.to_string()))?;
        let key = PrivateKey::from_openssh(text.as_bytes())
            .map_err(|e| RemoteError::State(format!("the stored key of {instance}: {e}")))?;
        Ok(Arc::new(key))
    }

    /// The SSH host key clawops made for a cloud server of `instance` and gave it in
    /// cloud-init, made and sealed on first need (the deploy's create step).
    pub async fn cloud_host_key(&self, instance: &str) -> Result<PrivateKey, RemoteError> {
        cloud_host_key(&self.store, &self.vault, &self.clock, instance).await
    }

    /// The public half of the host key given to `instance`'s cloud server, if one was made.
    pub(super) async fn given_host_key(
        &self,
        instance: &str,
    ) -> Result<Option<PublicKey>, RemoteError> {
        if self
            .store
            .instance_secret(instance, HOST_KEY)
            .await
            .map_err(state)?
            .is_none()
        {
            return Ok(None);
        }
        Ok(Some(
            self.cloud_host_key(instance).await?.public_key().clone(),
        ))
    }

    /// Pins `key` for `target` unless a key is pinned already.
    pub async fn pin(&self, target: &Target, key: &PublicKey) -> Result<(), RemoteError> {
        let text = key
            .to_openssh()
            .map_err(|e| RemoteError::State(e.to_string()))?;
        self.store
            .pin_host_key(&target.url(), &text, &fingerprint(key), self.clock.now())
            .await
            .map_err(state)
    }

    /// The key pinned for `target`, if any.
    pub async fn pinned(&self, target: &Target) -> Result<Option<PublicKey>, RemoteError> {
        let url = target.url();
        match self.store.host_key(&url).await.map_err(state)? {
            Some(row) => Ok(Some(PublicKey::from_openssh(&row.public_key).map_err(
                |e| RemoteError::State(format!("the pinned key of {url}: {e}")),
            )?)),
            None => Ok(None),
        }
    }

    /// Connects with `credential`, checking (or, on first contact, pinning) the host key.
    /// The bootstrap credential is only ever sent to a host whose key is pinned already.
    pub(super) async fn connect(
        &self,
        target: &Target,
        credential: &Credential,
    ) -> Result<Session, RemoteError> {
        let pinned = self.pinned(target).await?;
        let bootstrap = self
            .bootstrap
            .as_ref()
            .is_some_and(|b| same_credential(&b.credential, credential));
        if pinned.is_none() && bootstrap {
            return Err(RemoteError::Refused(format!(
                "{target}: no host key is pinned yet, so the bootstrap credential is not offered; /deploy NAME {target} shows the host key and pins it when confirmed"
            )));
        }
        let session = Session::connect(target, credential, pinned.as_ref()).await?;
        if pinned.is_none() {
            self.pin(target, session.host_key()).await?;
        }
        Ok(session)
    }

    /// Forgets the open connection to `target` (after a destroy).
    pub(super) async fn drop_session(&self, target: &Target) {
        if let Some(s) = self.sessions.lock().await.remove(&target.url()) {
            s.close().await;
        }
    }
}

/// The SSH host key clawops makes for a cloud server of `instance` and gives it in
/// cloud-init (so it can be pinned before first contact), made and sealed on first need.
pub async fn cloud_host_key(
    store: &Store,
    vault: &Vault,
    clock: &Clock,
    instance: &str,
) -> Result<PrivateKey, RemoteError> {
    let purpose = format!("{HOST_KEY}:{instance}");
    if let Some(sealed) = store
        .instance_secret(instance, HOST_KEY)
        .await
        .map_err(state)?
    {
        let text = vault
            .open_text(&purpose, &sealed)
            .map_err(|e| RemoteError::State(e.to_string()))?;
        return PrivateKey::from_openssh(text.as_bytes())
            .map_err(|e| RemoteError::State(format!("the stored host key of {instance}: {e}")));
    }
    let key = new_key();
    let text = key
        .to_openssh(russh::keys::ssh_key::LineEnding::LF)
        .map_err(|e| RemoteError::State(e.to_string()))?;
    store
        .set_instance_secret(
            instance,
            HOST_KEY,
            &vault.seal_text(&purpose, &text),
            clock.now(),
        )
        .await
        .map_err(state)?;
    Ok(key)
}

/// Whether two credentials are the same secret.
fn same_credential(a: &Credential, b: &Credential) -> bool {
    match (a, b) {
        (Credential::Key(x), Credential::Key(y)) => {
            x.public_key().key_data() == y.public_key().key_data()
        }
        (Credential::Password(x), Credential::Password(y)) => x == y,
        _ => false,
    }
}

/// The instance secret holding the host key of its cloud server.
const HOST_KEY: &str = "host-key";

pub(super) fn state(e: crate::store::StoreError) -> RemoteError {
    RemoteError::State(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    #[tokio::test]
    async fn a_host_that_does_not_answer_is_tried_again_after_a_growing_wait() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("fleet.db")).await.unwrap();
        let clock = Clock::manual(at("2026-12-02T12:00:00Z"));
        let access = Access::new(store, Vault::new([3; 32]), clock.clone(), None);
        let host = Target::parse("ssh://root@127.0.0.1:2222").unwrap();
        let other = Target::parse("ssh://root@127.0.0.2:2222").unwrap();
        assert_eq!(access.backing_off(&host), None);
        let mut waits = Vec::new();
        for _ in 0..6 {
            access.unreached(&host);
            let (_, until) = access.backing_off(&host).unwrap();
            waits.push((until - clock.now()).num_seconds());
            clock.advance((until - clock.now()).to_std().unwrap());
            assert_eq!(
                access.backing_off(&host),
                None,
                "tried again once it ran out"
            );
        }
        assert_eq!(waits, [30, 60, 120, 240, 300, 300]);
        assert_eq!(access.backing_off(&other), None, "per host");
        access.unreached(&host);
        access.reached(&host);
        assert_eq!(access.backing_off(&host), None, "an answer ends it");
        access.unreached(&host);
        let (failures, _) = access.backing_off(&host).unwrap();
        assert_eq!(failures, 1, "and starts the count again");
    }
}
