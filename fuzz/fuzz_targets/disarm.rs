//! Office and RTF disarm on arbitrary bytes, with the oracle: the output
//! inspects clean and disarming it again finds nothing to do.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::internal;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = internal::check_disarm(data) {
        panic!("{e}");
    }
});
