//! Image bytes to pixels, giving PDQ the pixels HMA sees.
//!
//! HMA decodes with Pillow, and Pillow decodes JPEG with libjpeg-turbo (integer DCT, fancy
//! upsampling). Pure-Rust JPEG decoders round differently by a level or two on many photos, which
//! moves PDQ bits, so JPEG goes through libjpeg-turbo itself (the `turbojpeg` crate, which builds
//! the library from source). Still WebP images go through libwebp, Pillow's own WebP decoder (the
//! `webp` crate, which builds it from source): its pixels are the `image` crate's, two and a half
//! times faster. The other formats are lossless or fully specified, and go through the `image`
//! crate.
//!
//! Where Pillow and HMA do something a user would not expect, we do what the user expects and
//! the difference is documented (README, "PDQ compatibility"): palette images are hashed on their
//! colours, not on their palette indices; CMYK images are converted to RGB, not hashed on their
//! C, M and Y channels; bilevel images are black and white, not 0 and 1.
//!
//! Every input is hostile: dimensions are checked against a pixel limit before any pixel buffer
//! is allocated, and decoder failures become [`HashError`] values, never panics.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader};

use crate::pixels::{Layout, Pixels};
use crate::HashError;

/// Default pixel limit: 100 megapixels, far above any camera photo, far below a decompression bomb.
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

/// The most progressive scans a JPEG may have; more is a known denial-of-service pattern
/// (a few kilobytes that take minutes to decode). Real encoders use about ten.
const MAX_JPEG_SCANS: u32 = 500;

/// What decoding may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Images with more pixels than this are refused before they are decoded.
    pub max_pixels: u64,
    /// Rotate or flip the image as its EXIF orientation tag says. HMA does not, so hashes made
    /// with this option only match hashes made the same way.
    pub exif_orientation: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            max_pixels: DEFAULT_MAX_PIXELS,
            exif_orientation: false,
        }
    }
}

/// Whether the first bytes of a file are those of an image format [`decode`] reads. Callers use
/// it to stream files that are not images instead of loading them whole.
pub fn looks_like_image(prefix: &[u8]) -> bool {
    prefix.starts_with(&[0xff, 0xd8, 0xff]) || image::guess_format(prefix).is_ok()
}

/// Decodes an image file held in memory.
pub fn decode(bytes: &[u8], options: &DecodeOptions) -> Result<Pixels, HashError> {
    decode_reusing(bytes, options, Vec::new())
}

/// Decodes as [`decode`] does, into `buffer` where the decoder lets us choose the memory (JPEG).
/// A worker hashing many photos passes back the last one's buffer: a 12-megapixel photo's
/// pixels are 36 MB, over the size the allocator keeps for reuse, and a fresh buffer costs
/// thousands of page faults that the kernel must zero.
pub(crate) fn decode_reusing(
    bytes: &[u8],
    options: &DecodeOptions,
    buffer: Vec<u8>,
) -> Result<Pixels, HashError> {
    if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        decode_jpeg(bytes, options, buffer)
    } else if let Some(pixels) = decode_still_webp(bytes, options)? {
        Ok(pixels)
    } else {
        decode_other(bytes, options)
    }
}

fn check_pixels(width: u64, height: u64, options: &DecodeOptions) -> Result<(), HashError> {
    let pixels = width.saturating_mul(height);
    if pixels > options.max_pixels {
        return Err(HashError::TooManyPixels {
            width,
            height,
            limit: options.max_pixels,
        });
    }
    if pixels == 0 {
        return Err(HashError::InvalidImage(format!(
            "the image is {width}x{height} pixels"
        )));
    }
    Ok(())
}

