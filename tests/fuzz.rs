//! Property tests of every parser of what people type and of what hosts say: the slash
//! grammar and the audit line it reads back, the payloads of chat buttons, SSH addresses,
//! the gateway's `/readyz`, `channels.status`, log lines, pairing lists and RPC frames,
//! the probe's words, cron schedules, quiet hours and the metrics text.
//!
//! Each property says more than "no panic": a round trip (what clawops writes, it reads
//! back as the same thing), a rejection (a known-bad shape is always refused), or
//! agreement with a small model written here from the documented rule. The `cargo fuzz`
//! targets in `fuzz/` run the same parsers for longer (README, "Fuzzing").
//!
//! The defects these properties found (cron steps in the day fields, IPv6 addresses,
//! audit lines that did not read back, a send to nobody, two-line errors, log lines that
//! lost their text) were fixed; each keeps a plain test holding the input that showed it.
//! Failures are not persisted to a regressions file: the inputs worth keeping are written
//! out as those plain tests.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv6Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{
    DateTime, Datelike, FixedOffset, LocalResult, NaiveDate, SecondsFormat, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use futures_util::{SinkExt, StreamExt};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as Frame;

use clawops::chat::{self, AlertButton, Outbound, PairingButton};
use clawops::command::{self, ParseError};
use clawops::config::QuietHours;
use clawops::gateway::{
    self, EventLoop, GatewayError, LogLine, LogTail, PairingList, PairingRequest, Readiness,
};
use clawops::metrics::Metrics;
use clawops::ops::sweep::SweepReport;
use clawops::ops::{self, Action, ArgError, ArgValue, Args, Kind, Param, Spec};
use clawops::remote::EndUsers;
use clawops::remote::ssh::Target;
use clawops::schedule::{Schedule, ScheduleError, next_fire};

/// `cases` cases, and no regressions file (see the module's comment).
fn cases(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Some properties skip the arguments `build` refuses: about one case in eight.
        max_global_rejects: cases.max(256) * 2,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// The slash grammar and the audit line
// ---------------------------------------------------------------------------------------

/// Words the catalogue's checks know (config's verbs, states, regions, durations, jobs),
/// beside random ones.
const WORDS: &[&str] = &[
    "get",
    "set",
    "degraded",
    "healthy",
    "ready",
    "nbg1",
    "sim",
    "cx22",
    "1h",
    "30m",
    "2d",
    "run",
    "health-sweep",
];

fn instance_name() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?"
}

/// A host name or an IPv4 address.
fn host_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]([a-z0-9.-]{0,10}[a-z0-9])?",
        any::<[u8; 4]>().prop_map(|b| format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])),
    ]
}

/// An SSH address whose host is a name or an IPv4 or IPv6 address.
fn ssh_target() -> impl Strategy<Value = Target> {
    let host = prop_oneof![
        2 => host_name(),
        1 => any::<[u16; 8]>().prop_map(|s| Ipv6Addr::from(s).to_string()),
    ];
    ("[a-z_][a-z0-9._-]{0,8}", host, 1..=u16::MAX).prop_map(|(user, host, port)| Target {
        user,
        host,
        port,
    })
}

/// A value of `kind` its check accepts and that needs no quoting: what the audit line
/// carries as it is.
fn plain_value(kind: Kind) -> BoxedStrategy<ArgValue> {
    fn text(s: impl Strategy<Value = String> + 'static) -> BoxedStrategy<ArgValue> {
        s.prop_map(ArgValue::Text).boxed()
    }
    match kind {
        Kind::Name => text(instance_name()),
        Kind::Word => text(prop_oneof![
            3 => select(WORDS).prop_map(str::to_string),
            2 => "[a-zA-Z0-9][a-zA-Z0-9._-]{0,12}",
        ]),
        Kind::Version => text("[0-9]{1,4}(\\.[0-9]{1,2}){0,2}(-[A-Za-z]{1,3}(\\.[0-9])?)?"),
        Kind::Place => text(prop_oneof![
            "[a-z0-9]{1,6}(/[a-z0-9]{1,6})?",
            ssh_target().prop_map(|t| t.url()),
            // No port: the check writes the default one in.
            "ssh://[a-z][a-z0-9]{0,5}@[a-z][a-z0-9.]{0,8}[a-z0-9]",
        ]),
        Kind::Key => text("[a-zA-Z0-9][a-zA-Z0-9_-]{0,6}(\\.[a-zA-Z0-9][a-zA-Z0-9_-]{0,6}){0,3}"),
        Kind::Text => text("[a-zA-Z0-9][a-zA-Z0-9_.:/@+=,-]{0,16}"),
        Kind::Pattern => text("[a-z0-9*?][a-z0-9*?-]{0,10}"),
        Kind::Message => text("[a-zA-Z0-9][a-zA-Z0-9 ,.!?:'\n-]{0,30}[a-zA-Z0-9.!?]"),
        Kind::Secret => text("[1-9][0-9]{5,10}:[A-Za-z0-9_-]{30,40}"),
        Kind::Number { min, max } => (min..=max).prop_map(ArgValue::Number).boxed(),
        Kind::Switch => Just(ArgValue::Switch(true)).boxed(),
    }
}

/// A value of `kind` (not a switch) that its check refuses.
fn bad_value(kind: Kind) -> BoxedStrategy<ArgValue> {
    fn text(s: impl Strategy<Value = String> + 'static) -> BoxedStrategy<ArgValue> {
        s.prop_map(ArgValue::Text).boxed()
    }
    match kind {
        Kind::Name => text(prop_oneof![
            "[a-z0-9]{0,4}[A-Z_.][a-zA-Z0-9_.]{0,4}",
            "-[a-z0-9]{1,5}",
            "[a-z0-9]{1,5}-",
            "[a-z]{64,70}",
        ]),
        Kind::Word | Kind::Place => text("[a-z0-9]{0,4}[!#%&()+,;<>?^{}~|$][a-z0-9]{0,4}"),
        Kind::Version => text(prop_oneof![
            "[0-9]{1,3}\\.\\.[0-9]{1,3}",
            "\\.[0-9]{1,3}",
            "[0-9]{1,3}[ !_/][0-9]{1,3}",
        ]),
        Kind::Key => text(prop_oneof![
            "[a-z]{1,4}\\.\\.[a-z]{1,4}",
            "\\.[a-z]{1,4}",
            "[a-z]{1,4}\\.",
            "[a-z]{1,3}[ !/][a-z]{1,3}",
        ]),
        Kind::Text => text(prop_oneof![
            "[a-z]{0,4}[\u{1}-\u{8}\u{7f}][a-z]{0,4}",
            "[a-z]{2001,2010}",
        ]),
        Kind::Pattern => text("[a-z0-9]{0,4}[A-Z_.!][a-z0-9]{0,4}"),
        Kind::Message => text("[a-z]{1,4}[\u{1}-\u{8}][a-z]{1,4}"),
        Kind::Secret => text(prop_oneof![
            "[0-9]{1,8}",
            "[0-9]{1,8}:[A-Za-z0-9]{1,29}",
            "[a-z]{1,8}:[A-Za-z0-9]{30,35}",
        ]),
        Kind::Number { min, max } => {
            let mut bad = vec![
                text("[a-z]{1,4}"),
                text("-[0-9]{1,3}"),
                text("[1-9][0-9]{20,23}"),
            ];
            if let Some(above) = max.checked_add(1) {
                bad.push((above..=u64::MAX).prop_map(ArgValue::Number).boxed());
            }
            if min > 0 {
                bad.push((0..min).prop_map(ArgValue::Number).boxed());
            }
            proptest::strategy::Union::new(bad).boxed()
        }
        Kind::Switch => unreachable!("a switch has no value to spoil"),
    }
}

/// A catalogue entry and arguments for it: every required parameter, some optional ones.
fn spec_and_args(
    value: fn(Kind) -> BoxedStrategy<ArgValue>,
) -> impl Strategy<Value = (&'static Spec, Args)> {
    select(ops::catalogue().to_vec())
        .prop_flat_map(move |spec| {
            let params: Vec<BoxedStrategy<Option<(String, ArgValue)>>> = spec
                .params
                .iter()
                .map(|p| {
                    let name = p.name.to_string();
                    let v = value(p.kind).prop_map(move |v| (name.clone(), v));
                    if p.required {
                        v.prop_map(Some).boxed()
                    } else {
                        proptest::option::weighted(0.45, v).boxed()
                    }
                })
                .collect();
            (Just(spec), params)
        })
        .prop_map(|(spec, values)| (spec, values.into_iter().flatten().collect()))
}

/// Valid arguments with one value swapped for one its check refuses.
fn spoiled_args() -> impl Strategy<Value = (&'static Spec, Args)> {
    spec_and_args(plain_value)
        .prop_filter("a command with a value to spoil", |(spec, _)| {
            spec.params.iter().any(|p| p.kind != Kind::Switch)
        })
        .prop_flat_map(|(spec, args)| {
            let victims: Vec<&'static Param> = spec
                .params
                .iter()
                .filter(|p| p.kind != Kind::Switch)
                .collect();
            (Just(spec), Just(args), select(victims))
        })
        .prop_flat_map(|(spec, args, p)| (Just(spec), Just(args), Just(p.name), bad_value(p.kind)))
        .prop_map(|(spec, mut args, name, bad)| {
            args.insert(name.to_string(), bad);
            (spec, args)
        })
}

/// Choices for one way of typing a command, taken round and round from random bytes.
struct Dice {
    faces: Vec<u8>,
    at: usize,
}

impl Dice {
    fn new(faces: Vec<u8>) -> Dice {
        Dice { faces, at: 0 }
    }

    /// A number below `n`.
    fn roll(&mut self, n: usize) -> usize {
        let face = self.faces[self.at % self.faces.len()] as usize;
        self.at += 1;
        // Mixing in the position keeps a run of equal bytes from choosing alike.
        (face + self.at / self.faces.len()) % n
    }
}

/// Whether shell-style splitting keeps `t` as one word without quotes.
fn bare(t: &str) -> bool {
    !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-:/@+=,*?".contains(c))
}

