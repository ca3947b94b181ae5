//! One-token onboarding on Telegram: `/deploy NAME REGION --telegram-token TOKEN` checks
//! the customer's bot with `getMe` before anything is bought, refuses a bot another
//! instance carries, keeps the token sealed, sets the channel to pairing, deletes the
//! operator's message that held the token, and keeps the token out of every reply and
//! audit row.

#[path = "common/fake_telegram.rs"]
mod fake_telegram;

use std::time::Duration;

use clawops::app::App;
use clawops::chat::recorder::Recorder;
use clawops::clock::Clock;
use clawops::config::Config;
use fake_telegram::{Call, FakeTelegram, TOKEN};
use tokio_util::sync::CancellationToken;

const OPERATOR: i64 = 111;
const VIEWER: i64 = 222;
const LIMIT: Duration = Duration::from_secs(30);
const ALICE_BOT: &str = "7001234567:AAHcustomerBotTokenForAliceBot0123456789";

struct Bot {
    fake: FakeTelegram,
    app: App,
    _dir: tempfile::TempDir,
    _stopping: tokio_util::sync::DropGuard,
}

async fn start() -> Bot {
    let fake = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"
[store]
path = "{dir}/fleet.db"
[[operators]]
platform = "telegram"
user_id = "{OPERATOR}"
role = "operator"
[[operators]]
platform = "telegram"
user_id = "{VIEWER}"
role = "viewer"
[telegram]
token = "{TOKEN}"
api_url = "{url}"
allowed_chats = [-100500]
[providers.sim]
boot_time = "0s"
step_time = "0s"
"#,
        dir = dir.path().display(),
        url = fake.url
    );
    let stop = CancellationToken::new();
    let app = App::start(
        Config::parse(&toml, "test").unwrap(),
        Clock::system(),
        stop.clone(),
        &Recorder::new(),
    )
    .await
    .unwrap();
    let tg = app.telegram().unwrap().unwrap();
    let s = stop.clone();
    tokio::spawn(async move { tg.run(s).await });
    fake.wait_until(LIMIT, "the command menu", |c| {
        c.iter().any(|c| c.method == "setmycommands")
    })
    .await;
    Bot {
        fake,
        app,
        _dir: dir,
        _stopping: stop.drop_guard(),
    }
}

fn sent_with(calls: &[Call], needle: &str) -> bool {
    calls
        .iter()
        .any(|c| c.method == "sendmessage" && c.body.to_string().contains(needle))
}

async fn said(bot: &Bot, needle: &str) {
    bot.fake
        .wait_until(LIMIT, needle, |c| sent_with(c, needle))
        .await;
}

/// The operator sends `/deploy NAME nbg1 --telegram-token TOKEN`.
fn deploy_with(bot: &Bot, name: &str, token: &str) {
    bot.fake.text_from(
        OPERATOR,
        &format!("/deploy {name} nbg1 --telegram-token {token}"),
    );
}

