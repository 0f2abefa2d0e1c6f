//! Hamming-distance scan kernels: one query against a run of stored hashes.
//!
//! Every search in this crate ends in [`Kernel::scan`]: given a query, a slice of hashes and a
//! radius, it reports each hash within the radius with its distance. The scalar version is the
//! definition; the others compute the same thing with the widest popcount the CPU offers, chosen
//! once at run time ([`Kernel::detect`]), so one binary runs everywhere and uses AVX-512 where it
//! exists. Every kernel is property-tested against the scalar twin (`tests` below).
//!
//! Matches are rare (a few in millions at radius 31), so kernels compare inside their vector
//! registers and only leave the fast path when something is within the radius.

use std::sync::OnceLock;

use crate::Words;

/// One hash within the radius: its position in the scanned slice and its distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    /// Position in the slice given to [`Kernel::scan`].
    pub offset: u32,
    /// Number of differing bits.
    pub distance: u32,
}

/// A scan implementation the CPU can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Portable Rust; `count_ones` without assuming any instruction.
    Scalar,
    /// The x86-64 `popcnt` instruction, four 64-bit words a hash.
    #[cfg(target_arch = "x86_64")]
    Popcnt,
    /// AVX2: Muła's nibble-lookup popcount, a whole hash per register.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// AVX-512 with VPOPCNTDQ: eight hashes per step, compared in registers.
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Kernel {
    /// The fastest kernel this CPU supports, detected once.
    pub fn detect() -> Kernel {
        static DETECTED: OnceLock<Kernel> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            Kernel::available()
                .last()
                .copied()
                .unwrap_or(Kernel::Scalar)
        })
    }

    /// Every kernel this CPU can run, slowest first (the scalar one is always there).
    pub fn available() -> Vec<Kernel> {
        #[allow(unused_mut)]
        let mut kernels = vec![Kernel::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("popcnt") {
                kernels.push(Kernel::Popcnt);
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                kernels.push(Kernel::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
            {
                kernels.push(Kernel::Avx512);
            }
        }
        kernels
    }

    /// A short name, for benchmarks and logs.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Scalar => "scalar",
            #[cfg(target_arch = "x86_64")]
            Kernel::Popcnt => "popcnt",
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => "avx2",
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => "avx512",
        }
    }

    /// Appends to `hits`, in slice order, every hash of `hashes` within `radius` of `query`.
    /// `hashes` may hold at most `u32::MAX` hashes; callers scan in blocks.
    pub fn scan(self, query: &Words, hashes: &[Words], radius: u32, hits: &mut Vec<Hit>) {
        debug_assert!(u32::try_from(hashes.len()).is_ok());
        match self {
            Kernel::Scalar => scan_scalar(query, hashes, radius, hits),
            // SAFETY (all three): `available` lists these kernels only when the CPU reports
            // the features their `target_feature` attributes enable, and a `Kernel` of these
            // variants is only made by `available` (or by a caller who checked the same).
            #[cfg(target_arch = "x86_64")]
            #[allow(unsafe_code)]
            Kernel::Popcnt => unsafe { x86::scan_popcnt(query, hashes, radius, hits) },
            #[cfg(target_arch = "x86_64")]
            #[allow(unsafe_code)]
            Kernel::Avx2 => unsafe { x86::scan_avx2(query, hashes, radius, hits) },
            #[cfg(target_arch = "x86_64")]
            #[allow(unsafe_code)]
            Kernel::Avx512 => unsafe { x86::scan_avx512(query, hashes, radius, hits) },
        }
    }
}

/// Number of differing bits of two hashes: the definition every kernel must agree with.
#[inline]
pub fn distance(a: &Words, b: &Words) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

fn scan_scalar(query: &Words, hashes: &[Words], radius: u32, hits: &mut Vec<Hit>) {
    scan_scalar_from(query, hashes, radius, 0, hits);
}

