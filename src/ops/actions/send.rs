//! `/send NAME TEXT`: a message to an instance's owner, from the instance's own bot, over
//! its gateway's RPC (`send`). `/send --status S --region R TEXT` writes to the owners of
//! many instances: it always asks first, with the count, and answers with each delivery.
//! From the LLM a send waits for a person's press.

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::{Selector, existing, place};
use crate::chat::Message;
use crate::config::Role;
use crate::ops::catalogue::{ArgError, Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::{BlastRadius, OpsError};
use crate::store::{InstanceRow, InstanceStatus};

/// How many instances a bulk send writes through at once.
const AT_ONCE: usize = 8;

/// A message to the owners of one instance or of many.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Send {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub text: String,
}

impl Command for Send {
    const SPEC: Spec = Spec {
        name: "send",
        summary: "Message an owner from their bot (--status/--region: many)",
        params: &[
            Param {
                name: "name",
                meta: "NAME",
                kind: Kind::Name,
                flag: false,
                required: false,
                help: "the instance",
            },
            Param {
                name: "status",
                meta: "STATE",
                kind: Kind::Word,
                flag: true,
                required: false,
                help: "all in this state",
            },
            Param {
                name: "region",
                meta: "REGION",
                kind: Kind::Word,
                flag: true,
                required: false,
                help: "all in this region",
            },
            Param {
                name: "text",
                meta: "TEXT",
                kind: Kind::Message,
                flag: false,
                required: true,
                help: "the message",
            },
        ],
        risk: Risk::Change,
        role: Role::Operator,
        example: "/send alice-bot Your assistant restarts at 22:00 for an update.",
    };

    fn check(&self) -> Result<(), ArgError> {
        match (&self.name, self.selector().is_empty()) {
            (Some(_), true) | (None, false) => Ok(()),
            (Some(_), false) => Err(ArgError::Invalid(
                "name one instance, or pick many with --status/--region: not both".into(),
            )),
            (None, true) => Err(ArgError::Invalid(
                "whose owner? Name an instance (/send alice-bot TEXT) or pick many with --status or --region".into(),
            )),
        }
    }
}

impl Send {
    fn selector(&self) -> Selector {
        Selector {
            status: self.status.clone(),
            region: self.region.clone(),
            ..Selector::default()
        }
    }

    /// Whether it writes to many owners.
    pub fn bulk(&self) -> bool {
        self.name.is_none()
    }

    /// The instances written to: the named one, or every ready one the flags pick.
    async fn targets(&self, ctx: &Ctx) -> Result<Vec<InstanceRow>, OpsError> {
        match (&self.name, self.selector().is_empty()) {
            (Some(name), true) => Ok(vec![existing(&ctx.store, name).await?]),
            (Some(_), false) => Err(OpsError::Refused(
                "name one instance, or pick many with --status/--region: not both".into(),
            )),
            (None, true) => Err(OpsError::Refused(
                "whose owner? Name an instance (/send alice-bot TEXT) or pick many with --status or --region".into(),
            )),
            (None, false) => {
                let rows: Vec<InstanceRow> = self
                    .selector()
                    .pick(&ctx.store)
                    .await?
                    .into_iter()
                    .filter(|r| r.status == InstanceStatus::Ready && r.role == "primary")
                    .collect();
                if rows.is_empty() {
                    return Err(OpsError::Refused(
                        "no ready instance matches: /list shows the fleet".into(),
                    ));
                }
                Ok(rows)
            }
        }
    }

    /// Who is written to; a bulk send always asks first, with the count.
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        let rows = self.targets(ctx).await?;
        let owners = rows.iter().filter(|r| r.owner.is_some()).count();
        Ok(BlastRadius {
            instances: rows.iter().map(|r| (r.name.clone(), place(r))).collect(),
            end_users: owners as u32,
            // A message cannot be taken back; one to one owner is not asked about (it
            // is what was typed), many always are.
            reversible: !self.bulk(),
            loss: self
                .bulk()
                .then(|| "a message cannot be taken back once sent".into()),
            press: self.bulk().then(|| {
                format!(
                    "it messages the owners of {} instances ({owners} with an owner known)",
                    rows.len()
                )
            }),
            details: vec![format!("“{}”", preview(&self.text))],
            ..BlastRadius::default()
        })
    }

    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let rows = self.targets(ctx).await?;
        let results: Vec<(String, Result<String, String>)> = futures_util::stream::iter(rows)
            .map(|row| async move {
                let result = deliver(ctx, &row, &self.text).await;
                (row.name, result)
            })
            .buffer_unordered(AT_ONCE)
            .collect()
            .await;
        let mut results = results;
        results.sort_by(|a, b| a.0.cmp(&b.0));
        let delivered = results.iter().filter(|(_, r)| r.is_ok()).count();
        if let (false, [(name, Err(why))]) = (self.bulk(), results.as_slice()) {
            return Err(OpsError::Refused(format!(
                "the message did not reach {name}'s owner: {why}"
            )));
        }
        let mut m = Message::default()
            .heading(format!("✓ Sent to {delivered} of {} owners", results.len()));
        let rows = results
            .into_iter()
            .map(|(name, r)| match r {
                Ok(said) => vec![name, format!("✓ {said}")],
                Err(why) => vec![name, format!("✗ {why}")],
            })
            .collect();
        m = m.table(&["INSTANCE", "DELIVERY"], rows);
        Ok(m)
    }
}

/// The message to one instance's owner, through its own bot.
async fn deliver(ctx: &Ctx, row: &InstanceRow, text: &str) -> Result<String, String> {
    let Some(owner) = &row.owner else {
        return Err(
            "no owner known yet: no end user has been approved (or give one with /deploy … --owner ID)"
                .into(),
        );
    };
    if row.status != InstanceStatus::Ready {
        return Err(format!("it is {}", row.status.as_str()));
    }
    let server = row
        .server_id
        .as_deref()
        .ok_or_else(|| "it has no server".to_string())?;
    let cloud = ctx
        .providers
        .get(&row.provider)
        .map_err(|e| e.to_string())?;
    let host = cloud.host(&row.name, server, row.ipv4.as_deref());
    let said = host
        .send_message(owner, text)
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!("{owner}: {said}"))
}

/// The first line of a message, shortened for a question.
fn preview(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let short: String = line.chars().take(120).collect();
    if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    }
}
