//! The store contract: one test suite that every [`Store`] implementation
//! passes unchanged (sessions, requests, dedup and the address owner,
//! transitions, holds and deferred jobs, audit, paging under writes, the queue, the metadata area,
//! named leases).
//! Each test is a function of a factory of fresh, empty stores;
//! [`contract_tests!`] instantiates all of them for one backend (see
//! `sled_store/tests` and `postgres/tests.rs`).

pub mod addresses;
pub mod hold;
pub mod leases;
pub mod listing;
pub mod queue;
pub mod remote;
pub mod sessions;

use crate::model::{new_id, Asn, RequestRecord, Secret, Session, SessionStatus};
use crate::store::{Inserted, Store, TransitionOpts};
use std::net::IpAddr;
use std::sync::Arc;

/// Reads the holders of a session's address from a backend's own index.
pub type HoldersFn = Box<dyn Fn(&Session) -> Vec<String> + Send + Sync>;

/// A fresh, empty store of one backend.
pub struct Fresh {
    pub st: Arc<dyn Store>,
    /// The ids holding a session's neighbor address at its router, in the
    /// order they took it (read from the backend's own index).
    pub holders: HoldersFn,
    /// Whatever must live as long as the store (a temporary directory).
    pub _guard: Box<dyn std::any::Any>,
}

/// A factory of fresh stores.
pub type Mk = dyn Fn() -> Fresh;

/// A session of requester `asn` whose neighbor address is derived from
/// `asn` and `n` (see [`session_at`] for another network at one address).
pub fn session(asn: u32, n: u32, status: SessionStatus) -> Session {
    let ip = format!("2001:db8::{:x}:{:x}", asn & 0xffff, 0x1000 + n);
    session_at(asn, ip.parse().unwrap(), status)
}

/// A session of requester `asn` for neighbor address `local_ip`.
pub fn session_at(asn: u32, local_ip: IpAddr, status: SessionStatus) -> Session {
    Session {
        request_id: String::new(),
        session_secret: Some(Secret::new("s3cret")),
        status,
        created_by: format!("pdb:{asn}"),
        ..Session::sample(
            "rtr1",
            "pdb:ix:42",
            (asn, local_ip),
            (65001, "2001:db8::1".parse().unwrap()),
        )
    }
}

pub fn request(asn: u32) -> RequestRecord {
    RequestRecord {
        request_id: new_id(),
        requester_asn: Asn(asn),
        created_by: format!("pdb:{asn}"),
        created_ms: crate::model::now_ms(),
        return_url: None,
        session_ids: Vec::new(),
    }
}

/// Inserts the sessions as one request; returns the outcomes.
pub fn insert(st: &dyn Store, asn: u32, sessions: Vec<Session>) -> Vec<Inserted> {
    let req = request(asn);
    let sessions = sessions
        .into_iter()
        .map(|mut s| {
            s.request_id = req.request_id.clone();
            s
        })
        .collect();
    st.insert_request(&req, sessions).unwrap()
}

/// Inserts one new session and returns it as stored.
pub fn insert_one(st: &dyn Store, s: Session) -> Session {
    let asn = s.local_asn.0;
    match insert(st, asn, vec![s]).pop().unwrap() {
        Inserted::New(s) => s,
        other => panic!("expected a new session, got {other:?}"),
    }
}

pub fn opts(actor: &str) -> TransitionOpts {
    TransitionOpts {
        actor: actor.into(),
        ..Default::default()
    }
}

