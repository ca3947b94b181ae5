//! `/alerts`, `/ack ID`, `/silence` and `/unsilence`: the open incidents, saying "I'm on
//! it" (which stops the repeats and the escalation), and keeping an instance, a region or
//! a provider quiet for a while. The buttons under an alert become these actions (and
//! `/restart`), pressed by whoever pressed them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::restart::Restart;
use crate::chat::{AlertButton, Message};
use crate::config::Role;
use crate::ops::alerts::hhmm;
use crate::ops::catalogue::{ArgError, Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::{Action, OpsError, alerts};
use crate::store::IncidentRow;

/// The longest silence.
const MAX_SILENCE: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);
/// What the Silence button gives.
const BUTTON_SILENCE: &str = "1h";

/// The open incidents and the silences in force.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Alerts {}

impl Command for Alerts {
    const SPEC: Spec = Spec {
        name: "alerts",
        summary: "Open incidents: what, since when, who acknowledged; and the silences in force",
        params: &[],
        risk: Risk::Read,
        role: Role::Viewer,
        example: "/alerts",
    };
}

/// Acknowledge an incident.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Ack {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Set only by the door, for the Acknowledge button: every open incident of the alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<i64>,
}

impl Command for Ack {
    const SPEC: Spec = Spec {
        name: "ack",
        summary: "Acknowledge an incident: its repeats and escalation stop",
        params: &[Param {
            name: "id",
            meta: "ID",
            kind: Kind::Number {
                min: 1,
                max: 1 << 53,
            },
            flag: false,
            required: false,
            help: "the incident's number, from /alerts or the alert",
        }],
        risk: Risk::Change,
        role: Role::Viewer,
        example: "/ack 12",
    };

    fn check(&self) -> Result<(), ArgError> {
        if self.id.is_none() && self.alert.is_none() {
            return Err(ArgError::Invalid(
                "give the incident's number: /ack 12 (/alerts lists them)".into(),
            ));
        }
        Ok(())
    }
}

/// What a silence covers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Scope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

const SCOPE_PARAMS: [Param; 3] = [
    Param {
        name: "instance",
        meta: "NAME",
        kind: Kind::Name,
        flag: false,
        required: false,
        help: "one instance",
    },
    Param {
        name: "region",
        meta: "REGION",
        kind: Kind::Word,
        flag: true,
        required: false,
        help: "every instance in a region",
    },
    Param {
        name: "provider",
        meta: "PROVIDER",
        kind: Kind::Word,
        flag: true,
        required: false,
        help: "every instance at a provider",
    },
];

impl Scope {
    /// (scope, value) of the one thing named.
    fn target(&self) -> Result<(&'static str, &str), ArgError> {
        let given: Vec<(&'static str, &str)> = [
            ("instance", self.instance.as_deref()),
            ("region", self.region.as_deref()),
            ("provider", self.provider.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
        match given.as_slice() {
            [one] => Ok(*one),
            [] => Err(ArgError::Invalid(
                "name an instance, or give --region R or --provider P".into(),
            )),
            _ => Err(ArgError::Invalid(
                "give one of: an instance, --region, --provider".into(),
            )),
        }
    }
}

/// Keep alerts quiet for a while.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Silence {
    #[serde(flatten)]
    pub scope: Scope,
    /// How long: "1h", "30m", "2d" (at most 7 days).
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Set only by the door, for the Silence button: the alert's instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<i64>,
}

const SILENCE_PARAMS: [Param; 4] = [
    SCOPE_PARAMS[0],
    SCOPE_PARAMS[1],
    SCOPE_PARAMS[2],
    Param {
        name: "for",
        meta: "DURATION",
        kind: Kind::Word,
        flag: true,
        required: true,
        help: "how long, e.g. 1h, 30m, 2d (at most 7 days)",
    },
];

impl Command for Silence {
    const SPEC: Spec = Spec {
        name: "silence",
        summary: "No alerts for an instance, a region or a provider for a while",
        params: &SILENCE_PARAMS,
        risk: Risk::Change,
        role: Role::Operator,
        example: "/silence alice-bot --for 1h",
    };

