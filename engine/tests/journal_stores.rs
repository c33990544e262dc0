//! The journal interface, the same for both stores: a fixed-seed run of
//! appends and snapshots through `JournalStore`, read back and compared
//! with the groups as they were appended (the reference), on SQLite and,
//! with `--features etcd`, on a real three-member etcd cluster, where
//! the two stores must also agree with each other. Then what only the
//! replicated store has: a deposed leader refused and stepping down, a
//! standby following by watch and taking over where it stopped, and a
//! standby behind a compaction reloading from the snapshot. And what each
//! store does with a closed case's archive row and with old sampled fixes:
//! SQLite keeps the row in `archived_incidents` and prunes the fixes a
//! snapshot covers; etcd carries the row in its batch (for every node's
//! local copy) and drops old batches, fixes and all, with its snapshots.

mod common;

use std::path::PathBuf;

use kuaifan_engine::{
    ArchiveReader, ArchivedCase, Entry, Group, Journal, JournalStore, PruneRule, RequestTag,
    Snapshot, StoredGroup,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kuaifan-stores-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// Batches of groups as the writer makes them: one to several groups of
/// one to four entries, some answering a client request.
fn batches(seed: u64, count: usize) -> Vec<Vec<Group>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|b| {
            (0..rng.random_range(1..4usize))
                .map(|g| Group {
                    request: rng.random_bool(0.5).then(|| RequestTag {
                        id: format!("req-{b}-{g}"),
                        digest: format!("{:016x}", rng.random::<u64>()),
                    }),
                    entries: (0..rng.random_range(1..5usize))
                        .map(|e| Entry {
                            at_ms: 1_764_000_000_000 + (b * 100 + g * 10 + e) as i64,
                            actor: format!("dispatcher-{}", rng.random_range(1..4u8)),
                            kind: ["report_incident", "assign", "advance", "position"]
                                [rng.random_range(0..4usize)]
                            .to_string(),
                            incident: rng.random_bool(0.7).then(|| rng.random_range(1..50u64)),
                            unit: rng
                                .random_bool(0.6)
                                .then(|| format!("JC-{:03}", rng.random_range(1..40u16))),
                            body: format!("{{\"b\":{b},\"g\":{g},\"e\":{e},\"引\":\"\\\"\"}}"),
                        })
                        .collect(),
                    archived: Vec::new(),
                })
                .collect()
        })
        .collect()
}

/// The body of the closed case below, as the writer stores it: a marker
/// no other entry holds.
const CASE_BODY: &str = r#"{"case":"archived-case-7-body"}"#;

/// A closed case as the writer archives it.
fn closed_case() -> ArchivedCase {
    ArchivedCase {
        incident: 7,
        reported_ms: 1_764_000_000_000,
        closed_ms: 1_764_000_900_000,
        priority: "P2".to_string(),
        zone: Some("Z05".to_string()),
        category: "theft".to_string(),
        units: "U03 U07".to_string(),
        body: CASE_BODY.to_string(),
    }
}

/// One entry of `kind` at `at_ms`.
fn entry(at_ms: i64, kind: &str, incident: Option<u64>) -> Entry {
    Entry {
        at_ms,
        actor: "system".to_string(),
        kind: kind.to_string(),
        incident,
        unit: (kind == "position").then(|| "U03".to_string()),
        body: format!("{{\"{kind}\":{at_ms}}}"),
    }
}

/// A writer's batches over weeks: sampled fixes (one group each), a
/// report, then the entry that takes the closed case out of the live
/// state with the case's archive row, then more fixes. Index 2 holds the
/// archive group; batches 0..4 come before the first snapshot.
fn archive_batches() -> Vec<Vec<Group>> {
    let day = 86_400_000;
    let t0 = 1_764_000_000_000;
    let group = |entries, archived| Group {
        request: None,
        entries,
        archived,
    };
    let mut batches = vec![
        vec![group(
            vec![entry(t0, "report_incident", Some(7))],
            Vec::new(),
        )],
        vec![group(vec![entry(t0 + 1_000, "position", None)], Vec::new())],
        vec![group(
            vec![entry(t0 + 3_600_000, "archive", Some(7))],
            vec![closed_case()],
        )],
        vec![group(
            vec![entry(t0 + 2 * day, "position", None)],
            Vec::new(),
        )],
    ];
    for d in 3..12 {
        batches.push(vec![group(
            vec![entry(t0 + d * day, "position", None)],
            Vec::new(),
        )]);
    }
    batches
}

