//! Raster images decoded to pixels and encoded again: metadata, comments,
//! embedded profiles and anything appended after the image (a zip behind a
//! JPEG) do not survive, and a decoder exploit meets our decoder, not the
//! reader's. The pixel count is checked before anything is decoded.
//!
//! JPEG is the exception, because encoding it again loses detail every
//! time: it is decoded in full (so it must be a valid image within the
//! limits) and rewritten segment by segment with only what draws it. Only
//! a JPEG that needs its EXIF orientation is encoded again, upright.

use std::io::Cursor;

use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::codecs::jpeg::JpegEncoder;
use image::{AnimationDecoder, DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use crate::formats::common::{Disarmed, FormatError};
use crate::identify::FileType;
use crate::limits::Limits;

/// Most frames of an animated GIF re-encoded; a longer one is refused.
const MAX_FRAMES: u64 = 1_000;

/// JPEG quality of the re-encoded image: visually the same, metadata gone.
const JPEG_QUALITY: u8 = 90;

/// An image of type `t` encoded again from its pixels.
pub(crate) fn disarm(bytes: &[u8], t: FileType, limits: &Limits) -> Result<Disarmed, FormatError> {
    let (bytes, removed) = rebuild(bytes, t, limits)?;
    Ok(Disarmed { bytes, removed })
}

/// Re-encodes an image in its own format. Returns the new file and what
/// was left behind, a line each (appended data; metadata is always dropped
/// and not listed).
fn rebuild(bytes: &[u8], t: FileType, limits: &Limits) -> Result<(Vec<u8>, Vec<String>), String> {
    let format = match t {
        FileType::Png => ImageFormat::Png,
        FileType::Jpeg => ImageFormat::Jpeg,
        FileType::Gif => ImageFormat::Gif,
        FileType::Bmp => ImageFormat::Bmp,
        FileType::Tiff => ImageFormat::Tiff,
        FileType::Webp => ImageFormat::WebP,
        other => return Err(format!("{} images are not re-encoded", other.name())),
    };
    let mut removed = Vec::new();
    if let Some(n) = appended(bytes, t) {
        removed.push(format!("{n} bytes appended after the image"));
    }
    let (w, h) = reader(bytes, format, limits)
        .into_dimensions()
        .map_err(|e| format!("unreadable {}: {e}", t.name()))?;
    let pixels = u64::from(w) * u64::from(h);
    // Nothing to show, and encoders write what their decoders refuse.
    if pixels == 0 {
        return Err(format!("a {w}×{h} image has no pixels"));
    }
    if pixels > limits.max_image_pixels {
        return Err(format!(
            "{w}×{h} pixels, more than the {} allowed",
            limits.max_image_pixels
        ));
    }
    let mut out = Cursor::new(Vec::with_capacity(bytes.len()));
    if format == ImageFormat::Jpeg {
        let mut decoder = reader(bytes, format, limits)
            .into_decoder()
            .map_err(|e| format!("unreadable jpeg: {e}"))?;
        let orientation = decoder.orientation().ok();
        let img =
            DynamicImage::from_decoder(decoder).map_err(|e| format!("undecodable jpeg: {e}"))?;
        match orientation {
            Some(o) if o != image::metadata::Orientation::NoTransforms => {
                let mut img = img;
                img.apply_orientation(o);
                DynamicImage::ImageRgb8(img.to_rgb8())
                    .write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))
                    .map_err(|e| format!("jpeg could not be encoded: {e}"))?;
            }
            _ => return Ok((jpeg_segments(bytes)?, removed)),
        }
    } else if format == ImageFormat::Gif {
        reencode_gif(bytes, pixels, limits, &mut out)?;
    } else {
        let mut decoder = reader(bytes, format, limits)
            .into_decoder()
            .map_err(|e| format!("unreadable {}: {e}", t.name()))?;
        // The orientation lives in the metadata that is dropped: apply it.
        let orientation = decoder.orientation().ok();
        let mut img = DynamicImage::from_decoder(decoder)
            .map_err(|e| format!("undecodable {}: {e}", t.name()))?;
        if let Some(o) = orientation {
            img.apply_orientation(o);
        }
        img.write_to(&mut out, format)
            .map_err(|e| format!("{} could not be encoded: {e}", t.name()))?;
    }
    Ok((out.into_inner(), removed))
}

