//! gzip, bzip2 and xz: one compressed stream, one member.

use crate::identify::FileType;

use super::Members;
use crate::formats::common::read_bounded;

/// Caps the xz dictionary an attacker can make us allocate.
const XZ_DICTIONARY_LIMIT_KB: u32 = 256 * 1024;

/// gzip, bzip2 and xz hold one stream: the member is the stream, named after
/// the archive without its compression suffix.
pub(super) fn walk(ins: &mut dyn Members, t: FileType, bytes: &[u8], location: &str, depth: usize) {
    let outer = location.rsplit('!').next().unwrap_or(location);
    let inner = strip_compression_suffix(outer);
    let data = match t {
        FileType::Gzip => read_bounded(
            ins.budget(),
            flate2::read::MultiGzDecoder::new(bytes),
            bytes.len() as u64,
        ),
        FileType::Bzip2 => read_bounded(
            ins.budget(),
            bzip2::read::MultiBzDecoder::new(bytes),
            bytes.len() as u64,
        ),
        _ => read_bounded(
            ins.budget(),
            lzma_rust2::XzReader::new_mem_limit(bytes, true, XZ_DICTIONARY_LIMIT_KB),
            bytes.len() as u64,
        ),
    };
    match data {
        // read_bounded already refused a bomb by its ratio.
        Ok(data) => {
            let _ = ins.member(&inner, &data, location, depth);
        }
        Err(failure) => super::report(failure, ins, location),
    }
}

fn strip_compression_suffix(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    for (suffix, replacement) in [
        (".tgz", ".tar"),
        (".tbz2", ".tar"),
        (".txz", ".tar"),
        (".gz", ""),
        (".bz2", ""),
        (".xz", ""),
    ] {
        if lower.ends_with(suffix) {
            return format!("{}{replacement}", &name[..name.len() - suffix.len()]);
        }
    }
    format!("{name}.decompressed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_suffixes() {
        assert_eq!(strip_compression_suffix("a.tar.gz"), "a.tar");
        assert_eq!(strip_compression_suffix("a.TGZ"), "a.tar");
        assert_eq!(strip_compression_suffix("blob"), "blob.decompressed");
    }
}
