//! The real bot on Telegram, against a fake Bot API on loopback that checks what the real
//! one checks (token, chat id, length, HTML).

#[path = "common/fake_telegram.rs"]
mod fake_telegram;
#[path = "common/sim_knob.rs"]
mod sim_knob;
use sim_knob::knob;

use std::time::Duration;

use clawops::app::App;
use clawops::chat::recorder::Recorder;
use clawops::clock::Clock;
use clawops::config::Config;
use fake_telegram::{Call, FakeTelegram, Fault, TOKEN};
use tokio_util::sync::CancellationToken;

const OPERATOR: i64 = 111;
const OTHER_OPERATOR: i64 = 112;
const STRANGER: i64 = 999;
const LIMIT: Duration = Duration::from_secs(30);

struct Bot {
    fake: FakeTelegram,
    app: App,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
    /// Stops the surface when the test ends.
    _stopping: tokio_util::sync::DropGuard,
}

async fn start(step_time: &str) -> Bot {
    let fake = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    start_on(fake, dir, step_time).await
}

/// The bot on `fake`, with its store in `dir` (kept across a restart).
async fn start_on(fake: FakeTelegram, dir: tempfile::TempDir, step_time: &str) -> Bot {
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
user_id = "{OTHER_OPERATOR}"
role = "operator"
[telegram]
token = "{TOKEN}"
api_url = "{url}"
allowed_chats = [-100500]
[[ops_channels]]
platform = "telegram"
chat_id = {OPERATOR}
[providers.sim]
boot_time = "0s"
step_time = "{step_time}"
"#,
        dir = dir.path().display(),
        url = fake.url
    );
    let config = Config::parse(&toml, "test").unwrap();
    let stop = CancellationToken::new();
    let app = App::start(config, Clock::system(), stop.clone(), &Recorder::new())
        .await
        .unwrap();
    let tg = app.telegram().unwrap().unwrap();
    let s = stop.clone();
    tokio::spawn(async move { tg.run(s).await });
    fake.wait_until(LIMIT, "the command menu", |c| has(c, "setmycommands", ""))
        .await;
    Bot {
        fake,
        app,
        _stopping: stop.clone().drop_guard(),
        stop,
        _dir: dir,
    }
}

/// Whether some call of `method` has `needle` in its body.
fn has(calls: &[Call], method: &str, needle: &str) -> bool {
    calls
        .iter()
        .any(|c| c.method == method && c.body.to_string().contains(needle))
}

/// The newest message sent with `needle` in its body.
fn last_sent(fake: &FakeTelegram, needle: &str) -> Call {
    fake.calls("sendmessage")
        .into_iter()
        .rev()
        .find(|c| c.body.to_string().contains(needle))
        .unwrap_or_else(|| panic!("no message with {needle:?}"))
}

fn count(calls: &[Call], method: &str, needle: &str) -> usize {
    calls
        .iter()
        .filter(|c| c.method == method && c.body.to_string().contains(needle))
        .count()
}

#[tokio::test]
async fn a_deploy_shows_progress_in_one_edited_message() {
    let bot = start("150ms").await;
    let menu = bot.fake.calls("setmycommands");
    assert!(menu[0].body.to_string().contains("\"command\":\"deploy\""));
    assert!(!bot.fake.calls("deletewebhook").is_empty());

    bot.fake.text_from(OPERATOR, "/deploy alice-bot nbg1");
    bot.fake
        .wait_until(LIMIT, "the deploy summary", |c| {
            has(c, "sendmessage", "alice-bot is ready")
        })
        .await;
    let sends = bot.fake.calls("sendmessage");
    assert_eq!(
        count(&sends, "sendmessage", "Deploying alice-bot"),
        1,
        "one progress message"
    );
    let id = bot
        .fake
        .find_message(OPERATOR, "Deploying alice-bot")
        .unwrap();
    let edits = bot.fake.calls("editmessagetext");
    assert!(!edits.is_empty(), "progress is edited in place");
    assert!(edits.iter().all(|e| e.body["message_id"] == id));
    // Edits are spaced as Telegram allows, and the final state is shown.
    for pair in edits.windows(2) {
        assert!(pair[1].at.duration_since(pair[0].at) >= Duration::from_millis(900));
    }
    let last = bot.fake.message(OPERATOR, id).unwrap();
    assert!(last.contains("✓ 11/11 Record the instance"), "{last}");
    assert!(!last.contains('…'), "{last}");
}

