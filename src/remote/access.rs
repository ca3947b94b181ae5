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
}

impl Access {
    pub fn new(store: Store, vault: Vault, clock: Clock, bootstrap: Option<Bootstrap>) -> Access {
        Access {
            store,
            vault,
            clock,
            bootstrap,
            sessions: Mutex::new(HashMap::new()),
        }
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
