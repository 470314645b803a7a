//! Tests of the in-memory listing index (`index.rs`) alone.

use super::*;
use crate::model::SessionStatus::*;

fn id(n: u64) -> String {
    id_text(&std::array::from_fn(|i| (n as u8).wrapping_add(i as u8)))
}

fn entry(seq: u64, asn: u32, status: SessionStatus, router: &str) -> Entry {
    Entry {
        seq,
        id: id(seq),
        asn,
        status,
        router: router.into(),
    }
}

fn seqs(ix: &Index, shape: Shape<'_>, first: u64, hi: u64, n: usize) -> Vec<u64> {
    let found = ix.candidates(&shape, first, hi, n);
    for (seq, i) in &found {
        if *seq != 7 {
            assert_eq!(*i, id(*seq));
        }
    }
    found.into_iter().map(|(s, _)| s).collect()
}

/// 1..=10: routers r1 (odd) and r2 (even), asn 1 (up to 5) or 2, Pending
/// but every third Approved; 7 has an id of an older shape.
fn sample() -> Index {
    let mut ix = Index::default();
    for seq in 1..=10u64 {
        let mut e = entry(
            seq,
            if seq <= 5 { 1 } else { 2 },
            if seq % 3 == 0 { Approved } else { Pending },
            if seq % 2 == 1 { "r1" } else { "r2" },
        );
        if seq == 7 {
            e.id = "legacy-7".into();
        }
        ix.put(e);
    }
    ix
}

#[test]
fn every_listing_shape_in_seq_order_within_bounds() {
    let ix = sample();
    assert_eq!(ix.len(), 10);
    assert_eq!(
        seqs(&ix, Shape::All, 1, 10, 100),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(seqs(&ix, Shape::All, 4, 8, 100), vec![4, 5, 6, 7, 8]);
    assert_eq!(seqs(&ix, Shape::All, 4, 8, 2), vec![4, 5]);
    assert_eq!(seqs(&ix, Shape::Owner(1), 2, 10, 100), vec![2, 3, 4, 5]);
    assert_eq!(seqs(&ix, Shape::Owner(3), 1, 10, 100), Vec::<u64>::new());
    assert_eq!(
        seqs(&ix, Shape::Router("r1", &[]), 1, 10, 100),
        vec![1, 3, 5, 7, 9]
    );
    assert_eq!(
        seqs(&ix, Shape::Router("r1", &[Approved]), 1, 10, 100),
        vec![3, 9]
    );
    assert_eq!(
        seqs(&ix, Shape::Router("r2", &[Approved, Pending]), 3, 9, 2),
        vec![4, 6]
    );
    assert_eq!(
        seqs(&ix, Shape::Router("r9", &[]), 1, 10, 100),
        Vec::<u64>::new()
    );
    assert_eq!(
        seqs(&ix, Shape::Status(&[Approved]), 1, 10, 100),
        vec![3, 6, 9]
    );
    assert_eq!(seqs(&ix, Shape::Status(&[Approved]), 1, 8, 100), vec![3, 6]);
    assert_eq!(
        seqs(&ix, Shape::Status(&[Pending, Approved]), 2, 10, 4),
        vec![2, 3, 4, 5]
    );
    assert_eq!(
        seqs(&ix, Shape::Status(&[Failed]), 1, 10, 100),
        Vec::<u64>::new()
    );
    let legacy = ix.candidates(&Shape::All, 7, 7, 1);
    assert_eq!(legacy, vec![(7, "legacy-7".to_string())]);
}

#[test]
fn a_move_and_a_removal_leave_no_trace() {
    let mut ix = sample();
    // 3 Approved -> Provisioning, 4 removed, 7 (legacy id) removed
    ix.put(entry(3, 1, Provisioning, "r1"));
    ix.remove(4);
    ix.remove(7);
    ix.remove(7); // twice: nothing
    assert_eq!(ix.len(), 8);
    assert_eq!(
        seqs(&ix, Shape::Status(&[Approved]), 1, 10, 100),
        vec![6, 9]
    );
    assert_eq!(
        seqs(&ix, Shape::Status(&[Provisioning]), 1, 10, 100),
        vec![3]
    );
    assert_eq!(
        seqs(&ix, Shape::Router("r1", &[Provisioning]), 1, 10, 100),
        vec![3]
    );
    assert_eq!(
        seqs(&ix, Shape::Router("r1", &[]), 1, 10, 100),
        vec![1, 3, 5, 9]
    );
    assert_eq!(seqs(&ix, Shape::Owner(1), 1, 10, 100), vec![1, 2, 3, 5]);
    assert_eq!(
        seqs(&ix, Shape::All, 1, 10, 100),
        vec![1, 2, 3, 5, 6, 8, 9, 10]
    );
    assert!(ix.text_ids.is_empty());
    // every session of an owner gone: the owner goes
    for seq in 6..=10 {
        ix.remove(seq);
    }
    assert!(!ix.owners.contains_key(&2));
}

#[test]
fn counts_per_router_and_status_by_name() {
    let mut ix = sample();
    ix.put(entry(11, 1, Failed, "a0"));
    ix.put(entry(11, 1, Deleting, "a0")); // moved: counted once
    let got: Vec<(String, SessionStatus, u64)> = ix
        .counts()
        .into_iter()
        .map(|c| (c.router, c.status, c.count))
        .collect();
    assert_eq!(
        got,
        vec![
            ("a0".into(), Deleting, 1),
            ("r1".into(), Pending, 3),
            ("r1".into(), Approved, 2),
            ("r2".into(), Pending, 4),
            ("r2".into(), Approved, 1),
        ]
    );
    for seq in [2, 4, 6, 8, 10] {
        ix.remove(seq);
    }
    ix.remove(11);
    assert!(ix.counts().iter().all(|c| c.router == "r1"));
}

#[test]
fn built_at_once_equals_built_one_put_at_a_time() {
    let mut one = Index::default();
    let mut all = Vec::new();
    for seq in (1..=2000u64).rev() {
        let e = entry(
            seq,
            (seq % 7) as u32,
            SessionStatus::ALL[(seq % 10) as usize],
            &format!("r{}", seq % 5),
        );
        one.put(e.clone());
        all.push(e);
    }
    let at_once = Index::of(all);
    for shape in [
        Shape::All,
        Shape::Owner(3),
        Shape::Router("r2", &[]),
        Shape::Router("r4", &[Down, Established]),
        Shape::Status(&[Pending, Failed]),
    ] {
        assert_eq!(
            at_once.candidates(&shape, 17, 1900, 5000),
            one.candidates(&shape, 17, 1900, 5000)
        );
    }
    assert_eq!(at_once.counts(), one.counts());
}

#[test]
fn a_session_costs_well_under_100_bytes() {
    let mut ix = Index::default();
    for seq in 1..=100_000u64 {
        ix.put(entry(
            seq,
            64512 + (seq % 500) as u32,
            Pending,
            &format!("r{}", seq % 8),
        ));
    }
    let st: usize = ix.by_status.iter().map(|s| s.heap_bytes()).sum();
    let rt: usize = ix.routers.iter().map(|r| r.seqs.heap_bytes()).sum();
    let ow: usize = ix.owners.values().map(|o| o.heap_bytes()).sum();
    let per = (ix.all.heap_bytes() + st + rt + ow) / 100_000;
    assert!(per < 80, "{per} bytes a session");
}
