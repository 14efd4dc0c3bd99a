//! For fuzz targets and benchmarks: each parser on its own, and the oracles
//! checked on what comes out. Not a stable API.

pub use crate::fuzzing::{
    check_disarm, check_html_sanitize, check_lure, check_message, check_name, check_outcome,
    check_rebuild, decode_base64, decode_qp, disarm_file, fuzz_limits, html_to_text, html_tokenize,
    inspect, inspect_as, inspect_text, lure_engine, mime_round_trip, msg, pdf_load_and_save,
    sanitize_html, tnef,
};
