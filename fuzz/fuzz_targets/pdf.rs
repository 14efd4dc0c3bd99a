//! The PDF tokenizer, object streams included.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::internal;

fuzz_target!(|data: &[u8]| {
    let _ = internal::inspect_pdf(data);
});
