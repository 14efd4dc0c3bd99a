//! The SVG rebuild, with the oracle: the result inspects clean, is still
//! SVG, and rebuilding it again gives the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::{FileType, internal};

fuzz_target!(|data: &[u8]| {
    if let Err(e) = internal::check_rebuild(data, FileType::Svg) {
        panic!("{e}");
    }
});
