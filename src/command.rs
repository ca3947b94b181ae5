//! The slash-command grammar: a line of text becomes an `Action`, using only the catalogue.
//! Unknown commands and bad arguments get a one-line error plus the usage line of the
//! closest command.
//!
//! Forms: `/cmd`, `/cmd@botname` (Telegram groups), positional arguments in catalogue
//! order, `--flag VALUE`, `--flag=VALUE`, `--switch`, and shell-style quotes.

use thiserror::Error;

use crate::ops::{Action, ArgError, ArgValue, Args, Kind, Spec, build, catalogue, spec};

/// Why a line is not a command.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("That is not a command: commands start with /. /help lists them.")]
    NotCommand,
    #[error("Unknown command /{name}.{}", suggestion(.closest))]
    Unknown {
        name: String,
        closest: Option<String>,
    },
    #[error("/{name}: {error}. Usage: {usage}")]
    Args {
        name: String,
        error: ArgError,
        usage: String,
    },
    #[error("Unbalanced quotes. Usage: {usage}")]
    Quotes { usage: String },
}

fn suggestion(closest: &Option<String>) -> String {
    match closest {
        Some(usage) => format!(" Did you mean: {usage}"),
        None => " /help lists the commands.".into(),
    }
}

/// Whether `text` is meant as a slash command.
pub fn is_command(text: &str) -> bool {
    text.trim_start().starts_with('/')
}

/// Parses one line into an action.
pub fn parse(text: &str) -> Result<Action, ParseError> {
    let text = text.trim();
    let Some(rest) = text.strip_prefix('/') else {
        return Err(ParseError::NotCommand);
    };
    let (head, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    // Telegram sends `/cmd@botname` in groups.
    let name = head.split('@').next().unwrap_or("").to_ascii_lowercase();
    let Some(spec) = spec(&name) else {
        return Err(ParseError::Unknown {
            closest: closest(&name).map(|s| s.usage()),
            name: name.chars().take(40).collect(),
        });
    };
    let args_error = |error: ArgError| ParseError::Args {
        name: name.clone(),
        error,
        usage: spec.usage(),
    };
    let (tail, message) = split_message(spec, tail);
    let tokens = shlex::split(tail).ok_or_else(|| ParseError::Quotes {
        usage: spec.usage(),
    })?;
    let mut args = arguments(spec, &tokens).map_err(args_error)?;
    if let (Some(text), Some(param)) = (
        message,
        spec.params.iter().find(|p| p.kind == Kind::Message),
    ) {
        args.insert(param.name.to_string(), ArgValue::Text(text));
    }
    build(&name, &args).map_err(args_error)
}

/// For a command whose last argument is a message (`/send NAME TEXT`): the arguments
/// before it, and the message as typed (quotes, apostrophes and line breaks kept). The
/// message begins at the first word that is neither a flag (nor its value) nor one of the
/// positional arguments before it; once a flag came first, those are left out
/// (`/send --status degraded TEXT` names no instance).
fn split_message<'a>(spec: &Spec, tail: &'a str) -> (&'a str, Option<String>) {
    if !spec.params.iter().any(|p| p.kind == Kind::Message) {
        return (tail, None);
    }
    let before = spec
        .params
        .iter()
        .filter(|p| !p.flag && p.kind != Kind::Message)
        .count();
    let mut positional = 0;
    let mut flag_first = false;
    let mut skip_value = false;
    for (at, word) in word_starts(tail) {
        if skip_value {
            skip_value = false;
            continue;
        }
        if let Some(flag) = word.strip_prefix("--") {
            if positional == 0 {
                flag_first = true;
            }
            let takes_value = !flag.contains('=')
                && spec
                    .params
                    .iter()
                    .any(|p| p.flag && p.name == flag.replace('-', "_") && p.kind != Kind::Switch);
            skip_value = takes_value;
            continue;
        }
        if positional < before && !flag_first {
            positional += 1;
            continue;
        }
        let text = tail[at..].trim();
        let unquoted = ['"', '\'']
            .iter()
            .find_map(|q| {
                text.strip_prefix(*q)
                    .and_then(|t| t.strip_suffix(*q))
                    .filter(|t| !t.contains(*q))
            })
            .unwrap_or(text);
        return (&tail[..at], Some(unquoted.to_string()));
    }
    (tail, None)
}

