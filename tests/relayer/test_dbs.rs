//! The tests' own databases: one a killed test process left behind is dropped by the next
//! (reviewer's finding, issue 18: `veil_test_*` databases leaked when the process exited
//! before the drop thread ran).

use sqlx::{Connection, Executor, PgConnection};

use super::support::{pg_base, sweep_leaked, TestDb};

/// A process id no process has now.
fn dead_pid() -> u32 {
    (4_000_000..u32::MAX)
        .find(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
        .expect("a free pid")
}

async fn exists(admin: &mut PgConnection, name: &str) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_dead_processs_test_database_is_swept_and_live_ones_are_kept() {
    // A live database of this process, created the ordinary way.
    let live = TestDb::new().await;
    let live_name: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&live.pool)
        .await
        .unwrap();
    assert!(
        live_name.starts_with(&format!("veil_test_p{}_", std::process::id())),
        "{live_name}"
    );
    let mut admin = PgConnection::connect(&format!("{}/postgres", pg_base()))
        .await
        .unwrap();
    // What a killed process leaves: its database, and nothing to drop it.
    let leaked = format!("veil_test_p{}_0badc0ffee0badc0", dead_pid());
    admin
        .execute(format!("CREATE DATABASE {leaked}").as_str())
        .await
        .unwrap();
    assert!(exists(&mut admin, &leaked).await);

    let dropped = sweep_leaked(&mut admin).await;
    assert!(dropped.contains(&leaked), "{dropped:?}");
    assert!(!exists(&mut admin, &leaked).await);
    // Ours (its process alive) stays, and still answers.
    assert!(!dropped.contains(&live_name), "{dropped:?}");
    assert!(exists(&mut admin, &live_name).await);
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&live.pool)
        .await
        .unwrap();
    assert_eq!(one, 1);
}
