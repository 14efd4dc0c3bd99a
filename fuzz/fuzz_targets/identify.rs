//! True-type identification is total and deterministic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assert_eq!(mugai_core::identify(data), mugai_core::identify(data));
});