/// Nothing the bot said and no audit row holds `token`.
async fn nowhere(bot: &Bot, token: &str) {
    let secret = token.split_once(':').unwrap().1;
    for call in bot.fake.calls("sendmessage") {
        assert!(!call.body.to_string().contains(secret), "{}", call.body);
    }
    for row in bot.app.store.audit_tail(100).await.unwrap() {
        let text = format!("{} {} {}", row.action, row.actor, row.detail);
        assert!(!text.contains(secret), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_token_telegram_knows_deploys_a_channel_set_to_pairing_and_its_message_is_deleted() {
    let bot = start().await;
    bot.fake.add_bot(ALICE_BOT, "alice_bot");
    deploy_with(&bot, "alice-bot", ALICE_BOT);
    said(&bot, "alice-bot is ready").await;
    said(&bot, "DM @alice_bot to pair").await;
    said(&bot, "I deleted your message with the bot token").await;
    assert_eq!(
        bot.fake.deleted().len(),
        1,
        "the message with the token is gone"
    );
    let checked = bot.fake.calls("getme (another bot)");
    // Asked when the command came in, and again as the deploy starts (another instance
    // may have taken the bot in between).
    assert_eq!(checked.len(), 2, "getMe for the customer's bot");
    let host = sim_host(&bot.app, "alice-bot").await;
    assert_eq!(
        host["config"]["channels"]["telegram"]["botToken"],
        ALICE_BOT
    );
    assert_eq!(
        host["config"]["channels"]["telegram"]["dmPolicy"],
        "pairing"
    );
    assert!(
        bot.app
            .store
            .instance_secret("alice-bot", "telegram-token")
            .await
            .unwrap()
            .is_some(),
        "kept sealed"
    );
    let rows = bot.app.store.audit_tail(10).await.unwrap();
    assert!(
        rows.iter()
            .any(|r| r.action.contains("--telegram-token ••••")),
        "the audit row names the token masked"
    );
    nowhere(&bot, ALICE_BOT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_token_telegram_refuses_buys_nothing() {
    let bot = start().await;
    let unknown = "7009999999:AAHnobodyKnowsThisTokenAtAllAtAll012345";
    deploy_with(&bot, "bob-bot", unknown);
    said(&bot, "Telegram does not know this bot token").await;
    assert!(
        bot.app.store.instance("bob-bot").await.unwrap().is_none(),
        "nothing bought"
    );
    assert_eq!(bot.fake.deleted().len(), 1);
    nowhere(&bot, unknown).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_another_instance_carries_is_refused_before_anything_is_bought() {
    let bot = start().await;
    bot.fake.add_bot(ALICE_BOT, "alice_bot");
    deploy_with(&bot, "alice-bot", ALICE_BOT);
    said(&bot, "alice-bot is ready").await;
    deploy_with(&bot, "carol-bot", ALICE_BOT);
    said(&bot, "@alice_bot is already the bot of alice-bot").await;
    assert!(bot.app.store.instance("carol-bot").await.unwrap().is_none());
    nowhere(&bot, ALICE_BOT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_token_is_refused_without_being_echoed() {
    let bot = start().await;
    let typo = "7001234567:AAHshort";
    deploy_with(&bot, "dan-bot", typo);
    said(&bot, "copy it again from @BotFather").await;
    assert!(!sent_with(&bot.fake.calls("sendmessage"), "AAHshort"));
    assert!(bot.app.store.instance("dan-bot").await.unwrap().is_none());
}

async fn sim_host(app: &App, name: &str) -> serde_json::Value {
    let row = app.store.instance(name).await.unwrap().unwrap();
    let id: i64 = row.server_id.unwrap().parse().unwrap();
    let server = app.store.sim_server(id).await.unwrap().unwrap();
    serde_json::from_str(&server.host).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_may_come_as_the_next_dm_and_is_deleted_there_too() {
    let bot = start().await;
    bot.fake.add_bot(ALICE_BOT, "alice_bot");
    bot.fake
        .text_from(OPERATOR, "/deploy alice-bot nbg1 --telegram-token");
    said(
        &bot,
        "Send the bot token from @BotFather as your next message",
    )
    .await;
    assert!(bot.app.store.instance("alice-bot").await.unwrap().is_none());
    bot.fake.text_from(OPERATOR, ALICE_BOT);
    said(&bot, "DM @alice_bot to pair").await;
    assert_eq!(
        bot.fake.deleted().len(),
        1,
        "the message with the token is gone"
    );
    // In a group the bot does not wait for a token: everyone would read it.
    bot.fake
        .text_in(-100500, OPERATOR, "/deploy bob-bot nbg1 --telegram-token");
    said(&bot, "Give the bot token in a DM with me").await;
    nowhere(&bot, ALICE_BOT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_cannot_onboard_and_telegram_is_not_even_asked() {
    let bot = start().await;
    bot.fake.add_bot(ALICE_BOT, "alice_bot");
    bot.fake.text_from(
        VIEWER,
        &format!("/deploy alice-bot nbg1 --telegram-token {ALICE_BOT}"),
    );
    said(&bot, "Your role (viewer) may not run /deploy").await;
    said(&bot, "I deleted your message with the bot token").await;
    assert!(bot.fake.calls("getme (another bot)").is_empty());
    assert!(bot.app.store.instance("alice-bot").await.unwrap().is_none());
    nowhere(&bot, ALICE_BOT).await;
}
