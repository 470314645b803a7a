//! The single integration-test binary (one link on slow machines).
//! Each module is one area; lab tests are `#[ignore]`d here and run by
//! `tests/run.sh` with `--include-ignored` once the lab is up.
mod lab_netconf;
