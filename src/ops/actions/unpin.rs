//! `/unpin ADDRESS`: forget the host key pinned for an SSH address, after a host was
//! reinstalled on purpose. The next contact pins the key the host offers then. Owner only,
//! always confirmed: it is the one way around the host-key check.

use serde::{Deserialize, Serialize};

use crate::chat::Message;
use crate::config::Role;
use crate::ops::catalogue::{Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::{BlastRadius, OpsError};

/// Forget a pinned host key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unpin {
    pub address: String,
}

impl Command for Unpin {
    const SPEC: Spec = Spec {
        name: "unpin",
        summary: "Forget the pinned host key of an SSH address (after a reinstall you checked)",
        params: &[Param {
            name: "address",
            meta: "ADDRESS",
            kind: Kind::Place,
            flag: false,
            required: true,
            help: "the host, as ssh://user@host:port",
        }],
        risk: Risk::Destructive,
        role: Role::Owner,
        example: "/unpin ssh://root@203.0.113.5:22",
    };
}

impl Unpin {
    /// No instance changes; the loss is the pin itself.
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        let pinned = self.pinned(ctx).await?;
        Ok(BlastRadius {
            reversible: false,
            loss: Some(format!(
                "the pinned key {pinned} of {} is forgotten; the next contact trusts whatever key the host offers",
                self.address
            )),
            ..BlastRadius::default()
        })
    }

    async fn pinned(&self, ctx: &Ctx) -> Result<String, OpsError> {
        ctx.store
            .host_key(&self.address)
            .await?
            .map(|r| r.fingerprint)
            .ok_or_else(|| OpsError::Refused(format!("no host key is pinned for {}", self.address)))
    }

    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let pinned = self.pinned(ctx).await?;
        ctx.store.unpin_host_key(&self.address).await?;
        Ok(Message::text(format!(
            "✓ Forgot the host key {pinned} of {}. The next contact pins the key it offers; /deploy NAME --resume continues a stopped deploy.",
            self.address
        )))
    }
}