/// `t` as one word: bare, in single or in double quotes when it can be; shell-quoted when
/// it must be.
fn word(t: &str, dice: &mut Dice) -> String {
    if !bare(t) {
        return shlex::try_quote(t).expect("no NUL in values").into_owned();
    }
    match dice.roll(3) {
        0 => t.to_string(),
        1 => format!("'{t}'"),
        _ => format!("\"{t}\""),
    }
}

/// One way a person could type `args` for `spec`: the command name in any case and
/// perhaps with `@botname`, positional arguments in catalogue order, flags in any order
/// as `--flag VALUE`, `--flag=VALUE` or with underscores, values bare or quoted, any
/// blanks between words, a message last. `extra` words go among the flags.
///
/// `None` when the grammar has no way to say it: a later positional without the one
/// before it, or a message command with neither its positional nor a flag (the first
/// word of `/send TEXT` is read as NAME, as documented).
fn typed(spec: &Spec, args: &Args, extra: &[Vec<String>], dice: &mut Dice) -> Option<String> {
    let value = |v: &ArgValue, dice: &mut Dice| match v {
        ArgValue::Text(t) => word(t, dice),
        ArgValue::Number(n) => format!("{}{n}", "0".repeat(dice.roll(3))),
        ArgValue::Switch(_) => unreachable!("a switch is written as its flag"),
    };
    let has_message = spec.params.iter().any(|p| p.kind == Kind::Message);
    let before_message = spec
        .params
        .iter()
        .filter(|p| !p.flag && p.kind != Kind::Message)
        .count();

    // A bulk form (a selector or --all) takes no positional NAME: the name, if the
    // arguments have one too, is typed by name (`--instance a`).
    let optional_name = |p: &Param| !p.flag && !p.required && p.kind == Kind::Name;
    let bulk = spec.params.iter().any(optional_name)
        && spec.params.iter().all(|p| p.kind != Kind::Message)
        && ["status", "region", "provider", "name", "all"]
            .iter()
            .filter(|f| spec.param(f).is_some_and(|p| p.flag))
            .any(|f| matches!(args.get(*f), Some(v) if *v != ArgValue::Switch(false)));
    let mut positional: Vec<Vec<String>> = Vec::new();
    let mut flags: Vec<Vec<String>> = extra.to_vec();
    let mut gap = false;
    for p in spec
        .params
        .iter()
        .filter(|p| !p.flag && p.kind != Kind::Message)
    {
        match args.get(p.name) {
            Some(v) if bulk && optional_name(p) => {
                flags.push(vec![format!("--{}", p.name), value(v, dice)])
            }
            None if bulk && optional_name(p) => {}
            Some(_) if gap => return None,
            Some(v) => positional.push(vec![value(v, dice)]),
            None => gap = true,
        }
    }

    for p in spec.params.iter().filter(|p| p.flag) {
        let Some(v) = args.get(p.name) else {
            continue;
        };
        let flag = if dice.roll(4) == 0 {
            format!("--{}", p.name)
        } else {
            format!("--{}", p.name.replace('_', "-"))
        };
        match v {
            ArgValue::Switch(true) => flags.push(vec![flag]),
            ArgValue::Switch(false) => {}
            v if dice.roll(2) == 0 => flags.push(vec![format!("{flag}={}", value(v, dice))]),
            v => flags.push(vec![flag, value(v, dice)]),
        }
    }
    for i in (1..flags.len()).rev() {
        let j = dice.roll(i + 1);
        flags.swap(i, j);
    }

    let mut groups: Vec<Vec<String>> = Vec::new();
    if has_message {
        if before_message > 0 && positional.is_empty() && flags.is_empty() {
            return None;
        }
        // The positionals come first: once a flag came first they are part of the message.
        groups.extend(positional);
        groups.extend(flags);
        if let Some(ArgValue::Text(m)) = spec
            .params
            .iter()
            .find(|p| p.kind == Kind::Message)
            .and_then(|p| args.get(p.name))
        {
            let m = match dice.roll(3) {
                1 if !m.contains('\'') => format!("'{m}'"),
                2 if !m.contains('"') => format!("\"{m}\""),
                _ => m.clone(),
            };
            groups.push(vec![m]);
        }
    } else {
        let mut p = positional.into_iter().peekable();
        let mut f = flags.into_iter().peekable();
        while p.peek().is_some() || f.peek().is_some() {
            let take_flag = p.peek().is_none() || (f.peek().is_some() && dice.roll(2) == 0);
            groups.push(if take_flag { f.next() } else { p.next() }.expect("peeked"));
        }
    }

    let mut head: String = spec
        .name
        .chars()
        .map(|c| {
            if dice.roll(3) == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    if dice.roll(4) == 0 {
        head.push_str("@clawops_bot");
    }
    let blanks = [" ", "  ", "\t", " \t "];
    let mut line = format!("{}/{head}", ["", " ", "\n"][dice.roll(3)]);
    for w in groups.into_iter().flatten() {
        line.push_str(blanks[dice.roll(blanks.len())]);
        line.push_str(&w);
    }
    line.push_str(["", " ", "\t\n"][dice.roll(3)]);
    Some(line)
}

/// What `parse` says when `build` refuses the arguments it sorted out.
fn as_parsed(spec: &Spec, built: Result<Action, ArgError>) -> Result<Action, ParseError> {
    built.map_err(|error| ParseError::Args {
        name: spec.name.to_string(),
        error,
        usage: spec.usage(),
    })
}

/// A `/send` with neither NAME nor `--status`/`--region`: `build` takes it, the door
/// refuses it when it runs, and its audit line reads as a send to the instance named by
/// the message's first word. See `a_send_to_nobody_is_refused`.
fn send_to_nobody(action: &Action) -> bool {
    matches!(action, Action::Send(s) if s.name.is_none() && s.status.is_none() && s.region.is_none())
}

proptest! {
    #![proptest_config(cases(512))]

    /// However the arguments are typed, the grammar makes of them what `build` makes of
    /// them by name: the same action, or the same refusal.
    #[test]
    fn the_grammar_reads_any_typing_as_build_does(
        (spec, args) in spec_and_args(plain_value),
        faces in vec(any::<u8>(), 64),
    ) {
        let Some(line) = typed(spec, &args, &[], &mut Dice::new(faces)) else {
            return Ok(());
        };
        let expected = as_parsed(spec, ops::build(spec.name, &args));
        prop_assert_eq!(command::parse(&line), expected, "typed as {:?}", line);
    }

    /// An action's audit line (`command_line`) reads back as the same action.
    #[test]
    fn an_action_reads_back_from_its_audit_line((spec, args) in spec_and_args(plain_value)) {
        let built = ops::build(spec.name, &args);
        prop_assume!(built.is_ok());
        let action = built.unwrap();
        // A secret given to /config is masked in the line on purpose.
        prop_assume!(!action.carries_secret());
        prop_assume!(!send_to_nobody(&action));
        let line = action.command_line();
        prop_assert!(!line.is_empty() && command::is_command(&line));
        prop_assert_eq!(command::parse(&line), Ok(action), "audit line {:?}", line);
    }

    /// A value its check refuses is refused however it is typed, by the grammar and by
    /// `build` alike, and never with a panic.
    #[test]
    fn a_bad_value_is_always_refused(
        (spec, args) in spoiled_args(),
        faces in vec(any::<u8>(), 64),
    ) {
        prop_assert!(ops::build(spec.name, &args).is_err(), "build took {:?}", args);
        let Some(line) = typed(spec, &args, &[], &mut Dice::new(faces)) else {
            return Ok(());
        };
        let parsed = command::parse(&line);
        prop_assert!(matches!(parsed, Err(ParseError::Args { .. })), "{:?} gave {:?}", line, parsed);
    }

    /// A flag given twice is refused, whatever else the line says.
    #[test]
    fn a_flag_given_twice_is_refused(
        (spec, args) in spec_and_args(plain_value),
        faces in vec(any::<u8>(), 64),
    ) {
        let Some(p) = spec.params.iter().find(|p| p.flag && args.contains_key(p.name)) else {
            return Ok(());
        };
        let again = match &args[p.name] {
            ArgValue::Switch(_) => vec![format!("--{}", p.name.replace('_', "-"))],
            ArgValue::Text(t) => vec![format!("--{}", p.name.replace('_', "-")), t.clone()],
            ArgValue::Number(n) => vec![format!("--{}={n}", p.name.replace('_', "-"))],
        };
        let Some(line) = typed(spec, &args, &[again], &mut Dice::new(faces)) else {
            return Ok(());
        };
        match command::parse(&line) {
            Err(ParseError::Args { error: ArgError::Invalid(why), .. }) => {
                prop_assert!(why.contains("given twice"), "{}", why)
            }
            other => prop_assert!(false, "{:?} gave {:?}", line, other),
        }
    }

    /// An option the command does not have is refused and named.
    #[test]
    fn an_unknown_flag_is_refused_and_named(
        (spec, args) in spec_and_args(plain_value),
        flag in "[a-z][a-z-]{0,8}",
        faces in vec(any::<u8>(), 64),
    ) {
        prop_assume!(spec.param(&flag.replace('-', "_")).is_none_or(|p| !p.flag));
        let Some(line) = typed(spec, &args, &[vec![format!("--{flag}")]], &mut Dice::new(faces))
        else {
            return Ok(());
        };
        match command::parse(&line) {
            Err(ParseError::Args { error: ArgError::UnknownFlag(named), .. }) => {
                prop_assert_eq!(named, flag)
            }
            other => prop_assert!(false, "{:?} gave {:?}", line, other),
        }
    }

    /// An unbalanced quote is refused as such (a message keeps its quotes, so only
    /// commands without one).
    #[test]
    fn an_unbalanced_quote_is_refused(
        (spec, args) in spec_and_args(plain_value),
        quote in "['\"][a-z ]{0,6}",
        faces in vec(any::<u8>(), 64),
    ) {
        prop_assume!(spec.params.iter().all(|p| p.kind != Kind::Message));
        let Some(line) = typed(spec, &args, &[vec![quote]], &mut Dice::new(faces)) else {
            return Ok(());
        };
        prop_assert_eq!(
            command::parse(&line),
            Err(ParseError::Quotes { usage: spec.usage() }),
            "typed as {:?}", line
        );
    }

    /// A name not in the catalogue is refused and named; a suggestion, when there is
    /// one, is a real command's usage line.
    #[test]
    fn an_unknown_command_is_named(name in "[a-zA-Z][a-zA-Z0-9_]{0,12}", rest in "\\PC{0,20}") {
        let lower = name.to_ascii_lowercase();
        prop_assume!(ops::spec(&lower).is_none());
        match command::parse(&format!("/{name} {rest}")) {
            Err(ParseError::Unknown { name: named, closest }) => {
                prop_assert_eq!(named, lower);
                if let Some(usage) = closest {
                    prop_assert!(ops::catalogue().iter().any(|s| s.usage() == usage), "{}", usage);
                }
            }
            other => prop_assert!(false, "gave {:?}", other),
        }
    }

    /// Only a line starting with `/` is a command; the grammar and `is_command` agree.
    #[test]
    fn only_a_slash_makes_a_command(
        text in prop_oneof!["\\PC{0,40}", "/\\PC{0,40}", "[ \t\n]{1,3}/?[a-z ]{0,10}"],
    ) {
        let refused = matches!(command::parse(&text), Err(ParseError::NotCommand));
        prop_assert_eq!(command::is_command(&text), !refused);
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// Errors are one line, as the grammar promises, whatever was typed into them.
    #[test]
    fn an_error_is_one_line(
        spec in select(ops::catalogue().to_vec()),
        junk in vec(prop_oneof![
            "'--[a-z]{1,4}\n[a-z]{1,3}'",
            "'[a-z]{1,4}\n[a-z]{1,3}'",
            "--[a-z]{1,5}",
            "[a-z0-9-]{1,6}",
        ], 1..4),
    ) {
        if let Err(e) = command::parse(&format!("/{} {}", spec.name, junk.join(" "))) {
            prop_assert!(!e.to_string().contains('\n'), "{:?}", e.to_string());
        }
    }

    /// A `/config` value with blanks or quotes reads back from the audit line.
    #[test]
    fn a_config_value_with_blanks_reads_back(
        name in instance_name(),
        key in "[a-z]{1,6}(\\.[a-z]{1,6}){0,2}",
        value in "[a-zA-Z0-9][a-zA-Z0-9 '\"]{0,12}[a-zA-Z0-9]",
    ) {
        let args: Args = [
            ("instance", name),
            ("verb", "set".to_string()),
            ("key", key),
            ("value", value),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), ArgValue::Text(v)))
        .collect();
        let built = ops::build("config", &args);
        prop_assume!(built.is_ok());
        let action = built.unwrap();
        prop_assume!(!action.carries_secret());
        prop_assert_eq!(command::parse(&action.command_line()), Ok(action));
    }
}

#[test]
fn an_error_stays_one_line() {
    let e = command::parse("/deploy alice-bot '--x\ny'").unwrap_err();
    assert!(!e.to_string().contains('\n'), "{:?}", e.to_string());
}

#[test]
fn a_config_value_with_a_blank_reads_back() {
    let action =
        command::parse("/config alice-bot set agents.defaults.note 'hello world'").unwrap();
    assert_eq!(command::parse(&action.command_line()), Ok(action));
}

#[test]
fn a_message_starting_with_dashes_reads_back() {
    let action = command::parse("/send alice-bot '-- back at 22:00'").unwrap();
    // The audit line `/send alice-bot -- back at 22:00` reads as "back at 22:00".
    assert_eq!(command::parse(&action.command_line()), Ok(action));
}

#[test]
fn a_send_to_nobody_is_refused() {
    let args: Args = [("text".to_string(), ArgValue::Text("hello there".into()))]
        .into_iter()
        .collect();
    // Were it taken, its audit line `/send hello there` would read as a send of "there"
    // to the instance `hello`.
    let built = ops::build("send", &args);
    assert!(built.is_err(), "{built:?}");
}

#[test]
fn a_send_to_nobody_typed_with_a_double_dash_is_refused() {
    let parsed = command::parse("/send -- hello");
    assert!(parsed.is_err(), "{parsed:?}");
}

// ---------------------------------------------------------------------------------------
// SSH addresses (`/deploy NAME ssh://user@host[:port]`)
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(cases(256))]

    /// An address reads back from its URL, with or without `ssh://`.
    #[test]
    fn an_ssh_address_reads_back_from_its_url(t in ssh_target()) {
        prop_assert_eq!(Target::parse(&t.url()), Ok(t.clone()));
        let bare = t.url().trim_start_matches("ssh://").to_string();
        prop_assert_eq!(Target::parse(&bare), Ok(t));
    }

    /// A host name or IPv4 address without a port gets port 22.
    #[test]
    fn the_port_defaults_to_22(user in "[a-z_][a-z0-9._-]{0,8}", host in host_name()) {
        let expected = Target { user: user.clone(), host: host.clone(), port: 22 };
        prop_assert_eq!(Target::parse(&format!("ssh://{user}@{host}")), Ok(expected));
    }

    /// Without a user, with port 0, a port that is not a number or a user with a
    /// character no login name has, an address is refused.
    #[test]
    fn a_malformed_ssh_address_is_refused(
        t in ssh_target(),
        how in 0..4usize,
        junk in "[a-z]{1,4}",
        odd in "[!#$%&*;<>?~ ]",
    ) {
        let host = if t.host.contains(':') { format!("[{}]", t.host) } else { t.host.clone() };
        let text = match how {
            0 => format!("ssh://{host}:{}", t.port),
            1 => format!("ssh://{}@{host}:0", t.user),
            2 => format!("ssh://{}@{host}:{junk}", t.user),
            _ => format!("ssh://{}{odd}@{host}:{}", t.user, t.port),
        };
        prop_assert!(Target::parse(&text).is_err(), "{:?} was taken", text);
    }

    /// An IPv6 address is read as itself, bracketed without a port too, and an
    /// unbracketed one is never read as another host with a port.
    #[test]
    fn an_ipv6_address_is_read_as_itself(segments in any::<[u16; 8]>(), user in "[a-z]{1,6}") {
        let ip = Ipv6Addr::from(segments).to_string();
        let expected = Target { user: user.clone(), host: ip.clone(), port: 22 };
        prop_assert_eq!(Target::parse(&format!("ssh://{user}@[{ip}]")), Ok(expected.clone()));
        if let Ok(t) = Target::parse(&format!("ssh://{user}@{ip}")) {
            prop_assert_eq!(t, expected);
        }
    }
}

