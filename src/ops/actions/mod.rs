//! One file per action: its arguments, its catalogue entry (help, risk, role) and its
//! execution. The `Action` enum only dispatches.

pub mod alerts;
pub mod audit;
pub mod backup;
pub mod brief;
pub mod cost;
pub mod deploy;
pub mod destroy;
pub mod failover;
pub mod forget;
pub mod health;
pub mod help;
pub mod hosts;
pub mod jobs;
pub mod lifecycle;
pub mod list;
pub mod migrate;
pub mod onboarding;
pub mod pairing;
pub mod prices;
pub mod reboot;
pub mod reconcile;
pub mod recover;
pub mod repair;
pub mod resize;
pub mod restart;
pub mod rollouts;
pub mod send;
pub mod status;
pub mod unpin;
pub mod usage;
pub mod waste;

use serde::{Deserialize, Serialize};

use super::{Kind, OpsError, Param};
use crate::store::{InstanceRow, InstanceStatus, Store};

/// Filters that pick instances for bulk actions and listings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Selector {
    /// Health state (healthy, degraded, offline, unreachable) or instance status
    /// (ready, deploying, failed, interrupted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// A name pattern with `*` and `?` wildcards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The one-instance parameter shared by the actions that act on a single instance.
pub const INSTANCE: Param = Param {
    name: "name",
    meta: "NAME",
    kind: Kind::Name,
    flag: false,
    required: true,
    help: "the instance",
};

/// The selector's parameters, shared by every action that takes one.
pub const SELECTOR_PARAMS: [Param; 4] = [
    Param {
        name: "status",
        meta: "STATE",
        kind: Kind::Word,
        flag: true,
        required: false,
        help: "healthy, degraded, offline, unreachable, or ready, deploying, failed, interrupted",
    },
    Param {
        name: "region",
        meta: "REGION",
        kind: Kind::Word,
        flag: true,
        required: false,
        help: "only instances in this region",
    },
    Param {
        name: "provider",
        meta: "PROVIDER",
        kind: Kind::Word,
        flag: true,
        required: false,
        help: "only instances at this provider",
    },
    Param {
        name: "name",
        meta: "PATTERN",
        kind: Kind::Pattern,
        flag: true,
        required: false,
        help: "only names matching this pattern, e.g. 'alice-*'",
    },
];

impl Selector {
    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        self == &Selector::default()
    }

    /// Whether `row` passes every filter.
    pub fn matches(&self, row: &InstanceRow) -> bool {
        let status_ok = self.status.as_ref().is_none_or(|s| {
            s.eq_ignore_ascii_case(row.status.as_str())
                || row
                    .health
                    .as_ref()
                    .is_some_and(|h| h.eq_ignore_ascii_case(s))
        });
        let region_ok = self.region.as_ref().is_none_or(|r| r == &row.region);
        let provider_ok = self.provider.as_ref().is_none_or(|p| {
            row.provider == *p
                || row.provider.starts_with(&format!("{p}-"))
                || row.provider.ends_with(&format!("-{p}"))
        });
        let name_ok = self
            .name
            .as_ref()
            .is_none_or(|p| wildmatch::WildMatch::new(p).matches(&row.name));
        status_ok && region_ok && provider_ok && name_ok
    }

    /// The instances of the fleet this selector picks.
    pub async fn pick(&self, store: &Store) -> Result<Vec<InstanceRow>, OpsError> {
        Ok(store
            .fleet()
            .await?
            .into_iter()
            .filter(|r| self.matches(r))
            .collect())
    }
}

/// The instance called `name`, unless it does not exist or was destroyed.
pub async fn existing(store: &Store, name: &str) -> Result<InstanceRow, OpsError> {
    match store.instance(name).await? {
        Some(row) if row.status != InstanceStatus::Destroyed => Ok(row),
        _ => Err(OpsError::NoInstance(name.to_string())),
    }
}

/// An instance's health as probed just now.
pub struct Probe {
    /// What the host said, when it answered.
    pub reading: Option<crate::remote::Reading>,
    pub state: crate::monitor::HealthState,
    pub score: u8,
    /// The reasons for the deductions.
    pub why: Vec<String>,
}

/// Probes the host of `row` (on `server_id`) now and records the health in the store.
pub async fn probe_now(
    ctx: &crate::ops::door::Ctx,
    row: &InstanceRow,
    server_id: &str,
) -> Result<Probe, OpsError> {
    let cloud = ctx.providers.get(&row.provider)?;
    let host = cloud.host(&row.name, server_id, row.ipv4.as_deref());
    probe_host(ctx, &row.name, host.as_ref()).await
}

/// Probes `host`, the host of instance `name`, now and records the health in the store.
pub async fn probe_host(
    ctx: &crate::ops::door::Ctx,
    name: &str,
    host: &dyn crate::remote::Host,
) -> Result<Probe, OpsError> {
    let reading = host.probe().await.ok();
    let (state, score, why) = crate::monitor::assess(reading.as_ref());
    ctx.store
        .set_instance_health(
            name,
            state.as_str(),
            score.into(),
            &why.join(", "),
            ctx.clock.now(),
        )
        .await?;
    Ok(Probe {
        reading,
        state,
        score,
        why,
    })
}

/// "hetzner-sim nbg1": where an instance lives.
pub fn place(row: &InstanceRow) -> String {
    format!("{} {}", row.provider, row.region)
}
