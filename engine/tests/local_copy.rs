//! A node's local copy of the replicated journal: groups at the numbers
//! the replicated journal gave them, each once, read back as they went
//! in; the closed cases they archived in its archive; holes recorded; and
//! a single node refusing to start on a copy (it would fork the
//! deployment's history).

use std::path::PathBuf;

use kuaifan_engine::{
    ArchivedCase, Entry, Group, Journal, JournalError, LocalCopy, RequestTag, StoredGroup,
};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kuaifan-copy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir.join("node.journal")
}

const PREFIX: &str = "/kuaifan/jincheng";

fn entry(n: i64, kind: &str) -> Entry {
    Entry {
        at_ms: 1_700_000_000_000 + n * 1000,
        actor: format!("dispatcher-{}", n % 3),
        kind: kind.to_string(),
        incident: (n % 2 == 0).then_some(n as u64),
        unit: (n % 3 == 0).then(|| format!("U{n:02}")),
        body: format!("{{\"n\":{n}}}"),
    }
}

/// Groups of one to three entries numbered from `first` as etcd's batches
/// number them, `count` groups in all; every other one with a request id.
fn groups(first: i64, count: usize) -> Vec<StoredGroup> {
    let plain: Vec<Group> = (0..count)
        .map(|i| Group {
            request: (i % 2 == 0).then(|| RequestTag {
                id: format!("req-{first}-{i}"),
                digest: format!("{i:064x}"),
            }),
            entries: (0..=(i % 3) as i64)
                .map(|k| entry(first + i as i64 * 10 + k, "assign"))
                .collect(),
            archived: Vec::new(),
        })
        .collect();
    StoredGroup::numbered(&plain, first)
}

fn read_back(copy: &LocalCopy) -> Vec<StoredGroup> {
    let mut got = Vec::new();
    copy.for_each_group_after(0, |g| {
        got.push(g);
        Ok(())
    })
    .expect("the copy reads back");
    got
}

#[test]
fn groups_go_in_at_their_numbers_once_and_read_back_as_they_went_in() {
    let path = scratch("once");
    let mut copy = LocalCopy::open(&path, PREFIX).unwrap();
    let all = groups(1, 12);
    let last = all.last().unwrap().last_seq();
    // Two overlapping deliveries (a batch copied again after a restart):
    // the second's first groups are held already.
    copy.copy(&all[..7]).unwrap();
    assert_eq!(copy.copy(&all[4..]).unwrap(), last);
    assert_eq!(
        copy.copy(&all).unwrap(),
        last,
        "nothing new: nothing written"
    );
    assert_eq!(read_back(&copy), all);
    assert_eq!(copy.missing().unwrap(), Vec::new());
    drop(copy);
    // Opened again, it goes on where it stopped.
    let mut copy = LocalCopy::open(&path, PREFIX).unwrap();
    assert_eq!(copy.last_seq(), last);
    let more = groups(last + 1, 3);
    copy.copy(&more).unwrap();
    let mut expected = all;
    expected.extend(more);
    assert_eq!(read_back(&copy), expected);
}

#[test]
fn a_start_past_the_copys_end_is_recorded_as_missing() {
    let path = scratch("missing");
    let mut copy = LocalCopy::open(&path, PREFIX).unwrap();
    let early = groups(1, 3);
    let early_last = early.last().unwrap().last_seq();
    copy.copy(&early).unwrap();
    // The cluster compacted entries into its snapshot while the node was
    // away: the copy resumes at 40.
    let late = groups(40, 2);
    copy.copy(&late).unwrap();
    assert_eq!(copy.missing().unwrap(), vec![(early_last + 1, 39)]);
    let later = groups(100, 1);
    copy.copy(&later).unwrap();
    let late_last = late.last().unwrap().last_seq();
    assert_eq!(
        copy.missing().unwrap(),
        vec![(early_last + 1, 39), (late_last + 1, 99)]
    );
    let mut expected = early;
    expected.extend(late);
    expected.extend(later);
    assert_eq!(read_back(&copy), expected);
}

