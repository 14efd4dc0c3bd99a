//! OLE2 directory and workbook stream on arbitrary bytes, as the Word,
//! Excel or PowerPoint file their streams make them, else as plain OLE2.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::{FileType, identify, internal};

fuzz_target!(|data: &[u8]| {
    let t = match identify(data) {
        t @ (FileType::Doc | FileType::Xls | FileType::Ppt) => t,
        _ => FileType::Ole,
    };
    let _ = internal::inspect_as(t, data);
});