#[test]
fn the_sqlite_store_archives_the_case_and_prunes_only_old_covered_fixes() {
    let dir = scratch("sqlite-archive");
    let path = dir.join("journal.db");
    let mut journal = Journal::open(&path).expect("a journal");
    let batches = archive_batches();
    let snapshot = |journal: &Journal, body: &[u8]| Snapshot {
        through_seq: journal.last_seq(),
        at_ms: 0,
        body: body.to_vec(),
    };
    for batch in &batches[..4] {
        journal.append(batch).expect("an append");
    }
    let first = snapshot(&journal, b"first");
    journal.write_snapshot(&first).expect("a snapshot");
    for batch in &batches[4..] {
        journal.append(batch).expect("an append");
    }
    journal
        .write_snapshot(&snapshot(&journal, b"second"))
        .expect("a snapshot");
    let archive = ArchiveReader::open(&path).expect("the archive opens");
    assert_eq!(archive.case(7).expect("reads"), Some(closed_case()));
    // Fixes older than a week that both snapshots cover go; the report and
    // the archive entry stay, and so does every fix the oldest snapshot
    // does not cover.
    let through = journal.oldest_snapshot_seq().expect("reads");
    assert_eq!(through, first.through_seq);
    let pruned = journal
        .prune(&PruneRule {
            kind: "position",
            through_seq: through,
            before_ms: 1_764_000_000_000 + 7 * 86_400_000,
            visit_at_most: 1_000,
        })
        .expect("prunes");
    assert_eq!(pruned.deleted, 2, "{pruned:?}");
    let kept: Vec<(i64, String)> = read_after(&journal, 0)
        .into_iter()
        .flat_map(|g| g.entries)
        .map(|(seq, e)| (seq, e.kind))
        .collect();
    let mut expected: Vec<(i64, String)> =
        vec![(1, "report_incident".into()), (3, "archive".into())];
    expected.extend((5..=13).map(|seq| (seq, "position".to_string())));
    assert_eq!(kept, expected);
    assert_eq!(archive.case(7).expect("reads"), Some(closed_case()));
    drop(archive);
    drop(journal);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The reference: the groups numbered 1, 2, 3, … in append order, each
/// with the cases it archived.
fn numbered(batches: &[Vec<Group>]) -> Vec<StoredGroup> {
    let groups: Vec<Group> = batches.iter().flatten().cloned().collect();
    StoredGroup::numbered(&groups, 1)
}

/// The groups of `reference` after entry `seq`.
fn after(reference: &[StoredGroup], seq: i64) -> Vec<StoredGroup> {
    reference
        .iter()
        .filter(|g| g.last_seq() > seq)
        .cloned()
        .collect()
}

fn read_after<S: JournalStore>(store: &S, after: i64) -> Vec<StoredGroup> {
    let mut out = Vec::new();
    store
        .for_each_group_after(after, &mut |g| {
            out.push(g);
            Ok(())
        })
        .expect("the store reads back");
    out
}

/// What a store hands back over one run: every group after 0, after a
/// point inside the run, the snapshots' positions and bodies.
#[derive(Debug, PartialEq)]
struct Run {
    all: Vec<StoredGroup>,
    after_middle: Vec<StoredGroup>,
    snapshot: Option<Snapshot>,
    last_seq: i64,
}

/// Appends the batches, with a snapshot after the first half, through
/// the interface only, and checks each answer against the reference.
fn exercise<S: JournalStore>(store: &mut S, batches: &[Vec<Group>]) -> Run {
    let reference = numbered(batches);
    assert_eq!(store.last_seq(), 0);
    assert_eq!(store.latest_snapshot().expect("no snapshot yet"), None);
    let half = batches.len() / 2;
    for (i, batch) in batches.iter().enumerate() {
        let before = store.last_seq();
        let last = store.append(batch).expect("an append");
        let added: usize = batch.iter().map(|g| g.entries.len()).sum();
        assert_eq!(last, before + added as i64, "batch {i}");
        assert_eq!(store.last_seq(), last);
        if i + 1 == half {
            let snapshot = Snapshot {
                through_seq: last,
                at_ms: 1_764_000_999_000,
                body: (0..3000u32).map(|i| (i % 253) as u8).collect(),
            };
            store.write_snapshot(&snapshot).expect("a snapshot");
            assert_eq!(store.latest_snapshot().expect("a snapshot"), Some(snapshot));
        }
    }
    let all = read_after(store, 0);
    assert_eq!(all, reference);
    let middle = reference[reference.len() / 2].last_seq();
    let after_middle = read_after(store, middle);
    assert_eq!(after_middle, after(&reference, middle));
    assert!(!after_middle.is_empty());
    Run {
        all,
        after_middle,
        snapshot: store.latest_snapshot().expect("the snapshot"),
        last_seq: store.last_seq(),
    }
}

#[test]
fn the_sqlite_store_hands_back_what_was_appended() {
    let dir = scratch("sqlite");
    let mut journal = Journal::open(&dir.join("journal.db")).expect("a journal");
    let batches = batches(18, 40);
    let run = exercise(&mut journal, &batches);
    // And again after a restart: what the interface promised is on disk.
    drop(journal);
    let journal = Journal::open(&dir.join("journal.db")).expect("the journal again");
    assert_eq!(read_after(&journal, 0), run.all);
    assert_eq!(journal.latest_snapshot().unwrap(), run.snapshot);
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(not(feature = "etcd"))]
#[test]
fn the_etcd_store_tests_need_the_etcd_feature() {
    common::skip(
        "built without the etcd feature \
         (cargo test --release -p kuaifan-engine --features etcd --test journal_stores)",
    );
}

#[cfg(feature = "etcd")]
mod etcd {
    use std::time::Duration;

    use super::common::etcd::EtcdCluster;
    use super::*;
    use kuaifan_engine::{EtcdConfig, EtcdError, EtcdJournal, EtcdStore};

    fn store(cluster: &EtcdCluster, name: &str, lease: Duration) -> EtcdStore {
        let journal = EtcdJournal::connect(EtcdConfig {
            endpoints: cluster.endpoints(),
            prefix: "/kuaifan/stores".to_string(),
            node: name.to_string(),
            advertise: format!("{name}.example:50051"),
            lease,
        })
        .expect("the node reaches the cluster");
        EtcdStore::open(journal).expect("the store opens")
    }

    fn lead(store: &mut EtcdStore) {
        if let Some(leader) = store.campaign().expect("a campaign") {
            panic!("{} leads instead", leader.node);
        }
        assert!(store.leads());
    }

    #[test]
    fn the_etcd_store_hands_back_what_was_appended_as_sqlite_does() {
        let Some(cluster) = EtcdCluster::start("stores-same") else {
            return;
        };
        let batches = batches(18, 40);
        let mut a = store(&cluster, "a", Duration::from_secs(3));
        lead(&mut a);
        let in_etcd = exercise(&mut a, &batches);
        let dir = scratch("same");
        let mut sqlite = Journal::open(&dir.join("journal.db")).expect("a journal");
        let in_sqlite = exercise(&mut sqlite, &batches);
        assert_eq!(in_etcd, in_sqlite);
        // Another node opening the store finds the same end and groups.
        let b = store(&cluster, "b", Duration::from_secs(3));
        assert_eq!(b.last_seq(), in_etcd.last_seq);
        assert_eq!(read_after(&b, 0), in_etcd.all);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_deposed_leader_is_refused_and_steps_down() {
        let Some(cluster) = EtcdCluster::start("stores-deposed") else {
            return;
        };
        let batches = batches(7, 6);
        // A long lease: a does not notice on its own within the test, as a
        // paused process would not; the fence in the write refuses it.
        let mut a = store(&cluster, "a", Duration::from_secs(30));
        lead(&mut a);
        for batch in &batches[..3] {
            a.append(batch).unwrap();
        }
        let lease = a.journal().leader().unwrap().expect("a leads");
        assert_eq!(lease.node, "a");
        let lease_id = lease_of(&cluster);
        let revoked = cluster.etcdctl(&["lease", "revoke", &lease_id]);
        assert!(revoked.status.success(), "{revoked:?}");
        let mut b = store(&cluster, "b", Duration::from_secs(30));
        lead(&mut b);
        b.append(&batches[3]).unwrap();
        assert!(a.leads(), "a does not know yet");
        match a.append(&batches[4]) {
            Err(EtcdError::Fenced { leader }) => assert_eq!(leader.as_deref(), Some("b")),
            other => panic!("a wrote after the takeover: {other:?}"),
        }
        assert!(!a.leads(), "a stepped down");
        // It stays down: its next write is refused before reaching etcd's
        // journal, and it cannot snapshot either.
        assert!(matches!(
            a.append(&batches[5]),
            Err(EtcdError::Fenced { .. })
        ));
        let snapshot = Snapshot {
            through_seq: a.last_seq(),
            at_ms: 0,
            body: b"a's".to_vec(),
        };
        assert!(matches!(
            a.write_snapshot(&snapshot),
            Err(EtcdError::Fenced { .. })
        ));
        assert_eq!(
            read_after(&b, 0),
            numbered(&batches[..4]),
            "nothing of a after the takeover"
        );
        assert_eq!(b.latest_snapshot().unwrap(), None);
    }

    /// The lease id of the leader key, as etcdctl names it (hex).
    fn lease_of(cluster: &EtcdCluster) -> String {
        let out = cluster.etcdctl(&["get", "/kuaifan/stores/leader", "-w", "json"]);
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("etcdctl's JSON");
        let id = value["kvs"][0]["lease"].as_i64().expect("a lease");
        format!("{id:x}")
    }

    #[test]
    fn a_standby_follows_by_watch_and_takes_over_where_it_stopped() {
        let Some(cluster) = EtcdCluster::start("stores-follow") else {
            return;
        };
        let batches = batches(11, 50);
        let mut a = store(&cluster, "a", Duration::from_secs(3));
        lead(&mut a);
        let mut b = store(&cluster, "b", Duration::from_secs(3));
        // b is not the leader: it cannot write.
        assert!(matches!(
            b.append(&batches[0]),
            Err(EtcdError::Fenced { leader: Some(l) }) if l == "a"
        ));
        a.append(&batches[0]).unwrap();
        let follower = b.follow().unwrap();
        for batch in &batches[1..40] {
            a.append(batch).unwrap();
        }
        let mut followed = Vec::new();
        while b.last_seq() < a.last_seq() {
            let (seq, body) = follower
                .next(Duration::from_secs(30))
                .unwrap()
                .expect("a batch within 30 s");
            followed.extend(b.apply_followed(seq, &body).unwrap());
        }
        assert_eq!(followed, numbered(&batches[..40]));
        // a stops cleanly; b, having applied everything, leads and goes on
        // right after it.
        a.resign().unwrap();
        assert!(!a.leads());
        drop(follower);
        lead(&mut b);
        for batch in &batches[40..] {
            b.append(batch).unwrap();
        }
        assert_eq!(read_after(&a, 0), numbered(&batches));
        // a, now behind b's writes, is refused the lead until it follows.
        b.resign().unwrap();
        match a.campaign() {
            Err(EtcdError::Behind { .. }) => {}
            other => panic!("a led without b's batches: {other:?}"),
        }
        assert!(
            a.journal().leader().unwrap().is_none(),
            "a gave it up again"
        );
    }

    /// What the etcd store does with a closed case's archive row and with
    /// old fixes (README, Failover): the archive entry is journaled like
    /// any other, and its batch carries the case's row, which every node
    /// files in its local copy (etcd is no place for an archive that grows
    /// all year); nothing is pruned by rule, because a snapshot deletes
    /// every batch the snapshot before it holds, the archive entry and the
    /// fixes among them.
    #[test]
    fn the_etcd_store_carries_the_archive_row_in_its_batch_and_drops_old_batches_with_its_snapshots()
     {
        let Some(cluster) = EtcdCluster::start("stores-archive") else {
            return;
        };
        let batches = archive_batches();
        let mut a = store(&cluster, "a", Duration::from_secs(3));
        lead(&mut a);
        let at = |a: &EtcdStore, body: &[u8]| Snapshot {
            through_seq: a.last_seq(),
            at_ms: 0,
            body: body.to_vec(),
        };
        for batch in &batches[..4] {
            a.append(batch).unwrap();
        }
        // The archive entry reads back as appended, with the case's row,
        // which only the batch of the archive group holds.
        let reference = numbered(&batches);
        let read = read_after(&a, 0);
        assert_eq!(read, numbered(&batches[..4]));
        assert_eq!(read[2].archived, vec![closed_case()]);
        let (raw, _) = a.journal().read_after(0).unwrap();
        assert_eq!(raw.len(), 4);
        for (i, (seq, body)) in raw.iter().enumerate() {
            let text = String::from_utf8_lossy(body);
            assert_eq!(
                text.contains("archived-case-7-body"),
                i == 2,
                "batch {seq}: {text}"
            );
        }
        a.write_snapshot(&at(&a, b"first")).unwrap();
        let through_first = a.last_seq();
        for batch in &batches[4..] {
            a.append(batch).unwrap();
        }
        a.write_snapshot(&at(&a, b"second")).unwrap();
        // The second snapshot took the first one's batches: the report,
        // the archive entry and the oldest fixes are gone from etcd.
        assert!(matches!(
            a.for_each_group_after(0, &mut |_| Ok(())),
            Err(EtcdError::BehindSnapshot { .. })
        ));
        assert_eq!(
            read_after(&a, through_first),
            after(&reference, through_first)
        );
        let (raw, _) = a.journal().read_after(0).unwrap();
        assert_eq!(
            raw.len(),
            batches.len() - 4,
            "only the batches after the first snapshot"
        );
    }

    #[test]
    fn a_standby_behind_a_compaction_reloads_from_the_snapshot() {
        let Some(cluster) = EtcdCluster::start("stores-compacted") else {
            return;
        };
        let batches = batches(5, 30);
        let mut a = store(&cluster, "a", Duration::from_secs(3));
        lead(&mut a);
        let late = store(&cluster, "late", Duration::from_secs(3));
        let at = |a: &EtcdStore, body: &[u8]| Snapshot {
            through_seq: a.last_seq(),
            at_ms: 1_764_000_000_000,
            body: body.to_vec(),
        };
        for batch in &batches[..10] {
            a.append(batch).unwrap();
        }
        // Over 1 MiB: chunked in etcd, whole when read back.
        let first: Vec<u8> = (0..(3 << 19)).map(|i: u32| (i % 241) as u8).collect();
        a.write_snapshot(&at(&a, &first)).unwrap();
        for batch in &batches[10..20] {
            a.append(batch).unwrap();
        }
        // The second snapshot deletes the batches the first one holds.
        a.write_snapshot(&at(&a, b"second")).unwrap();
        for batch in &batches[20..] {
            a.append(batch).unwrap();
        }
        let reference = numbered(&batches);
        let through_first = numbered(&batches[..10]).last().unwrap().last_seq();
        assert_eq!(
            read_after(&a, through_first),
            after(&reference, through_first)
        );
        assert!(matches!(
            a.for_each_group_after(0, &mut |_| Ok(())),
            Err(EtcdError::BehindSnapshot { .. })
        ));
        // The late standby, at 0, is sent to the snapshot.
        let mut late = late;
        match late.follow() {
            Err(EtcdError::BehindSnapshot { .. }) => {}
            other => panic!("a standby at 0 must reload: {other:?}"),
        }
        let snapshot = late.reload_snapshot().unwrap().expect("a snapshot");
        let through_second = numbered(&batches[..20]).last().unwrap().last_seq();
        assert_eq!(
            (snapshot.through_seq, snapshot.body.as_slice()),
            (through_second, &b"second"[..])
        );
        let follower = late.follow().unwrap();
        let mut followed = Vec::new();
        while late.last_seq() < a.last_seq() {
            let (seq, body) = follower
                .next(Duration::from_secs(30))
                .unwrap()
                .expect("a batch within 30 s");
            followed.extend(late.apply_followed(seq, &body).unwrap());
        }
        assert_eq!(followed, after(&reference, through_second));
    }
}
