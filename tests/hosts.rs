//! `/hosts` and `/deploy --cell` through the door, without a cell host: who may do what,
//! and what an operator on the simulated cloud is told. The cells themselves, on a real
//! cell host, are `tests/cells.rs`.

#[path = "common/door_fx.rs"]
mod door_fx;
use door_fx::{Fx, OPERATOR};

const VIEWER: &str = "222";
const STRANGER: &str = "555";

async fn fx() -> Fx {
    Fx::start(&format!(
        "[[operators]]\nplatform = \"telegram\"\nuser_id = \"{VIEWER}\"\nrole = \"viewer\"\n\
         [providers.sim]\nboot_time = \"0s\"\nstep_time = \"0s\"\n"
    ))
    .await
}

#[tokio::test]
async fn cell_hosts_are_listed_for_viewers_and_changed_by_operators_only() {
    let fx = fx().await;
    let (said, _) = fx.say_as(VIEWER, "/hosts").await;
    assert!(said.contains("No cell hosts yet"), "{said}");
    // A stranger learns nothing, not even that there are none.
    let (said, _) = fx.say_as(STRANGER, "/hosts").await;
    assert!(!said.contains("cell host"), "{said}");
    let (said, asked) = fx
        .say_as(STRANGER, "/hosts add cells-1 ssh://root@127.0.0.1")
        .await;
    assert!(asked.is_none() && !said.contains("Host key"), "{said}");
    // A viewer may look, not change.
    let (said, asked) = fx.say_as(VIEWER, "/hosts drain cells-1").await;
    assert!(asked.is_none() && said.contains("operator"), "{said}");
    let (said, asked) = fx.say_as(VIEWER, "/hosts add cells-1 nbg1").await;
    assert!(asked.is_none() && said.contains("operator"), "{said}");
    // An operator on the simulated cloud is told why it cannot be a cell host.
    let (said, asked) = fx.say_as(OPERATOR, "/hosts add cells-1 nbg1").await;
    assert!(asked.is_none() && said.contains("is simulated"), "{said}");
    // Not as root: refused before any login.
    let (said, _) = fx
        .say_as(OPERATOR, "/hosts add cells-1 ssh://alice@127.0.0.1")
        .await;
    assert!(said.contains("driven as root"), "{said}");
    let (said, _) = fx.say_as(OPERATOR, "/hosts drain cells-1").await;
    assert!(said.contains("no cell host \"cells-1\""), "{said}");
    // A cell needs a host, and /regions lists clouds, not cells.
    let (said, _) = fx.say_as(OPERATOR, "/deploy alice-bot --cell").await;
    assert!(
        said.contains("no cell host yet") && said.contains("/hosts add"),
        "{said}"
    );
    let (said, _) = fx.say_as(VIEWER, "/regions").await;
    assert!(
        said.contains("nbg1") && !said.contains("a cell host"),
        "{said}"
    );
    // A Resume button nobody made does nothing; a stranger's press learns nothing.
    let bot = &fx.app.bot;
    let press = |who: &'static str| async move {
        bot.press(
            &door_fx::person(who),
            "rs:41",
            &clawops::chat::recorder::Recorder::new(),
        )
        .await
    };
    let outcome = press(STRANGER).await;
    assert!(
        !matches!(outcome, clawops::ops::Outcome::Done(_))
            && !outcome.message().plain().contains("not known"),
        "{outcome:?}"
    );
    let outcome = press(OPERATOR).await;
    assert!(
        outcome.message().plain().contains("not known"),
        "{outcome:?}"
    );
}