#[test]
fn a_bracketed_ipv6_address_needs_no_port() {
    assert_eq!(
        Target::parse("ssh://root@[2001:db8::1]").map(|t| t.port),
        Ok(22)
    );
}

#[test]
fn an_unbracketed_ipv6_address_is_read_as_itself() {
    // Read today as host `2001:db8:` on port 1.
    let t = Target::parse("ssh://root@2001:db8::1");
    assert!(
        t.as_ref().is_err() || t.as_ref().is_ok_and(|t| t.host == "2001:db8::1"),
        "{t:?}"
    );
}

// ---------------------------------------------------------------------------------------
// The payloads of chat buttons
// ---------------------------------------------------------------------------------------

const ALERT_BUTTONS: [AlertButton; 3] = [
    AlertButton::Acknowledge,
    AlertButton::Silence,
    AlertButton::Restart,
];
const PAIRING_BUTTONS: [PairingButton; 2] = [PairingButton::Approve, PairingButton::Reject];

/// Telegram refuses a button whose callback data is longer.
const CALLBACK_DATA_CAP: usize = 64;

/// The two payloads of a confirmation's buttons.
fn confirmation_data(id: &str) -> (String, String) {
    let Outbound::Buttons { buttons, .. } = chat::confirmation(id.to_string(), Default::default())
    else {
        panic!("a confirmation has buttons");
    };
    assert_eq!(buttons.len(), 2);
    (buttons[0].data.clone(), buttons[1].data.clone())
}

/// The id part of `data` after `prefix`, read as a wider number than any id.
fn wide_id(data: &str, prefix: &str) -> Option<i128> {
    data.strip_prefix(prefix)?.parse().ok()
}

/// Arbitrary text, and text near the shape of a payload (a real one with one character
/// changed, added or taken away).
fn callback_like() -> impl Strategy<Value = String> {
    let real = prop_oneof![
        (select(ALERT_BUTTONS.to_vec()), any::<i64>()).prop_map(|(b, id)| b.button(id).data),
        (select(PAIRING_BUTTONS.to_vec()), any::<i64>()).prop_map(|(b, id)| b.button(id).data),
        "[0-9a-f]{32}".prop_map(|id| confirmation_data(&id).0),
    ];
    let mutated = (real, any::<usize>(), any::<char>(), 0..3usize).prop_map(|(s, at, c, how)| {
        let mut chars: Vec<char> = s.chars().collect();
        let at = at % (chars.len() + 1);
        match how {
            0 => chars.insert(at, c),
            1 if at < chars.len() => chars[at] = c,
            _ if at < chars.len() => {
                chars.remove(at);
            }
            _ => {}
        }
        chars.into_iter().collect()
    });
    prop_oneof![
        "\\PC{0,30}",
        "(al|pa|cf|cx):[a-z]{0,4}:?[-+0-9]{0,22}",
        mutated
    ]
}

