//! `/help [COMMAND]`: the command list, or one command's usage, from the catalogue.

use serde::{Deserialize, Serialize};

use crate::chat::Message;
use crate::config::Role;
use crate::ops::catalogue::{Command, Kind, Param, Risk, Spec, catalogue, spec};

/// Show the commands, or how to use one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Help {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

impl Command for Help {
    const SPEC: Spec = Spec {
        name: "help",
        summary: "List the commands, or show how to use one",
        params: &[Param {
            name: "command",
            meta: "COMMAND",
            kind: Kind::Word,
            flag: false,
            required: false,
            help: "a command name, e.g. deploy",
        }],
        risk: Risk::Read,
        role: Role::Viewer,
        example: "/help deploy",
    };
}

impl Help {
    /// The help text for someone with `role`.
    pub fn run(&self, role: Role) -> Message {
        match self.command.as_deref().map(|c| c.trim_start_matches('/')) {
            None => overview(role),
            Some(name) => match spec(name) {
                Some(s) => detail(s),
                None => Message::text(format!("No command /{name}. /help lists them.")),
            },
        }
    }
}

fn overview(role: Role) -> Message {
    let mut m = Message::default().heading("clawops commands");
    for s in catalogue().iter().filter(|s| s.role <= role) {
        m = m.para(format!("/{} — {}", s.name, s.summary));
    }
    m.para("Destructive and bulk actions ask for a confirmation first. /help COMMAND shows one in detail.")
}

/// One command in detail: usage, arguments, example, risk.
pub fn detail(s: &Spec) -> Message {
    let mut m = Message::default().heading(s.usage()).para(s.summary);
    if !s.params.is_empty() {
        let rows = s
            .params
            .iter()
            .map(|p| {
                let name = if p.flag {
                    format!("--{}", p.name.replace('_', "-"))
                } else {
                    p.meta.to_string()
                };
                vec![name, p.help.to_string()]
            })
            .collect();
        m = m.table(&["argument", "meaning"], rows);
    }
    let risk = match s.risk {
        Risk::Read => "reads only",
        Risk::Change => "changes the fleet; bulk use asks for a confirmation",
        Risk::Destructive => {
            "deletes or interrupts what end users use; always asks for a confirmation"
        }
    };
    m.para(format!("Example: {}", s.example))
        .para(format!("Needs role {} or higher; {risk}.", s.role.as_str()))
}