#[test]
fn entries_out_of_order_are_refused_and_nothing_of_them_is_written() {
    let path = scratch("order");
    let mut copy = LocalCopy::open(&path, PREFIX).unwrap();
    copy.copy(&groups(1, 2)).unwrap();
    let before = read_back(&copy);
    let mut broken = groups(copy.last_seq() + 1, 3);
    // A hole inside the delivery: the replicated journal has none.
    broken[2].entries[0].0 += 5;
    match copy.copy(&broken) {
        Err(JournalError::Entry { .. }) => {}
        other => panic!("a hole inside a delivery must be refused: {other:?}"),
    }
    assert_eq!(read_back(&copy), before);
}

#[test]
fn archived_cases_land_in_the_copys_archive() {
    let path = scratch("archive");
    let mut copy = LocalCopy::open(&path, PREFIX).unwrap();
    let case = ArchivedCase {
        incident: 7,
        reported_ms: 1_700_000_000_000,
        closed_ms: 1_700_000_900_000,
        priority: "P1".to_string(),
        zone: Some("Z15".to_string()),
        category: "robbery".to_string(),
        units: "U01 U04".to_string(),
        body: "{\"id\":7}".to_string(),
    };
    let group = Group {
        request: None,
        entries: vec![entry(1, "archive_incident")],
        archived: vec![case.clone()],
    };
    copy.copy(&StoredGroup::numbered(&[group], 1)).unwrap();
    let reader = copy.archive_reader().unwrap();
    assert_eq!(reader.case(7).unwrap(), Some(case));
    assert_eq!(reader.case(8).unwrap(), None);
    assert_eq!(reader.len().unwrap(), 1);
}

#[test]
fn a_copy_is_nobody_elses_journal() {
    let path = scratch("refuse");
    let mut copy = LocalCopy::open(&path, PREFIX).unwrap();
    copy.copy(&groups(1, 2)).unwrap();
    drop(copy);
    match Journal::open(&path) {
        Err(JournalError::CopyOfReplicated { of, .. }) => assert_eq!(of, PREFIX),
        other => panic!("a single node must not start on a copy: {other:?}"),
    }
    match LocalCopy::open(&path, "/kuaifan/other") {
        Err(JournalError::NotThisCopy { reason, .. }) => {
            assert!(reason.contains(PREFIX), "{reason}")
        }
        other => panic!("another deployment's copy must be refused: {other:?}"),
    }
    // A single node's journal with entries in it cannot become a copy;
    // a new, empty one can.
    let single = path.with_file_name("single.journal");
    let mut journal = Journal::open(&single).unwrap();
    journal
        .append(&[Group {
            request: None,
            entries: vec![entry(1, "open_shift")],
            archived: Vec::new(),
        }])
        .unwrap();
    drop(journal);
    match LocalCopy::open(&single, PREFIX) {
        Err(JournalError::NotThisCopy { reason, .. }) => {
            assert!(reason.contains("single node"), "{reason}")
        }
        other => panic!("a single node's journal must not become a copy: {other:?}"),
    }
    let empty = path.with_file_name("empty.journal");
    drop(Journal::open(&empty).unwrap());
    assert!(LocalCopy::open(&empty, PREFIX).is_ok());
}

#[test]
fn old_position_fixes_are_pruned_and_nothing_else() {
    let path = scratch("prune");
    let mut copy = LocalCopy::open(&path, PREFIX).unwrap();
    let plain: Vec<Group> = (1..=20)
        .map(|n| Group {
            request: None,
            entries: vec![entry(
                n,
                if n % 2 == 0 {
                    "report_position"
                } else {
                    "assign"
                },
            )],
            archived: Vec::new(),
        })
        .collect();
    let all = StoredGroup::numbered(&plain, 1);
    copy.copy(&all).unwrap();
    // Fixes before entry 11's time go; the later ones and every other
    // kind stay.
    let before_ms = entry(11, "").at_ms;
    let pruned = copy.prune_old("report_position", before_ms, 1_000).unwrap();
    assert_eq!(pruned.deleted, 5);
    let kept: Vec<i64> = read_back(&copy)
        .iter()
        .flat_map(|g| g.entries.iter().map(|(s, _)| *s))
        .collect();
    let expected: Vec<i64> = (1..=20).filter(|n| n % 2 == 1 || *n >= 11).collect();
    assert_eq!(kept, expected);
    // The next entry still follows the last one.
    let next = groups(21, 1);
    copy.copy(&next).unwrap();
    assert_eq!(copy.last_seq(), next.last().unwrap().last_seq());
}
