//! `/destroy NAME`: delete an instance's server and retire the instance. Always asks for a
//! confirmation first; the instance's row stays in the store (status destroyed) for the
//! record, and its name can be deployed again.

use serde::{Deserialize, Serialize};

use super::{existing, place};
use crate::chat::Message;
use crate::config::Role;
use crate::ops::catalogue::{Command, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::{BlastRadius, OpsError};
use crate::provider::{ProviderError, money};

/// Destroy an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Destroy {
    pub name: String,
}

impl Command for Destroy {
    const SPEC: Spec = Spec {
        name: "destroy",
        summary: "Delete an instance's server and its data (asks for a confirmation)",
        params: &[super::INSTANCE],
        risk: Risk::Destructive,
        role: Role::Operator,
        example: "/destroy bob-bot",
    };
}

impl Destroy {
    /// One instance, its end users, the monthly cost saved; cannot be undone.
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        let row = existing(&ctx.store, &self.name).await?;
        Ok(BlastRadius {
            instances: vec![(row.name.clone(), place(&row))],
            end_users: row.end_users.max(0) as u32,
            monthly_cents: -row.monthly_cents,
            currency: row.currency.clone(),
            reversible: false,
            loss: Some(
                if ctx.providers.get(&row.provider)?.existing_hosts() {
                    "the gateway, its data and what clawops installed are removed from the host (the host itself stays)"
                } else {
                    "the server and its data are deleted"
                }
                .to_string(),
            ),
            billed: false,
        })
    }

    /// Deletes the server (if any) and marks the instance destroyed.
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let row = existing(&ctx.store, &self.name).await?;
        if row.status == "deploying" {
            return Err(OpsError::Refused(format!(
                "{} is being deployed right now: wait for the deploy to stop, then destroy it",
                row.name
            )));
        }
        let cloud = ctx.providers.get(&row.provider)?;
        let mut note = "no server had been created".to_string();
        // A deploy killed between creating the server and recording it leaves no id in
        // the store: the server is then found by its labels.
        let server_id = match &row.server_id {
            Some(id) => Some(id.clone()),
            None => cloud.find_server(&row.name).await?.map(|s| s.id),
        };
        if cloud.existing_hosts() {
            // The host is not ours to delete: remove what clawops put on it.
            if let Some(id) = &server_id {
                note = cloud
                    .host(&row.name, id, row.ipv4.as_deref())
                    .remove()
                    .await?;
            }
            ctx.store.forget_instance_secrets(&row.name).await?;
        } else if let Some(id) = &server_id {
            note = match cloud.delete_server(id).await {
                Ok(()) => format!("server {id} deleted"),
                Err(ProviderError::NoServer { .. }) => format!("server {id} was already gone"),
                Err(e) => return Err(e.into()),
            };
        }
        ctx.store
            .set_instance_status(&row.name, "destroyed", ctx.clock.now())
            .await?;
        Ok(Message::text(format!(
            "✓ Destroyed {} ({}): {note}. Saves {}/month.",
            row.name,
            place(&row),
            money(row.monthly_cents, &row.currency)
        )))
    }
}
