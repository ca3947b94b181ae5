//! Real hosts, end to end: the real OpenSSH server on loopback (started by
//! `scripts/test-host up`, which `scripts/test` runs), a throwaway Unix user as the host,
//! and the real `openclaw` npm package installed on it by clawops' deploy.
//!
//! One test walks the whole life of an instance, because each step needs the previous
//! one's host state: a deploy that fails at a chosen step and resumes from it, then
//! status, restart, logs, config, suspend/resume, backup, update, restore, destroy, and
//! finally a host key change that the next contact refuses. After the deploy (which the
//! rest needs) the walk is in phases that each run even when one before failed, so the
//! first failure does not hide the others. It prints the figures (deploy time,
//! per-command latency) for the notes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clawops::app::App;
use clawops::chat::recorder::Recorder;
use clawops::chat::{Inbound, Outbound};
use clawops::clock::Clock;
use clawops::config::{Config, Platform};
use clawops::gateway::{GatewayError, Rpc};
use clawops::ops::{Actor, Outcome};
use clawops::remote::ssh::{Credential, Session, SshError, Target};
use tokio_util::sync::CancellationToken;

#[path = "common/fake_telegram.rs"]
mod fake_telegram;
use fake_telegram::FakeTelegram;

/// The Telegram bot token given to the instance (the one the fake Bot API accepts).
const BOT_TOKEN: &str = fake_telegram::TOKEN;

#[path = "common/host_env.rs"]
mod host_env;
#[path = "common/phases.rs"]
mod phases;
use phases::Phases;
#[path = "common/s3.rs"]
mod s3;
use host_env::HostEnv;

fn operator() -> Actor {
    Actor::Person {
        platform: Platform::Telegram,
        user_id: "111".into(),
        display: "op".into(),
    }
}

/// Deploys onto a host you have are the owner's.
fn owner() -> Actor {
    Actor::Person {
        platform: Platform::Telegram,
        user_id: "999".into(),
        display: "owner".into(),
    }
}

struct Fx {
    app: App,
    out: Recorder,
    _dir: tempfile::TempDir,
}

impl Fx {
    /// Sends `text` as the operator; returns every message it produced, as plain text.
    async fn say(&self, text: &str) -> String {
        self.say_as(operator(), text).await
    }

    async fn say_as(&self, actor: Actor, text: &str) -> String {
        self.app
            .bot
            .handle(
                Inbound::Text {
                    actor,
                    text: text.into(),
                },
                &self.out,
            )
            .await;
        plain(self.out.take())
    }

