//! What an analyst is shown instead of reported media, and what the media is.
//!
//! Analysts of a hotline look at the worst images there are, all day. The product's rule is that
//! they see as little as possible: media is shown **blurred and grey by default**, and the
//! original is sent only after an explicit, audited reveal. [`blurred_thumbnail`] makes what is
//! shown by default: enough to tell a photo from a screenshot or a cartoon, and where its mass
//! is, nothing more.
//!
//! # How a thumbnail is made, and why so
//!
//! 1. Decoded by `vigie-hash`'s decoder, the same one that hashes the media, with its pixel limit
//!    checked before any pixel buffer is allocated, and the EXIF orientation applied so that the
//!    thumbnail is upright like the revealed original in a browser.
//! 2. Turned grey (ITU-R BT.601 luma, as JPEG and Pillow do) while being downscaled with an area
//!    filter (each thumbnail pixel is the mean of the source pixels it covers) to at most
//!    [`ThumbnailOptions::max_side`] pixels, keeping the aspect ratio. Colour goes first because
//!    skin tones and blood are what colour adds; an area filter because it averages every source
//!    pixel, where a sampling filter would let fine detail alias through.
//! 3. Blurred by three passes of a box blur, horizontal then vertical, whose result is close to
//!    a Gaussian of standard deviation about the box radius. The radius is relative to the
//!    thumbnail's size (by default a tenth of its longer side), so a small image is as
//!    unreadable as a large one. Box passes are integer running sums: the cost does not grow with
//!    the radius.
//! 4. Encoded as a greyscale PNG, so that no colour can come back and the browser shows exactly
//!    these pixels.
//!
//! [`sharpness`] and [`is_grey`] measure the two promises; the tests use them on this crate's
//! output and the browser tests on screenshots of what the analyst's page really shows.
//!
//! [`sniff`] names a media type from its first bytes. The name, extension or `Content-Type` a
//! reporter gives is never trusted: the bytes are.
//!
//! **Architecture invariant:** no I/O. Bytes in, bytes out; nothing here knows files, networks,
//! databases or HTTP. It builds on `vigie-hash` (decoding) and `image` (PNG encoding) only.
//! **Invariant:** every input is hostile: a bad input is a [`MediaError`], never a panic, and a
//! declared size over the pixel limit is refused before it is decoded.

mod blur;
mod measure;
mod sniff;

use std::fmt;

use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};
use vigie_hash::{DecodeOptions, HashError};

pub use measure::{is_grey, sharpness, GREY_TOLERANCE};
pub use sniff::sniff;

/// Why no thumbnail could be made; each calls for something different from the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// Not an image format we decode (it may be a video or a document: [`sniff`] says which):
    /// show a placeholder.
    #[error("not an image (no image format recognised)")]
    NotAnImage,
    /// The image declares more pixels than the limit: refused before decoding, as a
    /// decompression bomb would be.
    #[error("image of {width}x{height} pixels is over the limit of {limit} pixels")]
    TooLarge {
        /// Width the file declares.
        width: u64,
        /// Height the file declares.
        height: u64,
        /// The limit in force.
        limit: u64,
    },
    /// An image format we know, but the file is truncated, corrupt or in a variant we do not
    /// decode.
    #[error("unreadable image: {0}")]
    Invalid(String),
}

/// How a thumbnail is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThumbnailOptions {
    /// The longest side of the thumbnail, in pixels. Smaller images keep their size: they are
    /// never enlarged.
    pub max_side: u32,
    /// The radius of each of the three box-blur passes, in percent of the thumbnail's longer
    /// side (at least one pixel whatever the percentage). The default, 10, leaves blobs of
    /// light and dark and no detail: no face, text or body can be told.
    pub blur_radius_percent: u32,
    /// Images declaring more pixels than this are refused before they are decoded.
    pub max_pixels: u64,
}

impl Default for ThumbnailOptions {
    fn default() -> Self {
        Self {
            max_side: 320,
            blur_radius_percent: 10,
            max_pixels: vigie_hash::DEFAULT_MAX_PIXELS,
        }
    }
}

/// A blurred greyscale thumbnail, ready to send to a browser.
#[derive(Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// A greyscale (8-bit, one channel) PNG file.
    pub png: Vec<u8>,
    /// Width of the PNG, in pixels.
    pub width: u32,
    /// Height of the PNG, in pixels.
    pub height: u32,
}

impl fmt::Debug for Thumbnail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thumbnail")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("png_bytes", &self.png.len())
            .finish()
    }
}

/// Makes what an analyst sees of an image by default: downscaled to at most
/// `options.max_side`, grey and strongly blurred (see the crate doc for each step).
pub fn blurred_thumbnail(
    bytes: &[u8],
    options: &ThumbnailOptions,
) -> Result<Thumbnail, MediaError> {
    let decode = DecodeOptions {
        max_pixels: options.max_pixels,
        exif_orientation: true,
    };
    let pixels = vigie_hash::decode(bytes, &decode).map_err(media_error)?;
    let (width, height) = blur::thumbnail_size(pixels.width, pixels.height, options.max_side);
    let mut grey = blur::downscale_grey(&pixels, width, height);
    drop(pixels);
    let longer = width.max(height);
    let radius = longer
        .saturating_mul(options.blur_radius_percent as usize)
        .div_ceil(100)
        .max(1);
    blur::box_blur(&mut grey, width, height, radius);
    // Both sides are at most `max_side` (or 1), a u32: the conversions are exact.
    let (width, height) = (width as u32, height as u32);
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(&grey, width, height, ExtendedColorType::L8)
        .map_err(|error| MediaError::Invalid(format!("encoding the thumbnail: {error}")))?;
    Ok(Thumbnail { png, width, height })
}

fn media_error(error: HashError) -> MediaError {
    match error {
        HashError::NotAnImage => MediaError::NotAnImage,
        HashError::TooManyPixels {
            width,
            height,
            limit,
        } => MediaError::TooLarge {
            width,
            height,
            limit,
        },
        HashError::Unsupported(reason) => MediaError::Invalid(format!("unsupported: {reason}")),
        HashError::Truncated(reason) => MediaError::Invalid(format!("truncated: {reason}")),
        HashError::InvalidImage(reason) => MediaError::Invalid(reason),
    }
}
