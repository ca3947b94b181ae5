//! The security review's second part (issue "Hardening II"): secrets in chat, audit rows
//! and confirmations, managed config keys, redaction of everything the process knows, and
//! confirmations bound to what they showed. The LLM's items are in tests/agent.rs, the
//! audit witness in tests/audit.rs, the chat surface's in tests/telegram.rs.

use clawops::remote::Host;

#[path = "common/door_fx.rs"]
mod door_fx;
#[path = "common/offline_host.rs"]
mod offline_host;
use door_fx::{Fx, OPERATOR};

const SIM: &str = "[providers.sim]\nboot_time = \"0s\"\nstep_time = \"0s\"\n";
const TOKEN: &str = "123456789:AAFakeTokenInsideAParentObject_000042";

async fn audit_text(fx: &Fx) -> String {
    fx.app
        .store
        .audit_tail(500)
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {} {} {}", r.actor, r.event, r.action, r.detail))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn hardening_12_a_token_inside_a_parent_object_is_masked_sealed_and_never_recorded() {
    // Every change asks here (end users over 0), so a confirmation row is written too.
    let fx = Fx::start(&format!("{SIM}[safety]\nconfirm_end_users_over = 0\n")).await;
    fx.say_as(OPERATOR, "/deploy alice-bot nbg1").await;
    // One end user approved, counted by a sweep.
    fx.knob("alice-bot", "approved", serde_json::json!(["4242"]))
        .await;
    fx.sweep().await;
    let line = format!("/config alice-bot set channels.telegram '{{\"botToken\":\"{TOKEN}\"}}'");
    let (question, id) = fx.say_as(OPERATOR, &line).await;
    let id = id.unwrap_or_else(|| panic!("no question: {question}"));
    assert!(!question.contains(TOKEN), "{question}");
    let stored = fx.app.store.confirmation(&id).await.unwrap().unwrap();
    assert!(stored.action.starts_with("sealed:"), "{}", stored.action);
    let (said, done) = fx.press_as(OPERATOR, &id).await;
    assert!(done, "{said}");
    assert!(!said.contains(TOKEN) && said.contains("••••"), "{said}");
    let audit = audit_text(&fx).await;
    assert!(!audit.contains(TOKEN), "{audit}");
    assert!(
        audit.contains("/config alice-bot set channels.telegram ••••"),
        "{audit}"
    );
}

#[tokio::test]
async fn hardening_13_managed_keys_their_parents_and_children_are_refused() {
    let fx = Fx::start(SIM).await;
    fx.say_as(OPERATOR, "/deploy alice-bot nbg1").await;
    for line in [
        r#"/config alice-bot set gateway '{"bind":"lan"}'"#,
        "/config alice-bot set gateway.bind lan",
        "/config alice-bot set gateway.auth '{\"mode\":\"none\"}'",
        r#"/config alice-bot set logging '{"file":"/tmp/x"}'"#,
        "/config alice-bot set logging.file /tmp/x",
    ] {
        let (said, _) = fx.say_as(OPERATOR, line).await;
        assert!(said.contains("is managed by clawops"), "{line}: {said}");
    }
    let audit = audit_text(&fx).await;
    assert!(!audit.contains("lan"), "nothing ran: {audit}");
    let (said, _) = fx
        .say_as(OPERATOR, "/config alice-bot set logging.level debug")
        .await;
    assert!(said.contains("✓ alice-bot: logging.level"), "{said}");
}

#[tokio::test]
async fn hardening_15_the_master_key_is_cut_out_of_replies_and_audit_rows() {
    let fx = Fx::start(SIM).await;
    fx.say_as(OPERATOR, "/deploy alice-bot nbg1").await;
    let master = std::fs::read_to_string(fx.dir.path().join("fleet.key")).unwrap();
    let master = master.trim();
    let (said, _) = fx
        .say_as(
            OPERATOR,
            &format!("/config alice-bot set agents.defaults.note {master}"),
        )
        .await;
    assert!(!said.contains(master), "{said}");
    let (said, _) = fx
        .say_as(OPERATOR, "/config alice-bot get agents.defaults.note")
        .await;
    assert!(!said.contains(master), "{said}");
    let audit = audit_text(&fx).await;
    assert!(!audit.contains(master), "{audit}");
}

#[tokio::test]
async fn hardening_16_a_marker_cannot_be_written_back() {
    let fx = Fx::start(SIM).await;
    fx.say_as(OPERATOR, "/deploy alice-bot nbg1").await;
    for line in [
        "/config alice-bot set channels.telegram.botToken [redacted]",
        "/config alice-bot set channels.telegram.botToken ••••",
        r#"/config alice-bot set channels.telegram '{"botToken":"[redacted]","enabled":true}'"#,
    ] {
        let (said, _) = fx.say_as(OPERATOR, line).await;
        assert!(said.contains("stand for a hidden secret"), "{line}: {said}");
    }
}

#[tokio::test]
async fn hardening_16_a_bot_token_is_kept_only_once_accepted() {
    // The host cannot be reached, so the config is never accepted: nothing is kept.
    let dir = tempfile::tempdir().unwrap();
    let (store, host) = offline_host::host_at_closed_port(dir.path(), "alice-bot").await;
    let e = host
        .set_config("channels.telegram.botToken", serde_json::json!(TOKEN))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("refused"), "{e}");
    assert!(
        store
            .instance_secret("alice-bot", "telegram-token")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn hardening_18_a_bulk_press_acts_only_on_what_the_question_showed() {
    let fx = Fx::start(&format!("{SIM}[safety]\nconfirm_bulk_over = 1\n")).await;
    fx.say_as(OPERATOR, "/deploy a-bot nbg1").await;
    fx.say_as(OPERATOR, "/deploy b-bot nbg1").await;
    let (question, id) = fx.say_as(OPERATOR, "/restart --all").await;
    let id = id.unwrap_or_else(|| panic!("no question: {question}"));
    assert!(question.contains("Restart 2 instances"), "{question}");
    // A third instance appears between the question and the press.
    fx.say_as(OPERATOR, "/deploy c-bot nbg1").await;
    let outcome = fx
        .app
        .bot
        .door()
        .press(&door_fx::person(OPERATOR), &id, true, &fx.out)
        .await;
    let clawops::ops::Outcome::Offer {
        message, prompt, ..
    } = outcome
    else {
        panic!("no follow-up question: {outcome:?}");
    };
    let done = message.plain();
    assert!(done.contains("✓ Restarted 2 instances"), "{done}");
    assert!(!done.contains("c-bot"), "{done}");
    let asked = prompt.plain();
    assert!(asked.contains("Restart c-bot"), "{asked}");
    assert!(asked.contains("matched only after the question"), "{asked}");
}