proptest! {
    #![proptest_config(cases(256))]

    /// An alert button's payload reads back as the same button and alert, fits
    /// Telegram's limit, and is no other kind of button.
    #[test]
    fn an_alert_button_reads_back(b in select(ALERT_BUTTONS.to_vec()), id in any::<i64>()) {
        let button = b.button(id);
        prop_assert_eq!(chat::alert_pressed(&button.data), Some((b, id)));
        prop_assert_eq!(button.label, b.label());
        prop_assert!(button.data.len() <= CALLBACK_DATA_CAP);
        prop_assert_eq!(chat::pairing_pressed(&button.data), None);
        prop_assert_eq!(chat::pressed(&button.data), None);
    }

    /// A pairing button's payload reads back as the same button and request.
    #[test]
    fn a_pairing_button_reads_back(b in select(PAIRING_BUTTONS.to_vec()), id in any::<i64>()) {
        let button = b.button(id);
        prop_assert_eq!(chat::pairing_pressed(&button.data), Some((b, id)));
        prop_assert!(button.data.len() <= CALLBACK_DATA_CAP);
        prop_assert_eq!(chat::alert_pressed(&button.data), None);
        prop_assert_eq!(chat::pressed(&button.data), None);
    }

    /// A confirmation's Confirm and Cancel read back with its id; for the ids the door
    /// makes (128 bits, hex) they fit Telegram's limit.
    #[test]
    fn a_confirmation_reads_back(id in prop_oneof!["[0-9a-f]{32}", "\\PC{0,40}"]) {
        let (confirm, cancel) = confirmation_data(&id);
        prop_assert_eq!(chat::pressed(&confirm), Some((true, id.as_str())));
        prop_assert_eq!(chat::pressed(&cancel), Some((false, id.as_str())));
        if id.len() == 32 {
            prop_assert!(confirm.len() <= CALLBACK_DATA_CAP && cancel.len() <= CALLBACK_DATA_CAP);
        }
        prop_assert_eq!(chat::alert_pressed(&confirm), None);
        prop_assert_eq!(chat::pairing_pressed(&cancel), None);
    }

    /// Whatever comes back as a press, a payload is read as at most one kind of button,
    /// and a button is only ever bound to the id written in the payload: never a number
    /// cut short or wrapped round.
    #[test]
    fn a_payload_never_names_another_id(data in callback_like()) {
        let alert = chat::alert_pressed(&data);
        let pairing = chat::pairing_pressed(&data);
        let confirm = chat::pressed(&data);
        prop_assert!(
            [alert.is_some(), pairing.is_some(), confirm.is_some()].iter().filter(|k| **k).count() <= 1
        );
        if let Some((b, id)) = alert {
            let prefix = b.button(0).data.trim_end_matches('0').to_string();
            prop_assert_eq!(wide_id(&data, &prefix), Some(i128::from(id)), "{:?}", data);
        }
        if let Some((b, id)) = pairing {
            let prefix = b.button(0).data.trim_end_matches('0').to_string();
            prop_assert_eq!(wide_id(&data, &prefix), Some(i128::from(id)), "{:?}", data);
        }
        if let Some((yes, id)) = confirm {
            let (c, x) = confirmation_data(id);
            prop_assert_eq!(data, if yes { c } else { x });
        }
    }
}

// ---------------------------------------------------------------------------------------
// `/readyz`
// ---------------------------------------------------------------------------------------

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        // Quarters: serde_json reads back exactly what it writes of these (not of every
        // float without its `float_roundtrip` feature).
        (-4_000_000i32..4_000_000).prop_map(|q| Value::from(f64::from(q) / 4.0)),
        "\\PC{0,8}".prop_map(Value::from),
    ]
}

/// Any JSON, its keys leaning towards those `channels.status` has.
fn any_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        select(vec![
            "running",
            "enabled",
            "configured",
            "lifecycle",
            "lastError",
            "accountId",
            "channel",
            "accounts",
            "channels",
            "channelAccounts",
        ])
        .prop_map(str::to_string),
        "[a-z]{1,6}",
    ];
    json_leaf().prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::from),
            btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A `/readyz` body and what clawops should read in it.
fn readyz() -> impl Strategy<Value = (Vec<u8>, Readiness)> {
    let failing = vec(
        prop_oneof![
            "\\PC{0,10}".prop_map(Value::from),
            "\\PC{0,10}".prop_map(|n| json!({"name": n, "since": 3})),
        ],
        0..4,
    );
    (
        any::<bool>(),
        failing,
        proptest::option::of(any::<u64>()),
        proptest::option::of(any::<bool>()),
        btree_map("x[a-zA-Z]{0,6}", json_leaf(), 0..3),
        any::<bool>(),
    )
        .prop_map(|(ready, failing, uptime, degraded, extra, pretty)| {
            let mut body = serde_json::Map::new();
            body.insert("ready".into(), ready.into());
            if !failing.is_empty() || pretty {
                body.insert("failing".into(), failing.clone().into());
            }
            if let Some(ms) = uptime {
                body.insert("uptimeMs".into(), ms.into());
            }
            if let Some(d) = degraded {
                body.insert("eventLoop".into(), json!({"degraded": d, "lagMs": 12}));
            }
            body.extend(extra);
            let body = Value::Object(body);
            let bytes = if pretty {
                serde_json::to_vec_pretty(&body)
            } else {
                serde_json::to_vec(&body)
            };
            (
                bytes.unwrap(),
                Readiness {
                    ready,
                    failing,
                    uptime_ms: uptime,
                    event_loop: degraded.map(|degraded| EventLoop { degraded }),
                },
            )
        })
}

proptest! {
    #![proptest_config(cases(256))]

    /// `/readyz` is read field for field, whatever else it carries.
    #[test]
    fn readyz_is_read_as_written((body, expected) in readyz()) {
        let read: Readiness = serde_json::from_slice(&body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(read, expected);
    }

    /// Without a boolean `ready` there is no readiness (never a guess that it is ready).
    #[test]
    fn readyz_without_a_boolean_ready_is_refused(
        ready in proptest::option::of(prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::from),
            prop_oneof![Just("true".to_string()), "\\PC{0,6}"].prop_map(Value::from),
            Just(json!([true])),
        ]),
        rest in btree_map("[a-z]{1,6}", json_leaf(), 0..3),
    ) {
        let mut body: serde_json::Map<String, Value> = rest.into_iter().filter(|(k, _)| k != "ready").collect();
        if let Some(r) = ready {
            body.insert("ready".into(), r);
        }
        let bytes = serde_json::to_vec(&Value::Object(body)).unwrap();
        prop_assert!(serde_json::from_slice::<Readiness>(&bytes).is_err());
    }

    /// Bytes that are not a JSON object are no readiness. (Not arrays: serde reads a
    /// struct from a list of its fields in order, so `[true]` is ready; no gateway says so.)
    #[test]
    fn readyz_that_is_not_an_object_is_refused(body in prop_oneof![
        vec(any::<u8>(), 0..40),
        any_json()
            .prop_filter("neither an object nor a list", |v| !v.is_object() && !v.is_array())
            .prop_map(|v| v.to_string().into_bytes()),
    ]) {
        prop_assert!(serde_json::from_slice::<Readiness>(&body).is_err());
    }
}

// ---------------------------------------------------------------------------------------
// `channels.status`: the channel accounts that stopped, and which need a person
// ---------------------------------------------------------------------------------------

/// One channel account as `channels.status` lists it.
#[derive(Debug, Clone)]
struct Account {
    id: Option<String>,
    running: bool,
    enabled: Option<bool>,
    configured: Option<bool>,
    lifecycle: Option<&'static str>,
    last_error: Option<String>,
}

impl Account {
    fn json(&self) -> Value {
        let mut a = serde_json::Map::new();
        a.insert("running".into(), self.running.into());
        a.insert("connected".into(), false.into());
        if let Some(id) = &self.id {
            a.insert("accountId".into(), id.clone().into());
        }
        if let Some(e) = self.enabled {
            a.insert("enabled".into(), e.into());
        }
        if let Some(c) = self.configured {
            a.insert("configured".into(), c.into());
        }
        if let Some(l) = self.lifecycle {
            a.insert("lifecycle".into(), l.into());
        }
        if let Some(e) = &self.last_error {
            a.insert("lastError".into(), e.clone().into());
        }
        Value::Object(a)
    }

    /// The documented rule: enabled and configured (unless said otherwise) and either not
    /// running or in a stopped or failed lifecycle.
    fn stopped(&self) -> bool {
        let enabled = self.enabled != Some(false) && self.configured != Some(false);
        let broken = self
            .lifecycle
            .is_some_and(|l| ["stopped", "error", "failed", "crashed"].contains(&l));
        enabled && (!self.running || broken)
    }
}

fn account() -> impl Strategy<Value = Account> {
    (
        proptest::option::weighted(0.8, "[a-z0-9]{1,6}"),
        any::<bool>(),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<bool>()),
        proptest::option::of(select(vec![
            "starting", "running", "stopped", "error", "failed", "crashed", "idle",
        ])),
        proptest::option::of(prop_oneof![
            Just("Connection Failure: logged out".to_string()),
            Just("Call to 'getMe' failed! (401: Unauthorized)".to_string()),
            Just("socket hang up".to_string()),
            "[a-z ]{0,12}",
        ]),
    )
        .prop_map(
            |(id, running, enabled, configured, lifecycle, last_error)| Account {
                id,
                running,
                enabled,
                configured,
                lifecycle,
                last_error,
            },
        )
}

