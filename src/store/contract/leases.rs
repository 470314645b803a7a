//! Named leases: taken, renewed, refused while another owner's is live,
//! taken over once it ended, released; one winner of a race.

use super::Mk;
use std::sync::{Arc, Barrier};

pub fn a_lease_is_held_by_one_owner_until_it_ends(mk: &Mk) {
    let f = mk();
    let st = &*f.st;
    let t = 1_000_000;
    assert!(st.hold_lease("poll:rtr1", "a", t, 100).unwrap());
    assert!(!st.hold_lease("poll:rtr1", "b", t + 50, 100).unwrap());
    assert!(
        !st.hold_lease("poll:rtr1", "b", t + 100, 100).unwrap(),
        "live through its last millisecond"
    );
    // its owner renews it
    assert!(st.hold_lease("poll:rtr1", "a", t + 90, 100).unwrap());
    assert!(!st.hold_lease("poll:rtr1", "b", t + 150, 100).unwrap());
    // names are apart
    assert!(st.hold_lease("poll:rtr2", "b", t + 150, 100).unwrap());
    // ended: taken over, and the old owner is refused now
    assert!(st.hold_lease("poll:rtr1", "b", t + 191, 100).unwrap());
    assert!(!st.hold_lease("poll:rtr1", "a", t + 200, 100).unwrap());
}

pub fn release_frees_only_the_owners_lease(mk: &Mk) {
    let f = mk();
    let st = &*f.st;
    let t = 1_000_000;
    assert!(st.hold_lease("maintenance", "a", t, 10_000).unwrap());
    st.release_lease("maintenance", "b").unwrap();
    assert!(!st.hold_lease("maintenance", "b", t + 1, 10_000).unwrap());
    st.release_lease("maintenance", "a").unwrap();
    assert!(st.hold_lease("maintenance", "b", t + 2, 10_000).unwrap());
    // releasing what nobody holds is fine
    st.release_lease("nothing", "a").unwrap();
}

pub fn of_owners_racing_for_a_lease_one_wins(mk: &Mk) {
    let f = mk();
    let st = f.st.clone();
    let t = 1_000_000;
    for round in 0..5u64 {
        let name = format!("race{round}");
        let n = 8;
        let gate = Arc::new(Barrier::new(n));
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (st, gate, name) = (st.clone(), gate.clone(), name.clone());
                std::thread::spawn(move || {
                    gate.wait();
                    st.hold_lease(&name, &format!("o{i}"), t, 60_000).unwrap()
                })
            })
            .collect();
        let won = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|w| *w)
            .count();
        assert_eq!(won, 1, "round {round}");
    }
}
