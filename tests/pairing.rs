//! Pairing approvals on the simulated cloud with an injected clock: a request the gateway
//! lists is posted once with Approve and Reject; an operator's press approves it (the bot
//! tells the requester) and the message says who decided; a viewer's press, a second press
//! and a press on an expired request change nothing; Reject dismisses; the cap of pending
//! requests raises one alert.

use std::time::Duration;

use clawops::chat::recorder::Posted;
use clawops::ops::Outcome;

#[path = "common/door_fx.rs"]
mod door_fx;
#[path = "common/watch_fx.rs"]
mod watch_fx;
use door_fx::OPERATOR;
use watch_fx::*;

const PAIRING_CHAT: &str = "-100400";

fn request(id: &str, sender: &str, user: &str) -> serde_json::Value {
    serde_json::json!({
        "requestId": id,
        "channel": "telegram",
        "accountId": "default",
        "senderId": sender,
        "senderLabel": "telegramUserId",
        "metadata": {"username": user, "firstName": "Bob"},
        "createdAt": "2026-12-07T12:00:30.000Z",
        "expiresAt": "2026-12-07T13:00:30.000Z",
        "notifySupported": true,
    })
}

async fn bot_with(requests: serde_json::Value) -> Watch {
    let w = watch_at(
        noon(),
        &format!("[[ops_channels]]\nplatform = \"telegram\"\nchat_id = {PAIRING_CHAT}\ngets = [\"pairing\"]\n"),
        &["alice-bot".to_string()],
    )
    .await;
    w.knob("alice-bot", "pairing", requests).await;
    w
}

async fn poll(w: &Watch) -> String {
    w.clock.advance(Duration::from_secs(60));
    let door = w.fx.app.bot.door();
    let run = door
        .ctx()
        .jobs
        .claim(clawops::jobs::JobKind::PairingPoll, w.clock.now())
        .expect("no poll is running");
    door.run_job(&run, "system").await.unwrap()
}

async fn host(w: &Watch) -> serde_json::Value {
    w.host("alice-bot").await
}

async fn press(w: &Watch, who: &str, data: &str) -> Outcome {
    w.fx.app
        .bot
        .press(
            &door_fx::person(who),
            data,
            &clawops::chat::recorder::Recorder::new(),
        )
        .await
}

fn payload(post: &Posted, label: &str) -> String {
    let Posted::Post {
        out: clawops::chat::Outbound::Buttons { buttons, .. },
        ..
    } = post
    else {
        panic!("no buttons: {post:?}")
    };
    buttons
        .iter()
        .find(|b| b.label == label)
        .unwrap()
        .data
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_posted_once_and_an_operators_approve_lets_them_in() {
    let w = bot_with(serde_json::json!([request("r-1", "555", "bob")])).await;
    let said = poll(&w).await;
    assert!(
        said.contains("1 instance asked: 1 new request, 0 ended"),
        "{said}"
    );
    let posted = posts_in(&w.posts.take(), PAIRING_CHAT);
    assert_eq!(posted.len(), 1);
    let text = posted[0].text();
    assert!(
        text.starts_with("🔑 alice-bot: Bob (@bob) (id 555) asks to talk to the bot on telegram"),
        "{text}"
    );
    assert!(
        text.contains("Asked 12:00 UTC, expires 13:00 UTC · request #1"),
        "{text}"
    );
    assert_eq!(posted[0].buttons(), ["Approve", "Reject"]);
    poll(&w).await;
    assert!(
        posts_in(&w.posts.take(), PAIRING_CHAT).is_empty(),
        "posted once"
    );

    let approve = payload(&posted[0], "Approve");
    let outcome = press(&w, VIEWER, &approve).await;
    let Outcome::Refused(m) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(m.plain().contains("needs operator"), "{}", m.plain());
    assert!(host(&w).await["approved"].as_array().unwrap().is_empty());

    let outcome = press(&w, OPERATOR, &approve).await;
    let Outcome::Done(m) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        m.plain()
            .contains("✓ Approved Bob (@bob) on alice-bot: they may talk to the bot now"),
        "{}",
        m.plain()
    );
    let h = host(&w).await;
    assert_eq!(h["approved"], serde_json::json!(["555"]));
    assert!(
        h["told"][0].as_str().unwrap().contains("access approved"),
        "{h}"
    );
    let edits = w.posts.take();
    let edit = edits
        .iter()
        .find(|p| matches!(p, Posted::Edit { .. }))
        .expect("the request's message is edited");
    assert!(
        edit.text().contains("✓ Approved by telegram:111 at"),
        "{}",
        edit.text()
    );
    assert!(edit.buttons().is_empty());

    let outcome = press(&w, OPERATOR, &approve).await;
    let (Outcome::Failed(m) | Outcome::Refused(m)) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        m.plain()
            .contains("request #1 of alice-bot was already approved by telegram:111"),
        "{}",
        m.plain()
    );
    let (said, _) = w.fx.say_as(VIEWER, "/pairings").await;
    assert!(said.contains("No pairing requests are waiting"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_request_loses_its_buttons_and_a_late_approve_does_nothing() {
    let w = bot_with(serde_json::json!([request("r-1", "555", "bob")])).await;
    poll(&w).await;
    w.posts.take();
    let (said, _) = w.fx.say_as(VIEWER, "/pairings alice-bot").await;
    assert!(
        said.contains("1 pairing requests waiting") && said.contains("#1"),
        "{said}"
    );
    w.clock.advance(Duration::from_secs(3600));
    poll(&w).await;
    let edits = w.posts.take();
    assert!(
        edits
            .iter()
            .any(|p| matches!(p, Posted::Edit { .. }) && p.text().contains("⌛ Expired")),
        "{edits:?}"
    );
    let (said, _) = w.fx.say_as(OPERATOR, "/approve alice-bot 1").await;
    assert!(
        said.contains("was already expired: nothing was done"),
        "{said}"
    );
    assert!(host(&w).await["approved"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_dismisses_the_request() {
    let w = bot_with(serde_json::json!([request("r-1", "555", "bob")])).await;
    poll(&w).await;
    let (said, _) = w.fx.say_as(OPERATOR, "/reject alice-bot 1").await;
    assert!(
        said.contains("✗ Rejected Bob (@bob) on alice-bot"),
        "{said}"
    );
    let h = host(&w).await;
    assert!(h["pairing"].as_array().unwrap().is_empty(), "{h}");
    assert!(h["approved"].as_array().unwrap().is_empty(), "{h}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_of_pending_requests_raises_one_alert() {
    let w = bot_with(serde_json::json!([
        request("r-1", "551", "a"),
        request("r-2", "552", "b"),
        request("r-3", "553", "c"),
    ]))
    .await;
    poll(&w).await;
    poll(&w).await;
    let posted = w.posts.take();
    assert_eq!(posts_in(&posted, PAIRING_CHAT).len(), 3);
    let alerts: Vec<String> = posts_in(&posted, ALERTS_CHAT)
        .iter()
        .map(Posted::text)
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(
        alerts[0].starts_with("🟠 alice-bot has 3 pairing requests waiting: OpenClaw's cap"),
        "{}",
        alerts[0]
    );
}
