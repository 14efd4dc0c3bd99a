//! Lure scoring on arbitrary messages, with an organization and a sent log
//! configured, and the oracle of `internal::check_lure`.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mugai_core::{Engine, internal};

static ENGINE: LazyLock<Engine> = LazyLock::new(internal::lure_engine);

fuzz_target!(|data: &[u8]| {
    if let Err(e) = internal::check_lure(&ENGINE, data) {
        panic!("{e}");
    }
});
