//! Verification of the rebuilt message: parsed again, it holds exactly the
//! leaves meant to be delivered, and it reads back as written.

use std::collections::BTreeMap;

use crate::inspect::sha256;
use crate::limits::Limits;
use crate::mime::{self, Entity, MimeError};
use crate::rebuild::Replacement;
use crate::report::Report;

/// The multiset of leaf contents the rebuilt message must hold: kept parts as
/// inspected, disarmed parts as rebuilt, plus the notices we wrote.
pub(super) fn expected_leaves(
    report: &Report,
    replacements: &BTreeMap<String, Replacement>,
    summary: Option<&str>,
) -> Vec<[u8; 32]> {
    let mut want: Vec<[u8; 32]> = report
        .parts
        .iter()
        .map(|p| match replacements.get(&p.path) {
            Some(r) => sha256(r.content()),
            None => {
                let mut hash = [0u8; 32];
                // Our own hex; a failure would only make verification fail closed.
                let _ = hex::decode_to_slice(&p.sha256, &mut hash);
                hash
            }
        })
        .collect();
    if let Some(s) = summary {
        want.push(sha256(s.as_bytes()));
    }
    want.sort_unstable();
    want
}

/// Parses our own output and checks that every leaf in it is one we meant
/// to deliver: nothing more, nothing less, nothing decoded differently.
pub(super) fn verify(
    output: &[u8],
    expected: Vec<[u8; 32]>,
    limits: &Limits,
    serialize: impl Fn(&Entity) -> Vec<u8>,
) -> Result<(), String> {
    let root = mime::parse(output, limits).map_err(|e: MimeError| e.describe())?;
    let mut got: Vec<[u8; 32]> = root.leaves().iter().map(|e| sha256(e.decoded())).collect();
    got.sort_unstable();
    if got != expected {
        return Err(format!(
            "{} leaves found, {} expected, or their contents differ",
            got.len(),
            expected.len()
        ));
    }
    // Read the next time (by the client, or a gateway after us), it must
    // read the same: written again from its own parse, it is the same bytes.
    // Where mail-parser's recovery from corrupt structure is no fixed point,
    // it is not.
    if serialize(&root) != output {
        return Err("it does not read back as written".into());
    }
    Ok(())
}
