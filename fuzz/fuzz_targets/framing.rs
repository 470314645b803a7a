//! Fuzz target: the NETCONF frame decoder (both framings, arbitrary splits).
//! The logic lives in `framing::fuzz_decode`, which unit tests also run on
//! the seed corpus in `fuzz/corpus/framing`.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/transport/netconf/framing.rs"]
mod framing;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    framing::fuzz_decode(data);
});