#[tokio::test]
async fn a_destroy_is_confirmed_by_its_button_and_only_by_its_owner() {
    let bot = start("0s").await;
    bot.fake.text_from(OPERATOR, "/deploy bob-bot");
    bot.fake
        .wait_until(LIMIT, "bob-bot ready", |c| {
            has(c, "sendmessage", "bob-bot is ready")
        })
        .await;
    bot.fake.text_from(OPERATOR, "/destroy bob-bot");
    bot.fake
        .wait_until(LIMIT, "the confirmation", |c| has(c, "sendmessage", "cf:"))
        .await;
    let ask = last_sent(&bot.fake, "cf:");
    let keyboard = &ask.body["reply_markup"]["inline_keyboard"][0];
    let confirm = keyboard[0]["callback_data"].as_str().unwrap().to_string();
    assert_eq!(keyboard[0]["text"], "Confirm");
    assert_eq!(keyboard[1]["text"], "Cancel");
    let id = bot.fake.find_message(OPERATOR, "Destroy bob-bot").unwrap();

    // Another operator, and a stranger, press it: a toast each, nothing destroyed.
    bot.fake.press(OPERATOR, OTHER_OPERATOR, id, &confirm);
    bot.fake.press(OPERATOR, STRANGER, id, &confirm);
    bot.fake
        .wait_until(LIMIT, "two toasts", |c| {
            count(c, "answercallbackquery", "\"text\"") == 2
        })
        .await;
    let toasts = bot.fake.calls("answercallbackquery");
    assert!(toasts.iter().any(|t| {
        t.body["text"]
            .as_str()
            .unwrap()
            .contains("belongs to someone else")
    }));
    assert!(toasts.iter().any(|t| {
        t.body["text"]
            .as_str()
            .unwrap()
            .contains("private operations bot")
    }));
    assert_eq!(
        bot.app
            .store
            .instance("bob-bot")
            .await
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "ready"
    );

    // The owner presses: destroyed, and the message says who decided.
    bot.fake.press(OPERATOR, OPERATOR, id, &confirm);
    bot.fake
        .wait_until(LIMIT, "the destroy", |c| {
            has(c, "sendmessage", "Destroyed bob-bot")
        })
        .await;
    let edited = bot.fake.message(OPERATOR, id).unwrap();
    assert!(edited.contains("Confirmed by @user111 at"), "{edited}");
    assert_eq!(
        bot.app
            .store
            .instance("bob-bot")
            .await
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "destroyed"
    );

    // A stale second press is refused with a toast.
    bot.fake.press(OPERATOR, OPERATOR, id, &confirm);
    bot.fake
        .wait_until(LIMIT, "the stale toast", |c| {
            has(c, "answercallbackquery", "already used")
        })
        .await;
}

#[tokio::test]
async fn a_stranger_gets_one_refusal_and_no_data() {
    let bot = start("0s").await;
    bot.fake.text_from(OPERATOR, "/deploy alice-bot");
    bot.fake
        .wait_until(LIMIT, "alice ready", |c| {
            has(c, "sendmessage", "alice-bot is ready")
        })
        .await;
    bot.fake.text_from(STRANGER, "/list");
    bot.fake.text_from(STRANGER, "/status alice-bot");
    bot.fake.text_from(OPERATOR, "/help");
    bot.fake
        .wait_until(LIMIT, "the refusal and the help", |c| {
            has(c, "sendmessage", "private operations bot")
                && has(c, "sendmessage", "clawops commands")
        })
        .await;
    let to_stranger: Vec<Call> = bot
        .fake
        .calls("sendmessage")
        .into_iter()
        .filter(|c| c.body["chat_id"] == STRANGER)
        .collect();
    assert_eq!(to_stranger.len(), 1, "{to_stranger:?}");
    assert!(!to_stranger[0].body.to_string().contains("alice"));
    assert!(to_stranger[0].body.get("reply_markup").is_none());
    let refused = bot.app.store.audit_tail(50).await.unwrap();
    assert!(
        refused
            .iter()
            .any(|r| r.actor == "telegram:999" && r.event == "refused")
    );
}

