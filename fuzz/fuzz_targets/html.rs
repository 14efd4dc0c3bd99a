//! HTML smuggling detection.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::internal;

fuzz_target!(|data: &[u8]| {
    let _ = internal::inspect_html(data);
});
