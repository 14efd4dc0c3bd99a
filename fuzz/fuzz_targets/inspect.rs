//! The whole inspector on one attachment, name included.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::internal;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&c| c == 0).unwrap_or(0);
    let name = String::from_utf8_lossy(&data[..split]);
    let _ = internal::inspect(&data[split..], Some(&name));
});
