//! The tar walker on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::FileType;
use mugai_core::internal;

fuzz_target!(|data: &[u8]| {
    let _ = internal::inspect_as(FileType::Tar, data);
});
