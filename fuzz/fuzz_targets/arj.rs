//! The ARJ walker on its own: headers and their CRCs, stored members,
//! methods 1-3 (delharc's `-lh7-` decoder) and method 4, member CRCs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::FileType;
use mugai_core::internal;

fuzz_target!(|data: &[u8]| {
    let _ = internal::inspect_as(FileType::Arj, data);
});