fn reader<'a>(
    bytes: &'a [u8],
    format: ImageFormat,
    limits: &Limits,
) -> ImageReader<Cursor<&'a [u8]>> {
    let mut r = ImageReader::with_format(Cursor::new(bytes), format);
    r.limits(decoder_limits(limits));
    r
}

fn decoder_limits(limits: &Limits) -> image::Limits {
    let mut l = image::Limits::default();
    l.max_alloc = Some(limits.max_image_pixels.saturating_mul(8));
    l
}

/// Frames are decoded and written one at a time, so an animation costs the
/// memory of one frame.
fn reencode_gif(
    bytes: &[u8],
    frame_pixels: u64,
    limits: &Limits,
    out: &mut Cursor<Vec<u8>>,
) -> Result<(), String> {
    let mut decoder =
        GifDecoder::new(Cursor::new(bytes)).map_err(|e| format!("unreadable gif: {e}"))?;
    // A frame may claim more pixels than the screen it is drawn on.
    decoder
        .set_limits(decoder_limits(limits))
        .map_err(|e| format!("gif beyond the limits: {e}"))?;
    let budget = limits.max_image_pixels.saturating_mul(MAX_FRAMES.min(10));
    let mut spent = 0u64;
    let mut count = 0u64;
    let mut encoder = GifEncoder::new(out);
    encoder
        .set_repeat(Repeat::Infinite)
        .map_err(|e| format!("gif could not be encoded: {e}"))?;
    for frame in decoder.into_frames() {
        let frame = frame.map_err(|e| format!("undecodable gif frame: {e}"))?;
        count += 1;
        spent = spent.saturating_add(frame_pixels);
        if count > MAX_FRAMES || spent > budget {
            return Err(format!(
                "an animation of more than {} frames or {budget} pixels",
                MAX_FRAMES
            ));
        }
        encoder
            .encode_frame(frame)
            .map_err(|e| format!("gif could not be encoded: {e}"))?;
    }
    if count == 0 {
        return Err("a gif without frames".into());
    }
    Ok(())
}

/// A JPEG with only the segments that draw it: tables, frame, scans,
/// restart interval, JFIF and Adobe headers (the latter says how to read
/// the colours). EXIF, XMP, ICC profiles, comments and whatever follows
/// the end go.
fn jpeg_segments(b: &[u8]) -> Result<Vec<u8>, String> {
    let bad = || "a JPEG whose segments cannot be followed".to_owned();
    let end = jpeg_end(b).ok_or_else(bad)?;
    let mut out = Vec::with_capacity(end);
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut i = 2;
    while i < end {
        if b[i] != 0xFF {
            return Err(bad());
        }
        let marker = *b.get(i + 1).ok_or_else(bad)?;
        match marker {
            0xFF => i += 1,
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                break;
            }
            _ => {
                let len = u16::from_be_bytes([
                    *b.get(i + 2).ok_or_else(bad)?,
                    *b.get(i + 3).ok_or_else(bad)?,
                ]) as usize;
                let mut next = i + 2 + len;
                if next > end {
                    return Err(bad());
                }
                if marker == 0xDA {
                    // A scan runs to the next marker that is not a restart or stuffing.
                    while next + 1 < end
                        && (b[next] != 0xFF || matches!(b[next + 1], 0x00 | 0xD0..=0xD7 | 0xFF))
                    {
                        next += 1;
                    }
                }
                let keep =
                    matches!(marker, 0xC0..=0xCF | 0xDA..=0xDD | 0xE0 | 0xEE) && marker != 0xC8;
                if keep {
                    out.extend_from_slice(&b[i..next]);
                }
                i = next;
            }
        }
    }
    Ok(out)
}

