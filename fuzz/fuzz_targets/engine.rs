//! The whole engine on arbitrary bytes, with oracles beyond "no panic"
//! (`internal::check_outcome`): the engine never gives up, and what it
//! delivers needs no further action when sanitized again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::{Engine, Envelope, Policy, internal};

fuzz_target!(|data: &[u8]| {
    let policy = Policy {
        limits: internal::fuzz_limits(),
        ..Policy::default()
    };
    let engine = Engine::new(policy);
    let outcome = engine.process(data, &Envelope::default());
    if let Err(e) = internal::check_outcome(&engine, &outcome) {
        panic!("{e}");
    }
});