/// Every contract test, as `#[test]`s over the backend `$mk`: a
/// `fn() -> Option<Box<Mk>>`, `None` when the backend is not available
/// here (the test then passes without running; see `postgres/tests.rs`
/// for when that is allowed).
#[macro_export]
macro_rules! contract_tests {
    ($mk:path) => {
        #[test]
        #[allow(non_snake_case)]
        fn addresses__another_network_is_refused_and_names_nobody() {
            if let Some(mk) = $mk() {
                $crate::store::contract::addresses::another_network_is_refused_and_names_nobody(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn addresses__racing_networks_one_wins() {
            if let Some(mk) = $mk() {
                $crate::store::contract::addresses::racing_networks_one_wins(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn addresses__released_on_removal_and_terminal_statuses() {
            if let Some(mk) = $mk() {
                $crate::store::contract::addresses::released_on_removal_and_terminal_statuses(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn addresses__deleting_hands_over_to_its_repeat_whose_push_waits() {
            if let Some(mk) = $mk() {
                $crate::store::contract::addresses::deleting_hands_over_to_its_repeat_whose_push_waits(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn addresses__mark_pushed_and_conditional_removal_are_ordered() {
            if let Some(mk) = $mk() {
                $crate::store::contract::addresses::mark_pushed_and_conditional_removal_are_ordered(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn addresses__requeue_now_resets_waiting_jobs_only() {
            if let Some(mk) = $mk() {
                $crate::store::contract::addresses::requeue_now_resets_waiting_jobs_only(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn queue__claim_is_ordered_bounded_and_skips_busy_routers() {
            if let Some(mk) = $mk() {
                $crate::store::contract::queue::claim_is_ordered_bounded_and_skips_busy_routers(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn queue__lease_expiry_and_reclaim() {
            if let Some(mk) = $mk() {
                $crate::store::contract::queue::lease_expiry_and_reclaim(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn queue__retry_after_backoff() {
            if let Some(mk) = $mk() {
                $crate::store::contract::queue::retry_after_backoff(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn queue__lease_lost_on_wrong_token_or_unknown_job() {
            if let Some(mk) = $mk() {
                $crate::store::contract::queue::lease_lost_on_wrong_token_or_unknown_job(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn queue__provision_retry_and_reapproval() {
            if let Some(mk) = $mk() {
                $crate::store::contract::queue::provision_retry_and_reapproval(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn queue__session_jobs_are_one_sessions_in_order() {
            if let Some(mk) = $mk() {
                $crate::store::contract::queue::session_jobs_are_one_sessions_in_order(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn queue__no_job_is_claimed_twice_by_concurrent_claimers() {
            if let Some(mk) = $mk() {
                $crate::store::contract::queue::no_job_is_claimed_twice_by_concurrent_claimers(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn remote__listings_filter_by_direction() {
            if let Some(mk) = $mk() {
                $crate::store::contract::remote::listings_filter_by_direction(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn remote__the_remote_side_is_recorded_and_audited_when_it_changes() {
            if let Some(mk) = $mk() {
                $crate::store::contract::remote::the_remote_side_is_recorded_and_audited_when_it_changes(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn remote__an_outbound_session_holds_its_neighbor_address_like_any() {
            if let Some(mk) = $mk() {
                $crate::store::contract::remote::an_outbound_session_holds_its_neighbor_address_like_any(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn sessions__insert_new_existing_and_conflict() {
            if let Some(mk) = $mk() {
                $crate::store::contract::sessions::insert_new_existing_and_conflict(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn sessions__dedup_inside_one_request_and_after_terminal() {
            if let Some(mk) = $mk() {
                $crate::store::contract::sessions::dedup_inside_one_request_and_after_terminal(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn sessions__transitions_follow_the_table_and_write_audit() {
            if let Some(mk) = $mk() {
                $crate::store::contract::sessions::transitions_follow_the_table_and_write_audit(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn sessions__expect_is_compare_and_set() {
            if let Some(mk) = $mk() {
                $crate::store::contract::sessions::expect_is_compare_and_set(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn sessions__approval_and_deletion_keep_the_queue_in_step() {
            if let Some(mk) = $mk() {
                $crate::store::contract::sessions::approval_and_deletion_keep_the_queue_in_step(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn sessions__remove_session_drops_indexes_but_keeps_audit() {
            if let Some(mk) = $mk() {
                $crate::store::contract::sessions::remove_session_drops_indexes_but_keeps_audit(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn sessions__list_filters_and_cursor() {
            if let Some(mk) = $mk() {
                $crate::store::contract::sessions::list_filters_and_cursor(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn sessions__paging_250_while_inserting_neither_skips_nor_repeats() {
            if let Some(mk) = $mk() {
                $crate::store::contract::sessions::paging_250_while_inserting_neither_skips_nor_repeats(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn sessions__meta_is_namespaced() {
            if let Some(mk) = $mk() {
                $crate::store::contract::sessions::meta_is_namespaced(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn hold__deleting_an_established_session_marks_it_for_a_drain() {
            if let Some(mk) = $mk() {
                $crate::store::contract::hold::deleting_an_established_session_marks_it_for_a_drain(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn hold__set_hold_is_compare_and_set_and_queues_one_refresh() {
            if let Some(mk) = $mk() {
                $crate::store::contract::hold::set_hold_is_compare_and_set_and_queues_one_refresh(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn hold__defer_gives_the_job_back_for_later_without_an_attempt() {
            if let Some(mk) = $mk() {
                $crate::store::contract::hold::defer_gives_the_job_back_for_later_without_an_attempt(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn listing__listing_by_router_and_by_status_through_the_indexes() {
            if let Some(mk) = $mk() {
                $crate::store::contract::listing::listing_by_router_and_by_status_through_the_indexes(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn listing__paging_by_router_and_status_under_writes_skips_and_repeats_nothing() {
            if let Some(mk) = $mk() {
                $crate::store::contract::listing::paging_by_router_and_status_under_writes_skips_and_repeats_nothing(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn listing__session_counts_from_the_router_index_match_a_full_read() {
            if let Some(mk) = $mk() {
                $crate::store::contract::listing::session_counts_from_the_router_index_match_a_full_read(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn leases__a_lease_is_held_by_one_owner_until_it_ends() {
            if let Some(mk) = $mk() {
                $crate::store::contract::leases::a_lease_is_held_by_one_owner_until_it_ends(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn leases__release_frees_only_the_owners_lease() {
            if let Some(mk) = $mk() {
                $crate::store::contract::leases::release_frees_only_the_owners_lease(&*mk);
            }
        }
        #[test]
        #[allow(non_snake_case)]
        fn leases__of_owners_racing_for_a_lease_one_wins() {
            if let Some(mk) = $mk() {
                $crate::store::contract::leases::of_owners_racing_for_a_lease_one_wins(&*mk);
            }
        }
    };
}
pub use contract_tests;
