//! Outlook `.msg` files: the compound file's property streams and
//! storages, enclosed messages, compressed RTF, and the MIME written from
//! them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::internal;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = internal::msg(data) {
        panic!("{e}");
    }
});
