//! The real bot on Discord (serenity), against a fake Discord on loopback: the REST API
//! over HTTPS with serenity's own rate limiter on, and the gateway websocket. Slash
//! commands, autocomplete, buttons, DMs, the ops channel's alerts, pairing requests and
//! briefings, end to end.

use std::time::Duration;

#[path = "common/sim_knob.rs"]
mod sim_knob;

use clawops::app::App;
use clawops::chat::discord::Reach;
use clawops::chat::discord::out::{InteractionOut, Kind};
use clawops::chat::recorder::Recorder;
use clawops::chat::{Message, Outbound, Replier};
use clawops::clock::Clock;
use clawops::config::Config;
use clawops::farm::discord_api::{APP_ID, FakeDiscord, Person, Posted, TOKEN};
use clawops::farm::llm_api::{FakeLlm, KEY, Reply};
use serde_json::json;
use sim_knob::knob;
use tokio_util::sync::CancellationToken;

const OPERATOR: u64 = 80_351_110_224_678_912;
const OTHER_OPERATOR: u64 = 80_351_110_224_678_913;
const STRANGER: u64 = 66_666_666_666_666_666;
/// Holds the guild role that grants operator; not in `[[operators]]`.
const ROLE_HOLDER: u64 = 55_555_555_555_555_555;
const GUILD: u64 = 1_200_000_000_000_000_001;
const ROLE: u64 = 1_250_000_000_000_000_001;
/// A guild role that grants viewer.
const VIEWERS: u64 = 1_250_000_000_000_000_002;
const OPS: u64 = 1_300_000_000_000_000_001;
const COMMANDS: u64 = 1_400_000_000_000_000_001;
const ELSEWHERE: u64 = 1_500_000_000_000_000_001;
const LIMIT: Duration = Duration::from_secs(30);

struct Bot {
    fake: FakeDiscord,
    app: App,
    _dir: tempfile::TempDir,
    /// Stops the surface when the test ends.
    _stopping: tokio_util::sync::DropGuard,
}

async fn start(step_time: &str, extra: &str) -> Bot {
    start_at(step_time, extra, Clock::system()).await
}

async fn start_at(step_time: &str, extra: &str, clock: Clock) -> Bot {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"
[store]
path = "{dir}/fleet.db"
[[operators]]
platform = "discord"
user_id = "{OPERATOR}"
role = "operator"
[[operators]]
platform = "discord"
user_id = "{OTHER_OPERATOR}"
role = "operator"
[discord]
token = "{TOKEN}"
application_id = "{APP_ID}"
guilds = ["{GUILD}"]
channels = ["{COMMANDS}", "{OPS}"]
[[discord.roles]]
role_id = "{ROLE}"
role = "operator"
[[discord.roles]]
role_id = "{VIEWERS}"
role = "viewer"
[[ops_channels]]
platform = "discord"
chat_id = "{OPS}"
[providers.sim]
boot_time = "0s"
step_time = "{step_time}"
{extra}
"#,
        dir = dir.path().display(),
    );
    let config = Config::parse(&toml, "test").unwrap();
    let stop = CancellationToken::new();
    let app = App::start(config, clock, stop.clone(), &Recorder::new())
        .await
        .unwrap();
    let reach = fake.reach();
    let surface = app.discord(reach).await.unwrap().unwrap();
    let s = stop.clone();
    tokio::spawn(async move { surface.run(s).await });
    fake.wait_ready(LIMIT).await;
    fake.wait_for(LIMIT, "the slash commands", |f| {
        (!f.commands().is_empty()).then_some(())
    })
    .await;
    Bot {
        fake,
        app,
        _dir: dir,
        _stopping: stop.drop_guard(),
    }
}

fn operator() -> Person {
    Person::new(OPERATOR, "op").in_guild(GUILD, &[])
}

fn text(name: &str, value: &str) -> serde_json::Value {
    json!({"name": name, "type": 3, "value": value})
}

/// Waits for a message in `channel` whose text holds `needle`.
async fn said(bot: &Bot, channel: u64, needle: &str) -> Posted {
    bot.fake
        .wait_for(LIMIT, needle, |f| f.find(channel, needle))
        .await
}

/// Waits for the message that answers interaction `id` in `channel`.
async fn answer_to(bot: &Bot, channel: u64, id: u64) -> Posted {
    bot.fake
        .wait_for(LIMIT, "the answer", |f| {
            f.messages(channel)
                .into_iter()
                .find(|m| m.interaction == Some(id))
        })
        .await
}

