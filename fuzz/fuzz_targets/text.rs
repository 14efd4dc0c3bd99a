//! Text verification (`name\0bytes`): CSV and SYLK formulas, launcher
//! syntax, uuencoded and yEncoded files decoded and inspected as members.
//! Deterministic, unless a limit cut one of the two runs short.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::internal;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&c| c == 0).unwrap_or(0);
    let name = String::from_utf8_lossy(&data[..split]);
    let name = (!name.is_empty()).then_some(name.as_ref());
    let body = &data[split..];
    let first = internal::inspect_text(body, name);
    let second = internal::inspect_text(body, name);
    let cut = |f: &[String]| f.iter().any(|f| f.starts_with("limit_exceeded"));
    if !cut(&first) && !cut(&second) {
        assert_eq!(first, second);
    }
});
