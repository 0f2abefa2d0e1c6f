//! PDQ, Meta's 256-bit perceptual image hash, computed bit for bit as the reference does.
//!
//! Hashes travel between organisations: a bank that NCMEC or a hotline builds with Meta's HMA is
//! matched here, and ours are matched there. One bit of difference moves a Hamming distance and can
//! turn a match into a miss, so every floating-point operation below happens in the order, and at
//! the precision, of Meta's C++ reference (`pdq/cpp/hashing/pdqhashing.cpp`, `downscaling.cpp`):
//! the luma conversion, the two passes of box filters (the "Jarosz tent"), the decimation to
//! 64x64, the quality metric, the 16x16 DCT, the Torben median and the thresholding.
//!
//! What differs from the reference is the shape of the computation, not its arithmetic. The
//! reference filters two full-size float buffers in four sweeps; here the image streams through
//! the filter one row at a time ([`Downsampler`]): every column keeps its own running sum, which
//! performs exactly the additions, subtractions and divisions the reference performs for that
//! column, in the same order. Memory is a few rows instead of two whole images, the column sums
//! vectorise, and the last sweep is computed only on the 64 columns the decimation keeps. The
//! luma (`luma.rs`) and the moves between rows and the row filter's interleaved batches
//! (`transpose.rs`) have AVX kernels, chosen at run time.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use crate::luma::{numpy_luma, numpy_rgb_row};
use crate::pixels::{Layout, Pixels};
use crate::transpose::{transpose, Direction, LANES};

/// Hashes of images narrower or shorter than this are all zeros with quality 0, as in the
/// reference.
const MIN_HASHABLE_DIM: usize = 5;

/// Side of the downsampled image the DCT is taken of.
const DOWNSAMPLED: usize = 64;

/// Side of the DCT coefficient block the hash is made of.
const DCT_SIDE: usize = 16;

/// The reference command-line tool resizes larger images to this side before hashing.
const CLI_RESIZE_SIDE: usize = 512;

/// A 256-bit PDQ hash.
///
/// The bytes are kept in the order of the usual 64-character hex form (the form HMA, ThreatExchange
/// and NCMEC exchange), so `as_bytes` and `Display` agree byte for byte.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PdqHash([u8; 32]);

impl PdqHash {
    /// Builds a hash from its 32 bytes in hex-string order.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes in hex-string order.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Number of differing bits: two images "match" when this is at most 31.
    pub fn distance(&self, other: &PdqHash) -> u32 {
        self.0
            .iter()
            .zip(other.0.iter())
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }

    /// Sets bit `k` as the reference numbers them: bit `k` is bit `k % 16` of the 16-bit word
    /// `k / 16`, and the hex form prints word 15 first.
    fn set_bit(&mut self, k: usize) {
        let word = k / 16;
        let bit = k % 16;
        let byte = (15 - word) * 2 + usize::from(bit < 8);
        self.0[byte] |= 1 << (bit % 8);
    }
}

impl fmt::Display for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdqHash({self})")
    }
}

/// Why a string is not a PDQ hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParsePdqError {
    /// A PDQ hash is exactly 64 hex digits.
    #[error("a PDQ hash has 64 hex digits, this has {0} characters")]
    WrongLength(usize),
    /// A character that is not a hex digit.
    #[error("{0:?} at position {1} is not a hex digit")]
    NotHex(char, usize),
}

impl FromStr for PdqHash {
    type Err = ParsePdqError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let digits = text.as_bytes();
        if digits.len() != 64 {
            return Err(ParsePdqError::WrongLength(text.chars().count()));
        }
        let nibble = |position: usize| {
            let c = char::from(digits[position]);
            c.to_digit(16)
                .map(|value| value as u8)
                .ok_or(ParsePdqError::NotHex(c, position))
        };
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = (nibble(2 * i)? << 4) | nibble(2 * i + 1)?;
        }
        Ok(Self(bytes))
    }
}

/// A PDQ hash with its quality score (0-100; hashes under 50 are not to be trusted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pdq {
    /// The hash.
    pub hash: PdqHash,
    /// How much detail the image had: flat or tiny images hash poorly.
    pub quality: u8,
}

/// The eight symmetries of a square: rotations and flips an uploader may apply to a picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dihedral {
    /// The image as it is.
    Original,
    /// Rotated a quarter turn anticlockwise (the reference's "rotate 90").
    Rotate90,
    /// Rotated a half turn.
    Rotate180,
    /// Rotated a quarter turn clockwise (the reference's "rotate 270").
    Rotate270,
    /// Mirrored about the horizontal axis: top and bottom swap (the reference's "flip x").
    FlipX,
    /// Mirrored about the vertical axis: left and right swap (the reference's "flip y").
    FlipY,
    /// Mirrored about the main diagonal (transposed).
    FlipPlus1,
    /// Mirrored about the anti-diagonal.
    FlipMinus1,
}

