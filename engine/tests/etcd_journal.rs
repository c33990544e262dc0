//! The replicated journal against a real three-member etcd cluster:
//! the election, the fence in the write, followers through the death of
//! etcd's Raft leader, snapshots in chunks and compaction.
//!
//! Built with `--features etcd` (CI builds it); a machine without `etcd`
//! skips each test with one line, and CI fails instead.

mod common;

#[cfg(not(feature = "etcd"))]
#[test]
fn the_etcd_journal_tests_need_the_etcd_feature() {
    // CI runs them in a build of their own with the feature on.
    eprintln!(
        "SKIPPED etcd_journal: built without the etcd feature \
         (cargo test --release -p kuaifan-engine --features etcd --test etcd_journal)"
    );
}

#[cfg(feature = "etcd")]
mod with_etcd {
    use std::time::{Duration, Instant};

    use super::common::etcd::EtcdCluster;
    use kuaifan_engine::{Campaign, EtcdConfig, EtcdError, EtcdJournal, Leadership, LeaseStanding};

    fn node(cluster: &EtcdCluster, name: &str, lease: Duration) -> EtcdJournal {
        EtcdJournal::connect(EtcdConfig {
            endpoints: cluster.endpoints(),
            prefix: "/kuaifan/test".to_string(),
            node: name.to_string(),
            advertise: format!("{name}.example:50051"),
            lease,
        })
        .expect("the node reaches the cluster")
    }

    fn win(journal: &EtcdJournal) -> Leadership {
        match journal.campaign().expect("a campaign") {
            Campaign::Won(leadership) => leadership,
            Campaign::Lost(leader) => panic!("{} leads instead", leader.node),
        }
    }

    fn seqs(batches: &[(u64, Vec<u8>)]) -> Vec<u64> {
        batches.iter().map(|(s, _)| *s).collect()
    }

    #[test]
    fn one_node_leads_and_the_others_learn_who() {
        let Some(cluster) = EtcdCluster::start("etcd-election") else {
            return;
        };
        let a = node(&cluster, "a", Duration::from_secs(3));
        let b = node(&cluster, "b", Duration::from_secs(3));
        assert_eq!(a.leader().unwrap(), None);
        let lead = win(&a);
        assert!(lead.is_held());
        match b.campaign().unwrap() {
            Campaign::Lost(leader) => {
                assert_eq!(leader.node, "a");
                assert_eq!(leader.advertise, "a.example:50051");
            }
            Campaign::Won(_) => panic!("two leaders"),
        }
        assert_eq!(b.leader().unwrap().map(|l| l.node).as_deref(), Some("a"));
        // A clean resignation hands over at once, without waiting for the
        // lease.
        a.resign(lead).unwrap();
        assert_eq!(b.leader().unwrap(), None);
        let _b_leads = win(&b);
        assert_eq!(a.leader().unwrap().map(|l| l.node).as_deref(), Some("b"));
    }

    #[test]
    fn a_leader_whose_lease_is_gone_cannot_write_even_before_it_knows() {
        let Some(cluster) = EtcdCluster::start("etcd-fence") else {
            return;
        };
        // A long lease: a's own renewals will not notice within the test, so
        // it is the fence in the write that refuses it, as for a process
        // paused between its check and its write.
        let a = node(&cluster, "a", Duration::from_secs(30));
        let b = node(&cluster, "b", Duration::from_secs(30));
        let a_leads = win(&a);
        a.append(&a_leads, 1, b"a1").unwrap();
        a.append(&a_leads, 2, b"a2").unwrap();
        // etcd drops a's lease, as it does when a's renewals stop reaching it.
        let revoked = cluster.etcdctl(&["lease", "revoke", &format!("{:x}", a_leads.lease_id())]);
        assert!(revoked.status.success(), "{revoked:?}");
        let b_leads = win(&b);
        b.append(&b_leads, 3, b"b3").unwrap();
        assert!(a_leads.is_held(), "a does not know yet");
        match a.append(&a_leads, 3, b"a3") {
            Err(EtcdError::Fenced { leader }) => assert_eq!(leader.as_deref(), Some("b")),
            other => panic!("a wrote after the takeover: {other:?}"),
        }
        match a.append(&a_leads, 4, b"a4") {
            Err(EtcdError::Fenced { .. }) => {}
            other => panic!("a wrote after the takeover: {other:?}"),
        }
        let (batches, _) = b.read_after(0).unwrap();
        assert_eq!(
            batches,
            vec![
                (1, b"a1".to_vec()),
                (2, b"a2".to_vec()),
                (3, b"b3".to_vec())
            ],
            "nothing of a after the takeover"
        );
    }

