//! `/restart NAME` or `/restart --status degraded …`: restart the gateway of one instance,
//! or of every instance a selector picks (one at a time, each checked after its restart).

use serde::{Deserialize, Serialize};

use super::{SELECTOR_PARAMS, Selector, existing, place};
use crate::chat::{Message, Replier};
use crate::config::Role;
use crate::monitor;
use crate::ops::catalogue::{ArgError, Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::{BlastRadius, OpsError};
use crate::store::{InstanceRow, InstanceStatus};

/// Restart gateways.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Restart {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(flatten)]
    pub selector: Selector,
    #[serde(default)]
    pub all: bool,
    /// The instances the confirmation showed, bound by the door when it asks: the press
    /// acts on those that still match, never on ones added since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked: Option<Vec<String>>,
    /// Set on the follow-up question for instances that matched only after the press.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
    /// Set by the door when the Restart button under an alert was pressed: the instances
    /// are the alert's (in `asked`), never more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<i64>,
    /// Set only by a heal: the service killed and started, not asked to stop.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hard: bool,
}

const PARAMS: [Param; 6] = [
    Param {
        name: "instance",
        meta: "NAME",
        kind: Kind::Name,
        flag: false,
        required: false,
        help: "one instance (or use the filters below, or --all)",
    },
    SELECTOR_PARAMS[0],
    SELECTOR_PARAMS[1],
    SELECTOR_PARAMS[2],
    SELECTOR_PARAMS[3],
    Param {
        name: "all",
        meta: "",
        kind: Kind::Switch,
        flag: true,
        required: false,
        help: "every ready instance of the fleet",
    },
];

impl Command for Restart {
    const SPEC: Spec = Spec {
        name: "restart",
        summary: "Restart the gateway of one instance, or of all that match filters",
        params: &PARAMS,
        risk: Risk::Change,
        role: Role::Operator,
        example: "/restart --status degraded",
    };

    fn check(&self) -> Result<(), ArgError> {
        let ways = usize::from(self.instance.is_some())
            + usize::from(!self.selector.is_empty())
            + usize::from(self.all);
        match ways {
            1 => Ok(()),
            0 => Err(ArgError::Invalid(
                "name an instance, give filters (--status, --region, --provider, --name), or --all"
                    .into(),
            )),
            _ => Err(ArgError::Invalid(
                "give either an instance name, filters, or --all — not several".into(),
            )),
        }
    }
}

impl Restart {
    async fn targets(&self, ctx: &Ctx) -> Result<Vec<InstanceRow>, OpsError> {
        if let Some(name) = &self.instance {
            let row = existing(&ctx.store, name).await?;
            if row.status != InstanceStatus::Ready {
                return Err(OpsError::Refused(format!(
                    "{name} is {}: only a ready instance has a gateway to restart",
                    row.status
                )));
            }
            return Ok(vec![row]);
        }
        Ok(self
            .matching(ctx)
            .await?
            .into_iter()
            .filter(|r| self.asked.as_ref().is_none_or(|a| a.contains(&r.name)))
            .collect())
    }

    /// Every ready instance the filters pick now.
    async fn matching(&self, ctx: &Ctx) -> Result<Vec<InstanceRow>, OpsError> {
        Ok(self
            .selector
            .pick(&ctx.store)
            .await?
            .into_iter()
            .filter(|r| r.status == InstanceStatus::Ready)
            .collect())
    }

    /// The restart a heal takes: the gateway of `name`, or (`hard`) its service killed
    /// and started.
    pub fn healing(name: &str, hard: bool) -> Restart {
        Restart {
            instance: Some(name.to_string()),
            selector: Selector::default(),
            all: false,
            asked: None,
            late: false,
            alert: None,
            hard,
        }
    }

    /// The restart the Restart button under alert `alert` asks for: its open incidents'
    /// instances.
    pub fn for_alert(alert: i64, names: Vec<String>) -> Restart {
        match names.as_slice() {
            [one] => Restart {
                instance: Some(one.clone()),
                selector: Selector::default(),
                all: false,
                asked: None,
                late: false,
                alert: Some(alert),
                hard: false,
            },
            _ => Restart {
                instance: None,
                selector: Selector::default(),
                all: false,
                asked: Some(names),
                late: false,
                alert: Some(alert),
                hard: false,
            },
        }
    }