impl Dihedral {
    /// All eight, in the reference's order.
    pub const ALL: [Dihedral; 8] = [
        Dihedral::Original,
        Dihedral::Rotate90,
        Dihedral::Rotate180,
        Dihedral::Rotate270,
        Dihedral::FlipX,
        Dihedral::FlipY,
        Dihedral::FlipPlus1,
        Dihedral::FlipMinus1,
    ];

    /// Short name, as in the reference's tools and our CSV and JSON outputs.
    pub const fn name(self) -> &'static str {
        match self {
            Dihedral::Original => "orig",
            Dihedral::Rotate90 => "rot90",
            Dihedral::Rotate180 => "rot180",
            Dihedral::Rotate270 => "rot270",
            Dihedral::FlipX => "flipx",
            Dihedral::FlipY => "flipy",
            Dihedral::FlipPlus1 => "flipplus1",
            Dihedral::FlipMinus1 => "flipminus1",
        }
    }

    /// Coefficient `(row, col)` of the transformed image's DCT block, taken from the original's.
    ///
    /// Mirroring an image negates its odd-frequency cosine coefficients along that axis, and a
    /// transpose transposes the block, so every dihedral transform is a transpose and/or sign
    /// changes of one DCT block. The sign rules are the reference's `dct16OriginalTo*`.
    fn coefficient(self, dct: &[[f32; DCT_SIDE]; DCT_SIDE], row: usize, col: usize) -> f32 {
        // `(i, j)` is the position in the original block that lands at `(row, col)`.
        let (i, j, negate) = match self {
            Dihedral::Original => (row, col, false),
            Dihedral::Rotate90 => (col, row, row & 1 == 0),
            Dihedral::Rotate180 => (row, col, (row + col) & 1 == 1),
            Dihedral::Rotate270 => (col, row, col & 1 == 0),
            Dihedral::FlipX => (row, col, row & 1 == 0),
            Dihedral::FlipY => (row, col, col & 1 == 0),
            Dihedral::FlipPlus1 => (col, row, false),
            Dihedral::FlipMinus1 => (col, row, (row + col) & 1 == 1),
        };
        if negate {
            -dct[i][j]
        } else {
            dct[i][j]
        }
    }
}

/// The eight dihedral hashes of one image, from one computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DihedralPdq {
    /// Hashes in the order of [`Dihedral::ALL`].
    pub hashes: [PdqHash; 8],
    /// Quality, the same for all eight.
    pub quality: u8,
}

impl DihedralPdq {
    /// The hash of one transform.
    pub fn get(&self, transform: Dihedral) -> PdqHash {
        let index = Dihedral::ALL
            .iter()
            .position(|t| *t == transform)
            .expect("ALL lists every transform");
        self.hashes[index]
    }
}

/// Which established implementation to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PdqVariant {
    /// What HMA and python-threatexchange compute (`pdqhash` on the full-resolution pixels): the
    /// luma is computed in double precision by numpy, then rounded to single.
    #[default]
    Hma,
    /// What Meta's reference command-line tool `pdq-photo-hasher` computes: images over 512 pixels
    /// on a side are first resized to 512x512 by nearest neighbour, and the luma is computed in
    /// single precision (grey images are used as they are).
    Cli512,
}

/// Hashes decoded pixels.
pub fn pdq_hash(pixels: &Pixels, variant: PdqVariant) -> Pdq {
    match dct_of(pixels, variant) {
        Some((dct, quality)) => Pdq {
            hash: threshold(&dct, Dihedral::Original),
            quality,
        },
        None => Pdq {
            hash: PdqHash::default(),
            quality: 0,
        },
    }
}

/// Hashes decoded pixels under all eight rotations and flips at the cost of one.
pub fn pdq_hash_dihedral(pixels: &Pixels, variant: PdqVariant) -> DihedralPdq {
    match dct_of(pixels, variant) {
        Some((dct, quality)) => DihedralPdq {
            hashes: Dihedral::ALL.map(|transform| threshold(&dct, transform)),
            quality,
        },
        None => DihedralPdq {
            hashes: [PdqHash::default(); 8],
            quality: 0,
        },
    }
}

type DctBlock = [[f32; DCT_SIDE]; DCT_SIDE];