    /// Sends `text` as `actor`, which must ask; presses Confirm and returns the outcome.
    async fn ask_and_press(&self, actor: &Actor, text: &str) -> Outcome {
        self.app
            .bot
            .handle(
                Inbound::Text {
                    actor: actor.clone(),
                    text: text.into(),
                },
                &self.out,
            )
            .await;
        let sent = self.out.take();
        let id = sent
            .iter()
            .find_map(|o| match o {
                Outbound::Buttons { buttons, .. } => buttons
                    .iter()
                    .find(|b| b.label.contains("Confirm"))
                    .map(|b| b.data.trim_start_matches("cf:").to_string()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{text} asked for no confirmation: {}", plain(sent.clone())));
        let outcome = self.app.bot.door().press(actor, &id, true, &self.out).await;
        self.out.take();
        outcome
    }

    /// Like [`Fx::ask_and_press`]; what the action said, whether it ran or failed.
    async fn pressed_as(&self, actor: Actor, text: &str) -> String {
        self.ask_and_press(&actor, text).await.message().plain()
    }

    /// Sends `text` as the operator, which must ask for a confirmation, and presses Confirm.
    async fn confirmed(&self, text: &str) -> String {
        self.confirmed_as(operator(), text).await
    }

    /// Like [`Fx::ask_and_press`]; the action must run.
    async fn confirmed_as(&self, actor: Actor, text: &str) -> String {
        match self.ask_and_press(&actor, text).await {
            Outcome::Done(m) => m.plain(),
            Outcome::Failed(m) | Outcome::Refused(m) => panic!("{text} failed: {}", m.plain()),
            Outcome::Confirm { message, .. } => panic!("{text} asked again: {}", message.plain()),
            Outcome::Offer { message, .. } => message.plain(),
        }
    }

    async fn steps(&self, name: &str) -> Vec<clawops::store::StepRow> {
        let deploy = self.app.store.latest_deploy(name).await.unwrap().unwrap();
        self.app.store.deploy_steps(deploy.id).await.unwrap()
    }
}

fn plain(sent: Vec<Outbound>) -> String {
    sent.iter()
        .map(|o| match o {
            Outbound::Message(m) => m.plain(),
            Outbound::Buttons { message, .. } => message.plain(),
            Outbound::Progress(p) => format!("[progress {:?}]", p.finished),
            Outbound::Photo(p) => format!("[photo] {}", p.caption),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A process's CPU time so far, in clock ticks (1/100 s), from `/proc/PID/stat`.
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is the 14th field.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

fn home_of(user: &str) -> PathBuf {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let line = passwd
        .lines()
        .find(|l| l.starts_with(&format!("{user}:")))
        .unwrap_or_else(|| panic!("no user {user}: run scripts/test-host up"));
    PathBuf::from(line.split(':').nth(5).unwrap())
}

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )
    .is_ok()
}

fn seconds(a: &Option<String>, b: &Option<String>) -> f64 {
    let parse = |s: &Option<String>| {
        chrono::DateTime::parse_from_rfc3339(s.as_deref().unwrap())
            .unwrap()
            .timestamp_millis()
    };
    (parse(b) - parse(a)) as f64 / 1000.0
}

/// Writes a row into the gateway's state database every 5 ms for four seconds (as the
/// service user); prints how many.
const WRITER: &str = r#"export PATH=$HOME/.clawops/node/bin:$PATH; node -e '
const { DatabaseSync } = require("node:sqlite");
const db = new DatabaseSync(process.env.HOME + "/.openclaw/state/openclaw.sqlite");
db.exec("PRAGMA busy_timeout = 5000; CREATE TABLE IF NOT EXISTS clawops_drill (n INTEGER, pad TEXT)");
const insert = db.prepare("INSERT INTO clawops_drill VALUES (?, ?)");
const end = Date.now() + 4000;
let n = 0;
const pause = new Int32Array(new SharedArrayBuffer(4));
while (Date.now() < end) { insert.run(n++, "x".repeat(2000)); Atomics.wait(pause, 0, 0, 5); }
db.close();
console.log(n);
'"#;

/// SQLite's own check of the gateway's state database (as the service user).
const INTEGRITY: &str = r#"export PATH=$HOME/.clawops/node/bin:$PATH; node -e '
const { DatabaseSync } = require("node:sqlite");
const db = new DatabaseSync(process.env.HOME + "/.openclaw/state/openclaw.sqlite", { readOnly: true });
console.log(db.prepare("PRAGMA integrity_check").get().integrity_check);
'"#;

async fn start(env: &HostEnv, port: u16, extra: &str) -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"
[store]
path = "{dir}/fleet.db"
[[operators]]
platform = "telegram"
user_id = "111"
role = "operator"
[[operators]]
platform = "telegram"
user_id = "999"
role = "owner"
[deploy]
provider = "ssh"
region = "{ssh}"
openclaw_version = "{openclaw}"
node_source = "npm"
node_version = "{node}"
npm_version = "{npm}"
npm_registry = "{registry}"
gateway_port = {port}
models = ["openai/gpt-4.1-mini", "anthropic/claude-sonnet-4-5"]
[providers.ssh]
bootstrap_key_file = "{key}"
bootstrap_hosts = ["127.0.0.1"]
[heal]
mode = "heal"
[[ops_channels]]
platform = "telegram"
chat_id = -100900
gets = ["pairing"]
{extra}
"#,
        dir = dir.path().display(),
        openclaw = env.get("CLAWOPS_TEST_OPENCLAW_VERSION"),
        node = env.get("CLAWOPS_TEST_NODE_VERSION"),
        npm = env.get("CLAWOPS_TEST_NPM_VERSION"),
        registry = env.get("CLAWOPS_TEST_NPM_REGISTRY"),
        key = env.get("CLAWOPS_TEST_BOOTSTRAP_KEY"),
        ssh = env.get("CLAWOPS_TEST_SSH"),
    );
    let app = App::start(
        Config::parse(&toml, "test").unwrap(),
        Clock::system(),
        CancellationToken::new(),
        &Recorder::new(),
    )
    .await
    .unwrap();
    Fx {
        app,
        out: Recorder::new(),
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_host_is_deployed_operated_and_removed() {
    let env = HostEnv::load();
    let ssh = env.get("CLAWOPS_TEST_SSH").to_string();
    let version = env.get("CLAWOPS_TEST_OPENCLAW_VERSION").to_string();
    let home = home_of(env.get("CLAWOPS_TEST_USER"));
    let port = free_port();
    // Backups go off-host too, to a real S3-compatible server on loopback.
    let bucket = s3::S3::start().await;
    let fx = start(&env, port, &bucket.config()).await;
    let mut phases = Phases::default();

    phases
        .run("first contact by password", async {
            // First contact may also be by password; a wrong one is told apart from a refusal.
            let target = Target::parse(&ssh).unwrap();
            let password = Credential::Password(env.get("CLAWOPS_TEST_PASSWORD").to_string());
            let session = Session::connect(&target, &password, None).await.unwrap();
            let who = session
                .run("id -un", None, Duration::from_secs(10))
                .await
                .unwrap();
            assert_eq!(who.stdout_text().trim(), env.get("CLAWOPS_TEST_USER"));
            session.close().await;
            let wrong = Credential::Password("not-the-password".into());
            let refused = Session::connect(&target, &wrong, None).await.unwrap_err();
            assert!(matches!(refused, SshError::AuthFailed { .. }), "{refused}");
        })
        .await;

    // A deploy onto a host asks the owner first; then it fails at the step chosen by a
    // broken version, with the reason and the way to look by hand; nothing is destroyed.
    let said = fx
        .pressed_as(
            owner(),
            &format!("/deploy e2e-bot {ssh} --openclaw 0.0.0-no-such-version"),
        )
        .await;
    assert!(
        said.contains("failed at step 7/11 (install-openclaw)"),
        "{said}"
    );
    assert!(
        said.contains("Look by hand: clawops key e2e-bot && ssh -i"),
        "{said}"
    );
    assert!(said.contains("/deploy e2e-bot --resume"), "{said}");
    let failed = fx.steps("e2e-bot").await;
    let states: Vec<&str> = failed
        .iter()
        .map(|s| {
            if s.state.as_str() == "skipped" {
                "done"
            } else {
                s.state.as_str()
            }
        })
        .collect();
    assert_eq!(
        states,
        [
            "done", "done", "done", "done", "done", "done", "failed", "pending", "pending",
            "pending", "pending"
        ]
    );

    // Fix the parameter and resume: the steps already done are not redone.
    let started = Instant::now();
    // The host key is pinned now: the resume asks nothing more.
    let said = fx
        .say_as(
            owner(),
            &format!("/deploy e2e-bot --resume --openclaw {version}"),
        )
        .await;
    let resumed_in = started.elapsed();
    assert!(said.contains("✓ e2e-bot is ready"), "{said}");
    assert!(said.contains("5 steps run, 6 already done"), "{said}");
    let done = fx.steps("e2e-bot").await;
    for (before, after) in failed.iter().zip(&done).take(6) {
        assert_eq!(
            before.finished_at, after.finished_at,
            "{} was redone",
            before.step
        );
        assert_eq!(after.attempts, 1, "{} ran twice", after.step);
    }
    assert!(done.iter().all(|s| s.state.finished()), "{done:?}");
    let mut total = 0.0;
    let mut installs = 0.0;
    for s in &done {
        let secs = seconds(&s.started_at, &s.finished_at);
        total += secs;
        if s.step == "install-node" || s.step == "install-openclaw" {
            installs += secs;
        }
        println!("figure: step {:<18} {secs:>6.1}s", s.step);
    }
    println!(
        "figure: deploy to a ready gateway: {total:.1}s with installs, {:.1}s without (resume alone {:.1}s)",
        total - installs,
        resumed_in.as_secs_f64()
    );
    // What the phases below share; from here on each phase runs even when one before it
    // failed, and the test lists every failed phase at the end.
    let on_disk = std::fs::read_to_string(home.join(".openclaw/openclaw.json")).unwrap();
    let token =
        serde_json::from_str::<serde_json::Value>(&on_disk).unwrap()["gateway"]["auth"]["token"]
            .as_str()
            .unwrap()
            .to_string();
    let addr = format!("127.0.0.1:{port}");

    phases
        .run("the gateway listens on loopback only", async {
            // The gateway is up, on loopback only, and its /readyz answers through the tunnel.
            let ss = std::process::Command::new("ss")
                .args(["-ltnH", &format!("sport = :{port}")])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            let locals: Vec<&str> = ss
                .lines()
                .filter_map(|l| l.split_whitespace().nth(3))
                .collect();
            assert!(!locals.is_empty(), "nothing listens on {port}");
            assert!(
                locals
                    .iter()
                    .all(|a| a.starts_with("127.0.0.1:") || a.starts_with("[::1]:")),
                "{ss}"
            );
            let said = fx.say("/status e2e-bot").await;
            assert!(said.contains("e2e-bot — HEALTHY"), "{said}");
            assert!(said.contains(&format!("OpenClaw {version}")), "{said}");
        })
        .await;

    phases
        .run("RPC against the real gateway", async {
            // The RPC client against the real gateway (here reachable on loopback directly; the
            // commands above and below reach it through the SSH tunnel).
            let refused = Rpc::connect(&addr, "not-the-token").await;
            assert!(
                matches!(refused, Err(GatewayError::Refused(_))),
                "{refused:?}"
            );
            let mut rpc = Rpc::connect(&addr, &token).await.unwrap();
            assert_eq!(rpc.server_version.as_deref(), Some(version.as_str()));
            assert!(rpc.health().await.unwrap().ok);
            assert_eq!(
                rpc.status().await.unwrap().runtime_version.as_deref(),
                Some(version.as_str())
            );
            assert!(!rpc.logs_tail(5).await.unwrap().lines.is_empty());
            let config = rpc.config().await.unwrap();
            assert_eq!(config.source_config["gateway"]["bind"], "loopback");
            let pairing = rpc.pairing_list("telegram").await;
            println!("pairing list without a Telegram channel: {pairing:?}");
            rpc.close().await;
        })
        .await;

    phases
        .run("restart and logs", async {
            let t = Instant::now();
            let said = fx.say("/restart e2e-bot").await;
            println!("figure: /restart {:.1}s", t.elapsed().as_secs_f64());
            assert!(said.contains("✓ Restarted e2e-bot"), "{said}");
            assert!(said.contains("HEALTHY"), "{said}");

            let t = Instant::now();
            let said = fx.say("/logs e2e-bot 30").await;
            println!("figure: /logs {:.2}s", t.elapsed().as_secs_f64());
            assert!(said.contains("e2e-bot — last"), "{said}");
            let t = Instant::now();
            fx.say("/logs e2e-bot 30").await;
            println!("figure: /logs (second) {:.2}s", t.elapsed().as_secs_f64());
        })
        .await;

    phases
        .run("two sweeps over the kept session", async {
            // The sweep reuses the SSH session the commands above opened: no new login.
            let log = PathBuf::from(env.get("CLAWOPS_TEST_HOST_KEY")).with_file_name("sshd.log");
            let logins = || {
                std::fs::read_to_string(&log)
                    .unwrap_or_default()
                    .matches("Accepted publickey")
                    .count()
            };
            fx.say("/status e2e-bot").await;
            let before = logins();
            for _ in 0..2 {
                let t = Instant::now();
                let said = fx.say("/jobs run health-sweep").await;
                println!(
                    "figure: one sweep of the real host {:.2}s",
                    t.elapsed().as_secs_f64()
                );
                assert!(
                    said.contains("1 probed") && said.contains("1 HEALTHY"),
                    "{said}"
                );
            }
            assert_eq!(logins(), before, "the sweeps logged in again");
            let said = fx.say("/health e2e-bot").await;
            assert!(
                said.contains("e2e-bot — HEALTHY") && said.contains("2 readings"),
                "{said}"
            );
            // clawops' own restarts are planned: the service counts none.
            assert!(
                said.contains(
                    "Restarts of the gateway by its service: 0 so far, 0 in the last 2 h"
                ),
                "{said}"
            );
        })
        .await;

    phases
        .run("figures: host CPU of one probe beside one CLI health call", async {
            // Figures only (no timed assertion): the CPU the host spends on the sweep's one
            // exec, and on one `openclaw health --json` (a Node start), as the user.
            let target = Target::parse(&ssh).unwrap();
            let password = Credential::Password(env.get("CLAWOPS_TEST_PASSWORD").to_string());
            let session = Session::connect(&target, &password, None).await.unwrap();
            let script = format!(
                "{}\n{}",
                include_str!("../src/remote/scripts/prelude.sh"),
                include_str!("../src/remote/scripts/probe.sh")
            );
            let cpu = |out: &str| -> f64 {
                out.split_whitespace()
                    .filter_map(|v| v.parse::<f64>().ok())
                    .sum()
            };
            let probe = session
                .run(
                    "bash -c '{ TIMEFORMAT=\"%3U %3S\"; time bash -s >/dev/null 2>&1; } 2>&1'",
                    Some(script.as_bytes()),
                    Duration::from_secs(60),
                )
                .await
                .unwrap();
            let cli = session
                .run(
                    "bash -c '{ TIMEFORMAT=\"%3U %3S\"; read -r T; export PATH=$HOME/.clawops/node/bin:$HOME/.clawops/openclaw/bin:$PATH; time OPENCLAW_GATEWAY_TOKEN=$T openclaw health --json >/dev/null 2>&1; } 2>&1'",
                    Some(format!("{token}\n").as_bytes()),
                    Duration::from_secs(120),
                )
                .await
                .unwrap();
            session.close().await;
            println!(
                "figure: host CPU per probe exec {:.3}s, per `openclaw health --json` {:.3}s",
                cpu(&probe.stdout_text()),
                cpu(&cli.stdout_text())
            );
        })
        .await;

    phases
        .run("config", async {
            // Config: secrets masked; a value OpenClaw rejects leaves the previous file in place.
            let said = fx.say("/config e2e-bot get gateway.auth").await;
            assert!(said.contains("••••"), "{said}");
            let on_disk = std::fs::read_to_string(home.join(".openclaw/openclaw.json")).unwrap();
            assert!(!said.contains(&token), "{said}");
            let said = fx.say("/config e2e-bot set logging.level 42").await;
            assert!(said.contains("rejects that config"), "{said}");
            assert_eq!(
                std::fs::read_to_string(home.join(".openclaw/openclaw.json")).unwrap(),
                on_disk
            );
            let said = fx.say("/config e2e-bot set logging.level debug").await;
            assert!(
                said.contains("✓ e2e-bot: logging.level = \"debug\""),
                "{said}"
            );

            // The model failover chain from [deploy] models reached the gateway's config.
            let said = fx.say("/config e2e-bot get agents.defaults.model").await;
            assert!(
                said.contains("\"primary\": \"openai/gpt-4.1-mini\"")
                    && said.contains("anthropic/claude-sonnet-4-5"),
                "{said}"
            );
        })
        .await;

    phases
        .run("the instance's own Telegram bot", async {
            // The instance's own Telegram bot: its token is kept sealed, reaches the gateway with
            // dmPolicy pairing, and is masked when shown; the gateway then talks to the (fake) Bot
            // API and answers the pairing list over RPC.
            let telegram = FakeTelegram::start().await;
            let said = fx
                .say(&format!(
                    "/config e2e-bot set channels.telegram.apiRoot {}",
                    telegram.url
                ))
                .await;
            assert!(
                said.contains("✓ e2e-bot: channels.telegram.apiRoot"),
                "{said}"
            );
            let said = fx
                .say(&format!(
                    "/config e2e-bot set channels.telegram.botToken {BOT_TOKEN}"
                ))
                .await;
            assert!(said.contains("channels.telegram.botToken = ••••"), "{said}");
            assert!(!said.contains(BOT_TOKEN), "{said}");
            let said = fx.say("/config e2e-bot get channels.telegram").await;
            assert!(
                said.contains("\"dmPolicy\": \"pairing\"") && said.contains("••••"),
                "{said}"
            );
            assert!(!said.contains(BOT_TOKEN), "{said}");
            telegram
                .wait_until(Duration::from_secs(90), "the gateway's getMe", |calls| {
                    calls.iter().any(|c| c.method.eq_ignore_ascii_case("getMe"))
                })
                .await;
            let mut rpc = Rpc::connect(&addr, &token).await.unwrap();
            let pairing = rpc.pairing_list("telegram").await.unwrap();
            assert!(pairing.requests.is_empty(), "{pairing:?}");
            let channels = rpc.channels_status().await.unwrap();
            println!("figure: channels.status with a polling Telegram channel: {channels}");
            rpc.close().await;
            // A sweep reads the channel over RPC: polling, so nothing is stopped.
            let said = fx.say("/jobs run health-sweep").await;
            assert!(
                said.contains("1 probed") && said.contains("1 HEALTHY"),
                "{said}"
            );
            // An end user asks to pair: the child answers with a code, the poll posts the
            // request once, an operator's Approve goes to the child over the RPC, and the
            // child tells the end user.
            let posts = std::sync::Arc::new(clawops::chat::recorder::Postings::new());
            fx.app
                .bot
                .door()
                .ctx()
                .postboxes
                .attach(Platform::Telegram, posts.clone());
            let asks = |c: &fake_telegram::Call, needle: &str| {
                c.method == "sendmessage"
                    && c.body["chat_id"].to_string().contains("4242")
                    && c.body["text"].as_str().is_some_and(|t| t.contains(needle))
            };
            telegram.text_from(4242, "hello, bot");
            telegram
                .wait_until(
                    Duration::from_secs(90),
                    "the child's pairing code",
                    |calls| calls.iter().any(|c| asks(c, "")),
                )
                .await;
            let started = Instant::now();
            let said = fx.say("/jobs run pairing-poll").await;
            println!(
                "figure: pairing poll of the real host over RPC: {:.2}s",
                started.elapsed().as_secs_f64()
            );
            assert!(said.contains("1 new request,"), "{said}");
            let posted = posts.take();
            assert_eq!(posted.len(), 1, "{posted:?}");
            assert!(
                posted[0].text().contains("🔑 e2e-bot:") && posted[0].text().contains("4242"),
                "{}",
                posted[0].text()
            );
            let clawops::chat::recorder::Posted::Post {
                out: Outbound::Buttons { buttons, .. },
                ..
            } = &posted[0]
            else {
                panic!("{posted:?}")
            };
            let outcome = fx
                .app
                .bot
                .press(&operator(), &buttons[0].data, &Recorder::new())
                .await;
            assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
            telegram
                .wait_until(
                    Duration::from_secs(60),
                    "the child's approval notice",
                    |calls| calls.iter().any(|c| asks(c, "approved")),
                )
                .await;
            let mut rpc = Rpc::connect(&addr, &token).await.unwrap();
            let pairing = rpc.pairing_list("telegram").await.unwrap();
            assert!(pairing.requests.is_empty(), "{pairing:?}");
            rpc.close().await;
            assert!(
                posts
                    .take()
                    .iter()
                    .any(|p| p.text().contains("✓ Approved by telegram:111")),
                "the request's message says who decided"
            );
            // The approved sender is a real end user now, counted from OpenClaw's own
            // state by the next sweep, and the bot's owner (OpenClaw made the first
            // approved sender its command owner).
            let started = Instant::now();
            let said = fx.say("/jobs run health-sweep").await;
            println!(
                "figure: a sweep of the real host that counts its end users: {:.2}s ({said})",
                started.elapsed().as_secs_f64()
            );
            let row = fx.app.store.instance("e2e-bot").await.unwrap().unwrap();
            assert_eq!(
                (row.end_users, row.owner.as_deref(), row.users_unknown.as_deref()),
                (1, Some("telegram:4242"), None),
                "{row:?}"
            );
            // /send reaches the owner through the child's own bot.
            let said = fx.say("/send e2e-bot Your assistant restarts at 22:00.").await;
            assert!(said.contains("✓ Sent to 1 of 1 owners"), "{said}");
            telegram
                .wait_until(
                    Duration::from_secs(60),
                    "the owner's message from the child",
                    |calls| calls.iter().any(|c| asks(c, "restarts at 22:00")),
                )
                .await;
            // The channel broken on purpose behind clawops' back (disabled with
            // OpenClaw's own CLI): /repair probes, runs the doctor, puts the channel back,
            // restarts and probes again; the command owner OpenClaw wrote stays.
            let user = env.get("CLAWOPS_TEST_USER");
            let broke = std::process::Command::new("su")
                .args([
                    "-s",
                    "/bin/bash",
                    user,
                    "-c",
                    "export PATH=$HOME/.clawops/node/bin:$HOME/.clawops/openclaw/bin:$PATH; openclaw config set channels.telegram.enabled false",
                ])
                .output()
                .unwrap();
            assert!(
                broke.status.success(),
                "{}",
                String::from_utf8_lossy(&broke.stderr)
            );
            let started = Instant::now();
            let said = fx.say("/repair e2e-bot").await;
            println!(
                "figure: /repair of the real host's channel: {:.1}s",
                started.elapsed().as_secs_f64()
            );
            assert!(said.contains("✓ e2e-bot's channel is repaired"), "{said}");
            assert!(said.contains("put back: channels.telegram.enabled"), "{said}");
            assert!(!said.contains(BOT_TOKEN), "{said}");
            let said = fx.say("/config e2e-bot get channels.telegram.enabled").await;
            assert!(said.contains("true"), "{said}");
            let said = fx.say("/config e2e-bot get commands.ownerAllowFrom").await;
            assert!(said.contains("telegram:4242"), "{said}");
            let mut rpc = Rpc::connect(&addr, &token).await.unwrap();
            let channels = rpc.channels_status().await.unwrap();
            rpc.close().await;
            assert!(
                clawops::gateway::stopped_channels(&channels).is_empty(),
                "{channels}"
            );
            // Host CPU: the gateway's share of one RPC poll, beside one CLI call.

            let pid = std::fs::read_to_string(home.join(".clawops/gateway.pid"))
                .unwrap_or_default()
                .trim()
                .to_string();
            let before = cpu_ticks(&pid);
            fx.say("/jobs run pairing-poll").await;
            let rpc_ms = (cpu_ticks(&pid) - before) * 10;
            let cli = std::process::Command::new("su")
                .args([
                    "-s",
                    "/bin/bash",
                    user,
                    "-c",
                    "export PATH=$HOME/.clawops/node/bin:$HOME/.clawops/openclaw/bin:$PATH; TIMEFORMAT='%U %S'; time (openclaw pairing list telegram --json >/dev/null 2>&1)",
                ])
                .output()
                .unwrap();
            let cli_cpu: f64 = String::from_utf8_lossy(&cli.stderr)
                .split_whitespace()
                .filter_map(|v| v.parse::<f64>().ok())
                .sum();
            println!(
                "figure: host CPU per pairing poll: RPC {rpc_ms} ms (the gateway's share), CLI `pairing list` {:.0} ms",
                cli_cpu * 1000.0
            );
            let db = std::fs::read(fx._dir.path().join("fleet.db")).unwrap_or_default();
            let wal = std::fs::read(fx._dir.path().join("fleet.db-wal")).unwrap_or_default();
            for bytes in [&db, &wal] {
                assert!(
                    !bytes
                        .windows(BOT_TOKEN.len())
                        .any(|w| w == BOT_TOKEN.as_bytes())
                );
            }
        })
        .await;

    phases
        .run("a hung gateway is healed by the ladder", async {
            // SIGSTOP: the process lives (its supervisor sees nothing wrong) but answers
            // nothing. A sweep sees it hung, the ladder kills and starts it.
            let pid = std::fs::read_to_string(home.join(".clawops/gateway.pid"))
                .expect("the supervisor's gateway pid")
                .trim()
                .to_string();
            let started = std::time::Instant::now();
            let stopped = std::process::Command::new("kill")
                .args(["-STOP", &pid])
                .status()
                .unwrap();
            assert!(stopped.success());
            let said = fx.say("/jobs run health-sweep").await;
            assert!(
                said.contains("1 OFFLINE") && said.contains("1 heal(s) started"),
                "{said}"
            );
            let seen = started.elapsed();
            fx.app.bot.door().ctx().heals.settled().await;
            let healed = started.elapsed();
            let row = fx.app.store.instance("e2e-bot").await.unwrap().unwrap();
            assert_eq!(row.health.as_deref(), Some("HEALTHY"), "{row:?}");
            let (run, steps) = fx.app.store.last_heal("e2e-bot").await.unwrap().unwrap();
            assert_eq!(run.outcome.as_deref(), Some("healed"), "{run:?} {steps:?}");
            assert!(run.reasons_before.contains("gateway hung"), "{run:?}");
            assert_eq!(steps.len(), 1, "{steps:?}");
            assert_eq!(steps[0].rung, "restart-service");
            assert!(
                !std::path::Path::new(&format!("/proc/{pid}")).exists(),
                "the hung process is gone"
            );
            println!(
                "figure: hung gateway (SIGSTOP) seen by a sweep in {:.1}s, HEALTHY again after {:.1}s",
                seen.as_secs_f64(),
                healed.as_secs_f64()
            );
        })
        .await;

    phases
        .run("suspend and resume", async {
            // The kill switch: stopped, data kept; then started again.
            let said = fx.say("/suspend e2e-bot").await;
            assert!(said.contains("⏸ e2e-bot suspended"), "{said}");
            assert!(!listening(port), "the gateway still listens after /suspend");
            assert!(home.join(".openclaw/openclaw.json").exists());
            let said = fx.say("/resume e2e-bot").await;
            assert!(
                said.contains("▶ e2e-bot resumed") && said.contains("HEALTHY"),
                "{said}"
            );
        })
        .await;

    phases
        .run("backup", async {
            // Backup while something writes the gateway's state database the whole time:
            // the archive holds a consistent copy (VACUUM INTO), sealed, here and in the
            // bucket.
            let user = env.get("CLAWOPS_TEST_USER");
            let writer = std::process::Command::new("su")
                .args(["-s", "/bin/bash", user, "-c", WRITER])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let said = fx.say("/backup e2e-bot").await;
            let wrote = writer.wait_with_output().unwrap();
            assert!(
                wrote.status.success(),
                "{}",
                String::from_utf8_lossy(&wrote.stderr)
            );
            let rows: u64 = String::from_utf8_lossy(&wrote.stdout)
                .trim()
                .parse()
                .unwrap();
            println!("figure: {rows} rows written to the state database during the backup");
            assert!(rows > 0);
            assert!(said.contains("✓ Backup 1 of e2e-bot"), "{said}");
            assert!(
                said.contains("Off-host copy: clawops/instances/e2e-bot/"),
                "{said}"
            );
            let backup = fx.app.store.backup(1).await.unwrap().unwrap();
            let sealed = std::fs::read(backup.file.as_deref().unwrap()).unwrap();
            assert!(
                sealed.starts_with(b"CV2\0"),
                "sealed in chunks as it streamed"
            );
            assert!(!sealed.windows(token.len()).any(|w| w == token.as_bytes()));
        })
        .await;

    phases
        .run("update", async {
            // Update to the same version: nothing to install, but the health check still runs.
            let said = fx.say(&format!("/update e2e-bot {version}")).await;
            assert!(
                said.contains(&format!("✓ e2e-bot runs OpenClaw {version}")),
                "{said}"
            );
            assert!(said.contains("Health after the update: HEALTHY"), "{said}");
        })
        .await;

    phases
        .run("restore", async {
            // Restore asks first, then puts the backup back and starts the gateway: from
            // the bucket, as this machine's copy is gone.
            let kept = fx.app.store.backup(1).await.unwrap().unwrap();
            std::fs::remove_file(kept.file.as_deref().unwrap()).unwrap();
            let done = fx.confirmed("/restore e2e-bot 1").await;
            assert!(
                done.contains("✓ Backup 1 of e2e-bot restored onto e2e-bot"),
                "{done}"
            );
            assert!(done.contains("HEALTHY"), "{done}");
            // The restored database is whole.
            let user = env.get("CLAWOPS_TEST_USER");
            let check = std::process::Command::new("su")
                .args(["-s", "/bin/bash", user, "-c", INTEGRITY])
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&check.stdout).trim(),
                "ok",
                "{}",
                String::from_utf8_lossy(&check.stderr)
            );
        })
        .await;

    phases
        .run("destroy", async {
            // Destroy asks first, then removes the service, the data and the instance's key.
            let done = fx.confirmed("/destroy e2e-bot").await;
            assert!(done.contains("✓ Destroyed e2e-bot"), "{done}");
            assert!(!listening(port), "the gateway still listens after /destroy");
            assert!(!home.join(".openclaw").exists() && !home.join(".clawops").exists());
            let keys = std::fs::read_to_string(home.join(".ssh/authorized_keys")).unwrap();
            assert_eq!(
                keys.lines().count(),
                1,
                "only the bootstrap key is left: {keys}"
            );
        })
        .await;

    phases
        .run("a changed host key is refused", async {
            // The host key changes: the next contact refuses and names both fingerprints.
            let host_key = PathBuf::from(env.get("CLAWOPS_TEST_HOST_KEY"));
            let _ = std::fs::remove_file(&host_key);
            let _ = std::fs::remove_file(host_key.with_extension("pub"));
            let made = std::process::Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(&host_key)
                .status()
                .unwrap();
            assert!(made.success());
            let pid = std::fs::read_to_string(env.get("CLAWOPS_TEST_SSHD_PID_FILE")).unwrap();
            let hup = std::process::Command::new("kill")
                .args(["-HUP", pid.trim()])
                .status()
                .unwrap();
            assert!(hup.success());
            // The next deploy there reads the new key before asking anything, and refuses.
            let mut said = fx
                .say_as(owner(), &format!("/deploy other-bot {ssh}"))
                .await;
            for _ in 0..20 {
                if said.contains("host key changed") {
                    break;
                }
                // sshd was still re-reading its keys; ask again.
                tokio::time::sleep(Duration::from_millis(250)).await;
                said = fx
                    .say_as(owner(), &format!("/deploy other-bot {ssh}"))
                    .await;
            }
            assert!(said.contains("host key changed"), "{said}");
            assert!(
                said.contains("pinned SHA256:") && said.contains("offered SHA256:"),
                "{said}"
            );
            assert!(said.contains("Nothing was sent"), "{said}");
            assert!(fx.app.store.instance("other-bot").await.unwrap().is_none());

            // Only the owner may forget the pin, after a confirmation; the next contact pins anew.
            let said = fx.say(&format!("/unpin {ssh}")).await;
            assert!(said.contains("owner"), "{said}");
            let owner = Actor::Person {
                platform: Platform::Telegram,
                user_id: "999".into(),
                display: "owner".into(),
            };
            let done = fx.confirmed_as(owner, &format!("/unpin {ssh}")).await;
            assert!(done.contains("✓ Forgot the host key SHA256:"), "{done}");
            assert!(fx.app.store.host_key(&ssh).await.unwrap().is_none());
        })
        .await;
    phases.finish();
}