fn decode_jpeg(
    bytes: &[u8],
    options: &DecodeOptions,
    mut buffer: Vec<u8>,
) -> Result<Pixels, HashError> {
    let structure = JpegStructure::scan(bytes);
    let invalid = |error: turbojpeg::Error| HashError::InvalidImage(jpeg_message(&error));
    let truncated =
        || HashError::Truncated("the JPEG data stops before its end-of-image marker".into());
    let mut decompressor = turbojpeg::Decompressor::new().map_err(invalid)?;
    decompressor
        .set_scan_limit(MAX_JPEG_SCANS)
        .map_err(invalid)?;
    let header = decompressor.read_header(bytes).map_err(|error| {
        if structure.complete {
            invalid(error)
        } else {
            truncated()
        }
    })?;
    check_pixels(header.width as u64, header.height as u64, options)?;

    let (format, layout) = match header.colorspace {
        turbojpeg::Colorspace::Gray => (turbojpeg::PixelFormat::GRAY, Layout::Grey),
        turbojpeg::Colorspace::CMYK | turbojpeg::Colorspace::YCCK => {
            (turbojpeg::PixelFormat::CMYK, Layout::Rgb)
        }
        _ => (turbojpeg::PixelFormat::RGB, Layout::Rgb),
    };
    // Only the part of the buffer the last image did not use is zeroed.
    buffer.resize(header.width * header.height * format.size(), 0);
    let mut image = turbojpeg::Image {
        pixels: buffer,
        width: header.width,
        pitch: header.width * format.size(),
        height: header.height,
        format,
    };
    if let Err(error) = decompressor.decompress(bytes, image.as_deref_mut()) {
        // libjpeg reports damage it worked around as warnings, and TurboJPEG returns them as
        // errors; Pillow keeps such images, so do we. A file that stops before its end is not
        // one of those: Pillow refuses it as truncated.
        if !structure.complete {
            return Err(truncated());
        }
        if !is_libjpeg_warning(&error) {
            return Err(invalid(error));
        }
    }

    let data = if format == turbojpeg::PixelFormat::CMYK {
        cmyk_to_rgb(&image.pixels)
    } else {
        image.pixels
    };
    let pixels = Pixels::new(header.width, header.height, layout, data)
        .expect("the buffer was sized from the header");
    match structure.orientation.filter(|_| options.exif_orientation) {
        Some(orientation) => Ok(orient(pixels, orientation)),
        None => Ok(pixels),
    }
}

/// TurboJPEG's message without the crate's prefix.
fn jpeg_message(error: &turbojpeg::Error) -> String {
    match error {
        turbojpeg::Error::TurboJpegError(message) => message.clone(),
        other => other.to_string(),
    }
}

/// Whether libjpeg's message is one of its warnings (`JWRN_*` in `jerror.h`): the image was
/// decoded in full, around some damage.
fn is_libjpeg_warning(error: &turbojpeg::Error) -> bool {
    const WARNINGS: [&str; 7] = [
        "Corrupt JPEG data",
        "Premature end of JPEG file",
        "Warning: unknown JFIF revision",
        "Inconsistent progression sequence",
        "Invalid SOS parameters for sequential JPEG",
        "Unknown Adobe color transform",
        "Application transferred too many scanlines",
    ];
    let message = jpeg_message(error);
    WARNINGS.iter().any(|warning| message.contains(warning))
}

/// Pillow's CMYK to RGB: its JPEG plugin reads CMYK as inverted ("Adobe conventions"), then
/// `R = (255 - K) - C * (255 - K) / 255` with its rounding `MULDIV255`.
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let muldiv255 = |a: u32, b: u32| {
        let t = a * b + 128;
        ((t >> 8) + t) >> 8
    };
    let mut rgb = Vec::with_capacity(cmyk.len() / 4 * 3);
    for pixel in cmyk.chunks_exact(4) {
        let [c, m, y, k] = [pixel[0], pixel[1], pixel[2], pixel[3]].map(|v| u32::from(255 - v));
        let not_k = 255 - k;
        for ink in [c, m, y] {
            rgb.push(not_k.saturating_sub(muldiv255(ink, not_k)) as u8);
        }
    }
    rgb
}

/// What a walk over a JPEG's marker segments tells before decoding.
#[derive(Debug, Default)]
struct JpegStructure {
    /// The orientation its EXIF segment gives, if any.
    orientation: Option<Orientation>,
    /// Whether an end-of-image marker follows the first scan.
    complete: bool,
}

