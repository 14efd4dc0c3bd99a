//! Against a real server: a cluster of its own per test.

use mugai_core::SentLog;
use postgres::{Client, NoTls};

use super::*;
use crate::AuditEvent;
use crate::testing::{entry, record};

fn open(cluster: &PgCluster, local: &tempfile::TempDir) -> PgStore {
    PgStore::open(&cluster.url(), local.path()).expect("open")
}

fn sql(cluster: &PgCluster) -> Client {
    Client::connect(&cluster.url(), NoTls).expect("connect")
}

fn count(cluster: &PgCluster, table: &str) -> i64 {
    sql(cluster)
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .expect("count")
        .get(0)
}

#[test]
fn quarantine_audit_and_sent_ids_shared_by_two_nodes() {
    let cluster = PgCluster::start();
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let node_a = open(&cluster, &dir_a);
    let node_b = open(&cluster, &dir_b);

    let a = node_a.quarantine(b"hello", entry(7)).expect("a");
    let b = node_b.quarantine(b"hello", entry(7)).expect("b");
    assert_ne!(a, b, "same original, same millisecond: two entries");
    let (got, original) = node_b.get(&a).expect("node b reads node a's entry");
    assert_eq!(original, b"hello");
    assert_eq!(got.envelope.rcpt_to, ["b@example.lg.jp"]);
    assert_eq!(node_a.list().expect("list").len(), 2);
    assert_eq!(count(&cluster, "mugai_objects"), 1, "one object for both");
    node_a.delete(&a).expect("delete a");
    assert_eq!(node_a.get(&b).expect("b still there").1, b"hello");
    node_b.delete(&b).expect("delete b");
    assert!(matches!(node_a.get(&b), Err(StoreError::NotFound(_))));
    assert!(matches!(node_a.delete(&b), Err(StoreError::NotFound(_))));
    assert_eq!(
        count(&cluster, "mugai_objects"),
        0,
        "the last entry takes its object"
    );

    node_a.audit(&record(AuditEvent::Message)).expect("1");
    node_b.audit(&record(AuditEvent::Release)).expect("2");
    node_a.audit(&record(AuditEvent::Message)).expect("3");
    assert_eq!(node_b.verify_audit().expect("one chain"), 3);

    node_a
        .remember_sent("<abc@city.example.lg.jp>")
        .expect("remember");
    node_a
        .remember_sent("<abc@city.example.lg.jp>")
        .expect("twice");
    assert!(node_b.was_sent(" <abc@city.example.lg.jp>"));
    assert!(!node_b.was_sent("<other@x>"));

    // Each node has a spool of its own.
    node_a.own_spool().expect("a owns its spool");
    node_b.own_spool().expect("b owns its spool");
    assert!(dir_a.path().join("spool/owner.lock").exists());
}

#[test]
fn many_writers_on_several_nodes_one_chain_and_every_object() {
    let cluster = PgCluster::start();
    let (nodes, each) = (4, 40);
    std::thread::scope(|s| {
        for n in 0..nodes {
            let url = cluster.url();
            s.spawn(move || {
                let local = tempfile::tempdir().expect("local");
                let store = PgStore::open(&url, local.path()).expect("open");
                std::thread::scope(|s| {
                    for w in 0..2 {
                        let store = &store;
                        s.spawn(move || {
                            for i in 0..each {
                                store.audit(&record(AuditEvent::Message)).expect("audit");
                                store
                                    .quarantine(b"same macro document", entry(7))
                                    .expect("quarantine");
                                if i % 5 == 0 {
                                    let (id, _) = store
                                        .list()
                                        .expect("list")
                                        .into_iter()
                                        .next()
                                        .expect("one");
                                    match store.delete(&id) {
                                        Ok(()) | Err(StoreError::NotFound(_)) => {}
                                        Err(e) => panic!("delete {n}/{w}: {e}"),
                                    }
                                }
                            }
                        });
                    }
                });
            });
        }
    });
    let local = tempfile::tempdir().expect("local");
    let store = open(&cluster, &local);
    assert_eq!(store.verify_audit().expect("one chain"), nodes * 2 * each);
    let entries = store.list().expect("list");
    assert!(!entries.is_empty());
    for (id, _) in entries {
        store.get(&id).expect("every entry keeps its original");
    }
}

