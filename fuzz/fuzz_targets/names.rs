//! Name checks: a finding never depends on more than the name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::internal;

fuzz_target!(|data: &[u8]| {
    let name = String::from_utf8_lossy(data);
    assert_eq!(internal::check_name(&name), internal::check_name(&name));
});
