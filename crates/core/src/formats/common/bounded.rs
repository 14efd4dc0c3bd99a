//! Decompression within the message's budget, stopped at the first sign of
//! a bomb.

use std::io::Read;

use crate::limits::Budget;

/// Ratios are only judged above this size: small text compresses very well.
pub(crate) const RATIO_FLOOR: u64 = 1 << 20;

/// Decompresses `r` (which came from `compressed` bytes) within the budget's
/// allowance, stopping as soon as the ratio betrays a bomb.
pub(crate) fn read_bounded(
    budget: &mut Budget,
    mut r: impl Read,
    compressed: u64,
) -> Result<Vec<u8>, ReadFailure> {
    let allowance = budget.entry_allowance();
    let max_ratio = budget.limits.max_compression_ratio;
    let mut data = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadFailure::Io(e.to_string())),
        };
        data.extend_from_slice(&chunk[..n]);
        let len = data.len() as u64;
        if len > RATIO_FLOOR && len / compressed.max(1) > max_ratio {
            return Err(ReadFailure::Bomb(len / compressed.max(1)));
        }
        if len > allowance {
            return Err(ReadFailure::TooBig(allowance));
        }
    }
    if budget.spend_bytes(data.len() as u64).is_err() {
        return Err(ReadFailure::TooBig(allowance));
    }
    Ok(data)
}

/// Why a member was not read.
#[derive(Debug)]
pub(crate) enum ReadFailure {
    Io(String),
    TooBig(u64),
    Bomb(u64),
}

impl std::fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadFailure::Io(e) => write!(f, "unreadable member: {e}"),
            ReadFailure::TooBig(n) => write!(f, "member decompresses to more than {n} bytes"),
            ReadFailure::Bomb(ratio) => write!(f, "compression ratio above {ratio}:1"),
        }
    }
}