/// Whether `v` holds an object with a boolean `running` anywhere.
fn has_running(v: &Value) -> bool {
    match v {
        Value::Object(m) => {
            m.get("running").is_some_and(Value::is_boolean) || m.values().any(has_running)
        }
        Value::Array(items) => items.iter().any(has_running),
        _ => false,
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// The stopped accounts are exactly those the documented rule names, as
    /// `channel:account`, each saying when only a person can mend it.
    #[test]
    fn stopped_channels_follow_the_rule(
        channels in btree_map(
            "[a-z]{1,8}".prop_filter("not a grouping key", |c| !["accounts", "channels"].contains(&c.as_str())),
            vec(account(), 0..4),
            0..4,
        ),
    ) {
        let status = json!({
            "channelAccounts": channels
                .iter()
                .map(|(c, accounts)| (c.clone(), Value::from(accounts.iter().map(Account::json).collect::<Vec<_>>())))
                .collect::<serde_json::Map<_, _>>(),
            "eventLoop": {"degraded": false},
        });
        let mut expected: Vec<String> = channels
            .iter()
            .flat_map(|(c, accounts)| accounts.iter().filter(|a| a.stopped()).map(move |a| (c, a)))
            .map(|(c, a)| {
                let at = format!("{c}:{}", a.id.as_deref().unwrap_or("default"));
                match a.last_error.as_deref().and_then(gateway::needs_a_person) {
                    Some(why) => format!("{at} (needs a person: {why})"),
                    None => at,
                }
            })
            .collect();
        expected.sort();
        expected.dedup();
        prop_assert_eq!(gateway::stopped_channels(&status), expected);
    }

    /// For any reply at all: sorted, no repeats, each `channel:account`, and nothing
    /// named where no object says whether it runs.
    #[test]
    fn stopped_channels_of_any_reply_are_well_formed(status in any_json()) {
        let stopped = gateway::stopped_channels(&status);
        prop_assert!(stopped.windows(2).all(|w| w[0] < w[1]), "{:?}", stopped);
        prop_assert!(stopped.iter().all(|s| s.contains(':')), "{:?}", stopped);
        if !has_running(&status) {
            prop_assert!(stopped.is_empty(), "{:?}", stopped);
        }
    }

    /// A logged-out session or a refused token needs a person, in any case and any
    /// surrounding text; a text with no word of either never does.
    #[test]
    fn what_needs_a_person_is_recognised(
        before in "\\PC{0,12}",
        after in "\\PC{0,12}",
        phrase in select(vec!["logged out", "LOGOUT", "scan the QR", "401", "Unauthorized", "token REVOKED"]),
        innocent in "[a-pr-tw-z0-35-9 .:_()!-]{0,30}",
    ) {
        let text = format!("{before}{phrase}{after}");
        let why = gateway::needs_a_person(&text);
        prop_assert!(why.is_some(), "{:?}", text);
        let logged_out = ["logged out", "logout", "qr"].iter().any(|w| text.to_ascii_lowercase().contains(w));
        prop_assert_eq!(why.unwrap().starts_with("logged out"), logged_out);
        // No q, u, v or 4: none of the words can be spelled.
        prop_assert_eq!(gateway::needs_a_person(&innocent), None);
    }
}

// ---------------------------------------------------------------------------------------
// Log lines (`logs.tail`, and the log file when the gateway is down)
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(cases(256))]

    /// A gateway log record is read as its time, level and message (the message, or the
    /// third argument when there is none), whatever else it holds.
    #[test]
    fn a_log_record_is_read_field_for_field(
        time in "\\PC{0,24}",
        level in "[A-Z]{0,5}",
        message in proptest::option::of("\\PC{0,30}"),
        second in "\\PC{0,30}",
        subsystem in "[a-z]{0,8}",
    ) {
        let mut record = json!({
            "0": json!({"subsystem": subsystem}).to_string(),
            "2": second,
            "_meta": {"logLevelName": level, "date": "x"},
            "time": time,
        });
        if let Some(m) = &message {
            record["message"] = Value::from(m.clone());
        }
        let tail = LogTail { file: None, lines: vec![record.to_string()] };
        let expected = LogLine {
            time,
            level,
            message: message.filter(|m| !m.is_empty()).unwrap_or(second),
        };
        prop_assert_eq!(tail.parsed(), vec![expected]);
    }

    /// A line that is not JSON is kept as it is, and a tail keeps its lines' order.
    #[test]
    fn a_plain_line_is_kept_as_typed(lines in vec("\\PC{0,40}", 0..8)) {
        let tail = LogTail { file: Some("gateway.log".into()), lines: lines.clone() };
        let parsed = tail.parsed();
        prop_assert_eq!(parsed.len(), lines.len());
        for (line, read) in lines.iter().zip(&parsed) {
            if serde_json::from_str::<Value>(line).is_err() {
                prop_assert_eq!(read, &LogLine { time: String::new(), level: String::new(), message: line.clone() });
            }
        }
    }

    /// A line is never read as empty when it has text: a line that is JSON but not a
    /// log record (a bare number, a word in quotes, a list) keeps its text too.
    #[test]
    fn a_line_with_text_never_reads_as_empty(value in any_json().prop_filter("not an object", |v| !v.is_object())) {
        let line = value.to_string();
        let tail = LogTail { file: None, lines: vec![line.clone()] };
        prop_assert!(!tail.parsed()[0].message.is_empty(), "{:?}", line);
    }
}

#[test]
fn a_bare_number_in_the_log_keeps_its_text() {
    let tail = LogTail {
        file: None,
        lines: vec!["0".into()],
    };
    assert_eq!(tail.parsed()[0].message, "0");
}

// ---------------------------------------------------------------------------------------
// Pairing lists (`channels.pairing.list`)
// ---------------------------------------------------------------------------------------

/// When a request was made or expires: written as milliseconds or as RFC 3339 at some
/// offset, or not at all.
#[derive(Debug, Clone)]
enum When {
    Millis(i64),
    Text(i64, i32),
    Absent,
}

impl When {
    fn json(&self) -> Option<Value> {
        match self {
            When::Millis(ms) => Some((*ms).into()),
            When::Text(ms, offset) => {
                let t = DateTime::from_timestamp_millis(*ms)
                    .unwrap()
                    .with_timezone(&FixedOffset::east_opt(*offset).unwrap());
                Some(t.to_rfc3339_opts(SecondsFormat::Millis, false).into())
            }
            When::Absent => None,
        }
    }

    /// As clawops keeps times: UTC, milliseconds, `Z`.
    fn kept(&self) -> Option<String> {
        match self {
            When::Millis(ms) | When::Text(ms, _) => Some(
                DateTime::from_timestamp_millis(*ms)
                    .unwrap()
                    .to_rfc3339_opts(SecondsFormat::Millis, true),
            ),
            When::Absent => None,
        }
    }
}

fn when() -> impl Strategy<Value = When> {
    // 2020 to 2040.
    let ms = 1_577_836_800_000i64..2_208_988_800_000;
    prop_oneof![
        ms.clone().prop_map(When::Millis),
        (ms, (-14 * 60..=14 * 60).prop_map(|m| m * 60)).prop_map(|(ms, o)| When::Text(ms, o)),
        Just(When::Absent),
    ]
}

/// A request as the gateway lists it.
#[derive(Debug, Clone)]
struct Request {
    id: Option<String>,
    account: Option<String>,
    sender: Option<String>,
    username: Option<String>,
    first: Option<String>,
    last: Option<String>,
    created: When,
    expires: When,
}

impl Request {
    fn json(&self) -> Value {
        let mut r = serde_json::Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                r.insert(k.to_string(), v);
            }
        };
        put("requestId", self.id.clone().map(Value::from));
        put("accountId", self.account.clone().map(Value::from));
        put("senderId", self.sender.clone().map(Value::from));
        put("channel", Some("telegram".into()));
        put("createdAt", self.created.json());
        put("expiresAt", self.expires.json());
        put("code", Some("ABCD1234".into()));
        let mut meta = serde_json::Map::new();
        for (k, v) in [
            ("username", &self.username),
            ("firstName", &self.first),
            ("lastName", &self.last),
        ] {
            if let Some(v) = v {
                meta.insert(k.into(), v.clone().into());
            }
        }
        meta.insert("languageCode".into(), "de".into());
        r.insert("metadata".into(), Value::Object(meta));
        Value::Object(r)
    }

    /// The sender as the documented rule names them: "First Last (@user)".
    fn sender_name(&self) -> Option<String> {
        let full: Vec<&str> = [&self.first, &self.last]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        match (&self.username, full.is_empty()) {
            (Some(u), false) => Some(format!("{} (@{u})", full.join(" "))),
            (Some(u), true) => Some(format!("@{u}")),
            (None, false) => Some(full.join(" ")),
            (None, true) => None,
        }
    }
}

fn request() -> impl Strategy<Value = Request> {
    (
        proptest::option::weighted(0.85, "[A-Za-z0-9-]{1,16}"),
        proptest::option::of("[a-z]{1,8}"),
        proptest::option::of("[0-9]{1,12}"),
        proptest::option::of("[a-z0-9_]{1,10}"),
        proptest::option::of("\\PC{1,8}"),
        proptest::option::of("\\PC{1,8}"),
        when(),
        when(),
    )
        .prop_map(
            |(id, account, sender, username, first, last, created, expires)| Request {
                id,
                account,
                sender,
                username,
                first,
                last,
                created,
                expires,
            },
        )
}

proptest! {
    #![proptest_config(cases(256))]

    /// A listed request is kept with its id, account (`default` when none), sender and
    /// times; a time in milliseconds and the same instant in RFC 3339 at any offset are
    /// kept alike. A request without an id is not kept.
    #[test]
    fn a_pairing_request_is_kept_as_listed(r in request()) {
        let listed: PairingRequest = serde_json::from_value(r.json())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let Some(seen) = listed.seen() else {
            prop_assert!(r.id.is_none());
            return Ok(());
        };
        prop_assert_eq!(Some(seen.request_id), r.id.clone());
        prop_assert_eq!(seen.account, r.account.clone().unwrap_or_else(|| "default".into()));
        prop_assert_eq!(seen.sender_id, r.sender.clone());
        prop_assert_eq!(seen.sender_name, r.sender_name());
        prop_assert_eq!(seen.created_at, r.created.kept());
        prop_assert_eq!(seen.expires_at, r.expires.kept());
    }

    /// A list keeps every request, in order, whatever else the reply carries.
    #[test]
    fn a_pairing_list_keeps_every_request(requests in vec(request(), 0..5), extra in json_leaf()) {
        let reply = json!({"requests": requests.iter().map(Request::json).collect::<Vec<_>>(), "channel": "telegram", "x": extra});
        let list: PairingList = serde_json::from_value(reply).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(list.requests.len(), requests.len());
        let ids: Vec<Option<String>> = list.requests.iter().map(|r| r.seen().map(|s| s.request_id)).collect();
        let expected: Vec<Option<String>> = requests.iter().map(|r| r.id.clone()).collect();
        prop_assert_eq!(ids, expected);
    }

    /// A reply whose requests are not a list, or whose request id is not text, is
    /// refused rather than read as some other request.
    #[test]
    fn a_malformed_pairing_list_is_refused(
        requests in json_leaf().prop_filter("not null", |v| !v.is_null()),
        id in prop_oneof![any::<i64>().prop_map(Value::from), any::<bool>().prop_map(Value::from), Just(json!(["a"]))],
    ) {
        let many = json!({"requests": requests});
        prop_assert!(serde_json::from_value::<PairingList>(many).is_err());
        let one = json!({"requests": [{"requestId": id, "accountId": "default"}]});
        prop_assert!(serde_json::from_value::<PairingList>(one).is_err());
    }

    /// A time that is neither milliseconds nor RFC 3339 is unknown, never some other time.
    #[test]
    fn an_unreadable_time_is_unknown(
        created in prop_oneof![
            "[a-z0-9 :-]{0,20}".prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            (-1e12f64..1e12).prop_filter("fractional", |f| f.fract() != 0.0).prop_map(Value::from),
            Just(json!({"ms": 5})),
        ],
    ) {
        let listed: PairingRequest = serde_json::from_value(json!({"requestId": "r1", "createdAt": created}))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(listed.seen().unwrap().created_at, None);
    }
}