    fn check(&self) -> Result<(), ArgError> {
        if self.alert.is_none() {
            self.scope.target()?;
        }
        self.length().map(|_| ())
    }
}

impl Silence {
    fn length(&self) -> Result<std::time::Duration, ArgError> {
        let text = self.duration.as_deref().unwrap_or(BUTTON_SILENCE);
        let bad = |why: &str| ArgError::Bad {
            meta: "DURATION",
            value: text.chars().take(20).collect(),
            why: why.into(),
        };
        let d = humantime::parse_duration(text).map_err(|_| bad("write it like 1h, 30m or 2d"))?;
        if d < std::time::Duration::from_secs(60) || d > MAX_SILENCE {
            return Err(bad("give from 1m to 7d"));
        }
        Ok(d)
    }
}

/// Lift a silence.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Unsilence {
    #[serde(flatten)]
    pub scope: Scope,
}

impl Command for Unsilence {
    const SPEC: Spec = Spec {
        name: "unsilence",
        summary: "Lift a silence: alerts for it come again",
        params: &SCOPE_PARAMS,
        risk: Risk::Change,
        role: Role::Operator,
        example: "/unsilence --region nbg1",
    };

    fn check(&self) -> Result<(), ArgError> {
        self.scope.target().map(|_| ())
    }
}

/// The action a button under alert `alert` stands for, over its open incidents.
pub fn for_button(button: AlertButton, alert: i64, open: &[IncidentRow]) -> Action {
    match button {
        AlertButton::Acknowledge => Action::Ack(Ack {
            id: None,
            alert: Some(alert),
        }),
        AlertButton::Silence => Action::Silence(Silence {
            scope: Scope::default(),
            duration: Some(BUTTON_SILENCE.into()),
            alert: Some(alert),
        }),
        AlertButton::Restart => Action::Restart(Restart::for_alert(
            alert,
            open.iter().map(|i| i.instance.clone()).collect(),
        )),
    }
}

impl Alerts {
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let now = ctx.clock.now();
        let open = ctx.store.open_incidents().await?;
        let silences = ctx.store.silences(now).await?;
        let mut message = if open.is_empty() {
            Message::text("No open incidents.")
        } else {
            let rows = open
                .iter()
                .map(|i| {
                    vec![
                        format!("#{}", i.id),
                        i.instance.clone(),
                        i.state.clone(),
                        hhmm(&i.opened_at),
                        i.reasons.clone(),
                        standing(i),
                    ]
                })
                .collect();
            Message::default()
                .heading(format!("{} open incidents", open.len()))
                .table(
                    &["ID", "INSTANCE", "STATE", "SINCE", "WHY", "STANDING"],
                    rows,
                )
        };
        if !silences.is_empty() {
            let lines: Vec<String> = silences
                .iter()
                .map(|s| {
                    format!(
                        "🔕 {} {} until {} (by {})",
                        s.scope,
                        s.value,
                        hhmm(&s.until),
                        s.by
                    )
                })
                .collect();
            message = message.para(lines.join("\n"));
        }
        Ok(message)
    }
}

fn standing(i: &IncidentRow) -> String {
    match (&i.acknowledged_by, i.alert_id) {
        (Some(by), _) => format!("acknowledged by {by}"),
        (None, Some(_)) => "told, not acknowledged".into(),
        (None, None) => "not told (silenced)".into(),
    }
}