    #[test]
    fn a_sequence_number_is_written_once_and_a_retried_append_is_no_second_write() {
        let Some(cluster) = EtcdCluster::start("etcd-sequence") else {
            return;
        };
        let a = node(&cluster, "a", Duration::from_secs(3));
        let lead = win(&a);
        assert_eq!(a.last_seq().unwrap(), 0);
        let first = a.append(&lead, 1, b"one").unwrap();
        // The same batch again, as after an answer lost on the way: the one
        // already there, at the revision it was written.
        assert_eq!(a.append(&lead, 1, b"one").unwrap(), first);
        match a.append(&lead, 1, b"other") {
            Err(EtcdError::Taken { seq: 1 }) => {}
            other => panic!("batch 1 written twice: {other:?}"),
        }
        a.append(&lead, 2, b"two").unwrap();
        assert_eq!(a.last_seq().unwrap(), 2);
        let (batches, _) = a.read_after(0).unwrap();
        assert_eq!(seqs(&batches), vec![1, 2]);
    }

    #[test]
    fn a_follower_gets_every_batch_in_order_while_the_raft_leader_is_killed() {
        let Some(mut cluster) = EtcdCluster::start("etcd-follow") else {
            return;
        };
        let a = node(&cluster, "a", Duration::from_secs(3));
        let b = node(&cluster, "b", Duration::from_secs(3));
        let lead = win(&a);
        let follower = b.follow(0).unwrap();
        let mut resumed_after = None;
        for seq in 1..=60u64 {
            if seq == 30 {
                let raft = cluster.raft_leader().expect("a Raft leader");
                cluster.kill(raft);
                let killed = Instant::now();
                a.append(&lead, seq, format!("batch {seq}").as_bytes())
                    .expect("writes resume on the two members left");
                resumed_after = Some(killed.elapsed());
                continue;
            }
            a.append(&lead, seq, format!("batch {seq}").as_bytes())
                .unwrap();
        }
        let mut got = Vec::new();
        while got.len() < 60 {
            match follower.next(Duration::from_secs(30)).unwrap() {
                Some(batch) => got.push(batch),
                None => panic!("the follower stopped at {:?}", seqs(&got).last()),
            }
        }
        assert_eq!(seqs(&got), (1..=60).collect::<Vec<_>>());
        assert!(
            got.iter()
                .all(|(s, body)| *body == format!("batch {s}").into_bytes())
        );
        let resumed = resumed_after.expect("measured");
        eprintln!("writes resumed {resumed:?} after the Raft leader was killed");
        // The goal is 3 s (README, failover figures); this bound only says
        // that they resumed at all.
        assert!(resumed < Duration::from_secs(30), "{resumed:?}");
        assert!(lead.is_held(), "the lead survives the etcd member's death");
    }

    /// Polls the lead's standing every 20 ms until it is no longer `from`
    /// (or `within` passes), and returns what it became.
    fn next_standing(lead: &Leadership, from: LeaseStanding, within: Duration) -> LeaseStanding {
        let deadline = Instant::now() + within;
        while lead.standing() == from && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        lead.standing()
    }