/// Each whitespace-separated word of `text` with the byte offset it starts at.
fn word_starts(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive(char::is_whitespace)
        .scan(0, |offset, piece| {
            let at = *offset;
            *offset += piece.len();
            Some((at, piece.trim_end()))
        })
        .filter(|(_, w)| !w.is_empty())
}

/// The flags that make a command's bulk form: a selector or `--all`.
const BULK_FLAGS: [&str; 5] = ["status", "region", "provider", "name", "all"];

/// Whether `tokens` are a bulk form of `spec` (it has an optional instance NAME and the
/// line gives a selector or `--all`): bulk forms never take a positional NAME, so the
/// words after `/config --all` are its verb, key and value.
fn bulk_form(spec: &Spec, tokens: &[String]) -> bool {
    let optional_name = spec
        .params
        .iter()
        .any(|p| !p.flag && !p.required && p.kind == Kind::Name);
    // A command with a message has its own rule (see `split_message`).
    let message = spec.params.iter().any(|p| p.kind == Kind::Message);
    optional_name
        && !message
        && tokens.iter().take_while(|t| *t != "--").any(|t| {
            t.strip_prefix("--")
                .map(|f| f.split('=').next().unwrap_or(""))
                .is_some_and(|f| {
                    BULK_FLAGS.contains(&f) && spec.params.iter().any(|p| p.flag && p.name == f)
                })
        })
}

/// Sorts tokens into positional arguments and flags by the spec. A positional argument
/// may also be given by name (`/update alice-bot --version 2026.9.6`).
fn arguments(spec: &Spec, tokens: &[String]) -> Result<Args, ArgError> {
    let mut args = Args::new();
    let bulk = bulk_form(spec, tokens);
    let positional: Vec<_> = spec
        .params
        .iter()
        .filter(|p| !p.flag && p.kind != Kind::Message)
        .filter(|p| !(bulk && p.kind == Kind::Name))
        .collect();
    let mut i = 0;
    // After `--`, every token is a positional value, even one that starts with `--`.
    let mut flags_done = false;
    while i < tokens.len() {
        let token = &tokens[i];
        i += 1;
        if token == "--" && !flags_done {
            flags_done = true;
            continue;
        }
        if let Some(flag) = token.strip_prefix("--").filter(|_| !flags_done) {
            let (key, inline) = match flag.split_once('=') {
                Some((k, v)) => (k, Some(v.to_string())),
                None => (flag, None),
            };
            let wanted = key.replace('-', "_");
            let param = spec
                .params
                .iter()
                .find(|p| p.flag && p.name == wanted)
                .or_else(|| {
                    // By name even in a bulk form, so that `--instance a --all` is
                    // refused for naming both, not for an unknown option.
                    spec.params
                        .iter()
                        .find(|p| !p.flag && p.kind != Kind::Message && p.name == wanted)
                })
                .ok_or_else(|| ArgError::UnknownFlag(one_line(key)))?;
            let value = if param.kind == Kind::Switch {
                if inline.is_some() {
                    return Err(ArgError::Invalid(format!("--{key} takes no value")));
                }
                ArgValue::Switch(true)
            } else {
                match inline {
                    Some(v) => ArgValue::Text(v),
                    None if i < tokens.len() && !tokens[i].starts_with("--") => {
                        i += 1;
                        ArgValue::Text(tokens[i - 1].clone())
                    }
                    None => return Err(ArgError::NoValue(param.name)),
                }
            };
            if args.insert(param.name.to_string(), value).is_some() {
                return Err(ArgError::Invalid(format!(
                    "--{} is given twice",
                    one_line(key)
                )));
            }
        } else {
            let param = positional
                .iter()
                .find(|p| !args.contains_key(p.name))
                .ok_or_else(|| {
                    if bulk && args.is_empty() {
                        // `/restart alice-bot --all`: the name where a selector rules.
                        ArgError::Invalid(format!(
                            "\"{}\" and a selector: give either an instance name, filters, or --all — not several",
                            one_line(token)
                        ))
                    } else {
                        ArgError::Extra(token.chars().take(40).collect())
                    }
                })?;
            args.insert(param.name.to_string(), ArgValue::Text(token.clone()));
        }
    }
    Ok(args)
}