/// The 16x16 DCT block and the quality, or `None` for an image too small to hash.
fn dct_of(pixels: &Pixels, variant: PdqVariant) -> Option<(DctBlock, u8)> {
    let resized;
    let (pixels, rule) = match variant {
        PdqVariant::Hma => (pixels, LumaRule::NumpyDouble),
        PdqVariant::Cli512 => {
            let source = if pixels.width > CLI_RESIZE_SIDE || pixels.height > CLI_RESIZE_SIDE {
                resized = resize_nearest(pixels, CLI_RESIZE_SIDE, CLI_RESIZE_SIDE);
                &resized
            } else {
                pixels
            };
            (source, LumaRule::ReferenceFloat)
        }
    };
    if pixels.width < MIN_HASHABLE_DIM || pixels.height < MIN_HASHABLE_DIM {
        return None;
    }
    let downsampled = downsample(pixels, rule);
    let quality = quality_metric(&downsampled);
    Some((dct64_to_16(&downsampled), quality))
}

/// How RGB becomes the single float channel PDQ works on.
#[derive(Debug, Clone, Copy)]
enum LumaRule {
    /// `pdqhash`'s binding: `r*0.299 + g*0.587 + b*0.114` on numpy float64, then float32.
    /// Grey images were repeated to three channels by python-threatexchange before that.
    NumpyDouble,
    /// The C++ reference: the same coefficients as `float`, in single precision; grey pixels are
    /// converted as they are.
    ReferenceFloat,
}

impl LumaRule {
    fn fill_row(self, pixels: &Pixels, row: usize, luma: &mut [f32]) {
        let data = pixels.row(row);
        match (pixels.layout, self) {
            (Layout::Rgb, LumaRule::NumpyDouble) => numpy_rgb_row(data, luma),
            (Layout::Rgb, LumaRule::ReferenceFloat) => {
                for (out, rgb) in luma.iter_mut().zip(data.chunks_exact(3)) {
                    *out = 0.299f32 * f32::from(rgb[0])
                        + 0.587f32 * f32::from(rgb[1])
                        + 0.114f32 * f32::from(rgb[2]);
                }
            }
            (Layout::Grey, LumaRule::NumpyDouble) => {
                let table = &*GREY_LUMA_NUMPY;
                for (out, &grey) in luma.iter_mut().zip(data) {
                    *out = table[usize::from(grey)];
                }
            }
            (Layout::Grey, LumaRule::ReferenceFloat) => {
                for (out, &grey) in luma.iter_mut().zip(data) {
                    *out = f32::from(grey);
                }
            }
        }
    }
}

/// Luma of a grey level repeated to three channels, by the numpy rule: the value the RGB arm
/// computes for `(v, v, v)`.
static GREY_LUMA_NUMPY: LazyLock<[f32; 256]> = LazyLock::new(|| {
    std::array::from_fn(|v| {
        let level = v as f64;
        numpy_luma(level, level, level)
    })
});

/// Nearest-neighbour resize as CImg (used by the reference tool) does it: output column `x`
/// takes input column `floor(x * width / new_width)`.
fn resize_nearest(pixels: &Pixels, new_width: usize, new_height: usize) -> Pixels {
    let source_index = |x: usize, old: usize, new: usize| -> usize {
        if old == new {
            x
        } else {
            (x as f64 * old as f64 / new as f64) as usize
        }
    };
    let channels = pixels.layout.channels();
    let mut data = Vec::with_capacity(new_width * new_height * channels);
    for y in 0..new_height {
        let row = pixels.row(source_index(y, pixels.height, new_height));
        for x in 0..new_width {
            let sx = source_index(x, pixels.width, new_width);
            data.extend_from_slice(&row[sx * channels..(sx + 1) * channels]);
        }
    }
    Pixels::new(new_width, new_height, pixels.layout, data)
        .expect("the buffer was sized for these dimensions")
}

/// Size of the box filter window for a dimension, as the reference computes it.
fn jarosz_window(dimension: usize) -> usize {
    dimension.div_ceil(2 * DOWNSAMPLED)
}

/// Index of the input sample the reference's decimation keeps for output index `out`.
fn decimation_index(out: usize, input_len: usize) -> usize {
    (((out as f64 + 0.5) * input_len as f64) / DOWNSAMPLED as f64) as usize
}

/// The phases of the reference's one-dimensional box filter (`box1DFloat`) for a window.
#[derive(Debug, Clone, Copy)]
struct BoxPhases {
    window: usize,
    /// Samples summed before the first output.
    lead: usize,
    /// Outputs after the last sample was read.
    tail: usize,
}

