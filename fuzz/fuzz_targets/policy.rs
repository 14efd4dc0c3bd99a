//! Policy TOML: what parses serializes and parses back to the same policy.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(policy) = mugai_core::Policy::from_toml(text) {
        let again = toml::to_string(&policy).expect("a parsed policy serializes");
        assert_eq!(
            mugai_core::Policy::from_toml(&again).expect("round trip"),
            policy
        );
    }
});
