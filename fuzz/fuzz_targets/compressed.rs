//! gzip, bzip2, xz and zstd streams; the first byte picks which.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::FileType;
use mugai_core::internal;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let t = [FileType::Gzip, FileType::Bzip2, FileType::Xz, FileType::Zstd][which as usize % 4];
    let _ = internal::inspect_as(t, rest);
});
