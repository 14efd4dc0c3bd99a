//! The whole engine on arbitrary bytes, with oracles beyond "no panic":
//! the engine never gives up (a caught panic shows as Tempfail), and what it
//! delivers needs no further action when sanitized again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::{Engine, Envelope, Limits, PartAction, Policy, Verdict};

fuzz_target!(|data: &[u8]| {
    let policy = Policy {
        limits: Limits {
            max_time_ms: 10_000,
            max_decompressed_bytes: 64 << 20,
            ..Limits::default()
        },
        ..Policy::default()
    };
    let engine = Engine::new(policy);
    let outcome = engine.process(data, &Envelope::default());
    assert_ne!(
        outcome.verdict,
        Verdict::Tempfail,
        "{:?}",
        outcome.report.reason
    );
    if let Some(out) = &outcome.message {
        let again = engine.process(out, &Envelope::default());
        assert_eq!(again.verdict, Verdict::Deliver, "{:?}", again.report.reason);
        assert!(
            again
                .report
                .parts
                .iter()
                .all(|p| p.action == PartAction::Keep)
        );
    }
});
