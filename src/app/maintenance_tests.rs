//! [`super::maintenance::pass`] over a real store.

use super::maintenance::{pass, PassReport, NS};
use crate::model::{
    new_id, Asn, MaintenanceTarget, MaintenanceWindow, NeighborForm, RequestRecord, Session,
    SessionStatus as S,
};
use crate::store::{Inserted, SledStore, Store, TransitionOpts};

fn opts() -> TransitionOpts {
    TransitionOpts {
        actor: "t".into(),
        ..Default::default()
    }
}

fn on_router(st: &SledStore, router: &str, host: u32, to: &[S]) -> Session {
    let req = RequestRecord {
        request_id: new_id(),
        requester_asn: Asn(65002),
        created_by: "t".into(),
        created_ms: 0,
        return_url: None,
        session_ids: vec![],
    };
    let s = Session {
        request_id: req.request_id.clone(),
        ..Session::sample(
            router,
            "pdb:ix:42",
            (65002, format!("192.0.2.{host}").parse().unwrap()),
            (65001, "192.0.2.1".parse().unwrap()),
        )
    };
    let Inserted::New(s) = st.insert_request(&req, vec![s]).unwrap().remove(0) else {
        panic!("not inserted")
    };
    let id = s.session_id.clone();
    for (i, t) in to.iter().enumerate() {
        st.transition(&id, *t, opts()).unwrap();
        if i == 0 {
            st.mark_pushed(std::slice::from_ref(&id)).unwrap();
        }
    }
    st.get_session(&id).unwrap().unwrap()
}

fn window(st: &SledStore, target: MaintenanceTarget, start: u64) -> MaintenanceWindow {
    let w = MaintenanceWindow {
        id: new_id(),
        target,
        start_ms: start,
        end_ms: None,
        reason: None,
        created_by: "operator:noc".into(),
        created_ms: 0,
        started: false,
        ended: false,
    };
    st.meta_put(NS, &w.id, &serde_json::to_vec(&w).unwrap())
        .unwrap();
    w
}

#[test]
fn a_window_holds_its_routers_sessions_then_releases_them() {
    let dir = tempfile::tempdir().unwrap();
    let st = SledStore::open(dir.path()).unwrap();
    let up = on_router(
        &st,
        "rtr1",
        2,
        &[S::Provisioning, S::Configured, S::Established],
    );
    let down = on_router(&st, "rtr1", 3, &[S::Provisioning, S::Configured, S::Down]);
    let queued = on_router(&st, "rtr1", 4, &[]);
    let elsewhere = on_router(&st, "rtr2", 5, &[S::Provisioning, S::Configured]);
    let now = crate::model::now_ms();
    let w = window(&st, MaintenanceTarget::Router("rtr1".into()), now + 60_000);
    // planned: nothing happens yet
    assert_eq!(pass(&st, now).unwrap(), PassReport::default());
    let r = pass(&st, now + 60_000).unwrap();
    assert_eq!((r.started, r.held), (1, 2), "{r:?}");
    let get = |s: &Session| st.get_session(&s.session_id).unwrap().unwrap();
    assert_eq!(
        get(&up).form(),
        NeighborForm::Drain,
        "established: drained first"
    );
    assert_eq!(
        get(&down).form(),
        NeighborForm::Shutdown,
        "down: no routes to drain"
    );
    assert_eq!(get(&up).status, S::Established, "no status change");
    assert_eq!(get(&queued).maintenance, None, "not on the router yet");
    assert_eq!(get(&elsewhere).maintenance, None);
    // a second pass changes nothing
    assert_eq!(pass(&st, now + 61_000).unwrap(), PassReport::default());
    // ending it releases them, each with a Refresh
    let mut w2 = w.clone();
    w2.ended = true;
    w2.started = true;
    w2.end_ms = Some(now + 70_000);
    st.meta_put(NS, &w.id, &serde_json::to_vec(&w2).unwrap())
        .unwrap();
    let r = pass(&st, now + 70_000).unwrap();
    assert_eq!(r.released, 2, "{r:?}");
    assert_eq!(get(&up).form(), NeighborForm::Normal);
    assert_eq!(get(&down).maintenance, None);
    let refreshes = st
        .jobs()
        .unwrap()
        .iter()
        .filter(|j| j.kind == crate::model::JobKind::Refresh)
        .count();
    assert_eq!(refreshes, 2);
    // long over: forgotten
    pass(&st, now + 70_000 + 8 * 86_400_000).unwrap();
    assert!(st.meta_list(NS).unwrap().is_empty());
}

#[test]
fn an_ended_window_hands_its_sessions_to_another_active_one() {
    let dir = tempfile::tempdir().unwrap();
    let st = SledStore::open(dir.path()).unwrap();
    let s = on_router(&st, "rtr1", 2, &[S::Provisioning, S::Configured]);
    let now = crate::model::now_ms();
    let a = window(&st, MaintenanceTarget::Router("rtr1".into()), now);
    pass(&st, now).unwrap();
    let b = window(&st, MaintenanceTarget::Location("pdb:ix:42".into()), now);
    pass(&st, now).unwrap();
    let held = st.get_session(&s.session_id).unwrap().unwrap();
    assert_eq!(held.maintenance.as_ref().unwrap().window, a.id);
    let mut a2 = a.clone();
    a2.started = true;
    a2.ended = true;
    a2.end_ms = Some(now);
    st.meta_put(NS, &a.id, &serde_json::to_vec(&a2).unwrap())
        .unwrap();
    pass(&st, now + 1).unwrap();
    let held = st.get_session(&s.session_id).unwrap().unwrap();
    assert_eq!(held.maintenance.as_ref().unwrap().window, b.id);
    assert_eq!(held.form(), NeighborForm::Shutdown);
}
