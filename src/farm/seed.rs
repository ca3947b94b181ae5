//! Puts farm hosts into a store as if clawops had deployed them: a ready instance row on
//! the `ssh` provider at the host's loopback address, the instance's own SSH key (made
//! and sealed as a deploy makes it), the host key pinned, and a sealed gateway token.
//! The caller then authorizes each key and token at the farm.

use russh::keys::PublicKey;

use super::{Listed, USER};
use crate::clock::Clock;
use crate::remote::RemoteError;
use crate::remote::openclaw::Access;
use crate::remote::ssh::Target;
use crate::store::{NewInstance, Store};
use crate::vault::Vault;

/// What the farm needs to know of one seeded instance.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub name: String,
    pub target: Target,
    /// The instance's public key (the one login its host accepts).
    pub key: PublicKey,
    pub token: String,
}

impl Seeded {
    /// The farm's `authorize` control line for this instance.
    pub fn authorize_line(&self) -> String {
        format!(
            "authorize {} {} {}",
            self.name,
            self.key.to_openssh().unwrap_or_default(),
            self.token
        )
    }
}

/// Records every host of `manifest` as a ready instance of the same name.
pub async fn seed(
    store: &Store,
    vault: &Vault,
    clock: &Clock,
    manifest: &[Listed],
) -> Result<Vec<Seeded>, RemoteError> {
    let access = Access::new(store.clone(), vault.clone(), clock.clone(), None);
    let state = |e: crate::store::StoreError| RemoteError::State(e.to_string());
    let mut seeded = Vec::with_capacity(manifest.len());
    for host in manifest {
        let target = Target {
            user: USER.into(),
            host: "127.0.0.1".into(),
            port: host.port,
        };
        let url = target.url();
        store
            .adopt_instance(
                &NewInstance {
                    name: &host.name,
                    provider: "ssh",
                    region: &url,
                    size: "host",
                    monthly_cents: 0,
                    currency: "",
                    owner: None,
                },
                &url,
                Some("127.0.0.1"),
                clock.now(),
            )
            .await
            .map_err(state)?;
        let key = access.instance_key(&host.name).await?;
        let host_key = PublicKey::from_openssh(&host.host_key)
            .map_err(|e| RemoteError::State(format!("{}'s host key: {e}", host.name)))?;
        access.pin(&target, &host_key).await?;
        let token = hex::encode(rand::RngExt::random::<[u8; 24]>(&mut rand::rng()));
        crate::secrets::register(&token);
        let sealed = vault.seal_text(&format!("gateway-token:{}", host.name), &token);
        store
            .set_instance_secret(&host.name, "gateway-token", &sealed, clock.now())
            .await
            .map_err(state)?;
        seeded.push(Seeded {
            name: host.name.clone(),
            target,
            key: key.public_key().clone(),
            token,
        });
    }
    Ok(seeded)
}
