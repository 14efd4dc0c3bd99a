//! The LZH walker on its own: headers, decoders, CRCs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::FileType;
use mugai_core::internal;

fuzz_target!(|data: &[u8]| {
    let _ = internal::inspect_as(FileType::Lzh, data);
});
