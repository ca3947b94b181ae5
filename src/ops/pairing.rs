//! Pairing approvals: end users asking to talk to an instance's bot. The `pairing-poll`
//! job asks each ready instance's gateway for its pending requests over the RPC (never
//! the CLI: 5-6 s of CPU on the customer's host per call), posts each new one once to the
//! ops channels that get `pairing` with Approve and Reject, and edits those messages when
//! a request is decided elsewhere or expires. An instance at OpenClaw's cap of pending
//! requests raises one alert. The presses become `/approve` and `/reject` through the door.

use chrono::{DateTime, Utc};

use super::OpsError;
use super::door::Ctx;
use crate::chat::{Message, Outbound, PairingButton};
use crate::config::Feed;
use crate::store::{InstanceStatus, PairingRow, SeenRequest, parse_ts};

/// The channel whose pairing requests are polled.
pub const CHANNEL: &str = "telegram";
/// OpenClaw keeps at most this many pending requests per channel account.
const CAP: usize = 3;
/// Where "this instance is at the cap" is remembered, so it is said once.
const CAP_KEY: &str = "pairing.cap:";

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PollReport {
    pub asked: usize,
    pub new: usize,
    pub ended: usize,
    pub failed: Vec<String>,
}

impl std::fmt::Display for PollReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n =
            |k: usize, one: &str, many: &str| format!("{k} {}", if k == 1 { one } else { many });
        write!(
            f,
            "{} asked: {}, {} ended",
            n(self.asked, "instance", "instances"),
            n(self.new, "new request", "new requests"),
            self.ended
        )?;
        if !self.failed.is_empty() {
            write!(f, "; no answer from {}", self.failed.join(", "))?;
        }
        Ok(())
    }
}

/// One poll of every ready instance.
pub async fn poll(ctx: &Ctx) -> Result<PollReport, OpsError> {
    let now = ctx.clock.now();
    let mut report = PollReport::default();
    for row in ctx.store.fleet().await? {
        if row.status != InstanceStatus::Ready || row.standby_of.is_some() {
            continue;
        }
        let Some(server) = row.server_id.as_deref() else {
            continue;
        };
        let host = ctx
            .providers
            .get(&row.provider)?
            .host(&row.name, server, row.ipv4.as_deref());
        report.asked += 1;
        let listed = tokio::time::timeout(
            ctx.config.watch.probe_timeout,
            host.pairing_requests(CHANNEL),
        )
        .await;
        let seen = match listed {
            Ok(Ok(seen)) => seen,
            _ => {
                report.failed.push(row.name.clone());
                continue;
            }
        };
        for request in &seen {
            if let Some(new) = ctx
                .store
                .saw_pairing(&row.name, CHANNEL, request, now)
                .await?
            {
                tell(ctx, &new).await?;
                report.new += 1;
            }
        }
        report.ended += settle(ctx, &row.name, &seen, now).await?;
        at_cap(ctx, &row.name, seen.len()).await?;
    }
    Ok(report)
}

/// Requests of `instance` the gateway no longer lists: expired, or decided elsewhere.
async fn settle(
    ctx: &Ctx,
    instance: &str,
    seen: &[SeenRequest],
    now: DateTime<Utc>,
) -> Result<usize, OpsError> {
    let mut ended = 0;
    for row in ctx.store.pending_pairings(Some(instance)).await? {
        if seen.iter().any(|s| s.request_id == row.request_id) {
            continue;
        }
        let expired = row
            .expires_at
            .as_deref()
            .and_then(|t| parse_ts("expiry", t).ok())
            .is_some_and(|t| t <= now);
        let state = if expired { "expired" } else { "gone" };
        if ctx.store.end_pairing(row.id, state, None, now).await? {
            ended += 1;
            if let Some(row) = ctx.store.pairing(row.id).await? {
                refresh(ctx, &row).await?;
            }
        }
    }
    Ok(ended)
}

/// One alert when an instance reaches OpenClaw's cap of pending requests (new end users
/// are turned away meanwhile); said again only after it dropped below.
async fn at_cap(ctx: &Ctx, instance: &str, pending: usize) -> Result<(), OpsError> {
    let key = format!("{CAP_KEY}{instance}");
    let said = ctx.store.surface_value(&key).await?.is_some();
    if pending >= CAP && !said {
        ctx.store
            .set_surface_value(&key, "1", ctx.clock.now())
            .await?;
        let text = Message::default()
            .heading(format!(
                "🟠 {instance} has {pending} pairing requests waiting: OpenClaw's cap"
            ))
            .para(format!(
                "New end users are turned away until some are decided or expire (after an hour). /pairings {instance} lists them."
            ));
        super::alerts::announce(ctx, Feed::Alerts, Outbound::Message(text), false).await;
    } else if pending < CAP && said {
        ctx.store.clear_surface_value(&key).await?;
    }
    Ok(())
}

/// "12:01 UTC" for a kept time, "?" without one.
pub fn when(ts: Option<&str>) -> String {
    ts.and_then(|t| parse_ts("a time", t).ok())
        .map(|t| t.format("%H:%M UTC").to_string())
        .unwrap_or_else(|| "?".into())
}

/// The message of a request, as it stands.
fn message(row: &PairingRow) -> Message {
    let who = match (&row.sender_name, &row.sender_id) {
        (Some(name), Some(id)) => format!("{name} (id {id})"),
        (Some(name), None) => name.clone(),
        (None, Some(id)) => format!("id {id}"),
        (None, None) => "someone".into(),
    };
    let head = format!(
        "🔑 {}: {who} asks to talk to the bot on {}",
        row.instance, row.channel
    );
    let mut lines = vec![format!(
        "Asked {}, expires {} · request #{}",
        when(row.created_at.as_deref()),
        when(row.expires_at.as_deref()),
        row.id
    )];
    match row.state.as_str() {
        "pending" => {}
        "approved" | "rejected" => lines.push(format!(
            "{} by {} at {}",
            if row.state == "approved" {
                "✓ Approved"
            } else {
                "✗ Rejected"
            },
            row.decided_by.as_deref().unwrap_or("?"),
            when(row.decided_at.as_deref())
        )),
        "expired" => lines.push("⌛ Expired before anyone decided.".into()),
        _ => lines.push("Decided elsewhere (no longer pending on the gateway).".into()),
    }
    Message::default().heading(head).para(lines.join("\n"))
}

fn outbound(row: &PairingRow) -> Outbound {
    let message = message(row);
    if row.state != "pending" {
        return Outbound::Message(message);
    }
    Outbound::Buttons {
        message,
        buttons: vec![
            PairingButton::Approve.button(row.id),
            PairingButton::Reject.button(row.id),
        ],
    }
}

/// Posts a new request to the channels that get `pairing`.
async fn tell(ctx: &Ctx, row: &PairingRow) -> Result<(), OpsError> {
    let out = outbound(row);
    for at in super::alerts::post_to(ctx, Feed::Pairing, out).await {
        ctx.store.add_pairing_message(row.id, &at).await?;
    }
    Ok(())
}

/// Edits a request's messages to say how it ended (buttons gone).
pub async fn refresh(ctx: &Ctx, row: &PairingRow) -> Result<(), OpsError> {
    let out = outbound(row);
    for at in ctx.store.pairing_messages(row.id).await? {
        super::alerts::edit_at(ctx, &at, out.clone()).await;
    }
    Ok(())
}
