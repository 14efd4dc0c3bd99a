//! Parse → rebuild → parse keeps every leaf and its decoded content.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::internal;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = internal::mime_round_trip(data) {
        panic!("{e}");
    }
});