async fn deploy(bot: &Bot, name: &str) {
    bot.fake.slash(
        &operator(),
        COMMANDS,
        "deploy",
        json!([text("name", name), text("region", "nbg1")]),
    );
    said(bot, COMMANDS, &format!("{name} is ready")).await;
}

async fn status(app: &App, name: &str) -> String {
    app.store
        .instance(name)
        .await
        .unwrap()
        .unwrap()
        .status
        .as_str()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_is_registered_as_slash_commands_and_no_privileged_intent_is_asked() {
    let bot = start("0s", "").await;
    let commands = bot.fake.commands();
    assert_eq!(commands.len(), clawops::ops::catalogue().len());
    let deploy = commands.iter().find(|c| c["name"] == "deploy").unwrap();
    assert_eq!(deploy["options"][0]["name"], "name");
    assert_eq!(deploy["options"][0]["autocomplete"], true);
    let identify = bot.fake.identify().unwrap();
    // GUILDS (1) and DIRECT_MESSAGES (4096): no message-content or members intent.
    assert_eq!(identify["intents"], 4097, "{identify}");
    assert_eq!(identify["token"], "<masked>");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_is_deferred_then_its_progress_edits_one_message_and_ends_in_a_summary() {
    let bot = start("300ms", "").await;
    let id = bot.fake.slash(
        &operator(),
        COMMANDS,
        "deploy",
        json!([text("name", "alice-bot"), text("region", "nbg1")]),
    );
    let summary = said(&bot, COMMANDS, "alice-bot is ready").await;
    assert_eq!(bot.fake.answer(id), Some(5), "a change is deferred at once");
    let progress: Vec<Posted> = bot
        .fake
        .messages(COMMANDS)
        .into_iter()
        .filter(|m| m.text().contains("Deploying alice-bot"))
        .collect();
    assert_eq!(progress.len(), 1, "one progress message");
    let view = &progress[0];
    assert!(view.edits >= 2, "edited in place: {}", view.edits);
    assert!(!view.thinking, "the deferral was replaced");
    assert!(
        view.content.contains("✓ 11/11 Record the instance"),
        "{}",
        view.content
    );
    assert!(summary.id > view.id, "the summary comes after the progress");
    // Edits of one message are spaced as Discord allows.
    let edits: Vec<_> = bot.fake.calls("/messages/@original");
    for pair in edits.windows(2) {
        assert!(pair[1].at.duration_since(pair[0].at) >= Duration::from_millis(900));
    }
    assert_eq!(status(&bot.app, "alice-bot").await, "ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destroy_is_confirmed_by_its_button_and_only_by_the_one_who_asked() {
    let bot = start("0s", "").await;
    deploy(&bot, "bob-bot").await;
    bot.fake.slash(
        &operator(),
        COMMANDS,
        "destroy",
        json!([text("name", "bob-bot")]),
    );
    let ask = said(&bot, COMMANDS, "Destroy bob-bot").await;
    let buttons = ask.buttons();
    assert_eq!(buttons[0].0, "Confirm");
    assert_eq!(buttons[1].0, "Cancel");
    let confirm = buttons[0].1.clone();

    // Another operator presses it: refused where only they see it, nothing destroyed.
    let other = Person::new(OTHER_OPERATOR, "other").in_guild(GUILD, &[]);
    let press = bot.fake.press(&other, ask.id, &confirm);
    let refusal = answer_to(&bot, COMMANDS, press).await;
    assert!(refusal.ephemeral, "only the presser sees it");
    assert!(
        refusal.content.contains("belongs to someone else"),
        "{}",
        refusal.content
    );
    assert_eq!(status(&bot.app, "bob-bot").await, "ready");
    assert_eq!(bot.fake.message(ask.id).unwrap().buttons().len(), 2);

    // The one who asked presses: destroyed; the question says who decided, buttons gone.
    bot.fake.press(&operator(), ask.id, &confirm);
    said(&bot, COMMANDS, "Destroyed bob-bot").await;
    let decided = bot.fake.message(ask.id).unwrap();
    assert!(
        decided.content.contains("Confirmed by @op at"),
        "{}",
        decided.content
    );
    assert!(decided.buttons().is_empty());
    assert_eq!(status(&bot.app, "bob-bot").await, "destroyed");

    // A second press of the same button changes nothing and says so to the presser.
    let again = bot.fake.press(&operator(), ask.id, &confirm);
    let stale = answer_to(&bot, COMMANDS, again).await;
    assert!(stale.ephemeral);
    assert!(stale.content.contains("already used"), "{}", stale.content);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_is_refused_where_only_they_see_it_audited_once_and_offered_no_names() {
    let bot = start("0s", "").await;
    deploy(&bot, "alice-bot").await;
    let stranger = Person::new(STRANGER, "eve").in_guild(GUILD, &[]);
    let first = bot.fake.slash(&stranger, COMMANDS, "list", json!([]));
    let second = bot.fake.slash(&stranger, COMMANDS, "list", json!([]));
    for id in [first, second] {
        let refusal = answer_to(&bot, COMMANDS, id).await;
        assert!(refusal.ephemeral, "only the stranger sees it");
        assert!(!refusal.text().contains("alice-bot"), "{}", refusal.text());
    }
    let typed = bot
        .fake
        .autocomplete(&stranger, COMMANDS, "status", "name", "ali");
    bot.fake
        .wait_for(LIMIT, "the empty choices", |f| f.answer(typed))
        .await;
    assert!(
        bot.fake.choices(typed).is_empty(),
        "a stranger is offered nothing"
    );
    let offered = bot
        .fake
        .autocomplete(&operator(), COMMANDS, "status", "name", "ali");
    bot.fake
        .wait_for(LIMIT, "the choices", |f| f.answer(offered))
        .await;
    assert_eq!(bot.fake.choices(offered), ["alice-bot"]);
    // A DM from the stranger: one answer, then silence.
    bot.fake.dm(&Person::new(STRANGER, "eve"), "/list");
    let rows = bot.app.store.audit_tail(50).await.unwrap();
    let refusals = rows
        .iter()
        .filter(|r| r.actor == format!("discord:{STRANGER}"))
        .count();
    assert_eq!(refusals, 1, "one audit row for the stranger");
    assert_eq!(status(&bot.app, "alice-bot").await, "ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guild_role_makes_an_operator_in_the_guild_but_not_in_a_dm_or_another_channel() {
    let bot = start("0s", "").await;
    let holder = Person::new(ROLE_HOLDER, "rolly");
    bot.fake.slash(
        &holder.in_guild(GUILD, &[ROLE]),
        COMMANDS,
        "list",
        json!([]),
    );
    said(&bot, COMMANDS, "The fleet is empty").await;
    // Without the role, the same person is a stranger.
    let without = bot
        .fake
        .slash(&holder.in_guild(GUILD, &[]), COMMANDS, "list", json!([]));
    let refusal = answer_to(&bot, COMMANDS, without).await;
    assert!(refusal.ephemeral);
    // A channel not listed: the bot does not answer there, even for an operator.
    let outside = bot.fake.slash(&operator(), ELSEWHERE, "list", json!([]));
    let there = answer_to(&bot, ELSEWHERE, outside).await;
    assert!(there.ephemeral && there.content.contains("does not answer in this channel"));
    // A viewer's role reads but does not change the fleet.
    let viewer = holder.in_guild(GUILD, &[VIEWERS]);
    bot.fake.slash(
        &viewer,
        COMMANDS,
        "deploy",
        json!([text("name", "viewer-bot"), text("region", "nbg1")]),
    );
    said(&bot, COMMANDS, "Your role (viewer) may not run /deploy").await;
    assert!(
        bot.app
            .store
            .instance("viewer-bot")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dms_take_commands_and_free_text_and_a_long_answer_is_split_at_2000() {
    let llm = FakeLlm::start().await;
    let long = (0..120)
        .map(|i| format!("Line {i}: everything is *fine* with the_fleet."))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(long.chars().count() > 2500);
    llm.forever(Reply::Text(long.clone()));
    let extra = format!(
        "[llm]\nbase_url = \"{}\"\nmodel = \"fake-model\"\napi_key = \"{}\"\nmax_rounds = 2\ntimeout = \"10s\"\n",
        llm.base_url, KEY
    );
    let bot = start("0s", &extra).await;
    let me = Person::new(OPERATOR, "op");
    let dm = bot.fake.dm(&me, "/list");
    said(&bot, dm, "The fleet is empty").await;
    bot.fake.dm(&me, "how is the fleet?");
    said(&bot, dm, "Line 119").await;
    let parts: Vec<Posted> = bot
        .fake
        .messages(dm)
        .into_iter()
        .filter(|m| m.content.contains("Line "))
        .collect();
    assert!(parts.len() >= 2, "split: {}", parts.len());
    assert!(parts.iter().all(|m| m.content.chars().count() <= 2000));
    assert!(
        parts[0].content.contains("\\*fine\\* with the\\_fleet"),
        "markdown escaped"
    );
    let joined: String = parts
        .iter()
        .map(|m| m.content.replace('\\', ""))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(joined, long);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_waited_out_as_discord_asks_and_the_reply_arrives_once() {
    let bot = start("0s", "").await;
    let me = Person::new(OPERATOR, "op");
    bot.fake.rate_limit_next("/messages", 1.0);
    let dm = bot.fake.dm(&me, "/list");
    said(&bot, dm, "The fleet is empty").await;
    let calls = bot.fake.calls(&format!("/channels/{dm}/messages"));
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!((calls[0].status, calls[1].status), (429, 200));
    let waited = calls[1].at.duration_since(calls[0].at);
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}"
    );
    let answers = bot
        .fake
        .messages(dm)
        .into_iter()
        .filter(|m| m.text().contains("The fleet is empty"))
        .count();
    assert_eq!(answers, 1);
}

/// One health sweep and its alert pass, now.
async fn run_job(app: &App, kind: clawops::jobs::JobKind) -> String {
    let door = app.bot.door();
    let run = door
        .ctx()
        .jobs
        .claim(kind, chrono::Utc::now())
        .expect("the job is free");
    door.run_job(&run, "system").await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_in_the_ops_channel_has_buttons_whose_restart_brings_a_recovery_reply() {
    let bot = start("0s", "").await;
    deploy(&bot, "alice-bot").await;
    knob(&bot.app, "alice-bot", "gateway_down", true.into()).await;
    run_job(&bot.app, clawops::jobs::JobKind::HealthSweep).await;
    let said_ = run_job(&bot.app, clawops::jobs::JobKind::HealthSweep).await;
    assert!(said_.contains("1 alert sent"), "{said_}");
    let alert = said(&bot, OPS, "alice-bot is OFFLINE").await;
    let labels: Vec<String> = alert.buttons().into_iter().map(|(l, _)| l).collect();
    assert_eq!(labels, ["Acknowledge", "Silence 1h", "Restart"]);
    let restart = alert.buttons()[2].1.clone();
    let other = Person::new(OTHER_OPERATOR, "other").in_guild(GUILD, &[]);
    bot.fake.press(&other, alert.id, &restart);
    said(&bot, OPS, "Restarted alice-bot").await;
    run_job(&bot.app, clawops::jobs::JobKind::HealthSweep).await;
    run_job(&bot.app, clawops::jobs::JobKind::HealthSweep).await;
    let recovery = said(&bot, OPS, "alice-bot recovered at").await;
    assert_eq!(
        recovery.reply_to,
        Some(alert.id),
        "the recovery replies to the alert"
    );
    let now = bot.fake.message(alert.id).unwrap();
    assert!(now.text().contains("Recovered at"), "{}", now.text());
    assert!(
        now.buttons().is_empty(),
        "the buttons gave way to the outcome"
    );
    let rows = bot.app.store.audit_tail(20).await.unwrap();
    assert!(
        rows.iter()
            .any(|r| r.actor == format!("discord:{OTHER_OPERATOR}")
                && r.action.starts_with("/restart alice-bot (alert")),
        "the press is audited as the presser's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pairing_request_arrives_in_the_ops_channel_and_approve_lets_the_user_in() {
    let bot = start("0s", "").await;
    deploy(&bot, "alice-bot").await;
    let request = json!({
        "requestId": "r-1", "channel": "telegram", "accountId": "default",
        "senderId": "555", "senderLabel": "telegramUserId",
        "metadata": {"username": "bob", "firstName": "Bob"},
        "createdAt": chrono::Utc::now().to_rfc3339(),
        "expiresAt": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339(),
        "notifySupported": true,
    });
    knob(&bot.app, "alice-bot", "pairing", json!([request])).await;
    run_job(&bot.app, clawops::jobs::JobKind::PairingPoll).await;
    let ask = said(&bot, OPS, "@bob").await;
    let labels: Vec<String> = ask.buttons().into_iter().map(|(l, _)| l).collect();
    assert_eq!(labels, ["Approve", "Reject"]);
    bot.fake.press(&operator(), ask.id, &ask.buttons()[0].1);
    bot.fake
        .wait_for(LIMIT, "the decided request", |f| {
            f.message(ask.id)
                .filter(|m| m.buttons().is_empty() && m.text().contains("Approved"))
        })
        .await;
}

fn chart_of(chart: &Posted) {
    let (name, png) = &chart.files[0];
    assert!(name.ends_with(".png"), "{name}");
    assert_eq!(
        chart.embeds[0]["image"]["url"],
        format!("attachment://{name}"),
        "the embed shows the attached chart"
    );
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let info = decoder.read_info().unwrap().info().clone();
    assert_eq!((info.width, info.height), (800, 480));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_morning_briefing_arrives_in_the_ops_channel_as_an_embed_with_its_chart() {
    // A Tuesday, 07:01 UTC: the ops channel's morning briefing is due.
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-08T07:01:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let clock = Clock::manual(at);
    let bot = start_at("0s", "", clock.clone()).await;
    deploy(&bot, "alice-bot").await;
    let door = bot.app.bot.door();
    let run = door
        .ctx()
        .jobs
        .claim(clawops::jobs::JobKind::Briefings, clock.now())
        .expect("the job is free");
    door.run_job(&run, "system").await.unwrap();
    let briefing = said(&bot, OPS, "Morning briefing").await;
    assert!(!briefing.embeds.is_empty(), "an embed: {briefing:?}");
    let chart = bot
        .fake
        .wait_for(LIMIT, "the chart", |f| {
            f.messages(OPS).into_iter().find(|m| !m.files.is_empty())
        })
        .await;
    chart_of(&chart);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brief_answers_the_command_with_the_briefing_and_its_chart_attached() {
    let bot = start("0s", "").await;
    deploy(&bot, "alice-bot").await;
    bot.fake.slash(&operator(), COMMANDS, "brief", json!([]));
    said(&bot, COMMANDS, "Morning briefing").await;
    let chart = bot
        .fake
        .wait_for(LIMIT, "the chart", |f| {
            f.messages(COMMANDS)
                .into_iter()
                .find(|m| !m.files.is_empty())
        })
        .await;
    chart_of(&chart);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_not_ready_within_2s_is_deferred_and_then_replaces_the_thinking() {
    // No bot on the gateway: the test answers the interaction itself, slowly.
    let fake = FakeDiscord::start().await;
    let config = Config::parse(
        &format!(
            "[store]\npath = \"x.db\"\n[[operators]]\nplatform = \"discord\"\nuser_id = \"{OPERATOR}\"\nrole = \"owner\"\n[discord]\ntoken = \"{TOKEN}\"\napplication_id = \"{APP_ID}\"\n[providers.sim]\n"
        ),
        "t",
    )
    .unwrap();
    let reach = fake.reach();
    let http = std::sync::Arc::new(
        clawops::chat::discord::rest(config.discord.as_ref().unwrap(), &reach).unwrap(),
    );
    let id = fake.slash(&operator(), COMMANDS, "health", json!([]));
    let out = InteractionOut::new(
        http,
        id.into(),
        fake.token(id).unwrap(),
        Kind::Command,
        COMMANDS.into(),
    );
    let _timer = out.defer_later();
    fake.wait_for(LIMIT, "the deferral", |f| f.answer(id)).await;
    assert_eq!(fake.answer(id), Some(5));
    let thinking = fake.messages(COMMANDS);
    assert!(thinking.len() == 1 && thinking[0].thinking);
    out.send(Outbound::Message(Message::text("all 3 healthy")))
        .await;
    let answer = fake.message(thinking[0].id).unwrap();
    assert_eq!(answer.content, "all 3 healthy");
    assert!(!answer.thinking);
    out.send(Outbound::Message(Message::text("and one more")))
        .await;
    assert_eq!(fake.messages(COMMANDS).len(), 2, "then a follow-up");
    let late = fake.calls("/callback");
    assert_eq!(late.len(), 1, "answered once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_named_as_such_and_an_unreachable_discord_as_that() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let toml = |token: &str| {
        format!(
            "[store]\npath = \"{}/fleet.db\"\n[[operators]]\nplatform = \"discord\"\nuser_id = \"{OPERATOR}\"\nrole = \"owner\"\n[discord]\ntoken = \"{token}\"\napplication_id = \"{APP_ID}\"\n[providers.sim]\n",
            dir.path().display()
        )
    };
    let app = App::start(
        Config::parse(&toml("MTEw.wrong.token-0001"), "t").unwrap(),
        Clock::system(),
        CancellationToken::new(),
        &Recorder::new(),
    )
    .await
    .unwrap();
    let reach = fake.reach();
    let surface = app.discord(reach).await.unwrap().unwrap();
    let err = surface.run(CancellationToken::new()).await.unwrap_err();
    assert!(err.to_string().contains("refused the bot token"), "{err}");
    assert!(!err.to_string().contains("wrong.token"), "{err}");
    // Nothing listens here: unreachable, not a refused token.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let nowhere = Reach::Loopback {
        addr,
        root_pem: fake.root_pem.clone(),
    };
    let surface = app.discord(nowhere).await.unwrap().unwrap();
    let err = surface.run(CancellationToken::new()).await.unwrap_err();
    assert!(err.to_string().contains("cannot reach Discord"), "{err}");
}
