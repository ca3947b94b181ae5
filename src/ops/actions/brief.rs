//! `/brief [--weekly]`: the morning briefing (or the weekly report) now, to whoever asks,
//! with its chart. It does not count as the day's briefing: the ops channels still get
//! theirs at their time.

use serde::{Deserialize, Serialize};

use crate::chat::{Message, Outbound, Replier};
use crate::config::{Feed, Role};
use crate::ops::OpsError;
use crate::ops::briefing::{self, Kind};
use crate::ops::catalogue::{Command, Kind as ParamKind, Param, Risk, Spec};
use crate::ops::door::Ctx;

/// A briefing now.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Brief {
    #[serde(default)]
    pub weekly: bool,
}

impl Command for Brief {
    const SPEC: Spec = Spec {
        name: "brief",
        summary: "The morning briefing now (or --weekly, the weekly report), with its chart",
        params: &[Param {
            name: "weekly",
            meta: "",
            kind: ParamKind::Switch,
            flag: true,
            required: false,
            help: "the last seven days instead of the last day",
        }],
        risk: Risk::Read,
        role: Role::Operator,
        example: "/brief",
    };
}

impl Brief {
    pub async fn run(&self, ctx: &Ctx, out: &dyn Replier) -> Result<Message, OpsError> {
        let kind = if self.weekly {
            Kind::Weekly
        } else {
            Kind::Morning
        };
        let now = ctx.clock.now();
        ctx.store.record_fleet_day(now).await?;
        // Times read in the zone of the first channel that gets briefings, else UTC.
        let zone = crate::ops::alerts::channels(ctx, Feed::Briefings)
            .first()
            .and_then(|c| c.briefing_times().ok())
            .map_or(chrono_tz::UTC, |t| t.zone);
        let since = now - chrono::Duration::days(if self.weekly { 7 } else { 1 });
        let b = briefing::compose(ctx, kind, since, now, zone).await?;
        if let Some(photo) = b.chart {
            out.send(Outbound::Photo(photo)).await;
        }
        Ok(b.message)
    }
}