impl BoxPhases {
    fn new(window: usize) -> Self {
        let half = (window + 2) / 2;
        Self {
            window,
            lead: half - 1,
            tail: half - 1,
        }
    }
}

/// The reference's box filter along one contiguous row, written to `output`: the plain twin
/// the fast paths ([`RowBatch`], [`ColumnBox`]) are tested against.
#[cfg(test)]
fn box_row(input: &[f32], output: &mut [f32], phases: BoxPhases) {
    let BoxPhases { window, lead, tail } = phases;
    let len = input.len();
    let mut sum = 0.0f32;
    let mut count = 0usize;
    for &value in &input[..lead] {
        sum += value;
        count += 1;
    }
    let mut out = 0;
    for &value in &input[lead..window] {
        sum += value;
        count += 1;
        output[out] = sum / count as f32;
        out += 1;
    }
    let divisor = count as f32;
    for (&added, &removed) in input[window..].iter().zip(input) {
        sum += added;
        sum -= removed;
        output[out] = sum / divisor;
        out += 1;
    }
    for &removed in &input[len - window..len - window + tail] {
        sum -= removed;
        count -= 1;
        output[out] = sum / count as f32;
        out += 1;
    }
}

/// The reference's box filter down every column at once, fed one row at a time.
///
/// Each column's running sum receives the same operations, in the same order, as the reference's
/// `box1DFloat` with a stride of one row; the rows it must later subtract are kept in a ring.
#[derive(Debug)]
struct ColumnBox {
    phases: BoxPhases,
    width: usize,
    sums: Vec<f32>,
    /// The last `window` input rows, row `r` at slot `r % window`.
    ring: Vec<f32>,
    received: usize,
    drained: usize,
    count: usize,
    total_rows: usize,
    output: Vec<f32>,
}

impl ColumnBox {
    fn new(width: usize, total_rows: usize) -> Self {
        let phases = BoxPhases::new(jarosz_window(total_rows));
        Self {
            phases,
            width,
            sums: vec![0.0; width],
            ring: vec![0.0; width * phases.window],
            received: 0,
            drained: 0,
            count: 0,
            total_rows,
            output: vec![0.0; width],
        }
    }

    /// Takes the next input row; returns the next output row once the window allows one.
    #[inline(always)]
    fn push(&mut self, row: &[f32]) -> Option<&[f32]> {
        let index = self.received;
        self.received += 1;
        let window = self.phases.window;
        let slot = &mut self.ring[(index % window) * self.width..][..self.width];
        for (sum, &value) in self.sums.iter_mut().zip(row) {
            *sum += value;
        }
        if index >= window {
            // Full window: the row that leaves it is the one this row replaces in the ring.
            for (sum, &removed) in self.sums.iter_mut().zip(slot.iter()) {
                *sum -= removed;
            }
        } else {
            self.count += 1;
        }
        slot.copy_from_slice(row);
        if index < self.phases.lead {
            return None;
        }
        Some(self.emit())
    }

    /// Returns the next of the outputs that follow the last input row, until there are none.
    #[inline(always)]
    fn drain(&mut self) -> Option<&[f32]> {
        debug_assert_eq!(self.received, self.total_rows);
        if self.drained == self.phases.tail {
            return None;
        }
        let window = self.phases.window;
        let leaving = self.total_rows - window + self.drained;
        self.drained += 1;
        let slot = &self.ring[(leaving % window) * self.width..][..self.width];
        for (sum, &removed) in self.sums.iter_mut().zip(slot) {
            *sum -= removed;
        }
        self.count -= 1;
        Some(self.emit())
    }

    #[inline(always)]
    fn emit(&mut self) -> &[f32] {
        let divisor = self.count as f32;
        for (out, &sum) in self.output.iter_mut().zip(&self.sums) {
            *out = sum / divisor;
        }
        &self.output
    }
}

/// Filters and decimates the image to 64x64, streaming it row by row (see the module comment).
///
/// Where the CPU has AVX2 the same code is compiled for it too (the filters' methods are always
/// inlined into it), so that their sums and divisions go eight at a time: the same operations,
/// in the same order, on wider registers.
fn downsample(pixels: &Pixels, rule: LumaRule) -> [[f32; DOWNSAMPLED]; DOWNSAMPLED] {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU was just seen to support AVX2, the one feature the copy enables.
        #[allow(unsafe_code)]
        return unsafe { downsample_avx2(pixels, rule) };
    }
    downsample_portable(pixels, rule)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn downsample_avx2(pixels: &Pixels, rule: LumaRule) -> [[f32; DOWNSAMPLED]; DOWNSAMPLED] {
    downsample_portable(pixels, rule)
}

