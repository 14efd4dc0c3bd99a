//! Parse → rebuild → parse keeps every leaf and its decoded content. Where
//! mail-parser's recovery from corrupt structure yields a tree that does not
//! survive its own serialization, the engine must not deliver that tree: it
//! quarantines the message, or delivers a rebuild (with notices where parts
//! were removed) that does survive it. Never pass, never give up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::{Engine, Envelope, Policy, internal};

fuzz_target!(|data: &[u8]| {
    let Err(unstable) = internal::mime_round_trip(data) else {
        return;
    };
    let policy = Policy {
        limits: internal::fuzz_limits(),
        ..Policy::default()
    };
    let engine = Engine::new(policy);
    let outcome = engine.process(data, &Envelope::default());
    if let Some(out) = &outcome.message
        && let Err(e) = internal::mime_round_trip(out)
    {
        panic!(
            "unstable round trip ({unstable}) delivered, and what was delivered is unstable too ({e})"
        );
    }
    if let Err(e) = internal::check_outcome(&engine, &outcome) {
        panic!("unstable round trip ({unstable}): {e}");
    }
});
