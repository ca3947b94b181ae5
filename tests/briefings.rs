//! Briefings on the simulated cloud with an injected clock: the morning briefing tells a
//! known history once, at 07:00 in the ops channel's own zone (also on the day summer time
//! begins), with a chart that decodes at the configured size; with an LLM, its text is used
//! only when every number in it is one of the facts'; `/brief` sends one now.

use std::time::Duration;

use clawops::chat::Outbound;
use clawops::chat::recorder::{Posted, Recorder};

#[path = "common/door_fx.rs"]
mod door_fx;
#[path = "common/fake_llm.rs"]
mod fake_llm;
#[path = "common/watch_fx.rs"]
mod watch_fx;
use door_fx::OPERATOR;
use fake_llm::{FakeLlm, KEY, Reply};
use watch_fx::*;

const BRIEF_CHAT: &str = "-100500";

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

fn briefing_channel(extra: &str) -> String {
    format!(
        "[[ops_channels]]\nplatform = \"telegram\"\nchat_id = {BRIEF_CHAT}\ngets = [\"briefings\"]\nzone = \"Europe/Berlin\"\n\
         [briefings]\nchart_width = 640\nchart_height = 360\n{extra}"
    )
}

/// Moves the injected clock forward to `t`.
fn move_to(w: &Watch, t: chrono::DateTime<chrono::Utc>) {
    w.clock
        .advance((t - w.clock.now()).to_std().expect("forward only"));
}

/// One run of the `briefings` job at the clock's time.
async fn brief(w: &Watch) -> String {
    let door = w.fx.app.bot.door();
    let run = door
        .ctx()
        .jobs
        .claim(clawops::jobs::JobKind::Briefings, w.clock.now())
        .expect("no briefing run is going");
    door.run_job(&run, "system").await.unwrap()
}

fn in_chat(posts: &[Posted]) -> (Vec<String>, Vec<clawops::chat::Photo>) {
    let mut texts = Vec::new();
    let mut photos = Vec::new();
    for p in posts_in(posts, BRIEF_CHAT) {
        if let Posted::Post { out, .. } = &p {
            match out {
                Outbound::Photo(photo) => photos.push(photo.clone()),
                _ => texts.push(p.text()),
            }
        }
    }
    (texts, photos)
}

/// The size of a PNG and how many of its pixels are not white.
fn decode(png_bytes: &[u8]) -> (u32, u32, usize) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let inked = pixels[..info.buffer_size()]
        .chunks(3)
        .filter(|p| p != &[255, 255, 255])
        .count();
    (info.width, info.height, inked)
}

