//! HTML: smuggling detection, conversion to text, and the rewrite to safe
//! HTML with its oracle: no script is left, and sanitizing the output again
//! changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::{FileType, internal};

fuzz_target!(|data: &[u8]| {
    let _ = internal::inspect_as(FileType::Html, data);
    if let Err(e) = internal::check_html_sanitize(&String::from_utf8_lossy(data)) {
        panic!("{e}");
    }
});