#[tokio::test]
async fn user_text_is_escaped_and_long_replies_are_split() {
    let bot = start("0s").await;
    // The grammar echoes an unknown command's name: it must arrive as text, not markup.
    bot.fake.text_from(OPERATOR, "/<b>boom</b>&x");
    bot.fake
        .wait_until(LIMIT, "the unknown-command reply", |c| {
            has(c, "sendmessage", "Unknown command")
        })
        .await;
    let reply = bot.fake.calls("sendmessage").pop().unwrap();
    assert!(
        reply.body["text"]
            .as_str()
            .unwrap()
            .contains("/&lt;b&gt;boom&lt;/b&gt;&amp;x"),
        "{}",
        reply.body
    );

    // A fleet of 80 makes a /list of about 5,000 characters: two well-formed messages.
    let door = bot.app.bot.door().clone();
    let out = Recorder::new();
    for i in 0..80 {
        let action = clawops::command::parse(&format!("/deploy fleet-member-{i:03}")).unwrap();
        door.submit(&clawops::ops::Actor::console(), action, &out)
            .await;
    }
    let before = bot.fake.calls("sendmessage").len();
    bot.fake.text_from(OPERATOR, "/list");
    bot.fake
        .wait_until(LIMIT, "the list", |c| has(c, "sendmessage", "80 instances"))
        .await;
    let parts: Vec<Call> = bot
        .fake
        .calls("sendmessage")
        .into_iter()
        .skip(before)
        .collect();
    let total: usize = parts
        .iter()
        .map(|p| p.body["text"].as_str().unwrap().chars().count())
        .sum();
    assert!(
        total > 4096,
        "the list is long enough to need splitting: {total}"
    );
    assert_eq!(parts.len(), 2, "split in two");
    for p in &parts {
        let text = p.body["text"].as_str().unwrap();
        assert!(text.chars().count() <= 4096);
        fake_telegram::check_html(text).unwrap();
    }
}

#[tokio::test]
async fn a_429_is_retried_after_the_time_telegram_asks() {
    let bot = start("0s").await;
    bot.fake.fail_next("sendmessage", Fault::RetryAfter(1));
    // teloxide itself waits 10 s after a 5xx before it reports it; then we retry.
    bot.fake.fail_next("sendmessage", Fault::ServerError);
    bot.fake.text_from(OPERATOR, "/help");
    bot.fake
        .wait_until(LIMIT, "three tries of the reply", |c| {
            count(c, "sendmessage", "clawops commands") == 3
        })
        .await;
    let tries = bot.fake.calls("sendmessage");
    assert!(
        tries[1].at.duration_since(tries[0].at) >= Duration::from_secs(1),
        "retry_after honoured"
    );
    assert!(
        bot.fake
            .find_message(OPERATOR, "clawops commands")
            .is_some()
    );
}

#[tokio::test]
async fn groups_work_only_when_allowed_and_take_cmd_at_botname() {
    let bot = start("0s").await;
    bot.fake.text_in(-100999, OPERATOR, "/help");
    bot.fake
        .text_in(-100500, OPERATOR, "/help@clawops_test_bot");
    bot.fake
        .wait_until(LIMIT, "the help in the allowed group", |c| {
            c.iter()
                .any(|c| c.method == "sendmessage" && c.body["chat_id"] == -100500)
        })
        .await;
    // A later round trip, so that a reply to the other group would have been sent by now.
    bot.fake.text_in(-100500, OPERATOR, "/list");
    bot.fake
        .wait_until(LIMIT, "the list in the allowed group", |c| {
            c.iter().any(|c| {
                c.method == "sendmessage"
                    && c.body["chat_id"] == -100500
                    && c.body.to_string().contains("fleet is empty")
            })
        })
        .await;
    let to_other_group = bot
        .fake
        .calls("sendmessage")
        .iter()
        .filter(|c| c.body["chat_id"] == -100999)
        .count();
    assert_eq!(to_other_group, 0, "a group not in allowed_chats is ignored");
    assert!(bot.fake.find_message(-100500, "clawops commands").is_some());
}

#[tokio::test]
async fn hardening_20_a_strangers_presses_are_refused_once_then_ignored() {
    let bot = start("0s").await;
    bot.fake.text_from(OPERATOR, "/deploy bob-bot");
    bot.fake
        .wait_until(LIMIT, "bob-bot ready", |c| {
            has(c, "sendmessage", "bob-bot is ready")
        })
        .await;
    bot.fake.text_from(OPERATOR, "/destroy bob-bot");
    bot.fake
        .wait_until(LIMIT, "the confirmation", |c| has(c, "sendmessage", "cf:"))
        .await;
    let ask = last_sent(&bot.fake, "cf:");
    let confirm = ask.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        .as_str()
        .unwrap()
        .to_string();
    let id = bot.fake.find_message(OPERATOR, "Destroy bob-bot").unwrap();
    for _ in 0..5 {
        bot.fake.press(OPERATOR, STRANGER, id, &confirm);
    }
    // Every press is answered (Telegram wants that), one with the refusal.
    bot.fake
        .wait_until(LIMIT, "five answers", |c| {
            count(c, "answercallbackquery", "") == 5
        })
        .await;
    assert_eq!(
        count(
            &bot.fake.calls("answercallbackquery"),
            "answercallbackquery",
            "private operations bot"
        ),
        1
    );
    let rows = bot.app.store.audit_tail(100).await.unwrap();
    let refusals = rows
        .iter()
        .filter(|r| r.actor == "telegram:999" && r.event == "refused")
        .count();
    assert_eq!(refusals, 1, "{rows:?}");
    assert_eq!(
        bot.app
            .store
            .instance("bob-bot")
            .await
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "ready"
    );
}

