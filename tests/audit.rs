//! Tamper with the audit trail in the SQLite file: `clawops audit verify` exits non-zero
//! and names the row.

mod common;

use std::time::Duration;

use common::{fast_config, run};

const LIMIT: Duration = Duration::from_secs(60);

fn make_trail(dir: &std::path::Path) -> std::path::PathBuf {
    let cfg = fast_config(dir, "0s", "0s", "");
    let (code, out, err) = run(
        dir,
        &["--config", cfg.to_str().unwrap(), "console"],
        "/deploy alice-bot\n/list\n/restart alice-bot\n/destroy alice-bot\n2\n/audit\n",
        LIMIT,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, _) = run(
        dir,
        &["--config", cfg.to_str().unwrap(), "audit", "verify"],
        "",
        LIMIT,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit trail intact: 8 rows"), "{out}");
    cfg
}

/// Runs `clawops audit verify`, which must exit 1; returns what it printed.
fn verify_fails(dir: &std::path::Path, cfg: &std::path::Path) -> String {
    let (code, out, _) = run(
        dir,
        &["--config", cfg.to_str().unwrap(), "audit", "verify"],
        "",
        LIMIT,
    );
    assert_eq!(code, 1, "{out}");
    out
}

fn sql(db: &std::path::Path, statement: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let done = sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1, "{statement}");
        conn.close().await.unwrap();
    });
}

#[test]
fn an_edited_row_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = make_trail(dir.path());
    sql(
        &dir.path().join("data/clawops.db"),
        "UPDATE audit SET actor = 'telegram:111' WHERE seq = 4",
    );
    let out = verify_fails(dir.path(), &cfg);
    assert!(out.contains("BROKEN at row 4"), "{out}");
    assert!(out.contains("changed after it was written"), "{out}");
}

#[test]
fn a_deleted_row_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = make_trail(dir.path());
    sql(
        &dir.path().join("data/clawops.db"),
        "DELETE FROM audit WHERE seq = 5",
    );
    let out = verify_fails(dir.path(), &cfg);
    assert!(
        out.contains("BROKEN at row 6: rows 5 to 5 are missing"),
        "{out}"
    );
}

#[test]
fn hardening_19_a_rewritten_row_cannot_be_resealed_without_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = make_trail(dir.path());
    // Someone who recomputes the edited row's hash the way anyone can (plain SHA-256)
    // does not have the chain's key: the row itself is named.
    let db = dir.path().join("data/clawops.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let forged = rt.block_on(async {
        let store = clawops::store::Store::open_read_only(&db).await.unwrap();
        let mut row = store.audit_page(3, 1).await.unwrap().remove(0);
        store.close().await;
        row.action = "/list".into();
        row.hash = clawops::audit::seal_unkeyed(&row);
        row
    });
    sql(
        &db,
        &format!(
            "UPDATE audit SET action = '/list', hash = '{}' WHERE seq = 4",
            forged.hash
        ),
    );
    let out = verify_fails(dir.path(), &cfg);
    assert!(
        out.contains("BROKEN at row 4: its content was changed"),
        "{out}"
    );
}

/// Runs SQL statements on the store directly, as someone with the file would.
fn sql_any(db: &std::path::Path, statements: &[String]) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        for statement in statements {
            sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        conn.close().await.unwrap();
    });
}

#[test]
fn hardening_19_deleting_the_newest_rows_is_seen_by_the_witness() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = make_trail(dir.path());
    let db = dir.path().join("data/clawops.db");
    assert!(dir.path().join("data/clawops.audit-head").exists());
    sql_any(&db, &["DELETE FROM audit WHERE seq >= 7".to_string()]);
    let out = verify_fails(dir.path(), &cfg);
    assert!(
        out.contains("BROKEN at row 7: rows 7 to 8 were deleted from the end"),
        "{out}"
    );
}

#[test]
fn hardening_19_an_old_trail_is_upgraded_to_the_keyed_chain_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = make_trail(dir.path());
    let db = dir.path().join("data/clawops.db");
    // Turn the trail back into what an older clawops wrote: a plain SHA-256 chain, no
    // witness.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rows = rt.block_on(async {
        let store = clawops::store::Store::open_read_only(&db).await.unwrap();
        let rows = store.audit_page(0, 100).await.unwrap();
        store.close().await;
        rows
    });
    let mut prev = clawops::audit::GENESIS.to_string();
    let mut statements = Vec::new();
    for mut row in rows {
        row.prev_hash = prev;
        row.keyed = 0;
        row.hash = clawops::audit::seal_unkeyed(&row);
        prev = row.hash.clone();
        statements.push(format!(
            "UPDATE audit SET prev_hash = '{}', hash = '{}', keyed = 0 WHERE seq = {}",
            row.prev_hash, row.hash, row.seq
        ));
    }
    sql_any(&db, &statements);
    std::fs::remove_file(dir.path().join("data/clawops.audit-head")).unwrap();

    let (code, out, err) = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "console"],
        "/audit 1\n",
        LIMIT,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("audit trail upgraded: 8 rows re-sealed with a keyed chain"),
        "{out}"
    );
    let (code, out, _) = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "audit", "verify"],
        "",
        LIMIT,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit trail intact: 10 rows"), "{out}");
}
