//! The application (slash) commands, made from the action catalogue: one command per
//! action with typed options (instance names autocompleted from the fleet), within
//! Discord's limits; and the options of an invocation read back as the catalogue's
//! arguments, so that `/deploy` typed on Discord becomes the same action as on Telegram.

use serenity::builder::{CreateCommand, CreateCommandOption};
use serenity::model::application::{CommandDataOption, CommandDataOptionValue, CommandOptionType};

use super::render::shorten;
use crate::ops::{ArgValue, Args, Kind, Spec, catalogue};

/// Discord's limits on a command.
pub const MAX_NAME: usize = 32;
pub const MAX_DESCRIPTION: usize = 100;
pub const MAX_OPTIONS: usize = 25;

/// A slash command as clawops registers it (kept plain so it can be checked).
#[derive(Debug, Clone, PartialEq)]
pub struct SlashCommand {
    pub name: String,
    pub description: String,
    pub options: Vec<SlashOption>,
}

/// One option of a slash command.
#[derive(Debug, Clone, PartialEq)]
pub struct SlashOption {
    pub name: String,
    pub description: String,
    pub kind: OptionKind,
    pub required: bool,
    /// Offered from the fleet as the operator types (instance names).
    pub autocomplete: bool,
}

/// What an option holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    Text,
    Integer { min: u64, max: u64 },
    Boolean,
}

/// Every action of the catalogue as a slash command.
pub fn slash_commands() -> Vec<SlashCommand> {
    catalogue().iter().map(|spec| slash_command(spec)).collect()
}

fn slash_command(spec: &Spec) -> SlashCommand {
    // A secret is not an option: Discord shows a command's options to everyone in the
    // channel. Bot tokens are given on Telegram or the console.
    let mut options: Vec<SlashOption> = spec
        .params
        .iter()
        .filter(|p| p.kind != Kind::Secret)
        .map(|p| SlashOption {
            name: p.name.to_string(),
            description: shorten(
                if p.help.trim().is_empty() {
                    p.meta
                } else {
                    p.help
                },
                MAX_DESCRIPTION,
            ),
            kind: match p.kind {
                Kind::Number { min, max } => OptionKind::Integer { min, max },
                Kind::Switch => OptionKind::Boolean,
                _ => OptionKind::Text,
            },
            required: p.required,
            autocomplete: p.kind == Kind::Name,
        })
        .collect();
    // Discord wants the required options first; the order among each is kept.
    options.sort_by_key(|o| !o.required);
    SlashCommand {
        name: spec.name.to_string(),
        description: shorten(spec.summary, MAX_DESCRIPTION),
        options,
    }
}

impl SlashCommand {
    /// The command as serenity registers it.
    pub fn create(&self) -> CreateCommand {
        let mut c = CreateCommand::new(&self.name).description(&self.description);
        for o in &self.options {
            let kind = match o.kind {
                OptionKind::Text => CommandOptionType::String,
                OptionKind::Integer { .. } => CommandOptionType::Integer,
                OptionKind::Boolean => CommandOptionType::Boolean,
            };
            let mut option = CreateCommandOption::new(kind, &o.name, &o.description)
                .required(o.required)
                .set_autocomplete(o.autocomplete);
            if let OptionKind::Integer { min, max } = o.kind {
                option = option.min_int_value(min).max_int_value(max);
            }
            c = c.add_option(option);
        }
        c
    }
}

/// The options of an invocation as the catalogue's arguments.
pub fn args(options: &[CommandDataOption]) -> Args {
    let mut args = Args::new();
    for o in options {
        let value = match &o.value {
            CommandDataOptionValue::String(s) => ArgValue::Text(s.clone()),
            CommandDataOptionValue::Integer(n) => match u64::try_from(*n) {
                Ok(n) => ArgValue::Number(n),
                Err(_) => ArgValue::Text(n.to_string()),
            },
            CommandDataOptionValue::Boolean(b) => ArgValue::Switch(*b),
            CommandDataOptionValue::Number(f) => ArgValue::Text(f.to_string()),
            // Autocomplete sends what is typed so far as this value.
            CommandDataOptionValue::Autocomplete { value, .. } => ArgValue::Text(value.clone()),
            _ => continue,
        };
        args.insert(o.name.clone(), value);
    }
    args
}

/// The names to offer for what is typed: those starting with it first, then those
/// containing it, at most 25 (Discord's limit on choices).
pub fn suggestions(names: &[String], typed: &str) -> Vec<String> {
    let typed = typed.trim().to_lowercase();
    let mut starts: Vec<&String> = names.iter().filter(|n| n.starts_with(&typed)).collect();
    let mut contains: Vec<&String> = names
        .iter()
        .filter(|n| !n.starts_with(&typed) && n.contains(&typed))
        .collect();
    starts.sort();
    contains.sort();
    starts
        .into_iter()
        .chain(contains)
        .take(25)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_part_of_a_name_offers_matches_first_by_prefix() {
        let names: Vec<String> = ["bob-bot", "alice-bot", "alina", "zed-ali"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            suggestions(&names, "ali"),
            ["alice-bot", "alina", "zed-ali"]
        );
        let many: Vec<String> = (0..40).map(|i| format!("bot-{i:02}")).collect();
        assert_eq!(suggestions(&many, "").len(), 25);
    }

    #[test]
    fn deploy_takes_a_name_first_and_autocompletes_it() {
        let deploy = slash_commands()
            .into_iter()
            .find(|c| c.name == "deploy")
            .unwrap();
        assert_eq!(deploy.options[0].name, "name");
        assert!(deploy.options[0].required && deploy.options[0].autocomplete);
    }
}