impl JpegStructure {
    /// Walks the segments up to the first scan. The walk only reads lengths and tags; anything
    /// malformed just ends it, and libjpeg gives the real diagnosis.
    fn scan(bytes: &[u8]) -> Self {
        let mut structure = Self::default();
        let mut at = 2;
        while at + 4 <= bytes.len() {
            if bytes[at] != 0xff {
                return structure;
            }
            let marker = bytes[at + 1];
            if marker == 0xff {
                at += 1; // Fill byte.
                continue;
            }
            if matches!(marker, 0x01 | 0xd0..=0xd7) {
                at += 2;
                continue;
            }
            let length = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
            let Some(payload) = bytes.get(at + 4..at + 2 + length) else {
                return structure;
            };
            if marker == 0xe1 && structure.orientation.is_none() {
                if let Some(tiff) = payload.strip_prefix(b"Exif\0\0") {
                    structure.orientation = Orientation::from_exif_chunk(tiff);
                }
            }
            at += 2 + length;
            if marker == 0xda {
                // Entropy-coded data stuffs every 0xff it holds, so the only 0xff 0xd9 after
                // the scan header is a real end-of-image marker.
                structure.complete = bytes[at..].windows(2).any(|pair| pair == [0xff, 0xd9]);
                return structure;
            }
        }
        structure
    }
}

/// A still WebP image, or `None` to leave the file to the `image` crate: animations (whose first
/// frame it composes), files libwebp refuses (for the `image` crate's diagnosis, which names the
/// fault where libwebp only fails), and EXIF orientation (the `image` crate reads the EXIF chunk).
fn decode_still_webp(bytes: &[u8], options: &DecodeOptions) -> Result<Option<Pixels>, HashError> {
    let is_webp = bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP");
    if !is_webp || options.exif_orientation {
        return Ok(None);
    }
    let Some(features) = webp::BitstreamFeatures::new(bytes) else {
        return Ok(None);
    };
    if features.has_animation() {
        return Ok(None);
    }
    check_pixels(
        u64::from(features.width()),
        u64::from(features.height()),
        options,
    )?;
    let Some(image) = webp::Decoder::new(bytes).decode() else {
        return Ok(None);
    };
    let data = if image.is_alpha() {
        without_alpha(&image)
    } else {
        image.to_vec()
    };
    let (width, height) = (image.width() as usize, image.height() as usize);
    Ok(Pixels::new(width, height, Layout::Rgb, data))
}

fn decode_other(bytes: &[u8], options: &DecodeOptions) -> Result<Pixels, HashError> {
    let format = image::guess_format(bytes).map_err(|_| HashError::NotAnImage)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    // Enough for the largest allowed image at 16 bits and four channels, and no more.
    limits.max_alloc = Some(
        options
            .max_pixels
            .saturating_mul(8)
            .saturating_add(64 << 20),
    );
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(image_error)?;
    let (width, height) = decoder.dimensions();
    check_pixels(u64::from(width), u64::from(height), options)?;
    let orientation = if options.exif_orientation {
        decoder.orientation().map_err(image_error)?
    } else {
        Orientation::NoTransforms
    };
    let image = DynamicImage::from_decoder(decoder).map_err(image_error)?;
    Ok(orient(pixels_of(image), orientation))
}

fn image_error(error: image::ImageError) -> HashError {
    use image::error::ImageError;
    match error {
        ImageError::Unsupported(e) => HashError::Unsupported(e.to_string()),
        ImageError::Limits(e) => HashError::InvalidImage(format!("over the memory limit: {e}")),
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            HashError::Truncated(e.to_string())
        }
        other => HashError::InvalidImage(other.to_string()),
    }
}

/// Keeps the colour channels at 8 bits: 16-bit samples keep their high byte, as Pillow does
/// when it opens a 16-bit RGB PNG; alpha is dropped (see [`Pixels`]).
fn pixels_of(image: DynamicImage) -> Pixels {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let (layout, data) = match image {
        DynamicImage::ImageLuma8(grey) => (Layout::Grey, grey.into_raw()),
        DynamicImage::ImageLumaA8(grey) => (
            Layout::Grey,
            grey.into_raw().chunks_exact(2).map(|p| p[0]).collect(),
        ),
        DynamicImage::ImageLuma16(grey) => (
            Layout::Grey,
            grey.into_raw().iter().map(|&v| (v >> 8) as u8).collect(),
        ),
        DynamicImage::ImageLumaA16(grey) => (
            Layout::Grey,
            grey.into_raw()
                .chunks_exact(2)
                .map(|p| (p[0] >> 8) as u8)
                .collect(),
        ),
        DynamicImage::ImageRgb8(rgb) => (Layout::Rgb, rgb.into_raw()),
        DynamicImage::ImageRgba8(rgba) => (Layout::Rgb, without_alpha(&rgba)),
        DynamicImage::ImageRgb16(rgb) => (
            Layout::Rgb,
            rgb.into_raw().iter().map(|&v| (v >> 8) as u8).collect(),
        ),
        DynamicImage::ImageRgba16(rgba) => (
            Layout::Rgb,
            rgba.into_raw()
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]].map(|v| (v >> 8) as u8))
                .collect(),
        ),
        other => (Layout::Rgb, other.to_rgb8().into_raw()),
    };
    Pixels::new(width, height, layout, data).expect("the image crate sizes its buffers")
}