/// The scalar loop, reporting offsets from `first`: the whole scan for the portable kernels,
/// and the tail after the last full register for the SIMD ones. Always inlined, so that it is
/// compiled with the features of the kernel it is part of (the `popcnt` instruction).
#[inline(always)]
fn scan_scalar_from(query: &Words, hashes: &[Words], radius: u32, first: u32, hits: &mut Vec<Hit>) {
    for (offset, hash) in hashes.iter().enumerate() {
        let distance = distance(query, hash);
        if distance <= radius {
            hits.push(Hit {
                offset: first + offset as u32,
                distance,
            });
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use std::arch::x86_64::*;

    use super::{scan_scalar_from, Hit};
    use crate::Words;

    /// The scalar loop compiled with `popcnt`: one instruction per 64-bit word.
    ///
    /// # Safety
    /// The CPU must support `popcnt`.
    #[target_feature(enable = "popcnt")]
    pub unsafe fn scan_popcnt(query: &Words, hashes: &[Words], radius: u32, hits: &mut Vec<Hit>) {
        scan_scalar_from(query, hashes, radius, 0, hits);
    }

    /// Muła's popcount: each nibble's count from a 16-entry table (`vpshufb`), bytes summed
    /// per 64-bit lane with `vpsadbw`; four hashes' lane sums are then packed into one register
    /// and reduced together.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn scan_avx2(query: &Words, hashes: &[Words], radius: u32, hits: &mut Vec<Hit>) {
        let table = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2,
            3, 3, 4,
        );
        let low_nibbles = _mm256_set1_epi8(0x0f);
        let zero = _mm256_setzero_si256();
        // SAFETY: `query` is 32 readable bytes; the unaligned load has no alignment needs.
        let q = unsafe { _mm256_loadu_si256(query.as_ptr().cast()) };
        // Per-lane bit counts of one hash's XOR with the query: four u64 lanes, each <= 64.
        let lane_counts = |hash: &Words| {
            // SAFETY: as for the query.
            let x = _mm256_xor_si256(unsafe { _mm256_loadu_si256(hash.as_ptr().cast()) }, q);
            let low = _mm256_shuffle_epi8(table, _mm256_and_si256(x, low_nibbles));
            let high = _mm256_shuffle_epi8(
                table,
                _mm256_and_si256(_mm256_srli_epi16::<4>(x), low_nibbles),
            );
            _mm256_sad_epu8(_mm256_add_epi8(low, high), zero)
        };
        let mut blocks = hashes.chunks_exact(4);
        let mut base = 0u32;
        for block in &mut blocks {
            // Lane sums of hash k go to 16-bit field k of each lane; the fields never carry
            // into each other because a whole hash's count is at most 256 < 65536.
            let packed = _mm256_or_si256(
                _mm256_or_si256(
                    lane_counts(&block[0]),
                    _mm256_slli_epi64::<16>(lane_counts(&block[1])),
                ),
                _mm256_or_si256(
                    _mm256_slli_epi64::<32>(lane_counts(&block[2])),
                    _mm256_slli_epi64::<48>(lane_counts(&block[3])),
                ),
            );
            let pairs = _mm256_add_epi64(packed, _mm256_shuffle_epi32::<0b01_00_11_10>(packed));
            let sums = _mm256_add_epi64(pairs, _mm256_permute4x64_epi64::<0b00_00_11_10>(pairs));
            let fields = _mm256_extract_epi64::<0>(sums) as u64;
            for k in 0..4 {
                let distance = ((fields >> (16 * k)) & 0xffff) as u32;
                if distance <= radius {
                    hits.push(Hit {
                        offset: base + k as u32,
                        distance,
                    });
                }
            }
            base += 4;
        }
        scan_scalar_from(query, blocks.remainder(), radius, base, hits);
    }

    /// Eight hashes per step: two per 512-bit register, `vpopcntq` on each 64-bit lane, the
    /// lanes of the eight hashes packed into 16-bit fields and summed in two shuffles, then one
    /// compare against the radius gives a mask of the hashes within it.
    ///
    /// # Safety
    /// The CPU must support AVX-512 F, BW and VPOPCNTDQ.
    #[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
    pub unsafe fn scan_avx512(query: &Words, hashes: &[Words], radius: u32, hits: &mut Vec<Hit>) {
        // SAFETY: `query` is 32 readable bytes; the unaligned load has no alignment needs.
        let q = _mm512_broadcast_i64x4(unsafe { _mm256_loadu_si256(query.as_ptr().cast()) });
        let limit = _mm512_set1_epi16(radius.min(256) as i16);
        let mut blocks = hashes.chunks_exact(8);
        let mut base = 0u32;
        for block in &mut blocks {
            let p = block.as_ptr().cast::<__m512i>();
            // SAFETY: the block is 8 hashes, 256 contiguous bytes: four unaligned 64-byte loads.
            let counts = |i: usize| unsafe {
                _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(p.add(i)), q))
            };
            // Register i holds hashes 2i and 2i+1. After packing, lanes 0-3 hold the four
            // words of hashes 0, 2, 4, 6 (fields 0-3) and lanes 4-7 those of 1, 3, 5, 7.
            let packed = _mm512_or_si512(
                _mm512_or_si512(counts(0), _mm512_slli_epi64::<16>(counts(1))),
                _mm512_or_si512(
                    _mm512_slli_epi64::<32>(counts(2)),
                    _mm512_slli_epi64::<48>(counts(3)),
                ),
            );
            let pairs = _mm512_add_epi64(packed, _mm512_shuffle_epi32::<{ _MM_PERM_BADC }>(packed));
            let sums = _mm512_add_epi64(pairs, _mm512_shuffle_i64x2::<0b10_11_00_01>(pairs, pairs));
            // Fields 0-3 of lane 0 are hashes 0, 2, 4, 6; fields 0-3 of lane 4 (bits 16-19 of
            // the mask) are hashes 1, 3, 5, 7.
            let within = _mm512_cmple_epu16_mask(sums, limit) & 0x000f_000f;
            if within != 0 {
                let mut fields = [0u16; 32];
                // SAFETY: `fields` is 64 writable bytes.
                unsafe { _mm512_storeu_si512(fields.as_mut_ptr().cast(), sums) };
                for (k, field) in [0usize, 16, 1, 17, 2, 18, 3, 19].into_iter().enumerate() {
                    if within & (1 << field) != 0 {
                        hits.push(Hit {
                            offset: base + k as u32,
                            distance: u32::from(fields[field]),
                        });
                    }
                }
            }
            base += 8;
        }
        scan_scalar_from(query, blocks.remainder(), radius, base, hits);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Hashes near the query as well as random ones, so that every radius sees hits.
    fn hashes_near(query: Words) -> impl Strategy<Value = Vec<Words>> {
        prop::collection::vec(
            (any::<[u64; 4]>(), any::<[u64; 4]>(), 0u32..4).prop_map(
                move |(a, b, mode)| match mode {
                    // Few bits flipped: a sparse mask from two random words ANDed.
                    0 => [
                        query[0] ^ (a[0] & b[0] & a[1]),
                        query[1] ^ (a[2] & b[1] & b[2]),
                        query[2] ^ (a[3] & b[3] & a[0] & b[0]),
                        query[3],
                    ],
                    1 => query.map(|w| !w),
                    2 => query,
                    _ => a,
                },
            ),
            0..70,
        )
    }

    proptest! {
        #[test]
        fn every_kernel_equals_the_scalar_one(
            (query, hashes) in any::<[u64; 4]>().prop_flat_map(|q| (Just(q), hashes_near(q))),
            radius in prop_oneof![0u32..=40, 0u32..=256, Just(256u32), Just(1000u32)],
        ) {
            let mut expected = Vec::new();
            scan_scalar(&query, &hashes, radius, &mut expected);
            for kernel in Kernel::available() {
                let mut hits = Vec::new();
                kernel.scan(&query, &hashes, radius, &mut hits);
                prop_assert_eq!(&hits, &expected, "kernel {}", kernel.name());
            }
        }
    }

    #[test]
    fn distance_counts_every_bit() {
        assert_eq!(distance(&[0; 4], &[u64::MAX; 4]), 256);
        assert_eq!(distance(&[1, 2, 4, 8], &[0; 4]), 4);
    }
}
