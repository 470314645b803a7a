//! The single integration-test binary (one link on slow machines).
//! Each module is one area; lab tests are `#[ignore]`d here and run by
//! `tests/run.sh` with `--include-ignored` once the lab is up.

mod api;
mod ask;
mod cli;
mod cli_check;
mod console;
mod console_lab;
mod e2e_address;
mod e2e_ask;
mod e2e_drain;
mod e2e_drift;
mod e2e_edges;
mod e2e_irr;
mod e2e_lab;
mod e2e_netconf;
mod e2e_openbgpd_gobgp;
mod e2e_openconfig;
mod e2e_ops;
mod e2e_two;
mod irr_render;
mod irr_standin;
mod lab;
mod lab_check;
mod lab_driver;
mod lab_netconf;
mod lab_ssh;
mod layers;
mod login;
mod oauth_standin;
mod ops;
mod pdb_login;
mod pdb_render;
mod pdb_standin;
mod pdb_use;
mod peeringdb;
mod platforms;
mod render;
mod render_cli;
mod ssh_auth;
mod support;
