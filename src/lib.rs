//! peerd: the Peering API (draft-ietf-grow-peering-api), both sides: it
//! answers other networks' requests, and asks other networks for sessions.
//!
//! # The map
//!
//! The code is in layers, top to bottom. A module uses only its own layer
//! and the layers below it, never one above; sibling files of a folder do
//! not use each other in a cycle. `tests/it/layers.rs` writes this order
//! down once and fails on any import upward.
//!
//! | layer | what it is |
//! |---|---|
//! | `main.rs` | the command line: parses it (clap) and calls `cli`; the allocator (mimalloc) and its purge delay |
//! | `cli` | the work behind each subcommand |
//! | `api` | HTTP (axum): routes, extractors, the accept loop, the one error -> HTTP mapping |
//! | `app` | the use cases (intake, approve, reject, delete, retry, force remove; the asking side's request, follow-up and withdrawal): domain outcomes, no HTTP |
//! | `auth` | bearer-token verifiers, the PeeringDB login, operator keys, peerd tokens |
//! | `policy` | the decision on a valid request: approve, wait for an operator, or refuse |
//! | `validate` | checks on the typed request: ASNs, addresses, location, text |
//! | `peeringdb` | PeeringDB data: sync, dump, the snapshot in use |
//! | `outbound` | the HTTP client of the asking side: other networks' Peering APIs (draft or v0), bounded, answers checked |
//! | `worker` | claims jobs, coalesces them per router, renders, drives the driver port; the BGP poller, expiry |
//! | `render` | Tera over `templates/`, typed contexts; uses `platform` for the profile |
//! | `driver` | the worker's port and its executors (ssh-exec, NETCONF); never renders |
//! | `platform` | profiles from `drivers/*.yaml`, push and read plans, state parsers: pure data |
//! | `transport` | SSH (russh exec) and NETCONF (RFC 6241/6242) |
//! | `irr` | IRR prefix lists: as-set names checked, `bgpq4` run (the I/O edge) and its output parsed into typed lists |
//! | `store` | the `Store` trait (the contract) and sled, with its job queue |
//! | `wire` | the serde shapes of the API, in and out |
//! | `config`, `inventory`, `metrics`, `model` | leaves: settings, our routers and locations, counters, the domain types |
//!
//! # One session's trip
//!
//! 1. A peer sends `POST /sessions`. `api` authenticates it (`auth`), reads
//!    the body into `wire` shapes and calls `app::intake`.
//! 2. `app::intake` validates each item (`validate`), checks it against
//!    PeeringDB (`peeringdb`), decides (`policy`), stores the request with a
//!    provisioning job in one transaction (`store`) and waits until it is
//!    on disk. Only then does `api` answer.
//! 3. The `worker` claims the job, coalesces the router's ready jobs and
//!    renders them (`render`, with the router's profile from `platform`).
//! 4. The `driver` runs the rendered push with its executor (ssh-exec or
//!    NETCONF) over `transport` to the router, and reads it back to verify.
//! 5. The status goes back through the `store`: `Configured` when the router
//!    confirmed, then `Established` or `Down` from the poller's reads.
//!    `GET /sessions/{id}` reads it there, through `api`.
//!
//! # The asking side
//!
//! `peerd request ASN` (`cli`, or `POST /admin/outbound` in `api`) calls
//! `app::outbound`: it asks the remote's API (`outbound`, the HTTP client)
//! for its locations, joins them with the inventory and `peeringdb`, plans
//! the address pairs and validates each like an inbound request
//! (`validate`), stores the request and its sessions (`Pending`, direction
//! outbound) on disk, then POSTs them. The follower (`app::outbound`, run by
//! `peerd serve`) polls the remote; when it accepts, the session becomes
//! `Approved` and takes steps 3 to 5 above like any other.

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod driver;
pub mod inventory;
pub mod irr;
pub mod metrics;
pub mod model;
pub mod outbound;
pub mod peeringdb;
pub mod platform;
pub mod policy;
pub mod render;
pub mod store;
pub mod transport;
pub mod validate;
pub mod wire;
pub mod worker;
