//! Parse → rebuild → parse keeps every leaf and its decoded content. Where
//! mail-parser's recovery from corrupt structure yields a tree that does not
//! survive its own serialization, the engine must refuse to deliver (its
//! verification quarantines the message): never pass, never give up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::{Engine, Envelope, Policy, Verdict, internal};

fuzz_target!(|data: &[u8]| {
    if let Err(e) = internal::mime_round_trip(data) {
        let policy = Policy {
            limits: internal::fuzz_limits(),
            ..Policy::default()
        };
        let verdict = Engine::new(policy)
            .process(data, &Envelope::default())
            .verdict;
        assert_eq!(
            verdict,
            Verdict::Quarantine,
            "unstable round trip ({e}) was not quarantined"
        );
    }
});