#[inline(always)]
fn downsample_portable(pixels: &Pixels, rule: LumaRule) -> [[f32; DOWNSAMPLED]; DOWNSAMPLED] {
    let (width, height) = (pixels.width, pixels.height);
    if width == DOWNSAMPLED && height == DOWNSAMPLED {
        // The reference skips the filter when there is nothing to downsample.
        let mut out = [[0.0f32; DOWNSAMPLED]; DOWNSAMPLED];
        for (row, out_row) in out.iter_mut().enumerate() {
            rule.fill_row(pixels, row, out_row);
        }
        return out;
    }
    let mut downsampler = Downsampler::new(width, height);
    for row in 0..height {
        let luma = |slot: &mut [f32]| rule.fill_row(pixels, row, slot);
        if downsampler.first_rows.push_with(luma) {
            downsampler.flush_first_rows();
        }
    }
    downsampler.finish()
}

/// The reference's two rounds of rows-then-columns box filters, then its decimation, as a
/// pipeline: pass 1 (rows) feeds pass 2 (columns), whose rows feed pass 3 (rows), whose 64 kept
/// columns feed pass 4 (columns), whose 64 kept rows are the result.
#[derive(Debug)]
struct Downsampler {
    first_rows: RowBatch,
    first_columns: ColumnBox,
    second: SecondRound,
}

/// Passes 3 and 4, and the decimation.
#[derive(Debug)]
struct SecondRound {
    rows: RowBatch,
    columns: ColumnBox,
    kept_columns: [usize; DOWNSAMPLED],
    kept: [f32; DOWNSAMPLED],
    decimation: Decimation,
}

/// The rows the reference's decimation keeps, collected as the filter finishes them.
#[derive(Debug)]
struct Decimation {
    kept_rows: [usize; DOWNSAMPLED],
    out: [[f32; DOWNSAMPLED]; DOWNSAMPLED],
    next_output_row: usize,
    next_kept: usize,
}

impl Decimation {
    /// Takes the next fully filtered row into every output row the decimation takes from it.
    fn take(&mut self, row: &[f32]) {
        while self.next_kept < DOWNSAMPLED && self.kept_rows[self.next_kept] == self.next_output_row
        {
            self.out[self.next_kept].copy_from_slice(row);
            self.next_kept += 1;
        }
        self.next_output_row += 1;
    }
}

impl Downsampler {
    fn new(width: usize, height: usize) -> Self {
        let row_phases = BoxPhases::new(jarosz_window(width));
        Self {
            first_rows: RowBatch::new(width, row_phases),
            first_columns: ColumnBox::new(width, height),
            second: SecondRound {
                rows: RowBatch::new(width, row_phases),
                columns: ColumnBox::new(DOWNSAMPLED, height),
                kept_columns: std::array::from_fn(|j| decimation_index(j, width)),
                kept: [0.0; DOWNSAMPLED],
                decimation: Decimation {
                    kept_rows: std::array::from_fn(|i| decimation_index(i, height)),
                    out: [[0.0; DOWNSAMPLED]; DOWNSAMPLED],
                    next_output_row: 0,
                    next_kept: 0,
                },
            },
        }
    }

    #[inline(always)]
    fn flush_first_rows(&mut self) {
        self.first_rows.filter();
        for row in self.first_rows.output_rows() {
            if let Some(columns_done) = self.first_columns.push(row) {
                self.second.push_row(columns_done);
            }
        }
        self.first_rows.clear();
    }

    fn finish(mut self) -> [[f32; DOWNSAMPLED]; DOWNSAMPLED] {
        self.flush_first_rows();
        while let Some(columns_done) = self.first_columns.drain() {
            self.second.push_row(columns_done);
        }
        self.second.finish()
    }
}

impl SecondRound {
    #[inline(always)]
    fn push_row(&mut self, row: &[f32]) {
        if self.rows.push(row) {
            self.flush_rows();
        }
    }

    #[inline(always)]
    fn flush_rows(&mut self) {
        self.rows.filter();
        for lane in 0..self.rows.len() {
            for (value, &column) in self.kept.iter_mut().zip(&self.kept_columns) {
                *value = self.rows.output(lane, column);
            }
            if let Some(done) = self.columns.push(&self.kept) {
                self.decimation.take(done);
            }
        }
        self.rows.clear();
    }