#[tokio::test]
async fn hardening_26_an_update_handled_before_a_crash_is_not_handled_again() {
    let fake = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let first = start_on(fake.clone(), dir, "0s").await;
    fake.text_from(OPERATOR, "/deploy bob-bot");
    fake.wait_until(LIMIT, "bob-bot ready", |c| {
        has(c, "sendmessage", "bob-bot is ready")
    })
    .await;
    // clawops stops, and Telegram had not been told the update was handled: it delivers
    // it again to the next process.
    let Bot {
        app,
        stop,
        _dir: dir,
        ..
    } = first;
    stop.cancel();
    app.stop(Duration::from_secs(30)).await;
    fake.redeliver(1);
    assert_eq!(dir.path(), path);
    let second = start_on(fake.clone(), dir, "0s").await;
    fake.text_from(OPERATOR, "/list");
    fake.wait_until(LIMIT, "the list", |c| has(c, "sendmessage", "bob-bot"))
        .await;
    let asked = second
        .app
        .store
        .audit_tail(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action.starts_with("/deploy bob-bot") && r.event == "requested")
        .count();
    assert_eq!(asked, 1, "the deploy was handled again");
    assert!(!has(
        &fake.calls("sendmessage"),
        "sendmessage",
        "already exists"
    ));
}

#[tokio::test]
async fn hardening_23_a_stop_waits_for_running_steps_and_records_the_rest() {
    let bot = start("300ms").await;
    bot.fake.text_from(OPERATOR, "/deploy slow-bot");
    // Wait until its deploy is under way.
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let running = bot
            .app
            .store
            .latest_deploy("slow-bot")
            .await
            .unwrap()
            .is_some_and(|d| d.state.as_str() == "running");
        if running {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the deploy never started"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let Bot {
        app,
        stop,
        fake,
        _dir: dir,
        ..
    } = bot;
    stop.cancel();
    app.stop(Duration::from_secs(30)).await;
    // The update's task reached its step boundary and recorded the deploy interrupted
    // before the stop returned; the operator was told how to resume.
    let store = clawops::store::Store::open_read_only(&dir.path().join("fleet.db"))
        .await
        .unwrap();
    let deploy = store.latest_deploy("slow-bot").await.unwrap().unwrap();
    assert_eq!(deploy.state.as_str(), "interrupted");
    let steps = store.deploy_steps(deploy.id).await.unwrap();
    assert!(
        steps.iter().all(|s| s.state.as_str() != "running"),
        "{steps:?}"
    );
    assert!(has(
        &fake.calls("sendmessage"),
        "sendmessage",
        "/deploy slow-bot --resume"
    ));
    store.close().await;
}

/// One health sweep and its alert pass, now.
async fn sweep(app: &App) -> String {
    let door = app.bot.door();
    let run = door
        .ctx()
        .jobs
        .claim(clawops::jobs::JobKind::HealthSweep, chrono::Utc::now())
        .expect("no sweep is running");
    door.run_job(&run, "system").await.unwrap()
}