// ---------------------------------------------------------------------------------------
// The probe's words (`users=N owner=X`, `users=unknown why=…`)
// ---------------------------------------------------------------------------------------

/// Other words the probe prints, none about end users.
fn other_words() -> impl Strategy<Value = Vec<String>> {
    vec(
        ("[a-z_]{1,8}", "[a-z0-9:.-]{0,8}")
            .prop_filter("not an end-user word", |(k, _)| {
                !["users", "owner", "why"].contains(&k.as_str())
            })
            .prop_map(|(k, v)| format!("{k}={v}")),
        0..6,
    )
}

/// `words` in an order `faces` picks, joined by blanks and line breaks.
fn probe_text(mut words: Vec<String>, faces: Vec<u8>) -> String {
    let mut dice = Dice::new(faces);
    for i in (1..words.len()).rev() {
        let j = dice.roll(i + 1);
        words.swap(i, j);
    }
    let mut text = String::new();
    for w in words {
        text.push_str([" ", "\n", "  ", "\t"][dice.roll(4)]);
        text.push_str(&w);
    }
    text
}

proptest! {
    #![proptest_config(cases(256))]

    /// A count of end users (and the owner, when given) is read whatever else the probe
    /// prints and in whatever order.
    #[test]
    fn end_users_are_counted_from_the_probe(
        count in any::<u32>(),
        owner in proptest::option::of("telegram:[0-9]{1,12}"),
        others in other_words(),
        faces in vec(any::<u8>(), 16),
    ) {
        let mut words = others;
        words.push(format!("users={count}"));
        if let Some(o) = &owner {
            words.push(format!("owner={o}"));
        }
        prop_assert_eq!(
            EndUsers::from_probe(&probe_text(words, faces)),
            Some(EndUsers::Counted { count, owner })
        );
    }

    /// `users=unknown` gives the why with its dashes as blanks ("unreadable" without one).
    #[test]
    fn unknown_end_users_say_why(
        why in proptest::option::of("[a-z0-9()]{1,6}(-[a-z0-9()]{1,6}){0,4}"),
        others in other_words(),
        faces in vec(any::<u8>(), 16),
    ) {
        let mut words = others;
        words.push("users=unknown".into());
        if let Some(w) = &why {
            words.push(format!("why={w}"));
        }
        let expected = why.map_or("unreadable".to_string(), |w| w.replace('-', " "));
        prop_assert_eq!(
            EndUsers::from_probe(&probe_text(words, faces)),
            Some(EndUsers::Unknown(expected))
        );
    }

    /// A probe without `users=`, or with a count that is no count, has no end users:
    /// never a wrong number.
    #[test]
    fn no_count_is_no_end_users(
        users in proptest::option::of(prop_oneof![
            "[a-z]{1,6}".prop_filter("not unknown", |w| w != "unknown"),
            "-[0-9]{1,4}",
            (u64::from(u32::MAX) + 1..u64::MAX).prop_map(|n| n.to_string()),
            "[0-9]{1,3}\\.[0-9]",
            Just(String::new()),
        ]),
        others in other_words(),
        faces in vec(any::<u8>(), 16),
    ) {
        let mut words = others;
        if let Some(u) = users {
            words.push(format!("users={u}"));
        }
        prop_assert_eq!(EndUsers::from_probe(&probe_text(words, faces)), None);
    }
}

// ---------------------------------------------------------------------------------------
// RPC frames, against a gateway played here
// ---------------------------------------------------------------------------------------

/// A frame the gateway may send before the answer to a call, which the call must pass by.
#[derive(Debug, Clone)]
enum Noise {
    NotJson(String),
    Binary(Vec<u8>),
    Event(String),
    /// An answer to another call.
    OtherId(u32),
    /// The call's own id on a frame that is not an answer.
    SameIdNotRes,
    Ping,
}

impl Noise {
    fn frame(&self, id: &str) -> Frame {
        match self {
            Noise::NotJson(t) => Frame::text(t.clone()),
            Noise::Binary(b) => Frame::binary(b.clone()),
            Noise::Event(e) => {
                Frame::text(json!({"type": "event", "event": e, "payload": {"x": 1}}).to_string())
            }
            Noise::OtherId(n) => Frame::text(
                json!({"type": "res", "id": format!("x{n}"), "ok": false, "error": {"message": "not yours"}})
                    .to_string(),
            ),
            Noise::SameIdNotRes => Frame::text(
                json!({"type": "event", "id": id, "ok": true, "payload": "not an answer"}).to_string(),
            ),
            Noise::Ping => Frame::Ping(vec![1, 2, 3].into()),
        }
    }
}

fn noise() -> impl Strategy<Value = Vec<Noise>> {
    vec(
        prop_oneof![
            "[a-z {}\\[\\]:\"]{0,12}"
                .prop_filter("not JSON", |t| serde_json::from_str::<Value>(t).is_err())
                .prop_map(Noise::NotJson),
            vec(any::<u8>(), 0..12).prop_map(Noise::Binary),
            "[a-z.]{1,12}".prop_map(Noise::Event),
            any::<u32>().prop_map(Noise::OtherId),
            Just(Noise::SameIdNotRes),
            Just(Noise::Ping),
        ],
        0..4,
    )
}

/// How the gateway answers one call.
#[derive(Debug, Clone)]
enum Answer {
    /// `ok: true`, with this payload (none: no `payload` key).
    Ok(Option<Value>),
    /// `ok: false`, with this message (none: no `error` key).
    Err(Option<String>),
}

impl Answer {
    fn frame(&self, id: &Value) -> Frame {
        let v = match self {
            Answer::Ok(Some(p)) => json!({"type": "res", "id": id, "ok": true, "payload": p}),
            Answer::Ok(None) => json!({"type": "res", "id": id, "ok": true}),
            Answer::Err(Some(m)) => {
                json!({"type": "res", "id": id, "ok": false, "error": {"code": "E", "message": m}})
            }
            Answer::Err(None) => json!({"type": "res", "id": id, "ok": false}),
        };
        Frame::text(v.to_string())
    }
}

/// A gateway on `127.0.0.1:0` that sends the challenge after `noise[0]`, then answers
/// each request with the next noise and answer; the requests it got are in the returned
/// list.
async fn play_gateway(
    noise: Vec<Vec<Noise>>,
    answers: Vec<Answer>,
) -> (std::net::SocketAddr, Arc<Mutex<Vec<Value>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let requests = seen.clone();
    tokio::spawn(async move {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
            return;
        };
        let mut noise = noise.into_iter();
        let challenge =
            json!({"type": "event", "event": "connect.challenge", "payload": {"nonce": "n"}});
        let first = noise.next().unwrap_or_default();
        for frame in first
            .iter()
            .map(|n| n.frame("c0"))
            .chain([Frame::text(challenge.to_string())])
        {
            if ws.send(frame).await.is_err() {
                return;
            }
        }
        let mut answers = answers.into_iter();
        while let Some(Ok(frame)) = ws.next().await {
            let Frame::Text(text) = frame else {
                continue;
            };
            let req: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
            requests.lock().unwrap().push(req.clone());
            let id = req["id"].clone();
            for n in noise.next().unwrap_or_default() {
                if ws.send(n.frame(id.as_str().unwrap_or(""))).await.is_err() {
                    return;
                }
            }
            let Some(answer) = answers.next() else {
                break;
            };
            if ws.send(answer.frame(&id)).await.is_err() {
                break;
            }
        }
    });
    (addr, seen)
}

/// Runs `f` on a fresh runtime, failing after five seconds rather than hanging.
fn within_seconds<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(5), f)
                .await
                .expect("the RPC did not finish within 5 s")
        })
}