#[tokio::test]
async fn the_morning_briefing_tells_a_known_history_once_at_seven_in_the_channels_zone() {
    // Tuesday 8 December 2026, 05:50 UTC: 06:50 in Berlin.
    let w = watch_at(
        at("2026-12-08T05:50:00Z"),
        &briefing_channel(""),
        &["alice-bot".to_string(), "bob-bot".to_string()],
    )
    .await;
    w.knob("alice-bot", "approved", serde_json::json!(["4242", "4343"]))
        .await;
    w.sweep().await;
    let (said, _) = w.fx.say_as(OPERATOR, "/suspend bob-bot").await;
    assert!(said.contains("bob-bot"), "{said}");
    w.posts.take();

    // 06:55 in Berlin: not yet.
    w.clock.advance(Duration::from_secs(60));
    assert_eq!(brief(&w).await, "no briefing due");
    assert!(in_chat(&w.posts.take()).0.is_empty());

    // 07:00 in Berlin (06:00 UTC): the briefing, and its chart.
    move_to(&w, at("2026-12-08T06:00:00Z"));
    let summary = brief(&w).await;
    assert!(
        summary.contains("morning to telegram -100500 (plain)"),
        "{summary}"
    );
    let (texts, photos) = in_chat(&w.posts.take());
    assert_eq!(texts.len(), 1, "{texts:?}");
    let text = &texts[0];
    for expected in [
        "Morning briefing — Tue 8 Dec 2026",
        "2 instances: 1 HEALTHY, 1 suspended",
        "2 end users",
        "/deploy alice-bot nbg1 by telegram:111",
        "/deploy bob-bot nbg1 by telegram:111",
        "/suspend bob-bot by telegram:111",
        "run-rate €",
        "billed while stopped: bob-bot (suspended)",
        "Audit head: #",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert_eq!(photos.len(), 1);
    let (width, height, inked) = decode(&photos[0].png);
    assert_eq!((width, height), (640, 360));
    assert!(inked > 1000, "the chart is blank");

    // Once a day: the next run sends nothing.
    w.clock.advance(Duration::from_secs(300));
    assert_eq!(brief(&w).await, "no briefing due");
    assert!(in_chat(&w.posts.take()).0.is_empty());
}

#[tokio::test]
async fn on_the_day_summer_time_begins_the_briefing_comes_at_seven_local() {
    // Sunday 29 March 2026: Berlin moves from UTC+1 to UTC+2 at 02:00.
    let w = watch_at(
        at("2026-03-29T04:55:00Z"),
        &briefing_channel(""),
        &["alice-bot".to_string()],
    )
    .await;
    w.posts.take();
    // 06:55 summer time: not yet (in winter time it would be 05:55).
    assert_eq!(brief(&w).await, "no briefing due");
    // 07:00 summer time is 05:00 UTC.
    move_to(&w, at("2026-03-29T05:00:00Z"));
    assert!(brief(&w).await.starts_with("sent morning"));
    let (texts, _) = in_chat(&w.posts.take());
    assert!(
        texts[0].contains("Morning briefing — Sun 29 Mar 2026"),
        "{texts:?}"
    );
    // Monday 30 March at 07:00 local: the weekly report instead.
    move_to(&w, at("2026-03-30T05:00:00Z"));
    assert!(brief(&w).await.starts_with("sent weekly"));
    let (texts, _) = in_chat(&w.posts.take());
    assert!(
        texts[0].contains("Weekly report — Mon 30 Mar 2026"),
        "{texts:?}"
    );
}

async fn with_llm(llm: &FakeLlm) -> Watch {
    let llm_block = format!(
        "[llm]\nbase_url = \"{}\"\nmodel = \"fake-model\"\napi_key = \"{KEY}\"\ntimeout = \"10s\"\n",
        llm.base_url
    );
    watch_at(
        at("2026-12-08T06:00:00Z"),
        &briefing_channel(&llm_block),
        &["alice-bot".to_string(), "bob-bot".to_string()],
    )
    .await
}

#[tokio::test]
async fn an_llm_briefing_with_a_number_not_in_the_facts_is_replaced_by_the_plain_text() {
    let llm = FakeLlm::start().await;
    llm.script(vec![Reply::Text(
        "All 7 instances are healthy and cost nothing new.".into(),
    )]);
    let w = with_llm(&llm).await;
    w.sweep().await;
    w.posts.take();
    let summary = brief(&w).await;
    assert!(
        summary.contains("plain (the LLM wrote numbers not in the facts: 7)"),
        "{summary}"
    );
    let (texts, _) = in_chat(&w.posts.take());
    assert!(texts[0].contains("2 instances: 2 HEALTHY"), "{texts:?}");
    assert!(!texts[0].contains("All 7"), "{texts:?}");
    // The LLM was handed the facts, and no tools.
    let asked = llm.requests()[0].clone();
    assert!(asked.get("tools").is_none(), "{asked}");
    assert!(
        asked.to_string().contains("2 instances: 2 HEALTHY"),
        "{asked}"
    );
}

#[tokio::test]
async fn an_llm_briefing_whose_numbers_are_all_facts_is_sent() {
    let llm = FakeLlm::start().await;
    llm.script(vec![Reply::Text(
        "Both of the 2 instances are HEALTHY; nothing needs you today.".into(),
    )]);
    let w = with_llm(&llm).await;
    w.sweep().await;
    w.posts.take();
    assert!(brief(&w).await.contains("(llm)"));
    let (texts, photos) = in_chat(&w.posts.take());
    assert!(
        texts[0].contains("Both of the 2 instances are HEALTHY"),
        "{texts:?}"
    );
    // The audit head is clawops' own line, never the LLM's.
    assert!(texts[0].contains("Audit head: #"), "{texts:?}");
    assert_eq!(photos.len(), 1);
}

#[tokio::test]
async fn brief_sends_one_now_with_its_chart_and_the_days_briefing_still_comes() {
    let w = watch_at(
        at("2026-12-08T05:00:00Z"),
        &briefing_channel(""),
        &["alice-bot".to_string()],
    )
    .await;
    let out = Recorder::new();
    let outcome =
        w.fx.app
            .bot
            .door()
            .submit(
                &door_fx::person(OPERATOR),
                clawops::command::parse("/brief").unwrap(),
                &out,
            )
            .await;
    let sent = out.take();
    assert!(
        sent.iter()
            .any(|o| matches!(o, Outbound::Photo(p) if decode(&p.png).0 == 640)),
        "{sent:?}"
    );
    let text = match outcome {
        clawops::ops::Outcome::Done(m) => m.plain(),
        other => panic!("{other:?}"),
    };
    assert!(text.contains("Morning briefing"), "{text}");
    // A viewer may not (the briefing names who did what).
    let refused =
        w.fx.app
            .bot
            .door()
            .submit(
                &door_fx::person(VIEWER),
                clawops::command::parse("/brief").unwrap(),
                &Recorder::new(),
            )
            .await;
    assert!(
        matches!(refused, clawops::ops::Outcome::Refused(_)),
        "{refused:?}"
    );
    // The ops channel still gets the day's briefing at 07:00 Berlin.
    move_to(&w, at("2026-12-08T06:00:00Z"));
    assert!(brief(&w).await.starts_with("sent morning"));
}
