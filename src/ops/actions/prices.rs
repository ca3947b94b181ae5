//! `/regions [PROVIDER]` and `/sizes [PROVIDER]`: where clawops can deploy, and what each
//! size costs, from the providers' own tables.

use serde::{Deserialize, Serialize};

use crate::chat::Message;
use crate::config::Role;
use crate::ops::OpsError;
use crate::ops::catalogue::{Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::provider::{Cloud, money};

const PROVIDER: Param = Param {
    name: "provider",
    meta: "PROVIDER",
    kind: Kind::Word,
    flag: false,
    required: false,
    help: "one provider (default: every enabled one)",
};

/// Hours in a month, as the clouds bill: a month's price caps the hourly sum.
const HOURS_PER_MONTH: i64 = 730;

fn clouds(
    ctx: &Ctx,
    provider: &Option<String>,
) -> Result<Vec<std::sync::Arc<dyn Cloud>>, OpsError> {
    Ok(match provider {
        Some(p) => vec![ctx.providers.get(p)?],
        // Cells have no regions or sizes of their own: /hosts shows them.
        None => ctx
            .providers
            .all()
            .filter(|c| !c.cells())
            .cloned()
            .collect(),
    })
}

/// List regions.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Regions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

impl Command for Regions {
    const SPEC: Spec = Spec {
        name: "regions",
        summary: "The regions each enabled provider offers",
        params: &[PROVIDER],
        risk: Risk::Read,
        role: Role::Viewer,
        example: "/regions",
    };
}

impl Regions {
    /// The region table.
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let mut rows = Vec::new();
        for c in clouds(ctx, &self.provider)? {
            for r in c.regions() {
                rows.push(vec![
                    c.display_name().to_string(),
                    r.code.to_string(),
                    r.city.to_string(),
                    r.country.to_string(),
                ]);
            }
        }
        Ok(Message::default().table(&["provider", "region", "city", "country"], rows))
    }
}

/// List sizes and prices.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Sizes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

impl Command for Sizes {
    const SPEC: Spec = Spec {
        name: "sizes",
        summary: "Server sizes with monthly and hourly prices; the first runs OpenClaw",
        params: &[PROVIDER],
        risk: Risk::Read,
        role: Role::Viewer,
        example: "/sizes sim",
    };
}

impl Sizes {
    /// The size table.
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let mut rows = Vec::new();
        for c in clouds(ctx, &self.provider)? {
            for (i, s) in c.sizes().iter().enumerate() {
                let hourly = s.monthly_cents as f64 / HOURS_PER_MONTH as f64 / 100.0;
                rows.push(vec![
                    c.display_name().to_string(),
                    s.code.to_string(),
                    format!(
                        "{} vCPU, {} GB, {} GB disk",
                        s.vcpus, s.memory_gb, s.disk_gb
                    ),
                    money(s.monthly_cents, c.currency()),
                    format!("{}{hourly:.4}", c.currency()),
                    if i == 0 {
                        "smallest for OpenClaw".into()
                    } else {
                        String::new()
                    },
                ]);
            }
        }
        Ok(Message::default().table(
            &["provider", "size", "resources", "per month", "per hour", ""],
            rows,
        ))
    }
}