    #[test]
    fn a_lease_in_doubt_through_a_lost_quorum_is_confirmed_again_or_lost_past_twice_its_ttl() {
        let Some(mut cluster) = EtcdCluster::start("etcd-doubt") else {
            return;
        };
        let ttl = Duration::from_secs(5);
        let a = node(&cluster, "a", ttl);
        let b = node(&cluster, "b", ttl);
        let lead = win(&a);
        a.append(&lead, 1, b"before").unwrap();

        // Two of three members down: no renewal can be confirmed. The
        // lease goes into doubt after a TTL, not straight to lost.
        cluster.kill(1);
        cluster.kill(2);
        let lost_quorum = Instant::now();
        let became = next_standing(&lead, LeaseStanding::Held, ttl * 2);
        assert_eq!(
            became,
            LeaseStanding::InDoubt,
            "after {:?}",
            lost_quorum.elapsed()
        );
        assert!(!lead.is_held());
        let in_doubt_after = lost_quorum.elapsed();
        // Back within the second TTL: etcd's new Raft leader still has
        // the lease, and the next renewal confirms it.
        cluster.restart(1);
        cluster.restart(2);
        let became = next_standing(&lead, LeaseStanding::InDoubt, ttl * 2);
        assert_eq!(
            became,
            LeaseStanding::Held,
            "the lease is confirmed again, {:?} after the quorum was lost",
            lost_quorum.elapsed()
        );
        let confirmed_after = lost_quorum.elapsed();
        cluster.wait_healthy();
        a.append(&lead, 2, b"after the doubt")
            .expect("a still leads");
        assert_eq!(b.leader().unwrap().map(|l| l.node).as_deref(), Some("a"));
        match b.campaign().unwrap() {
            Campaign::Lost(leader) => assert_eq!(leader.node, "a"),
            Campaign::Won(_) => panic!("b won while a's lease was confirmed"),
        }

        // Down for longer than a second TTL: the lease is lost, appends
        // are refused without a try, and once etcd is back the lease runs
        // out there too (nothing renews it) and b takes over.
        cluster.kill(1);
        cluster.kill(2);
        let lost_quorum = Instant::now();
        assert_eq!(
            next_standing(&lead, LeaseStanding::Held, ttl * 2),
            LeaseStanding::InDoubt
        );
        assert_eq!(
            next_standing(&lead, LeaseStanding::InDoubt, ttl * 2),
            LeaseStanding::Lost
        );
        let lost_after = lost_quorum.elapsed();
        assert!(
            lost_after >= ttl,
            "lost after {lost_after:?}, within one TTL of the last confirmation"
        );
        match a.append(&lead, 3, b"after the loss") {
            Err(EtcdError::Fenced { .. }) => {}
            other => panic!("a lost lease still writes: {other:?}"),
        }
        cluster.restart(1);
        cluster.restart(2);
        cluster.wait_healthy();
        let deadline = Instant::now() + ttl * 4;
        let b_leads = loop {
            match b.campaign() {
                Ok(Campaign::Won(leadership)) => break leadership,
                Ok(Campaign::Lost(_)) | Err(_) => {
                    assert!(Instant::now() < deadline, "b never took over");
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        };
        b.append(&b_leads, 3, b"b takes over").unwrap();
        eprintln!(
            "lease {ttl:?}, quorum lost: in doubt after {in_doubt_after:?}, confirmed again \
             {confirmed_after:?} after the loss once the members were back; lost {lost_after:?} \
             after a second loss"
        );
    }

    #[test]
    fn a_snapshot_in_chunks_and_a_compaction_send_a_late_follower_to_the_snapshot() {
        let Some(cluster) = EtcdCluster::start("etcd-snapshot") else {
            return;
        };
        let a = node(&cluster, "a", Duration::from_secs(3));
        let b = node(&cluster, "b", Duration::from_secs(3));
        let lead = win(&a);
        for seq in 1..=10u64 {
            a.append(&lead, seq, format!("batch {seq}").as_bytes())
                .unwrap();
        }
        assert_eq!(b.snapshot().unwrap(), None);
        // 2.5 MiB: three chunks, none over the 1 MiB bound.
        let body: Vec<u8> = (0..(5 << 19)).map(|i: u32| (i % 251) as u8).collect();
        a.put_snapshot(&lead, 10, &body).unwrap();
        a.compact_through(&lead, 10).unwrap();
        let snapshot = b.snapshot().unwrap().expect("a snapshot");
        assert_eq!(snapshot.through, 10);
        assert!(snapshot.body == body, "the snapshot reads back whole");
        let chunks =
            cluster.etcdctl(&["get", "--prefix", "--keys-only", "/kuaifan/test/snapshot/0"]);
        let chunk_keys = String::from_utf8_lossy(&chunks.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .count();
        assert_eq!(chunk_keys, 3, "{}", String::from_utf8_lossy(&chunks.stdout));
        // The batches are gone; the sequence goes on after them.
        assert_eq!(b.read_after(0).unwrap().0, Vec::new());
        assert_eq!(b.last_seq().unwrap(), 10);
        match b.follow(3) {
            Err(EtcdError::BehindSnapshot { through: 10 }) => {}
            other => panic!("a follower at 3 must reload the snapshot: {other:?}"),
        }
        let follower = b.follow(10).unwrap();
        a.append(&lead, 11, b"batch 11").unwrap();
        assert_eq!(
            follower.next(Duration::from_secs(30)).unwrap(),
            Some((11, b"batch 11".to_vec()))
        );
        // A later snapshot replaces the earlier one's chunks.
        a.put_snapshot(&lead, 11, b"small").unwrap();
        let snapshot = b.snapshot().unwrap().expect("a snapshot");
        assert_eq!((snapshot.through, snapshot.body), (11, b"small".to_vec()));
        let chunks =
            cluster.etcdctl(&["get", "--prefix", "--keys-only", "/kuaifan/test/snapshot/0"]);
        let chunk_keys = String::from_utf8_lossy(&chunks.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .count();
        assert_eq!(chunk_keys, 1, "{}", String::from_utf8_lossy(&chunks.stdout));
    }

    #[test]
    fn a_backlog_and_a_snapshot_past_the_clients_answer_limit_are_read_whole() {
        let Some(cluster) = EtcdCluster::start("etcd-backlog") else {
            return;
        };
        let a = node(&cluster, "a", Duration::from_secs(3));
        let b = node(&cluster, "b", Duration::from_secs(3));
        let lead = win(&a);
        // 24 batches of 400 kB: 9.6 MB, more than twice the 4 MiB the
        // client accepts in one answer.
        let batch = |seq: u64| -> Vec<u8> {
            (0..400_000u32)
                .map(|i| (i as u64 * 7 + seq) as u8)
                .collect()
        };
        for seq in 1..=24u64 {
            a.append(&lead, seq, &batch(seq)).unwrap();
        }
        let (batches, _) = b.read_after(0).expect("the whole backlog reads");
        assert_eq!(seqs(&batches), (1..=24).collect::<Vec<_>>());
        assert!(batches.iter().all(|(s, body)| *body == batch(*s)));
        let (tail, _) = b.read_after(20).unwrap();
        assert_eq!(seqs(&tail), vec![21, 22, 23, 24]);
        // A standby starting behind the backlog follows it through.
        let follower = b.follow(0).unwrap();
        for seq in 1..=24u64 {
            let got = follower.next(Duration::from_secs(30)).unwrap();
            assert_eq!(
                got.map(|(s, body)| (s, body == batch(s))),
                Some((seq, true))
            );
        }
        // A snapshot of six chunks (6 MiB) reads back whole too.
        let body: Vec<u8> = (0..(6u32 << 20)).map(|i| (i % 253) as u8).collect();
        a.put_snapshot(&lead, 24, &body).unwrap();
        let snapshot = b.snapshot().unwrap().expect("a snapshot");
        assert_eq!(snapshot.through, 24);
        assert!(snapshot.body == body, "the snapshot reads back whole");
    }
}
