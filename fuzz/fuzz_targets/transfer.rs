//! base64 and quoted-printable: canonical input re-encodes to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::internal;

use base64::Engine as _;

fuzz_target!(|data: &[u8]| {
    let (decoded, canonical) = internal::decode_base64(data);
    if canonical {
        let compact: Vec<u8> = data
            .iter()
            .copied()
            .filter(|c| *c != b'\r' && *c != b'\n')
            .collect();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .encode(&decoded)
                .as_bytes(),
            &compact[..]
        );
    }
    let _ = internal::decode_qp(data);
});
