//! Image re-encoding within the pixel limits: the first byte picks the
//! format (PNG, JPEG, GIF, BMP, TIFF, WebP); a re-encoded image is the
//! same format and re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mugai_core::{FileType, internal};

const FORMATS: [FileType; 6] = [
    FileType::Png,
    FileType::Jpeg,
    FileType::Gif,
    FileType::Bmp,
    FileType::Tiff,
    FileType::Webp,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, image)) = data.split_first() else {
        return;
    };
    let t = FORMATS[usize::from(pick) % FORMATS.len()];
    if let Err(e) = internal::check_rebuild(image, t) {
        panic!("{e}");
    }
});