/// The red, green and blue of 8-bit RGBA pixels.
fn without_alpha(rgba: &[u8]) -> Vec<u8> {
    rgba.chunks_exact(4)
        .flat_map(|pixel| [pixel[0], pixel[1], pixel[2]])
        .collect()
}

/// Applies an EXIF orientation, reusing the `image` crate's rotations.
fn orient(pixels: Pixels, orientation: Orientation) -> Pixels {
    if orientation == Orientation::NoTransforms {
        return pixels;
    }
    let (width, height, layout) = (pixels.width as u32, pixels.height as u32, pixels.layout);
    let data = pixels.into_bytes();
    let mut image = match layout {
        Layout::Grey => DynamicImage::ImageLuma8(
            image::GrayImage::from_raw(width, height, data).expect("sizes agree"),
        ),
        Layout::Rgb => DynamicImage::ImageRgb8(
            image::RgbImage::from_raw(width, height, data).expect("sizes agree"),
        ),
    };
    image.apply_orientation(orientation);
    pixels_of(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmyk_conversion_follows_pillow() {
        // Stored inverted: 255 means no ink. No ink at all is white; full black ink is black.
        assert_eq!(cmyk_to_rgb(&[255, 255, 255, 255]), [255, 255, 255]);
        assert_eq!(cmyk_to_rgb(&[255, 255, 255, 0]), [0, 0, 0]);
        // Full cyan, no black: red is gone, green and blue stay.
        assert_eq!(cmyk_to_rgb(&[0, 255, 255, 255]), [0, 255, 255]);
    }

    fn corpus_file(name: &str) -> Vec<u8> {
        let shared = std::env::var_os("VIGIE_SHARED").map_or_else(
            || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
            std::path::PathBuf::from,
        );
        std::fs::read(shared.join("corpus/pdq").join(name)).expect("../shared beside the checkout")
    }

    #[test]
    fn libwebp_gives_the_pixels_of_the_image_crate() {
        // An opaque and a transparent lossy WebP: libwebp is the fast path, the `image` crate
        // the twin it must agree with, pixel for pixel.
        for name in ["misc-images/modes/F.webp", "misc-images/modes/PA.webp"] {
            let bytes = corpus_file(name);
            let options = DecodeOptions::default();
            let fast = decode_still_webp(&bytes, &options)
                .unwrap()
                .expect("a still WebP");
            let twin = decode_other(&bytes, &options).unwrap();
            assert_eq!(
                (fast.width, fast.height),
                (twin.width, twin.height),
                "{name}"
            );
            assert!(fast.as_bytes() == twin.as_bytes(), "{name}: pixels differ");
        }
    }

    #[test]
    fn a_cut_or_oversized_webp_is_refused_with_the_reason() {
        let bytes = corpus_file("misc-images/modes/F.webp");
        let error = decode(&bytes[..bytes.len() / 2], &DecodeOptions::default()).unwrap_err();
        assert!(
            matches!(error, HashError::Truncated(_) | HashError::InvalidImage(_)),
            "{error}"
        );
        let small = DecodeOptions {
            max_pixels: 1000,
            ..DecodeOptions::default()
        };
        let error = decode(&bytes, &small).unwrap_err();
        assert!(
            matches!(
                error,
                HashError::TooManyPixels {
                    width: 1600,
                    height: 1004,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn garbage_is_not_an_image() {
        let error = decode(b"this is a text file", &DecodeOptions::default()).unwrap_err();
        assert!(matches!(error, HashError::NotAnImage), "{error}");
    }
}