/// The catalogue entry whose name is closest to `name`, if any is close enough.
fn closest(name: &str) -> Option<&'static Spec> {
    catalogue()
        .iter()
        .map(|s| (strsim::jaro_winkler(name, s.name), *s))
        .filter(|(score, _)| *score >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, s)| s)
}

/// A name echoed in an error: at most 40 characters, control characters escaped, so the
/// error stays one line.
fn one_line(text: &str) -> String {
    text.chars()
        .take(40)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hardening_22_a_value_starting_with_dashes_follows_a_double_dash() {
        let action = parse("/config alice-bot set agents.defaults.note -- --verbose").unwrap();
        // Its audit line reads back as the same action.
        assert_eq!(
            action.command_line(),
            "/config -- alice-bot set agents.defaults.note --verbose"
        );
        assert_eq!(parse(&action.command_line()).unwrap(), action);
        // Without it, `--verbose` is still read as an (unknown) flag.
        let e = parse("/config alice-bot set agents.defaults.note --verbose").unwrap_err();
        assert!(e.to_string().contains("unknown option --verbose"), "{e}");
        // Flags before `--` still work.
        let action = parse("/deploy a-bot --size cx32 -- nbg1").unwrap();
        assert!(action.command_line().contains("nbg1"));
    }

    #[test]
    fn bulk_forms_take_a_selector_never_a_name() {
        // `/config --all set K V`: the words after the selector are verb, key and value.
        let Action::Config(c) =
            parse("/config --all set agents.defaults.model.primary m --batch 3").unwrap()
        else {
            panic!("a config")
        };
        assert_eq!(c.instance, None);
        assert!(c.bulk.all);
        assert_eq!(c.bulk.batch, Some(3));
        assert_eq!(c.verb.as_deref(), Some("set"));
        assert_eq!(c.key.as_deref(), Some("agents.defaults.model.primary"));
        assert_eq!(c.value.as_deref(), Some("m"));
        // A bulk update names its version with --version.
        let Action::Update(u) =
            parse("/update --status healthy --version 2026.10.0 --pause 5m").unwrap()
        else {
            panic!("an update")
        };
        assert_eq!(u.instance, None);
        assert_eq!(u.version.as_deref(), Some("2026.10.0"));
        assert_eq!(u.bulk.pause.as_deref(), Some("5m"));
        // One instance still reads positionally, and its version may be named.
        let Action::Update(u) = parse("/update alice-bot --version 2026.10.0").unwrap() else {
            panic!("an update")
        };
        assert_eq!(u.instance.as_deref(), Some("alice-bot"));
        assert_eq!(u.version.as_deref(), Some("2026.10.0"));
        // The audit line of a bulk form is written as typed here.
        for line in [
            "/update --all --version 2026.10.0 --batch 5",
            "/config --region nbg1 set agents.defaults.model.primary m",
        ] {
            let action = parse(line).unwrap();
            assert_eq!(action.command_line(), line);
            assert_eq!(parse(&action.command_line()).unwrap(), action, "{line}");
        }
    }

    #[test]
    fn a_message_is_the_rest_of_the_line_as_typed() {
        let Action::Send(s) =
            parse("/send alice-bot Hello, we'll restart at 22:00 -- sorry").unwrap()
        else {
            panic!("not a send");
        };
        assert_eq!(s.name.as_deref(), Some("alice-bot"));
        assert_eq!(s.text, "Hello, we'll restart at 22:00 -- sorry");
        let Action::Send(s) =
            parse("/send --status degraded --region nbg1 hello all\nsecond line").unwrap()
        else {
            panic!("not a send");
        };
        assert_eq!(
            (s.name.as_deref(), s.status.as_deref()),
            (None, Some("degraded"))
        );
        assert_eq!(s.text, "hello all\nsecond line");
        // The audit line puts the message last and reads back as the same action.
        let line = Action::Send(s.clone()).command_line();
        assert_eq!(
            line,
            "/send --status degraded --region nbg1 hello all\nsecond line"
        );
        assert_eq!(parse(&line).unwrap(), Action::Send(s));
        let e = parse("/send alice-bot").unwrap_err();
        assert!(e.to_string().contains("missing TEXT"), "{e}");
    }

    use super::*;
    use crate::ops::actions::{
        Selector, audit::AuditTail, deploy::Deploy, destroy::Destroy, help::Help, list::List,
        restart::Restart, status::Status,
    };

    fn deploy(name: &str) -> Deploy {
        Deploy {
            name: name.into(),
            region: None,
            size: None,
            provider: None,
            resume: false,
            openclaw: None,
            standby_for: None,
            owner: None,
            telegram_token: None,
            cell: false,
            cell_host: None,
            cpus: None,
            memory: None,
            pids: None,
            host_key: None,
        }
    }

    #[test]
    fn documented_forms_parse() {
        assert_eq!(
            parse("/help").unwrap(),
            Action::Help(Help { command: None })
        );
        assert_eq!(
            parse("/help deploy").unwrap(),
            Action::Help(Help {
                command: Some("deploy".into())
            })
        );
        assert_eq!(
            parse("/deploy alice-bot nbg1").unwrap(),
            Action::Deploy(Deploy {
                region: Some("nbg1".into()),
                ..deploy("alice-bot")
            })
        );
        assert_eq!(
            parse("/deploy bob-bot fsn1 --size cx32").unwrap(),
            Action::Deploy(Deploy {
                region: Some("fsn1".into()),
                size: Some("cx32".into()),
                ..deploy("bob-bot")
            })
        );
        assert_eq!(
            parse("/deploy alice-bot --resume").unwrap(),
            Action::Deploy(Deploy {
                resume: true,
                ..deploy("alice-bot")
            })
        );
        assert_eq!(
            parse("/deploy alice-bot --size=cx42 --provider sim").unwrap(),
            Action::Deploy(Deploy {
                size: Some("cx42".into()),
                provider: Some("sim".into()),
                ..deploy("alice-bot")
            })
        );
        assert_eq!(parse("/list").unwrap(), Action::List(List::default()));
        assert_eq!(
            parse("/list --status degraded --name 'alice-*'").unwrap(),
            Action::List(List {
                selector: Selector {
                    status: Some("degraded".into()),
                    name: Some("alice-*".into()),
                    ..Selector::default()
                }
            })
        );
        assert_eq!(
            parse("/status alice-bot").unwrap(),
            Action::Status(Status {
                name: "alice-bot".into()
            })
        );
        assert_eq!(
            parse("/restart alice-bot").unwrap(),
            Action::Restart(Restart {
                instance: Some("alice-bot".into()),
                selector: Selector::default(),
                all: false,
                asked: None,
                late: false,
                alert: None,
                hard: false,
            })
        );
        assert_eq!(
            parse("/restart --status DEGRADED --region nbg1").unwrap(),
            Action::Restart(Restart {
                instance: None,
                selector: Selector {
                    status: Some("degraded".into()),
                    region: Some("nbg1".into()),
                    ..Selector::default()
                },
                all: false,
                asked: None,
                late: false,
                alert: None,
                hard: false,
            })
        );
        assert_eq!(
            parse("/destroy bob-bot").unwrap(),
            Action::Destroy(Destroy {
                name: "bob-bot".into(),
                snapshot: false,
                old: false,
            })
        );
        assert_eq!(
            parse("/destroy bob-bot --snapshot --old").unwrap(),
            Action::Destroy(Destroy {
                name: "bob-bot".into(),
                snapshot: true,
                old: true,
            })
        );
        assert_eq!(
            parse("/audit").unwrap(),
            Action::Audit(AuditTail { count: None })
        );
        assert_eq!(
            parse("/audit 10").unwrap(),
            Action::Audit(AuditTail { count: Some(10) })
        );
        assert_eq!(
            parse("/status@clawops_bot alice-bot").unwrap(),
            Action::Status(Status {
                name: "alice-bot".into()
            })
        );
    }

    #[test]
    fn a_cell_takes_limits_and_no_place_and_limits_need_a_cell() {
        let Action::Deploy(d) = parse(
            "/deploy alice-bot --cell --cell-host cells-1 --cpus 0.5 --memory 768 --pids 200",
        )
        .unwrap() else {
            panic!("not a deploy")
        };
        assert!(d.cell);
        assert_eq!(d.cell_host.as_deref(), Some("cells-1"));
        assert_eq!(
            (d.cpus.as_deref(), d.memory, d.pids),
            (Some("0.5"), Some(768), Some(200))
        );
        let e = parse("/deploy alice-bot --cpus 2").unwrap_err().to_string();
        assert!(e.contains("go with --cell"), "{e}");
        let e = parse("/deploy alice-bot nbg1 --cell")
            .unwrap_err()
            .to_string();
        assert!(e.contains("takes no region"), "{e}");
        let e = parse("/deploy alice-bot --cell --cpus lots")
            .unwrap_err()
            .to_string();
        assert!(e.contains("0.1 to 256"), "{e}");
        let e = parse("/deploy alice-bot --cell --memory 12")
            .unwrap_err()
            .to_string();
        assert!(e.contains("memory"), "{e}");
        assert!(parse("/hosts add cells-1 ssh://root@203.0.113.7").is_ok());
        assert!(parse("/hosts drain cells-1").is_ok());
        let e = parse("/hosts drain").unwrap_err().to_string();
        assert!(e.contains("/hosts drain|undrain|remove|reboot NAME"), "{e}");
        let e = parse("/hosts explode cells-1").unwrap_err().to_string();
        assert!(e.contains("write /hosts"), "{e}");
    }

    #[test]
    fn errors_are_one_line_with_usage() {
        let e = parse("/deploy").unwrap_err().to_string();
        assert_eq!(
            e,
            "/deploy: missing NAME. Usage: /deploy NAME [REGION] [--size SIZE] [--provider PROVIDER] [--resume] [--openclaw VERSION] [--standby-for PRIMARY] [--owner USER_ID] [--telegram-token TOKEN] [--cell] [--cell-host HOST] [--cpus N] [--memory MB] [--pids N]"
        );
        let e = parse("/deploy Alice_Bot").unwrap_err().to_string();
        assert!(e.contains("lowercase letters"), "{e}");
        let e = parse("/deplyo alice-bot").unwrap_err().to_string();
        assert!(
            e.starts_with("Unknown command /deplyo. Did you mean: /deploy NAME"),
            "{e}"
        );
        let e = parse("/status a b").unwrap_err().to_string();
        assert!(
            e.contains("too many arguments") && e.contains("Usage: /status NAME"),
            "{e}"
        );
        let e = parse("/restart").unwrap_err().to_string();
        assert!(e.contains("--all"), "{e}");
        let e = parse("/restart alice-bot --all").unwrap_err().to_string();
        assert!(e.contains("not several"), "{e}");
        let e = parse("/audit 5000").unwrap_err().to_string();
        assert!(e.contains("from 1 to 200"), "{e}");
        let e = parse("/deploy a --size").unwrap_err().to_string();
        assert!(e.contains("--size needs a value"), "{e}");
        assert!(!parse("/zzzzzz").unwrap_err().to_string().contains('\n'));
        assert_eq!(parse("hello").unwrap_err(), ParseError::NotCommand);
    }

    #[test]
    fn command_line_round_trips() {
        for line in [
            "/deploy bob-bot fsn1 --size cx32",
            "/deploy alice-bot --resume",
            "/restart --status degraded --region nbg1",
            "/restart --all",
            "/destroy bob-bot",
            "/audit 10",
            "/list --name alice-*",
        ] {
            let action = parse(line).unwrap();
            assert_eq!(action.command_line(), line);
            assert_eq!(parse(&action.command_line()).unwrap(), action);
        }
    }

    proptest::proptest! {
        #[test]
        fn random_input_never_panics(s in "\\PC{0,80}") {
            let _ = parse(&s);
            let _ = parse(&format!("/{s}"));
        }

        #[test]
        fn random_arguments_never_panic(
            cmd in proptest::sample::select(vec!["deploy", "list", "status", "restart", "destroy", "audit", "help"]),
            args in proptest::collection::vec("(--)?[a-z0-9=*'\" -]{0,12}", 0..6),
        ) {
            let _ = parse(&format!("/{cmd} {}", args.join(" ")));
        }
    }
}