impl Ack {
    pub async fn run(&self, ctx: &Ctx, who: &str) -> Result<Message, OpsError> {
        let now = ctx.clock.now();
        let incidents: Vec<IncidentRow> = match (self.alert, self.id) {
            (Some(alert), _) => alerts::open_of(ctx, alert).await?,
            (None, Some(id)) => {
                let id = i64::try_from(id).unwrap_or(i64::MAX);
                match ctx.store.incident(id).await? {
                    Some(i) if i.resolved_at.is_none() => vec![i],
                    Some(i) => {
                        return Err(OpsError::Refused(format!(
                            "incident #{id} ({}) has ended already",
                            i.instance
                        )));
                    }
                    None => {
                        return Err(OpsError::Refused(format!(
                            "there is no incident #{id}: /alerts lists the open ones"
                        )));
                    }
                }
            }
            (None, None) => return Err(OpsError::Refused("give an incident's number".into())),
        };
        let ids: Vec<i64> = incidents.iter().map(|i| i.id).collect();
        let taken = ctx.store.acknowledge(&ids, who, now).await?;
        refresh_all(ctx, &incidents).await;
        let names: Vec<&str> = incidents.iter().map(|i| i.instance.as_str()).collect();
        Ok(Message::text(if taken == 0 {
            format!("Already acknowledged: {}.", names.join(", "))
        } else {
            format!(
                "☑ Acknowledged by {who}: {}. No more repeats or escalation for it.",
                names.join(", ")
            )
        }))
    }
}

/// Brings the alerts of `incidents` up to date (a failed edit is logged, not fatal).
async fn refresh_all(ctx: &Ctx, incidents: &[IncidentRow]) {
    let mut alerts: Vec<i64> = incidents.iter().filter_map(|i| i.alert_id).collect();
    alerts.sort_unstable();
    alerts.dedup();
    for alert in alerts {
        if let Err(e) = alerts::refresh(ctx, alert).await {
            tracing::warn!(alert, error = %e, "could not bring an alert's messages up to date");
        }
    }
}

impl Silence {
    pub async fn run(&self, ctx: &Ctx, who: &str) -> Result<Message, OpsError> {
        let now = ctx.clock.now();
        let length = self
            .length()
            .map_err(|e| OpsError::Refused(e.to_string()))?;
        let until: DateTime<Utc> = now + chrono::Duration::from_std(length).unwrap_or_default();
        let mut targets: Vec<(&'static str, String)> = Vec::new();
        let touched = if let Some(alert) = self.alert {
            let open = alerts::open_of(ctx, alert).await?;
            targets.extend(open.iter().map(|i| ("instance", i.instance.clone())));
            open
        } else {
            let (scope, value) = self
                .scope
                .target()
                .map_err(|e| OpsError::Refused(e.to_string()))?;
            if scope == "instance" {
                super::existing(&ctx.store, value).await?;
            }
            targets.push((scope, value.to_string()));
            ctx.store
                .open_incidents()
                .await?
                .into_iter()
                .filter(|i| match scope {
                    "instance" => i.instance == value,
                    "region" => i.region == value,
                    _ => i.provider == value,
                })
                .collect()
        };
        for (scope, value) in &targets {
            ctx.store.add_silence(scope, value, until, who, now).await?;
        }
        refresh_all(ctx, &touched).await;
        let what: Vec<String> = targets
            .iter()
            .map(|(s, v)| {
                if *s == "instance" {
                    v.clone()
                } else {
                    format!("{s} {v}")
                }
            })
            .collect();
        Ok(Message::text(format!(
            "🔕 Silenced until {}: {}. /unsilence lifts it.",
            until.format("%H:%M UTC"),
            what.join(", ")
        )))
    }
}

impl Unsilence {
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let now = ctx.clock.now();
        let (scope, value) = self
            .scope
            .target()
            .map_err(|e| OpsError::Refused(e.to_string()))?;
        let lifted = ctx.store.lift_silences(scope, value, now).await?;
        if lifted == 0 {
            return Err(OpsError::Refused(format!(
                "no silence in force for {scope} {value}: /alerts lists them"
            )));
        }
        let touched: Vec<IncidentRow> = ctx
            .store
            .open_incidents()
            .await?
            .into_iter()
            .filter(|i| match scope {
                "instance" => i.instance == value,
                "region" => i.region == value,
                _ => i.provider == value,
            })
            .collect();
        refresh_all(ctx, &touched).await;
        Ok(Message::text(format!(
            "🔔 Alerts for {scope} {value} come again; anything still open is told at the next sweep."
        )))
    }
}