/// Bytes after the end of a PNG (`IEND`) or JPEG (`EOI`), where polyglots
/// keep their second file.
fn appended(bytes: &[u8], t: FileType) -> Option<usize> {
    let end = match t {
        FileType::Png => png_end(bytes)?,
        FileType::Jpeg => jpeg_end(bytes)?,
        _ => return None,
    };
    let tail = bytes.get(end..)?;
    // Some writers pad with a newline or zeros; that is no payload.
    tail.iter()
        .any(|&b| !matches!(b, 0 | b'\r' | b'\n'))
        .then_some(tail.len())
}

fn png_end(b: &[u8]) -> Option<usize> {
    let mut i = 8;
    while i + 8 <= b.len() {
        let len = u32::from_be_bytes(b[i..i + 4].try_into().ok()?) as usize;
        let kind = &b[i + 4..i + 8];
        i = i.checked_add(12)?.checked_add(len)?;
        if kind == b"IEND" {
            return (i <= b.len()).then_some(i);
        }
    }
    None
}

fn jpeg_end(b: &[u8]) -> Option<usize> {
    let mut i = 2;
    // Marker segments up to the first scan; their lengths skip thumbnails.
    loop {
        if b.get(i)? != &0xFF {
            return None;
        }
        let marker = *b.get(i + 1)?;
        if marker == 0xDA {
            break;
        }
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = u16::from_be_bytes([*b.get(i + 2)?, *b.get(i + 3)?]) as usize;
        i += 2 + len;
    }
    // In entropy-coded data 0xFF is always followed by 0x00 or a restart
    // marker, so the first FF D9 is the end of the image.
    memchr::memmem::find(&b[i..], &[0xFF, 0xD9]).map(|e| i + e + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = DynamicImage::new_rgb8(w, h);
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn appended_payloads_are_reported_and_gone() {
        let mut polyglot = png(4, 4);
        let clean_len = polyglot.len();
        polyglot.extend_from_slice(b"PK\x03\x04 a zip would follow");
        let (out, removed) = rebuild(&polyglot, FileType::Png, &Limits::default()).unwrap();
        assert_eq!(removed, ["23 bytes appended after the image"]);
        assert_eq!(png_end(&out), Some(out.len()));
        assert!(out.len() <= clean_len + 64);
    }

    #[test]
    fn pixel_bombs_are_refused_before_decoding() {
        let limits = Limits {
            max_image_pixels: 1_000,
            ..Limits::default()
        };
        let err = rebuild(&png(100, 100), FileType::Png, &limits).unwrap_err();
        assert!(err.contains("100×100"), "{err}");
    }

    /// fuzz image e1b3d61b: an 8480×0 screen was written back as such,
    /// which no decoder reads.
    #[test]
    fn fuzz_image_e1b3d61b_an_image_without_pixels_is_refused() {
        let gif = include_bytes!(
            "../../../../samples/hostile/fuzz_image_e1b3d61b_gif_screen_of_no_height.gif"
        );
        let err = rebuild(gif, FileType::Gif, &Limits::default()).unwrap_err();
        assert_eq!(err, "a 8480×0 image has no pixels");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(
            rebuild(
                b"\x89PNG\r\n\x1a\nnonsense",
                FileType::Png,
                &Limits::default()
            )
            .is_err()
        );
        assert!(rebuild(b"\xFF\xD8\xFF\xE0", FileType::Jpeg, &Limits::default()).is_err());
    }

    #[test]
    fn jpeg_end_skips_thumbnails() {
        let img = DynamicImage::new_rgb8(8, 8);
        let mut out = Cursor::new(Vec::new());
        img.write_with_encoder(JpegEncoder::new_with_quality(&mut out, 80))
            .unwrap();
        let mut j = out.into_inner();
        let len = j.len();
        j.extend_from_slice(b"appended");
        assert_eq!(jpeg_end(&j), Some(len));
        let (again, removed) = rebuild(&j, FileType::Jpeg, &Limits::default()).unwrap();
        assert_eq!(removed.len(), 1);
        let (twice, removed) = rebuild(&again, FileType::Jpeg, &Limits::default()).unwrap();
        assert!(removed.is_empty());
        assert_eq!(again, twice);
        assert!(!again.ends_with(b"appended"));
    }
}