    fn finish(mut self) -> [[f32; DOWNSAMPLED]; DOWNSAMPLED] {
        self.flush_rows();
        while let Some(done) = self.columns.drain() {
            self.decimation.take(done);
        }
        self.decimation.out
    }
}

/// The reference's box filter along rows, applied to [`LANES`] rows at once (the rows filtered
/// together, so that their running sums advance side by side).
///
/// Along one row each output depends on the previous running sum, a chain of dependent
/// additions the processor cannot overlap. Interleaving eight rows (column `k` of lane `r` at
/// `k * LANES + r`) gives eight independent chains that advance in one vector instruction; each
/// row still sees exactly the reference's operations in the reference's order. Rows arrive and
/// leave one after another in `rows` and are interleaved and back by [`transpose`].
#[derive(Debug)]
struct RowBatch {
    width: usize,
    phases: BoxPhases,
    /// Up to [`LANES`] rows of `width`, one after another: the batch's input until
    /// [`Self::filter`], then its output once [`Self::output_rows`] has laid it out there.
    rows: Vec<f32>,
    input: Vec<f32>,
    output: Vec<f32>,
    len: usize,
}

impl RowBatch {
    fn new(width: usize, phases: BoxPhases) -> Self {
        Self {
            width,
            phases,
            rows: vec![0.0; width * LANES],
            input: vec![0.0; width * LANES],
            output: vec![0.0; width * LANES],
            len: 0,
        }
    }

    /// Adds a row; returns whether the batch is now full.
    fn push(&mut self, row: &[f32]) -> bool {
        self.push_with(|slot| slot.copy_from_slice(row))
    }

    /// Adds the row `fill` writes in place; returns whether the batch is now full.
    fn push_with(&mut self, fill: impl FnOnce(&mut [f32])) -> bool {
        fill(&mut self.rows[self.len * self.width..][..self.width]);
        self.len += 1;
        self.len == LANES
    }

    fn len(&self) -> usize {
        self.len
    }

    fn clear(&mut self) {
        self.len = 0;
    }

    fn output(&self, lane: usize, column: usize) -> f32 {
        self.output[column * LANES + lane]
    }

    /// The filtered rows, one after another.
    fn output_rows(&mut self) -> std::slice::ChunksExact<'_, f32> {
        transpose(
            &self.output,
            self.width,
            Direction::Deinterleave,
            &mut self.rows,
        );
        self.rows[..self.len * self.width].chunks_exact(self.width)
    }

    /// Filters every lane; lanes past [`Self::len`] hold stale rows and are filtered for nothing.
    #[inline(always)]
    fn filter(&mut self) {
        transpose(
            &self.rows,
            self.width,
            Direction::Interleave,
            &mut self.input,
        );
        let BoxPhases { window, lead, tail } = self.phases;
        let at = |k: usize| -> [f32; LANES] {
            self.input[k * LANES..(k + 1) * LANES]
                .try_into()
                .expect("a lane group")
        };
        let mut outputs = self.output.chunks_exact_mut(LANES);
        let mut write = |sum: &[f32; LANES], divisor: f32| {
            let out = outputs.next().expect("one output per input");
            for (out, &sum) in out.iter_mut().zip(sum) {
                *out = sum / divisor;
            }
        };
        let mut sum = [0.0f32; LANES];
        let mut count = 0usize;
        for k in 0..lead {
            let added = at(k);
            for lane in 0..LANES {
                sum[lane] += added[lane];
            }
            count += 1;
        }
        for k in lead..window {
            let added = at(k);
            for lane in 0..LANES {
                sum[lane] += added[lane];
            }
            count += 1;
            write(&sum, count as f32);
        }
        let divisor = count as f32;
        for k in window..self.width {
            let (added, removed) = (at(k), at(k - window));
            for lane in 0..LANES {
                sum[lane] += added[lane];
                sum[lane] -= removed[lane];
            }
            write(&sum, divisor);
        }
        for k in self.width - window..self.width - window + tail {
            let removed = at(k);
            for lane in 0..LANES {
                sum[lane] -= removed[lane];
            }
            count -= 1;
            write(&sum, count as f32);
        }
    }
}

/// The reference's quality metric: the sum of absolute neighbour differences of the 64x64 image,
/// scaled to 0-100.
fn quality_metric(image: &[[f32; DOWNSAMPLED]; DOWNSAMPLED]) -> u8 {
    let step = |u: f32, v: f32| -> i32 { (((u - v) * 100.0) / 255.0) as i32 };
    let mut gradient_sum = 0i32;
    for (row, next_row) in image.iter().zip(&image[1..]) {
        for (&u, &v) in row.iter().zip(next_row) {
            gradient_sum += step(u, v).abs();
        }
    }
    for row in image {
        for j in 0..DOWNSAMPLED - 1 {
            gradient_sum += step(row[j], row[j + 1]).abs();
        }
    }
    (gradient_sum / 90).min(100) as u8
}

