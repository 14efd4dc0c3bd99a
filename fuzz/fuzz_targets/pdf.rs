//! The PDF tokenizer (object streams included) and the PDF rebuild, with
//! the oracle: a rebuilt PDF inspects clean, is still a PDF, and rebuilding
//! it again gives the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::{FileType, internal};

fuzz_target!(|data: &[u8]| {
    let _ = internal::inspect_as(FileType::Pdf, data);
    if let Err(e) = internal::check_rebuild(data, FileType::Pdf) {
        panic!("{e}");
    }
});
