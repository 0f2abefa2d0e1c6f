//! Hashing for Vigie: image bytes in, PDQ and cryptographic hashes out.
//!
//! Everyone who uses Vigie starts here: a platform hashes each upload, an investigator a seized
//! disk, a hotline what it fetched, a family its own photos. The hashes are exchanged with
//! organisations running Meta's HMA, so PDQ is computed bit for bit as HMA computes it
//! ([`pdq`]), on the pixels HMA's decoder produces ([`decode`]).
//!
//! Architecture invariant: this crate does no I/O beyond decoding a byte buffer it is given. It
//! knows nothing of files, directories, networks, databases or HTTP; callers read the bytes (and
//! stream large files through [`Digester`]) and decide what to do with errors.

mod decode;
mod digest;
mod luma;
mod pdq;
mod pixels;
mod transpose;

pub use decode::{decode, looks_like_image, DecodeOptions, DEFAULT_MAX_PIXELS};
pub use digest::{hex, unhex, Digester, Digests};
pub use pdq::{
    pdq_hash, pdq_hash_dihedral, Dihedral, DihedralPdq, ParsePdqError, Pdq, PdqHash, PdqVariant,
};
pub use pixels::{Layout, Pixels};

/// Why an image could not be hashed. The cryptographic digests of its bytes can always be
/// computed; these errors are about the picture.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// The bytes are not in any image format we decode.
    #[error("not an image (no known image format recognised)")]
    NotAnImage,
    /// An image format we recognise, in a variant we do not decode.
    #[error("unsupported image: {0}")]
    Unsupported(String),
    /// More pixels than allowed: refused before decoding, as a decompression bomb would be.
    #[error("image of {width}x{height} pixels is over the limit of {limit} pixels")]
    TooManyPixels {
        /// Width the header claims.
        width: u64,
        /// Height the header claims.
        height: u64,
        /// The limit in force.
        limit: u64,
    },
    /// The file stops before the image does.
    #[error("truncated image: {0}")]
    Truncated(String),
    /// The image data is malformed.
    #[error("corrupt image: {0}")]
    InvalidImage(String),
}

/// How to hash an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HashOptions {
    /// Decoding limits and EXIF handling.
    pub decode: DecodeOptions,
    /// Which implementation's PDQ to reproduce.
    pub variant: PdqVariant,
    /// Also compute the hashes of the seven rotations and flips.
    pub dihedral: bool,
}

/// The perceptual hashes of one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHashes {
    /// PDQ of the image as it is.
    pub pdq: Pdq,
    /// All eight dihedral hashes, when asked for.
    pub dihedral: Option<DihedralPdq>,
}

/// Decodes image bytes and computes their PDQ hashes.
pub fn hash_image(bytes: &[u8], options: &HashOptions) -> Result<ImageHashes, HashError> {
    ImageHasher::new(*options).hash(bytes)
}

/// Hashes images one after another with the same options, keeping the last image's pixel
/// buffer for the next: what a worker going through many files holds, one per thread.
#[derive(Debug, Default)]
pub struct ImageHasher {
    options: HashOptions,
    spare: Vec<u8>,
}

impl ImageHasher {
    /// A hasher with no buffer yet.
    pub fn new(options: HashOptions) -> Self {
        Self {
            options,
            spare: Vec::new(),
        }
    }

    /// Decodes image bytes and computes their PDQ hashes.
    pub fn hash(&mut self, bytes: &[u8]) -> Result<ImageHashes, HashError> {
        let buffer = std::mem::take(&mut self.spare);
        let pixels = decode::decode_reusing(bytes, &self.options.decode, buffer)?;
        let hashes = if self.options.dihedral {
            let dihedral = pdq_hash_dihedral(&pixels, self.options.variant);
            ImageHashes {
                pdq: Pdq {
                    hash: dihedral.get(Dihedral::Original),
                    quality: dihedral.quality,
                },
                dihedral: Some(dihedral),
            }
        } else {
            ImageHashes {
                pdq: pdq_hash(&pixels, self.options.variant),
                dihedral: None,
            }
        };
        self.spare = pixels.into_bytes();
        Ok(hashes)
    }
}
