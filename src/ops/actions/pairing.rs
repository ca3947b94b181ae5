//! `/pairings [NAME]`, `/approve NAME ID` and `/reject NAME ID`: the end users waiting to
//! talk to an instance's bot, and a person's decision on one. The Approve and Reject
//! buttons under a request become these actions, pressed by whoever pressed them; from the
//! LLM an approval waits for a person's press.

use serde::{Deserialize, Serialize};

use super::{INSTANCE, existing};
use crate::chat::Message;
use crate::config::Role;
use crate::ops::catalogue::{Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::pairing::when;
use crate::ops::{OpsError, pairing};
use crate::store::PairingRow;

/// The pending pairing requests.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Pairings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Command for Pairings {
    const SPEC: Spec = Spec {
        name: "pairings",
        summary: "End users waiting to talk to a bot: who, since when, until when",
        params: &[Param {
            name: "name",
            meta: "NAME",
            kind: Kind::Name,
            flag: false,
            required: false,
            help: "one instance",
        }],
        risk: Risk::Read,
        role: Role::Viewer,
        example: "/pairings alice-bot",
    };
}

const DECISION: [Param; 2] = [
    INSTANCE,
    Param {
        name: "id",
        meta: "ID",
        kind: Kind::Number {
            min: 1,
            max: 1 << 53,
        },
        flag: false,
        required: true,
        help: "the request's number, from /pairings or its message",
    },
];

/// Let an end user talk to the bot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approve {
    pub name: String,
    pub id: u64,
}

impl Command for Approve {
    const SPEC: Spec = Spec {
        name: "approve",
        summary: "Approve an end user's pairing request: the bot tells them they may talk to it",
        params: &DECISION,
        risk: Risk::Change,
        role: Role::Operator,
        example: "/approve alice-bot 3",
    };
}

/// Turn an end user's request away.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reject {
    pub name: String,
    pub id: u64,
}

impl Command for Reject {
    const SPEC: Spec = Spec {
        name: "reject",
        summary: "Reject an end user's pairing request",
        params: &DECISION,
        risk: Risk::Change,
        role: Role::Operator,
        example: "/reject alice-bot 3",
    };
}

impl Pairings {
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        if let Some(name) = &self.name {
            existing(&ctx.store, name).await?;
        }
        let rows = ctx.store.pending_pairings(self.name.as_deref()).await?;
        if rows.is_empty() {
            return Ok(Message::text("No pairing requests are waiting."));
        }
        let table = rows
            .iter()
            .map(|r| {
                vec![
                    format!("#{}", r.id),
                    r.instance.clone(),
                    r.sender_name
                        .clone()
                        .or_else(|| r.sender_id.clone())
                        .unwrap_or_default(),
                    when(r.created_at.as_deref()),
                    when(r.expires_at.as_deref()),
                ]
            })
            .collect();
        Ok(Message::default()
            .heading(format!("{} pairing requests waiting", rows.len()))
            .table(&["ID", "INSTANCE", "WHO", "ASKED", "EXPIRES"], table)
            .para("/approve NAME ID lets one in; /reject NAME ID turns one away."))
    }
}

/// The pending request `id` of `name`, or why it cannot be decided now.
async fn pending(ctx: &Ctx, name: &str, id: u64) -> Result<PairingRow, OpsError> {
    let row = ctx
        .store
        .pairing(i64::try_from(id).unwrap_or(i64::MAX))
        .await?
        .filter(|r| r.instance == name)
        .ok_or_else(|| {
            OpsError::Refused(format!(
                "{name} has no pairing request #{id}: /pairings {name} lists them"
            ))
        })?;
    if row.state != "pending" {
        let how = match (&row.decided_by, row.state.as_str()) {
            (Some(by), state) => format!("{state} by {by} at {}", when(row.decided_at.as_deref())),
            (None, "expired") => "expired".to_string(),
            (None, _) => "decided elsewhere".to_string(),
        };
        return Err(OpsError::Refused(format!(
            "request #{id} of {name} was already {how}: nothing was done"
        )));
    }
    Ok(row)
}

/// Approves or rejects request `id` of `name` on its gateway, then records and shows it.
async fn decide(
    ctx: &Ctx,
    name: &str,
    id: u64,
    approve: bool,
    who: &str,
) -> Result<(PairingRow, String), OpsError> {
    let row = pending(ctx, name, id).await?;
    // One decision per request: a second press finds it taken and says so.
    if !ctx.store.claim_pairing(row.id).await? {
        return Err(OpsError::Refused(format!(
            "request #{id} of {name} is being decided by someone else right now"
        )));
    }
    let decided = match super::lifecycle::host_of(ctx, name).await {
        Ok((instance, host)) => host
            .decide_pairing(&row.channel, &row.account, &row.request_id, approve)
            .await
            .map(|said| (instance, said)),
        Err(e) => {
            ctx.store.release_pairing(row.id).await?;
            return Err(e);
        }
    };
    let now = ctx.clock.now();
    let said = match decided {
        Ok((_, said)) => said,
        Err(e) => {
            // The gateway no longer has it: it expired, or was decided there.
            if e.to_string().contains("no longer exists") {
                ctx.store.end_pairing(row.id, "gone", None, now).await?;
                if let Some(row) = ctx.store.pairing(row.id).await? {
                    pairing::refresh(ctx, &row).await?;
                }
                return Err(OpsError::Refused(format!(
                    "request #{id} of {name} no longer exists on the gateway (expired, or decided there): nothing was done"
                )));
            }
            ctx.store.release_pairing(row.id).await?;
            return Err(e.into());
        }
    };
    let state = if approve { "approved" } else { "rejected" };
    if !ctx.store.end_pairing(row.id, state, Some(who), now).await? {
        return Err(OpsError::Refused(format!(
            "request #{id} was decided by someone else meanwhile"
        )));
    }
    let row = ctx.store.pairing(row.id).await?.unwrap_or(row);
    pairing::refresh(ctx, &row).await?;
    Ok((row, said))
}

fn who_asked(row: &PairingRow) -> String {
    row.sender_name
        .clone()
        .or_else(|| row.sender_id.clone())
        .unwrap_or_else(|| "the requester".into())
}

impl Approve {
    pub async fn run(&self, ctx: &Ctx, who: &str) -> Result<Message, OpsError> {
        let (row, said) = decide(ctx, &self.name, self.id, true, who).await?;
        Ok(Message::text(format!(
            "✓ Approved {} on {}: they may talk to the bot now ({said}).",
            who_asked(&row),
            row.instance
        )))
    }
}

impl Reject {
    pub async fn run(&self, ctx: &Ctx, who: &str) -> Result<Message, OpsError> {
        let (row, _) = decide(ctx, &self.name, self.id, false, who).await?;
        Ok(Message::text(format!(
            "✗ Rejected {} on {}.",
            who_asked(&row),
            row.instance
        )))
    }
}
