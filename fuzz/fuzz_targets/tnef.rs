//! TNEF (`winmail.dat`) unpacking: records, checksums, MAPI properties,
//! and the MIME rebuild of the attachments it holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::internal;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = internal::tnef(data) {
        panic!("{e}");
    }
});
