//! End users and owners on the simulated cloud: a sweep counts an instance's approved
//! senders and learns its owner; `/send` reaches the owner through the instance's own bot,
//! says clearly when there is none, asks first (with the count) before writing to many, and
//! refuses a viewer; `/deploy --owner` names the owner before anyone paired.

#[path = "common/door_fx.rs"]
mod door_fx;
#[path = "common/watch_fx.rs"]
mod watch_fx;
use door_fx::OPERATOR;
use watch_fx::*;

async fn told(w: &Watch, name: &str) -> Vec<String> {
    let host = w.host(name).await;
    host["told"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_sweep_counts_approved_senders_and_the_first_becomes_the_owner() {
    let w = watch(&["alice-bot"]).await;
    let (status, _) = w.fx.say_as(OPERATOR, "/status alice-bot").await;
    assert!(status.contains("0 end users (not counted yet)"), "{status}");
    w.knob(
        "alice-bot",
        "approved",
        serde_json::json!(["4242", "4343", "4444"]),
    )
    .await;
    w.sweep().await;
    let row = w.fx.app.store.instance("alice-bot").await.unwrap().unwrap();
    assert_eq!(row.end_users, 3);
    assert_eq!(row.owner.as_deref(), Some("telegram:4242"));
    assert_eq!(row.owner_from.as_deref(), Some("pairing"));
    let (status, _) = w.fx.say_as(OPERATOR, "/status alice-bot").await;
    assert!(
        status.contains("3 end users, owner telegram:4242"),
        "{status}"
    );
    // The blast radius counts them: a destroy now names three end users.
    let (question, _) = w.fx.say_as(OPERATOR, "/destroy alice-bot").await;
    assert!(question.contains("3 end users"), "{question}");
}

#[tokio::test]
async fn send_reaches_the_owner_through_the_instances_own_bot() {
    let w = watch(&["alice-bot"]).await;
    // No owner yet: a clear refusal, nothing sent.
    let (said, _) = w.fx.say_as(OPERATOR, "/send alice-bot Hello there").await;
    assert!(said.contains("no owner known yet"), "{said}");
    assert!(told(&w, "alice-bot").await.is_empty());
    w.knob("alice-bot", "approved", serde_json::json!(["4242"]))
        .await;
    w.sweep().await;
    let (said, question) =
        w.fx.say_as(
            OPERATOR,
            "/send alice-bot Hello, we'll restart your assistant at 22:00.",
        )
        .await;
    assert!(question.is_none(), "one owner needs no question: {said}");
    assert!(said.contains("✓ Sent to 1 of 1 owners"), "{said}");
    assert!(said.contains("telegram:4242"), "{said}");
    assert_eq!(
        told(&w, "alice-bot").await,
        vec!["4242: Hello, we'll restart your assistant at 22:00.".to_string()]
    );
    // A viewer may not; a stranger learns nothing (not even whether alice-bot exists).
    let (said, _) = w.fx.say_as(VIEWER, "/send alice-bot hi").await;
    assert!(said.contains("operator"), "{said}");
    for line in ["/send alice-bot hi", "/send --region nbg1 hi", "/brief"] {
        let (said, _) = w.fx.say_as("333", line).await;
        assert!(said.contains("private operations bot"), "{line}: {said}");
        assert!(
            !said.contains("alice-bot") && !said.contains("4242"),
            "{line}: {said}"
        );
    }
    assert_eq!(told(&w, "alice-bot").await.len(), 1);
}

#[tokio::test]
async fn a_send_to_many_asks_first_with_the_count_and_reports_each_delivery() {
    let w = watch(&["alice-bot", "bob-bot", "carol-bot"]).await;
    w.knob("alice-bot", "approved", serde_json::json!(["4242"]))
        .await;
    w.knob("bob-bot", "approved", serde_json::json!(["5252"]))
        .await;
    w.sweep().await;
    let (question, id) =
        w.fx.say_as(OPERATOR, "/send --region nbg1 Maintenance tonight at 22:00")
            .await;
    let id = id.unwrap_or_else(|| panic!("a bulk send asks first: {question}"));
    assert!(
        question.contains("the owners of 3 instances (2 with an owner known)"),
        "{question}"
    );
    assert!(
        question.contains("Maintenance tonight at 22:00"),
        "{question}"
    );
    assert!(question.starts_with("⚠ Send to 3 instances"), "{question}");
    assert!(
        question.contains("Cannot be undone: a message cannot be taken back once sent."),
        "{question}"
    );
    assert!(
        told(&w, "alice-bot").await.is_empty(),
        "nothing before the press"
    );
    let (said, done) = w.fx.press_as(OPERATOR, &id).await;
    assert!(done, "{said}");
    assert!(said.contains("✓ Sent to 2 of 3 owners"), "{said}");
    assert!(
        said.contains("carol-bot") && said.contains("no owner known yet"),
        "{said}"
    );
    assert_eq!(
        told(&w, "bob-bot").await,
        vec!["5252: Maintenance tonight at 22:00".to_string()]
    );
    // Neither a name and flags, nor neither.
    let (said, _) = w.fx.say_as(OPERATOR, "/send --status healthy").await;
    assert!(said.contains("missing TEXT"), "{said}");
}

#[tokio::test]
async fn an_owner_given_at_deploy_stays_the_owner() {
    let w = watch(&[]).await;
    let (said, _) =
        w.fx.say_as(OPERATOR, "/deploy dora-bot nbg1 --owner 777")
            .await;
    assert!(said.contains("✓ dora-bot is ready"), "{said}");
    let row = w.fx.app.store.instance("dora-bot").await.unwrap().unwrap();
    assert_eq!(row.owner.as_deref(), Some("telegram:777"));
    // The first approval does not take it over.
    w.knob("dora-bot", "approved", serde_json::json!(["4242"]))
        .await;
    w.sweep().await;
    let row = w.fx.app.store.instance("dora-bot").await.unwrap().unwrap();
    assert_eq!(
        (
            row.owner.as_deref(),
            row.owner_from.as_deref(),
            row.end_users
        ),
        (Some("telegram:777"), Some("deploy"), 1)
    );
    // Not a Telegram user id: refused before anything is bought.
    let (said, _) =
        w.fx.say_as(OPERATOR, "/deploy eve-bot nbg1 --owner @eve")
            .await;
    assert!(said.contains("not a Telegram user id"), "{said}");
    assert!(w.fx.app.store.instance("eve-bot").await.unwrap().is_none());
}
