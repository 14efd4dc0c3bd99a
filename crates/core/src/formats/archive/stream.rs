//! gzip, bzip2, xz and zstd: one compressed stream, one member.

use std::io::Read;

use ruzstd::decoding::{FrameDecoder, StreamingDecoder};

use crate::identify::FileType;

use super::Members;
use crate::formats::common::read_bounded;

/// Caps the xz dictionary an attacker can make us allocate.
const XZ_DICTIONARY_LIMIT_KB: u32 = 256 * 1024;

/// gzip, bzip2, xz and zstd hold one stream: the member is the stream, named after
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
        FileType::Zstd => read_bounded(
            ins.budget(),
            ZstdFrames {
                rest: bytes,
                frame: None,
            },
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

/// Every frame of a zstd stream, one after the other, as zstd itself
/// decompresses a file: bytes after the first frame are not left unread.
/// What is not a frame is an error (the member is reported unreadable).
struct ZstdFrames<'a> {
    rest: &'a [u8],
    frame: Option<StreamingDecoder<&'a [u8], FrameDecoder>>,
}

impl Read for ZstdFrames<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if let Some(frame) = self.frame.as_mut() {
                let n = frame.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                self.rest = frame.get_ref();
                self.frame = None;
            }
            if self.rest.is_empty() {
                return Ok(0);
            }
            let frame = StreamingDecoder::new(self.rest)
                .map_err(|e| std::io::Error::other(format!("zstd: {e}")))?;
            self.frame = Some(frame);
        }
    }
}

fn strip_compression_suffix(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    for (suffix, replacement) in [
        (".tgz", ".tar"),
        (".tbz2", ".tar"),
        (".txz", ".tar"),
        (".tzst", ".tar"),
        (".zst", ""),
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