proptest! {
    #![proptest_config(cases(32))]

    /// A call gets the answer that carries its own id, past events, other calls' answers,
    /// frames that are not JSON and pings; an error answer gives the gateway's message.
    /// The hello's version and config revision are read as sent.
    #[test]
    fn a_call_gets_the_answer_with_its_id(
        noise in vec(noise(), 3),
        version in "[0-9]{4}\\.[0-9]{1,2}\\.[0-9]{1,2}",
        hash in "[0-9a-f]{8,64}",
        prefixed in any::<bool>(),
        answer in prop_oneof![
            proptest::option::of(any_json()).prop_map(Answer::Ok),
            proptest::option::of("\\PC{0,20}").prop_map(Answer::Err),
        ],
        params in any_json(),
    ) {
        let applied = if prefixed { format!("sha256:{hash}") } else { hash.clone() };
        let hello = json!({"server": {"version": version}, "snapshot": {"appliedConfigHash": applied}});
        let (result, server_version, config_rev, requests) = within_seconds(async {
            let (addr, requests) = play_gateway(noise, vec![Answer::Ok(Some(hello)), answer.clone()]).await;
            let mut rpc = gateway::Rpc::connect(&addr.to_string(), "token").await.unwrap();
            let result = rpc.call_value("some.method", params.clone()).await;
            let (v, r) = (rpc.server_version.clone(), rpc.config_rev.clone());
            rpc.close().await;
            let requests = requests.lock().unwrap().clone();
            (result, v, r, requests)
        });
        prop_assert_eq!(server_version, Some(version));
        prop_assert_eq!(config_rev, Some(hash.chars().take(12).collect::<String>()));
        prop_assert_eq!(requests.len(), 2);
        prop_assert_eq!(&requests[0]["method"], "connect");
        prop_assert_eq!(&requests[0]["params"]["auth"]["token"], "token");
        prop_assert_eq!(&requests[1]["type"], "req");
        prop_assert_eq!(&requests[1]["method"], "some.method");
        prop_assert_eq!(&requests[1]["params"], &params);
        prop_assert_ne!(&requests[0]["id"], &requests[1]["id"]);
        match (answer, result) {
            (Answer::Ok(payload), Ok(got)) => prop_assert_eq!(got, payload.unwrap_or(Value::Null)),
            (Answer::Err(message), Err(GatewayError::Call { method, message: got })) => {
                prop_assert_eq!(method, "some.method");
                prop_assert_eq!(got, message.unwrap_or_else(|| "unknown error".into()));
            }
            (answer, result) => prop_assert!(false, "{:?} was read as {:?}", answer, result),
        }
    }

    /// A pairing list over the RPC keeps every request; a reply of the wrong shape is an
    /// unreadable reply, not an empty list.
    #[test]
    fn a_pairing_list_over_rpc_is_read_or_refused(
        requests in vec(request(), 0..4),
        broken in any::<bool>(),
        noise in vec(noise(), 3),
    ) {
        let payload = if broken {
            json!({"requests": {"not": "a list"}})
        } else {
            json!({"requests": requests.iter().map(Request::json).collect::<Vec<_>>()})
        };
        let hello = json!({"server": {"version": "2026.9.6"}});
        let result = within_seconds(async {
            let (addr, _) = play_gateway(noise, vec![Answer::Ok(Some(hello)), Answer::Ok(Some(payload))]).await;
            let mut rpc = gateway::Rpc::connect(&addr.to_string(), "token").await.unwrap();
            let result = rpc.pairing_list("telegram").await;
            rpc.close().await;
            result
        });
        match result {
            Ok(list) if !broken => {
                let ids: Vec<Option<String>> = list.requests.iter().map(|r| r.seen().map(|s| s.request_id)).collect();
                prop_assert_eq!(ids, requests.iter().map(|r| r.id.clone()).collect::<Vec<_>>());
            }
            Err(GatewayError::Reply { method, .. }) if broken => {
                prop_assert_eq!(method, "channels.pairing.list")
            }
            other => prop_assert!(false, "broken={} gave {:?}", broken, other),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The metrics text
// ---------------------------------------------------------------------------------------

/// One sample line of Prometheus' text format: `name{label="value",…} number`.
fn sample(line: &str) -> Option<(String, BTreeMap<String, String>, f64)> {
    let end = line.find(['{', ' '])?;
    let name = &line[..end];
    let name_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if !name_ok {
        return None;
    }
    let mut labels = BTreeMap::new();
    let mut rest = &line[end..];
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        loop {
            let mut key = String::new();
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                key.push(c);
            }
            if chars.next()?.1 != '"' {
                return None;
            }
            let mut value = String::new();
            loop {
                match chars.next()?.1 {
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        c @ ('\\' | '"') => value.push(c),
                        _ => return None,
                    },
                    '"' => break,
                    '\n' => return None,
                    c => value.push(c),
                }
            }
            labels.insert(key, value);
            match chars.next()? {
                (_, ',') => continue,
                (at, '}') => {
                    rest = &inner[at + 1..];
                    break;
                }
                _ => return None,
            }
        }
    }
    let value = rest.strip_prefix(' ')?.parse::<f64>().ok()?;
    Some((name.to_string(), labels, value))
}

fn sweep_report() -> impl Strategy<Value = SweepReport> {
    ([0..50usize, 0..50, 0..50, 0..50, 0..50], 0..60_000u64).prop_map(
        |([healthy, degraded, offline, unreachable, busy], ms)| SweepReport {
            probed: healthy + degraded + offline + unreachable,
            healthy,
            degraded,
            offline,
            unreachable,
            busy,
            elapsed: Duration::from_millis(ms),
        },
    )
}

