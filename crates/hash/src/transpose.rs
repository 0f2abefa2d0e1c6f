//! Batches of eight rows between their natural layout and the interleaved one PDQ's row filter
//! works on (column `k` of row `r` at `k * 8 + r`, see `pdq::RowBatch`).
//!
//! Moving values one by one at a stride costs a load and a store per pixel, three times per image:
//! measured, that was two fifths of PDQ's time. Square tiles of 8x8 values are transposed in
//! registers instead, with AVX where the CPU has it (chosen at run time, so one binary runs
//! everywhere); the value-by-value loop is the definition and the AVX kernel's test twin.

/// Rows in a batch, and the side of a tile.
pub(crate) const LANES: usize = 8;

/// Which way [`transpose`] goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// From [`LANES`] rows of `width` values, one after another, to the interleaved layout.
    Interleave,
    /// From the interleaved layout back to rows one after another.
    Deinterleave,
}

impl Direction {
    /// The lengths of the source's rows and of the target's: `width` values or [`LANES`].
    fn row_lengths(self, width: usize) -> (usize, usize) {
        match self {
            Direction::Interleave => (width, LANES),
            Direction::Deinterleave => (LANES, width),
        }
    }
}

/// Transposes a batch of [`LANES`] rows of `width` values from `source` into `target`, both
/// `LANES * width` long.
pub(crate) fn transpose(source: &[f32], width: usize, direction: Direction, target: &mut [f32]) {
    assert!(source.len() >= LANES * width && target.len() >= LANES * width);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU was just seen to support AVX, the one feature the kernel enables.
        #[allow(unsafe_code)]
        unsafe {
            avx::transpose(source, width, direction, target)
        };
        return;
    }
    transpose_from(0, source, width, direction, target);
}

/// The definition: value by value, from column `first` to the end. Always inlined, so that the
/// AVX kernel's tail is compiled with its features.
#[inline(always)]
fn transpose_from(
    first: usize,
    source: &[f32],
    width: usize,
    direction: Direction,
    target: &mut [f32],
) {
    let (source_row, target_row) = direction.row_lengths(width);
    for lane in 0..LANES {
        for column in first..width {
            let (from, to) = match direction {
                Direction::Interleave => (lane * source_row + column, column * target_row + lane),
                Direction::Deinterleave => (column * source_row + lane, lane * target_row + column),
            };
            target[to] = source[from];
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use std::arch::x86_64::*;

    use super::{transpose_from, Direction, LANES};

    /// Eight values from `slice[at..]` into a register (bounds-checked; the compiler makes it
    /// one unaligned load).
    #[inline(always)]
    fn load(slice: &[f32], at: usize) -> __m256 {
        let values: [f32; LANES] = slice[at..at + LANES].try_into().expect("eight values");
        bytemuck::cast(values)
    }

    #[inline(always)]
    fn store(slice: &mut [f32], at: usize, register: __m256) {
        let values: [f32; LANES] = bytemuck::cast(register);
        slice[at..at + LANES].copy_from_slice(&values);
    }

    /// Every full 8x8 tile through registers (unpack, shuffle, swap halves: the usual 24
    /// instructions), then the columns that do not fill a tile value by value.
    #[target_feature(enable = "avx")]
    pub(super) fn transpose(
        source: &[f32],
        width: usize,
        direction: Direction,
        target: &mut [f32],
    ) {
        let (source_row, target_row) = direction.row_lengths(width);
        let tiles = width / LANES * LANES;
        for start in (0..tiles).step_by(LANES) {
            // Tile rows are source rows: 8 lanes' columns `start..` when interleaving, 8
            // columns' lanes when deinterleaving. Either way the tile's transpose is the target.
            let (row0, column0) = match direction {
                Direction::Interleave => (0, start),
                Direction::Deinterleave => (start, 0),
            };
            let row: [__m256; LANES] =
                std::array::from_fn(|i| load(source, (row0 + i) * source_row + column0));
            let low = |a: usize, b: usize| _mm256_unpacklo_ps(row[a], row[b]);
            let high = |a: usize, b: usize| _mm256_unpackhi_ps(row[a], row[b]);
            let pairs = [
                low(0, 1),
                high(0, 1),
                low(2, 3),
                high(2, 3),
                low(4, 5),
                high(4, 5),
                low(6, 7),
                high(6, 7),
            ];
            let quads = [
                _mm256_shuffle_ps::<0x44>(pairs[0], pairs[2]),
                _mm256_shuffle_ps::<0xee>(pairs[0], pairs[2]),
                _mm256_shuffle_ps::<0x44>(pairs[1], pairs[3]),
                _mm256_shuffle_ps::<0xee>(pairs[1], pairs[3]),
                _mm256_shuffle_ps::<0x44>(pairs[4], pairs[6]),
                _mm256_shuffle_ps::<0xee>(pairs[4], pairs[6]),
                _mm256_shuffle_ps::<0x44>(pairs[5], pairs[7]),
                _mm256_shuffle_ps::<0xee>(pairs[5], pairs[7]),
            ];
            for j in 0..4 {
                let to = |column: usize| (column0 + column) * target_row + row0;
                let first_half = _mm256_permute2f128_ps::<0x20>(quads[j], quads[j + 4]);
                let second_half = _mm256_permute2f128_ps::<0x31>(quads[j], quads[j + 4]);
                store(target, to(j), first_half);
                store(target, to(j + 4), second_half);
            }
        }
        transpose_from(tiles, source, width, direction, target);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn the_kernel_transposes_as_value_by_value(width in 1usize..100, seed in any::<u32>()) {
            let source: Vec<f32> = (0..LANES * width)
                .map(|i| (i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) as f32)
                .collect();
            for direction in [Direction::Interleave, Direction::Deinterleave] {
                let mut expected = vec![0.0; source.len()];
                transpose_from(0, &source, width, direction, &mut expected);
                let mut fast = vec![0.0; source.len()];
                transpose(&source, width, direction, &mut fast);
                prop_assert_eq!(&fast, &expected);
            }
        }
    }

    #[test]
    fn interleaving_puts_column_k_of_row_r_at_k_times_8_plus_r() {
        let width = 11;
        let rows: Vec<f32> = (0..LANES * width).map(|v| v as f32).collect();
        let mut interleaved = vec![0.0; rows.len()];
        transpose(&rows, width, Direction::Interleave, &mut interleaved);
        for row in 0..LANES {
            for column in 0..width {
                assert_eq!(
                    interleaved[column * LANES + row],
                    rows[row * width + column]
                );
            }
        }
        let mut back = vec![0.0; rows.len()];
        transpose(&interleaved, width, Direction::Deinterleave, &mut back);
        assert_eq!(back, rows);
    }
}