#[tokio::test]
async fn a_gateway_down_is_an_alert_whose_restart_button_brings_a_recovery_reply() {
    let bot = start("0s").await;
    bot.fake.text_from(OPERATOR, "/deploy alice-bot nbg1");
    bot.fake
        .wait_until(LIMIT, "the deploy", |c| {
            has(c, "sendmessage", "alice-bot is ready")
        })
        .await;
    knob(&bot.app, "alice-bot", "gateway_down", true.into()).await;
    sweep(&bot.app).await;
    let said = sweep(&bot.app).await;
    assert!(said.contains("1 alert sent"), "{said}");
    let alert = bot
        .fake
        .find_message(OPERATOR, "alice-bot is OFFLINE")
        .expect("the alert reached the ops chat");
    let text = bot.fake.message(OPERATOR, alert).unwrap();
    assert!(text.starts_with("<b>🔴 alice-bot is OFFLINE</b>"), "{text}");
    let buttons = bot.fake.buttons(OPERATOR, alert);
    let labels: Vec<&str> = buttons.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, ["Acknowledge", "Silence 1h", "Restart"]);

    bot.fake
        .press(OPERATOR, OTHER_OPERATOR, alert, &buttons[2].1);
    bot.fake
        .wait_until(LIMIT, "the restart's outcome", |c| {
            has(c, "sendmessage", "Restarted alice-bot")
        })
        .await;
    assert!(has(
        &bot.fake.calls("answercallbackquery"),
        "answercallbackquery",
        ""
    ));
    sweep(&bot.app).await;
    sweep(&bot.app).await;
    let replies: Vec<Call> = bot
        .fake
        .calls("sendmessage")
        .into_iter()
        .filter(|c| c.body["reply_parameters"]["message_id"] == alert)
        .collect();
    assert_eq!(replies.len(), 1, "one recovery reply to the alert");
    assert!(
        replies[0].body["text"]
            .as_str()
            .unwrap()
            .contains("alice-bot recovered at"),
        "{}",
        replies[0].body
    );
    let now = bot.fake.message(OPERATOR, alert).unwrap();
    assert!(now.contains("✓ Recovered at"), "{now}");
    assert!(
        bot.fake.buttons(OPERATOR, alert).is_empty(),
        "the buttons gave way to the outcome"
    );
    let rows = bot.app.store.audit_tail(20).await.unwrap();
    assert!(
        rows.iter()
            .any(|r| r.actor == format!("telegram:{OTHER_OPERATOR}")
                && r.action.starts_with("/restart alice-bot (alert")),
        "the press is audited as the presser's"
    );
}

#[tokio::test]
async fn brief_arrives_as_a_message_and_a_chart_photo_telegram_accepts() {
    let bot = start("0s").await;
    bot.fake.text_from(OPERATOR, "/deploy alice-bot nbg1");
    bot.fake
        .wait_until(LIMIT, "the deploy", |c| {
            has(c, "sendmessage", "alice-bot is ready")
        })
        .await;
    bot.fake.text_from(OPERATOR, "/brief");
    bot.fake
        .wait_until(LIMIT, "the briefing", |c| {
            has(c, "sendmessage", "Morning briefing")
        })
        .await;
    let photos = bot.fake.photos(OPERATOR);
    assert_eq!(photos.len(), 1, "one chart");
    let (_, caption, bytes) = &photos[0];
    assert!(caption.contains("Health and monthly cost"), "{caption}");
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let info = decoder.read_info().unwrap().info().clone();
    assert_eq!((info.width, info.height), (800, 480));
}

/// Fault drill: the Bot API loses a tenth of all requests (half before Telegram acts,
/// half after, so that some updates come twice and some sends are retried). Every
/// command still gets its answer, and each Confirm button decides once, even when
/// pressed twice and delivered again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_a_bot_api_losing_a_tenth_of_requests_loses_no_answer_and_decides_each_button_once() {
    let bot = start("0s").await;
    bot.fake.drop_requests(10, 7);
    const N: usize = 6;
    let limit = Duration::from_secs(120);
    for i in 0..N {
        bot.fake.text_from(OPERATOR, &format!("/deploy drill-{i}"));
        let ready = format!("drill-{i} is ready");
        bot.fake
            .wait_until(limit, &ready, |c| has(c, "sendmessage", &ready))
            .await;
    }
    for i in 0..N {
        let question = format!("Destroy drill-{i}");
        bot.fake.text_from(OPERATOR, &format!("/destroy drill-{i}"));
        bot.fake
            .wait_until(limit, &question, |c| has(c, "sendmessage", &question))
            .await;
        let ask = last_sent(&bot.fake, &question);
        let confirm = ask.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            .as_str()
            .unwrap()
            .to_string();
        let id = bot.fake.find_message(OPERATOR, &question).unwrap();
        bot.fake.press(OPERATOR, OPERATOR, id, &confirm);
        bot.fake.press(OPERATOR, OPERATOR, id, &confirm);
        let done = format!("Destroyed drill-{i}");
        bot.fake
            .wait_until(limit, &done, |c| has(c, "sendmessage", &done))
            .await;
    }
    assert!(bot.fake.dropped() > 0, "the drill dropped nothing");
    // Each destroy was decided and done once: one audit row each.
    let rows = bot.app.store.audit_tail(1000).await.unwrap();
    for i in 0..N {
        let name = format!("drill-{i}");
        let destroys = rows
            .iter()
            .filter(|r| {
                r.action.starts_with("/destroy") && r.action.contains(&name) && r.event == "done"
            })
            .count();
        assert_eq!(destroys, 1, "{name}: {rows:#?}");
        let status = bot.app.store.instance(&name).await.unwrap().unwrap().status;
        assert_eq!(status.as_str(), "destroyed");
    }
}