proptest! {
    #![proptest_config(cases(128))]

    /// Every line of the metrics text is a comment or a `name{labels} value` sample under
    /// `clawops_`; the figures read back as counted, job names with quotes, backslashes
    /// and line breaks included.
    #[test]
    fn the_metrics_text_reads_back_as_counted(
        sweeps in vec(sweep_report(), 1..4),
        jobs in vec(prop_oneof![
            select(vec!["health-sweep", "pairing-poll", "briefings", "standby-sync"]).prop_map(str::to_string),
            "\\PC{0,10}",
            "[a\"\\\\\n]{1,4}",
        ], 0..6),
        failed in vec(any::<prop::sample::Index>(), 0..3),
        running in 0..3usize,
    ) {
        let metrics = Arc::new(Metrics::new());
        for r in &sweeps {
            metrics.sweep(r);
        }
        let mut runs: HashMap<String, f64> = HashMap::new();
        let mut guards = Vec::new();
        for job in &jobs {
            guards.push(metrics.job_started(job));
            *runs.entry(job.clone()).or_default() += 1.0;
        }
        let mut failures: HashMap<String, f64> = HashMap::new();
        if !jobs.is_empty() {
            for i in &failed {
                let job = i.get(&jobs);
                metrics.job_failed(job);
                *failures.entry(job.clone()).or_default() += 1.0;
            }
        }
        guards.truncate(running);
        let still_running = guards.len() as f64;

        let text = metrics.render();
        prop_assert!(text.ends_with("# EOF\n"), "{:?}", text);
        let mut samples: HashMap<(String, BTreeMap<String, String>), f64> = HashMap::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let parsed = sample(line);
            prop_assert!(parsed.is_some(), "not a sample line: {:?}", line);
            let (name, labels, value) = parsed.unwrap();
            prop_assert!(name.starts_with("clawops_"), "{:?}", line);
            prop_assert!(samples.insert((name, labels), value).is_none(), "repeated: {:?}", line);
        }
        let get = |name: &str, label: Option<(&str, &str)>| {
            let labels: BTreeMap<String, String> = label.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            samples.get(&(name.to_string(), labels)).copied()
        };
        let last = sweeps.last().unwrap();
        for (state, n) in [("HEALTHY", last.healthy), ("DEGRADED", last.degraded), ("OFFLINE", last.offline), ("UNREACHABLE", last.unreachable)] {
            prop_assert_eq!(get("clawops_instances", Some(("state", state))), Some(n as f64));
        }
        let sum = |f: fn(&SweepReport) -> usize| sweeps.iter().map(f).sum::<usize>() as f64;
        prop_assert_eq!(get("clawops_probes_total", None), Some(sum(|r| r.probed)));
        prop_assert_eq!(get("clawops_probe_failures_total", None), Some(sum(|r| r.unreachable)));
        prop_assert_eq!(get("clawops_sweep_busy_skipped_total", None), Some(sum(|r| r.busy)));
        prop_assert_eq!(get("clawops_sweep_duration_seconds_count", None), Some(sweeps.len() as f64));
        prop_assert_eq!(get("clawops_jobs_running", None), Some(still_running));
        for (job, n) in &runs {
            prop_assert_eq!(get("clawops_job_runs_total", Some(("job", job))), Some(*n), "job {:?}", job);
        }
        for (job, n) in &failures {
            prop_assert_eq!(get("clawops_job_failures_total", Some(("job", job))), Some(*n), "job {:?}", job);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Cron schedules
// ---------------------------------------------------------------------------------------

/// One comma-separated part of a cron field.
#[derive(Debug, Clone)]
enum Part {
    Star,
    StarStep(u32),
    One(u32),
    Range(u32, u32),
    RangeStep(u32, u32, u32),
    /// `a/s`: from `a` to the end, every `s`.
    FromStep(u32, u32),
}

impl Part {
    fn text(&self) -> String {
        match self {
            Part::Star => "*".into(),
            Part::StarStep(s) => format!("*/{s}"),
            Part::One(v) => v.to_string(),
            Part::Range(a, b) => format!("{a}-{b}"),
            Part::RangeStep(a, b, s) => format!("{a}-{b}/{s}"),
            Part::FromStep(a, s) => format!("{a}/{s}"),
        }
    }

    fn values(&self, min: u32, max: u32) -> Vec<u32> {
        let every = |a: u32, b: u32, s: u32| (a..=b).step_by(s as usize).collect();
        match *self {
            Part::Star => every(min, max, 1),
            Part::StarStep(s) => every(min, max, s),
            Part::One(v) => vec![v],
            Part::Range(a, b) => every(a, b, 1),
            Part::RangeStep(a, b, s) => every(a, b, s),
            Part::FromStep(a, s) => every(a, max, s),
        }
    }
}

/// A part of a field between `lo` and `hi` (`hi` at most the field's `max`); `star_steps`
/// allows `*/s`.
fn part(lo: u32, hi: u32, star_steps: bool) -> BoxedStrategy<Part> {
    let mut parts = vec![
        Just(Part::Star).boxed(),
        (lo..=hi).prop_map(Part::One).boxed(),
        (lo..=hi, lo..=hi)
            .prop_map(|(a, b)| Part::Range(a.min(b), a.max(b)))
            .boxed(),
        (lo..=hi, lo..=hi, 1..=hi.max(2))
            .prop_map(|(a, b, s)| Part::RangeStep(a.min(b), a.max(b), s))
            .boxed(),
    ];
    if star_steps {
        parts.push((1..=hi.max(2)).prop_map(Part::StarStep).boxed());
        parts.push(
            (lo..=hi, 1..=hi.max(2))
                .prop_map(|(a, s)| Part::FromStep(a, s))
                .boxed(),
        );
    }
    proptest::strategy::Union::new(parts).boxed()
}

/// A field's text and the values it stands for.
#[derive(Debug, Clone)]
struct Field {
    text: String,
    values: BTreeSet<u32>,
}

fn field(min: u32, lo: u32, hi: u32, max: u32, star_steps: bool) -> impl Strategy<Value = Field> {
    vec(part(lo, hi, star_steps), 1..3).prop_map(move |parts| Field {
        text: parts.iter().map(Part::text).collect::<Vec<_>>().join(","),
        values: parts.iter().flat_map(|p| p.values(min, max)).collect(),
    })
}

/// A schedule as POSIX cron reads it, for checking `next_fire` against.
#[derive(Debug, Clone)]
struct Cron {
    minute: Field,
    hour: Field,
    day: Field,
    month: Field,
    weekday: Field,
}

impl Cron {
    fn text(&self) -> String {
        [
            &self.minute,
            &self.hour,
            &self.day,
            &self.month,
            &self.weekday,
        ]
        .map(|f| f.text.as_str())
        .join(" ")
    }

    /// Whether it fires at `t` (UTC): minute, hour and month match, and the day: either
    /// day field when both are restricted (neither starts with `*`), else both.
    fn fires_at(&self, t: DateTime<Utc>) -> bool {
        let weekdays: BTreeSet<u32> = self.weekday.values.iter().map(|d| d % 7).collect();
        let dom = self.day.values.contains(&t.day());
        let dow = weekdays.contains(&t.weekday().num_days_from_sunday());
        let restricted = !self.day.text.starts_with('*') && !self.weekday.text.starts_with('*');
        let day = if restricted { dom || dow } else { dom && dow };
        t.second() == 0
            && self.minute.values.contains(&t.minute())
            && self.hour.values.contains(&t.hour())
            && self.month.values.contains(&t.month())
            && day
    }
}

/// A schedule whose day of month is at most the 28th, so it fires within a year;
/// `star_steps` allows `*/s` in the day fields.
fn cron(star_steps: bool) -> impl Strategy<Value = Cron> {
    (
        field(0, 0, 59, 59, true),
        field(0, 0, 23, 23, true),
        field(1, 1, 28, 31, star_steps),
        field(1, 1, 12, 12, true),
        field(0, 0, 7, 7, star_steps),
    )
        .prop_map(|(minute, hour, day, month, weekday)| Cron {
            minute,
            hour,
            day,
            month,
            weekday,
        })
}

/// An instant from 2024 to 2031, to the second.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (1_704_067_200i64..1_956_528_000).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
}

/// Checks `next_fire` against the model from `after`: later, a fire time, and no fire
/// time missed in between (looked at minute by minute over three days at most).
fn check_next_fire(c: &Cron, after: DateTime<Utc>) -> Result<(), TestCaseError> {
    let s: Schedule = c
        .text()
        .parse()
        .map_err(|e: ScheduleError| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(s.to_string(), c.text());
    let next = next_fire(&s, Tz::UTC, after);
    prop_assert!(next.is_some(), "{} never fires after {}", c.text(), after);
    let next = next.unwrap();
    prop_assert!(next > after);
    prop_assert!(c.fires_at(next), "{} does not fire at {}", c.text(), next);
    let mut t =
        DateTime::from_timestamp(after.timestamp() - after.timestamp() % 60 + 60, 0).unwrap();
    let horizon = after + chrono::Duration::days(3);
    while t < next && t < horizon {
        prop_assert!(
            !c.fires_at(t),
            "{} fires at {} before {}",
            c.text(),
            t,
            next
        );
        t += chrono::Duration::minutes(1);
    }
    Ok(())
}

/// When a daily `M H * * *` in `tz` fires on local date `d`: at H:M, at the first
/// occurrence when the clock goes back, at the end of the gap (03:00 in the zones used
/// here) when H:M does not happen that day.
fn daily_fire(tz: Tz, d: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    match tz.from_local_datetime(&d.and_hms_opt(h, m, 0).unwrap()) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => tz
            .from_local_datetime(&d.and_hms_opt(3, 0, 0).unwrap())
            .single()
            .unwrap()
            .with_timezone(&Utc),
    }
}

proptest! {
    #![proptest_config(cases(128))]

    /// `next_fire` agrees with POSIX cron read by hand: the first fire time strictly
    /// after the instant given. Day fields here are `*` or restricted without `*/s`.
    #[test]
    fn next_fire_is_the_first_time_cron_fires(c in cron(false), after in instant()) {
        check_next_fire(&c, after)?;
    }

    /// The same with `*/s` in the day fields (`0 7 */2 * *`: odd days only).
    #[test]
    fn next_fire_honours_steps_in_day_fields(c in cron(true), after in instant()) {
        check_next_fire(&c, after)?;
    }

    /// A daily schedule in a zone that changes its clocks fires once every local day, at
    /// its local time (or right after the gap when that time does not happen).
    #[test]
    fn a_daily_schedule_fires_every_local_day(
        h in 0..24u32,
        m in 0..60u32,
        zone in select(vec![chrono_tz::Europe::Berlin, chrono_tz::America::New_York]),
        after in instant(),
    ) {
        let s: Schedule = format!("{m} {h} * * *").parse().unwrap();
        let today = after.with_timezone(&zone).date_naive();
        let mut expected = daily_fire(zone, today, h, m);
        if expected <= after {
            expected = daily_fire(zone, today.succ_opt().unwrap(), h, m);
        }
        let mut at = after;
        for _ in 0..3 {
            let next = next_fire(&s, zone, at);
            prop_assert_eq!(next, Some(expected), "{} {} after {}", s, zone, at);
            let day = expected.with_timezone(&zone).date_naive();
            at = expected;
            expected = daily_fire(zone, day.succ_opt().unwrap(), h, m);
        }
    }

    /// Month and day names stand for their numbers, in any case.
    #[test]
    fn names_stand_for_numbers(
        months in (1..=12u32, 1..=12u32).prop_map(|(a, b)| (a.min(b), a.max(b))),
        day in 0..7u32,
        upper in any::<bool>(),
        after in instant(),
    ) {
        const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
        const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
        let case = |s: &str| if upper { s.to_uppercase() } else { s.to_string() };
        let named = format!(
            "30 6 * {}-{} {}",
            case(MONTHS[months.0 as usize - 1]),
            case(MONTHS[months.1 as usize - 1]),
            case(DAYS[day as usize])
        );
        let numbered = format!("30 6 * {}-{} {day}", months.0, months.1);
        let (named, numbered): (Schedule, Schedule) = (named.parse().unwrap(), numbered.parse().unwrap());
        prop_assert_eq!(next_fire(&named, Tz::UTC, after), next_fire(&numbered, Tz::UTC, after));
    }

    /// A schedule without five fields, with a value out of its field's range, a step of
    /// 0 or a range that runs backwards is refused, and says which field.
    #[test]
    fn a_malformed_schedule_is_refused(
        count in (0..10usize).prop_filter("not five", |n| *n != 5),
        at in 0..5usize,
        how in 0..3usize,
        over in 0..1000u32,
    ) {
        let words = vec!["*"; count].join(" ");
        prop_assert_eq!(words.parse::<Schedule>(), Err(ScheduleError::Fields(words.clone(), count)));

        const NAMES: [&str; 5] = ["minute", "hour", "day-of-month", "month", "day-of-week"];
        const MAX: [u32; 5] = [59, 23, 31, 12, 7];
        let bad = match how {
            0 => (MAX[at] + 1 + over).to_string(),
            1 => "*/0".to_string(),
            _ => format!("{}-{}", MAX[at], MAX[at] - 1),
        };
        let mut fields = ["*"; 5].map(str::to_string);
        fields[at] = bad;
        match fields.join(" ").parse::<Schedule>() {
            Err(ScheduleError::Field { field, .. }) => prop_assert_eq!(field, NAMES[at]),
            other => prop_assert!(false, "{:?} gave {:?}", fields, other),
        }
    }
}

#[test]
fn every_other_day_fires_every_other_day() {
    let s: Schedule = "0 7 */2 * *".parse().unwrap();
    // 2026-03-01 07:00 fired; the next is the 3rd, not the 2nd.
    let after = Utc.with_ymd_and_hms(2026, 3, 1, 7, 0, 0).unwrap();
    assert_eq!(
        next_fire(&s, Tz::UTC, after),
        Some(Utc.with_ymd_and_hms(2026, 3, 3, 7, 0, 0).unwrap())
    );
}

// ---------------------------------------------------------------------------------------
// Quiet hours (`quiet_hours = "22:00-07:00"`)
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(cases(256))]

    /// A window and its reverse share no instant and together cover the day; each reads
    /// back its own times.
    #[test]
    fn quiet_hours_and_their_reverse_split_the_day(
        from in 0..1440u32,
        until in 0..1440u32,
        at in instant(),
        blanks in any::<bool>(),
    ) {
        prop_assume!(from != until);
        let hhmm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
        let sep = if blanks { " - " } else { "-" };
        let quiet = QuietHours::parse(&format!("{}{sep}{}", hhmm(from), hhmm(until)), "UTC").unwrap();
        let reverse = QuietHours::parse(&format!("{}-{}", hhmm(until), hhmm(from)), "UTC").unwrap();
        prop_assert_eq!(quiet.from.format("%H:%M").to_string(), hhmm(from));
        prop_assert_eq!(quiet.until.format("%H:%M").to_string(), hhmm(until));
        prop_assert_ne!(quiet.contains(at), reverse.contains(at), "at {}", at);
        // The window starts at its first minute.
        let start = at.date_naive().and_hms_opt(from / 60, from % 60, 0).unwrap().and_utc();
        prop_assert!(quiet.contains(start));
    }

    /// A window that is not two times of day, or a zone that is not a zone, is refused.
    #[test]
    fn malformed_quiet_hours_are_refused(
        h in 24..100u32,
        m in 60..100u32,
        how in 0..4usize,
        word in "[a-z]{1,8}",
    ) {
        let (text, zone) = match how {
            0 => (format!("{h}:00-07:00"), "UTC".to_string()),
            1 => (format!("22:{m}-07:00"), "UTC".to_string()),
            2 => (format!("22:00{word}07:00"), "UTC".to_string()),
            _ => ("22:00-07:00".to_string(), format!("Mars/{word}")),
        };
        prop_assert!(QuietHours::parse(&text, &zone).is_err(), "{:?} in {:?}", text, zone);
    }
}