/// Rows 1-16 of the 64-point DCT-II basis (the constant row 0 is left out), as the reference
/// builds it: a single-precision scale times a double-precision cosine, stored as `float`.
static DCT_MATRIX: LazyLock<[[f32; DOWNSAMPLED]; DCT_SIDE]> = LazyLock::new(|| {
    let scale = (2.0f64 / DOWNSAMPLED as f64).sqrt() as f32;
    std::array::from_fn(|i| {
        std::array::from_fn(|j| {
            let angle = (std::f64::consts::PI / 2.0 / DOWNSAMPLED as f64)
                * (i + 1) as f64
                * (2 * j + 1) as f64;
            (f64::from(scale) * angle.cos()) as f32
        })
    })
});

/// `D * A * D^T`, each coefficient summed over `k` in the reference's order.
///
/// The loops run with `k` outside and the output column inside: every output still accumulates
/// its 64 products in the order `k = 0, 1, ..., 63`, so the sums are bit-identical, but the inner
/// loop is over independent outputs and vectorises.
fn dct64_to_16(image: &[[f32; DOWNSAMPLED]; DOWNSAMPLED]) -> DctBlock {
    let d = &*DCT_MATRIX;
    let d_transposed = &*DCT_MATRIX_TRANSPOSED;
    let mut partial = [[0.0f32; DOWNSAMPLED]; DCT_SIDE];
    for (d_row, partial_row) in d.iter().zip(partial.iter_mut()) {
        for (&weight, image_row) in d_row.iter().zip(image) {
            for (cell, &pixel) in partial_row.iter_mut().zip(image_row) {
                *cell += weight * pixel;
            }
        }
    }
    let mut block = [[0.0f32; DCT_SIDE]; DCT_SIDE];
    for (partial_row, block_row) in partial.iter().zip(block.iter_mut()) {
        for (&value, d_column) in partial_row.iter().zip(d_transposed) {
            for (cell, &weight) in block_row.iter_mut().zip(d_column) {
                *cell += value * weight;
            }
        }
    }
    block
}

/// [`DCT_MATRIX`] transposed, so that the second product reads it along rows.
static DCT_MATRIX_TRANSPOSED: LazyLock<[[f32; DCT_SIDE]; DOWNSAMPLED]> =
    LazyLock::new(|| std::array::from_fn(|k| std::array::from_fn(|j| DCT_MATRIX[j][k])));

/// One bit per coefficient of the transformed block: set when above the block's median.
fn threshold(dct: &DctBlock, transform: Dihedral) -> PdqHash {
    let mut values = [0.0f32; DCT_SIDE * DCT_SIDE];
    for (k, value) in values.iter_mut().enumerate() {
        *value = transform.coefficient(dct, k / DCT_SIDE, k % DCT_SIDE);
    }
    let median = torben_median(&values);
    let mut hash = PdqHash::default();
    for (k, &value) in values.iter().enumerate() {
        if value > median {
            hash.set_bit(k);
        }
    }
    hash
}

