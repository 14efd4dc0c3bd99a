//! Parse → rebuild → parse keeps every leaf and its decoded content. Where
//! mail-parser's recovery from corrupt structure yields a tree that does not
//! survive its own serialization, the engine must not deliver that tree: it
//! quarantines the message, or delivers a rebuild (with notices where parts
//! were removed) that does survive it. Never pass, never give up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::internal;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = internal::check_message(data) {
        panic!("{e}");
    }
});
