use std::collections::BTreeSet;
use std::time::Duration;

use cryptoviz_log::{Committed, Error, Log, TopicPartition};

use super::*;

#[tokio::test]
async fn two_members_split_partitions_and_take_over_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.ensure_topic("q", 3).await.unwrap();
    let mut a = log.subscribe("win", &["q"]).await.unwrap();
    let mut b = log.subscribe("win", &["q"]).await.unwrap();

    let pa: Vec<u32> = a.assignment().iter().map(|tp| tp.partition).collect();
    let pb: Vec<u32> = b.assignment().iter().map(|tp| tp.partition).collect();
    assert_eq!((pa.clone(), pb.clone()), (vec![0, 1], vec![2]));
    let ch = a.take_assignment_change().unwrap();
    assert_eq!(ch.assigned.len(), 2);
    assert!(a.take_assignment_change().is_none());
    assert_eq!(
        b.take_assignment_change().unwrap().assigned,
        vec![TopicPartition::new("q", 2)]
    );

    let total = 300;
    let recs = (0..total).map(|i| rec(Some(&format!("coin{i}")), format!("{i}"), i as i64));
    log.append("q", recs.collect()).await.unwrap();

    // Together they read everything exactly once; a stops halfway on each partition.
    let mut seen = BTreeSet::new();
    let mut a_commits = Vec::new();
    let from_b = poll_n(&mut b, log.offsets("q").await.unwrap()[2].1 as usize).await;
    let a_total: u64 = log.offsets("q").await.unwrap()[..2]
        .iter()
        .map(|o| o.1)
        .sum();
    let from_a = poll_n(&mut a, a_total as usize).await;
    for r in from_a.iter().chain(&from_b) {
        assert!(
            seen.insert(r.offset + 1000 * r.partition as u64),
            "duplicate {r:?}"
        );
        if r.partition < 2 {
            assert!(pa.contains(&r.partition));
        } else {
            assert!(pb.contains(&r.partition));
        }
    }
    assert_eq!(seen.len(), total);
    for p in [0u32, 1] {
        let half = log.offsets("q").await.unwrap()[p as usize].1 / 2;
        a_commits.push((
            TopicPartition::new("q", p),
            Committed {
                offset: half,
                metadata: format!("wm{p}"),
            },
        ));
    }
    a.commit(&a_commits).await.unwrap();
    assert!(matches!(
        a.commit(&[(TopicPartition::new("q", 2), Committed::default())])
            .await,
        Err(Error::NotAssigned(_))
    ));

    drop(a);
    let ch = b.take_assignment_change().unwrap();
    assert_eq!(ch.assigned.len(), 2);
    assert!(ch.revoked.is_empty());
    assert_eq!(b.assignment().len(), 3);
    // b resumes the taken-over partitions at a's committed offsets.
    let ends = log.offsets("q").await.unwrap();
    let expect: usize = a_commits
        .iter()
        .map(|(tp, c)| (ends[tp.partition as usize].1 - c.offset) as usize)
        .sum();
    let got = poll_n(&mut b, expect).await;
    for (tp, c) in &a_commits {
        let first = got.iter().find(|r| r.partition == tp.partition).unwrap();
        assert_eq!(first.offset, c.offset);
        assert_eq!(b.committed(tp).await.unwrap().unwrap().metadata, c.metadata);
    }
    assert!(
        b.poll(100, Duration::from_millis(20))
            .await
            .unwrap()
            .is_empty()
    );
    let offs = log.group_offsets("win", "q").await.unwrap();
    assert_eq!(offs[0].as_ref().unwrap().metadata, "wm0");
    assert_eq!(offs[2], None);
}

#[tokio::test]
async fn joining_member_revokes_from_existing_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.ensure_topic("j", 3).await.unwrap();
    let mut a = log.subscribe("g", &["j"]).await.unwrap();
    assert_eq!(a.take_assignment_change().unwrap().assigned.len(), 3);
    let _b = log.subscribe("g", &["j"]).await.unwrap();
    let ch = a.take_assignment_change().unwrap();
    assert_eq!(ch.revoked, vec![TopicPartition::new("j", 2)]);
    assert!(ch.assigned.is_empty());
    // A different group reads independently.
    let c = log.subscribe("other", &["j"]).await.unwrap();
    assert_eq!(c.assignment().len(), 3);
}