/// Torben's median, as the reference computes it (its choice among equal or middle values
/// decides bits, so it is reproduced rather than replaced by a sort).
fn torben_median(values: &[f32]) -> f32 {
    let n = values.len();
    let half = n.div_ceil(2);
    let mut min = values[0];
    let mut max = values[0];
    for &v in &values[1..] {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    loop {
        let guess = (min + max) / 2.0;
        let (mut less, mut greater, mut equal) = (0usize, 0usize, 0usize);
        let mut max_below = min;
        let mut min_above = max;
        for &v in values {
            if v < guess {
                less += 1;
                if v > max_below {
                    max_below = v;
                }
            } else if v > guess {
                greater += 1;
                if v < min_above {
                    min_above = v;
                }
            } else {
                equal += 1;
            }
        }
        if less <= half && greater <= half {
            return if less >= half {
                max_below
            } else if less + equal >= half {
                guess
            } else {
                min_above
            };
        } else if less > greater {
            max = max_below;
        } else {
            min = min_above;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let text = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        let hash: PdqHash = text.parse().unwrap();
        assert_eq!(hash.to_string(), text);
        assert_eq!(text.to_uppercase().parse::<PdqHash>().unwrap(), hash);
    }

    #[test]
    fn bad_hex_is_refused_with_the_reason() {
        assert_eq!("abc".parse::<PdqHash>(), Err(ParsePdqError::WrongLength(3)));
        let mut text = "0".repeat(64);
        text.replace_range(10..11, "g");
        assert_eq!(text.parse::<PdqHash>(), Err(ParsePdqError::NotHex('g', 10)));
    }

    #[test]
    fn bit_numbering_matches_the_reference_hex() {
        // Bit 0 is the lowest bit of word 0, printed last; bit 255 the highest of word 15.
        let mut hash = PdqHash::default();
        hash.set_bit(0);
        assert!(hash.to_string().ends_with("0001"));
        let mut hash = PdqHash::default();
        hash.set_bit(255);
        assert!(hash.to_string().starts_with("8000"));
        let mut hash = PdqHash::default();
        hash.set_bit(8);
        assert!(hash.to_string().ends_with("0100"));
    }

    #[test]
    fn distance_counts_differing_bits() {
        let a = PdqHash::from_bytes([0xff; 32]);
        let b = PdqHash::from_bytes([0x0f; 32]);
        assert_eq!(a.distance(&b), 128);
        assert_eq!(a.distance(&a), 0);
    }

    #[test]
    fn torben_returns_the_lower_middle_value() {
        let mut values: Vec<f32> = (0..256).map(|v| v as f32).collect();
        values.reverse();
        assert_eq!(torben_median(&values), 127.0);
    }

    #[test]
    fn box_row_matches_the_reference_phases() {
        // A window of 3 over [1, 2, 3, 4, 5]: first two outputs average 2 then 3 samples... as
        // box1DFloat does with half window 2.
        let input = [1.0f32, 2.0, 3.0, 4.0, 5.0];
        let mut output = [0.0f32; 5];
        box_row(&input, &mut output, BoxPhases::new(3));
        assert_eq!(output, [1.5, 2.0, 3.0, 4.0, 4.5]);
    }

    #[test]
    fn column_box_equals_box_row_on_each_column() {
        for rows in [1usize, 2, 5, 63, 64, 65, 130, 300, 1000] {
            let width = 3;
            let columns: Vec<Vec<f32>> = (0..width)
                .map(|c| {
                    (0..rows)
                        .map(|r| ((r * 7 + c * 13) % 31) as f32 * 1.7)
                        .collect()
                })
                .collect();
            let phases = BoxPhases::new(jarosz_window(rows));
            let expected: Vec<Vec<f32>> = columns
                .iter()
                .map(|column| {
                    let mut out = vec![0.0; rows];
                    box_row(column, &mut out, phases);
                    out
                })
                .collect();
            let mut boxed = ColumnBox::new(width, rows);
            let mut produced = Vec::new();
            for r in 0..rows {
                let row: Vec<f32> = columns.iter().map(|column| column[r]).collect();
                if let Some(out) = boxed.push(&row) {
                    produced.push(out.to_vec());
                }
            }
            while let Some(out) = boxed.drain() {
                produced.push(out.to_vec());
            }
            assert_eq!(produced.len(), rows, "{rows} rows");
            for (r, row) in produced.iter().enumerate() {
                for c in 0..width {
                    assert_eq!(
                        row[c].to_bits(),
                        expected[c][r].to_bits(),
                        "{rows} rows, ({r},{c})"
                    );
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn the_avx2_copy_filters_as_the_portable_code(
            width in 5usize..90,
            height in 5usize..90,
            seed in proptest::prelude::any::<u64>(),
        ) {
            let mut state = seed | 1;
            let data = (0..width * height * 3)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let pixels = Pixels::new(width, height, Layout::Rgb, data).unwrap();
            for rule in [LumaRule::NumpyDouble, LumaRule::ReferenceFloat] {
                let bits = |image: [[f32; DOWNSAMPLED]; DOWNSAMPLED]| {
                    image.map(|row| row.map(f32::to_bits))
                };
                proptest::prop_assert_eq!(
                    bits(downsample(&pixels, rule)),
                    bits(downsample_portable(&pixels, rule))
                );
            }
        }
    }

    #[test]
    fn tiny_images_hash_to_zero_with_quality_zero() {
        let pixels = Pixels::new(4, 100, Layout::Grey, vec![128; 400]).unwrap();
        let pdq = pdq_hash(&pixels, PdqVariant::Hma);
        assert_eq!(pdq.hash, PdqHash::default());
        assert_eq!(pdq.quality, 0);
    }
}