    /// This restart bound to the instances a question showed.
    pub fn bound(&self, radius: &BlastRadius) -> Restart {
        if self.instance.is_some() {
            return self.clone();
        }
        Restart {
            asked: Some(radius.instances.iter().map(|(n, _)| n.clone()).collect()),
            ..self.clone()
        }
    }

    /// After a bound restart ran: a restart of the instances that match now but were not
    /// in the question, to be asked about on their own.
    pub async fn newcomers(&self, ctx: &Ctx) -> Result<Option<Restart>, OpsError> {
        let Some(asked) = self
            .asked
            .as_ref()
            .filter(|_| !self.late && self.alert.is_none())
        else {
            return Ok(None);
        };
        let new: Vec<String> = self
            .matching(ctx)
            .await?
            .into_iter()
            .map(|r| r.name)
            .filter(|n| !asked.contains(n))
            .collect();
        Ok((!new.is_empty()).then(|| Restart {
            asked: Some(new),
            late: true,
            ..self.clone()
        }))
    }

    /// The instances restarted and their end users (who lose their bot for a moment).
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        let targets = self.targets(ctx).await?;
        let mut details = Vec::new();
        if self.selector.status.is_some() {
            details.push(super::health::as_of(ctx).await?);
        }
        Ok(BlastRadius {
            details,
            end_users: targets.iter().map(|t| t.end_users.max(0) as u32).sum(),
            instances: targets.iter().map(|t| (t.name.clone(), place(t))).collect(),
            monthly_cents: 0,
            currency: String::new(),
            reversible: true,
            loss: None,
            billed: false,
            press: self
                .late
                .then(|| "these instances matched only after the question you confirmed".into()),
        })
    }

    /// Restarts each target in turn and probes it afterwards.
    pub async fn run(&self, ctx: &Ctx, _out: &dyn Replier) -> Result<Message, OpsError> {
        let targets = self.targets(ctx).await?;
        if targets.is_empty() {
            return Ok(Message::text(
                "No ready instance matches: nothing restarted.",
            ));
        }
        let mut rows = Vec::new();
        let mut failures = 0;
        let mut skipped = Vec::new();
        let bulk = self.instance.is_none();
        for t in &targets {
            // In bulk, an instance another action holds is skipped and listed.
            let _held = if bulk {
                match ctx.locks.try_take(
                    std::slice::from_ref(&t.name),
                    "/restart (bulk)",
                    ctx.clock.now(),
                ) {
                    Ok(g) => Some(g),
                    Err(busy) => {
                        rows.push(vec![t.name.clone(), format!("skipped: {busy}")]);
                        skipped.push(t.name.clone());
                        continue;
                    }
                }
            } else {
                None
            };
            let result = restart_one(ctx, t, self.hard).await;
            if result.is_err() {
                failures += 1;
            }
            rows.push(vec![
                t.name.clone(),
                result.unwrap_or_else(|e| format!("✗ {e}")),
            ]);
        }
        let n = targets.len() - skipped.len();
        let head = match (n, failures) {
            (1, 0) if skipped.is_empty() => format!("✓ Restarted {}", targets[0].name),
            (n, 0) => format!("✓ Restarted {n} instances"),
            (n, f) => format!("Restarted {} of {n} instances; {f} failed", n - f),
        };
        let mut m = Message::default()
            .heading(head)
            .table(&["instance", "after restart"], rows);
        if !skipped.is_empty() {
            m = m.para(format!(
                "Skipped, busy with another action: {}. Restart them when it ends.",
                skipped.join(", ")
            ));
        }
        if failures > 0 {
            return Err(OpsError::Refused(m.plain()));
        }
        Ok(m)
    }
}

async fn restart_one(ctx: &Ctx, row: &InstanceRow, hard: bool) -> Result<String, OpsError> {
    let server_id = row
        .server_id
        .as_deref()
        .ok_or_else(|| OpsError::Refused(format!("{} has no server recorded", row.name)))?;
    let host = ctx
        .providers
        .get(&row.provider)?
        .host(&row.name, server_id, row.ipv4.as_deref());
    if hard {
        host.restart_service().await?;
    } else {
        host.restart_gateway().await?;
    }
    let reading = host.probe().await.ok();
    let (state, score, why) = monitor::assess(reading.as_ref());
    ctx.store
        .set_instance_health(
            &row.name,
            state.as_str(),
            score.into(),
            &why.join(", "),
            ctx.clock.now(),
        )
        .await?;
    Ok(format!("{} ({score}/100)", state.as_str()))
}