#[test]
fn tampering_and_missing_records_break_the_chain() {
    let cluster = PgCluster::start();
    let local = tempfile::tempdir().expect("local");
    let store = open(&cluster, &local);
    for _ in 0..3 {
        store.audit(&record(AuditEvent::Message)).expect("audit");
    }
    assert_eq!(store.verify_audit().expect("valid"), 3);
    let mut db = sql(&cluster);
    db.execute(
        "UPDATE mugai_audit SET line = replace(line, 'message', 'mess') WHERE seq = 1",
        &[],
    )
    .expect("tamper");
    let err = store.verify_audit().expect_err("edited");
    assert!(err.to_string().starts_with("line 2:"), "{err}");

    let cluster = PgCluster::start();
    let store = open(&cluster, &local);
    for _ in 0..3 {
        store.audit(&record(AuditEvent::Message)).expect("audit");
    }
    sql(&cluster)
        .execute("DELETE FROM mugai_audit WHERE seq = 2", &[])
        .expect("remove");
    let err = store.verify_audit().expect_err("removed");
    assert!(err.to_string().contains("record 2 is missing"), "{err}");
}

#[test]
fn a_database_that_goes_away_loses_no_audit_record() {
    let cluster = PgCluster::start();
    let local = tempfile::tempdir().expect("local");
    let store = open(&cluster, &local);
    store.audit(&record(AuditEvent::Message)).expect("1");
    cluster.stop();
    let err = store.audit(&record(AuditEvent::Message)).expect_err("down");
    assert!(matches!(err, StoreError::Database { .. }), "{err}");
    assert!(store.quarantine(b"x", entry(1)).is_err(), "no 250 for this");
    assert!(!store.was_sent("<a@b>"), "unknown when it cannot be asked");
    assert!(store.ready().is_err(), "not ready while a record waits");
    cluster.restart();
    store.ready().expect("the waiting record goes out");
    assert_eq!(store.verify_audit().expect("valid"), 2);
    store.audit(&record(AuditEvent::Release)).expect("3");
    assert_eq!(store.verify_audit().expect("valid"), 3);
}

#[test]
fn a_database_of_a_newer_mugai_or_none_at_all_is_refused() {
    let cluster = PgCluster::start();
    let local = tempfile::tempdir().expect("local");
    drop(open(&cluster, &local));
    drop(open(&cluster, &local));
    sql(&cluster)
        .execute("INSERT INTO mugai_schema (version) VALUES (99)", &[])
        .expect("newer");
    let err = PgStore::open(&cluster.url(), local.path()).expect_err("newer schema");
    assert!(matches!(err, StoreError::Unusable(_)), "{err}");
    assert!(err.to_string().contains("version 99"), "{err}");

    let nowhere = format!(
        "postgresql:///postgres?host={}&user=postgres&connect_timeout=2",
        local.path().display()
    );
    let err = PgStore::open(&nowhere, local.path()).expect_err("no server");
    assert!(matches!(err, StoreError::Database { .. }), "{err}");

    // Connections are plain: a URL that asks for TLS is refused, not
    // quietly served without it.
    let tls = format!("{}&sslmode=require", cluster.url());
    let err = PgStore::open(&tls, local.path()).expect_err("TLS asked for");
    assert!(matches!(err, StoreError::Database { .. }), "{err}");
}

#[test]
fn retention_and_a_damaged_entry_in_the_database() {
    let cluster = PgCluster::start();
    let local = tempfile::tempdir().expect("local");
    let store = open(&cluster, &local);
    let day = 24 * 3600 * 1000;
    let old = store.quarantine(b"old", entry(day)).expect("old");
    let young = store.quarantine(b"young", entry(100 * day)).expect("young");
    let removed = crate::expire(&store, &crate::Retention::default(), 95 * day).expect("expire");
    assert_eq!(removed, [old]);
    assert_eq!(store.list().expect("list").len(), 1);
    assert_eq!(store.verify_audit().expect("chain"), 1, "one purge record");
    assert_eq!(count(&cluster, "mugai_objects"), 1);

    sql(&cluster)
        .execute(
            "UPDATE mugai_quarantine SET entry = '{damaged' WHERE id = $1",
            &[&young.as_str()],
        )
        .expect("damage");
    let err = store.list().expect_err("damaged");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains(young.as_str()), "{err}");
}
