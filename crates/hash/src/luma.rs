//! RGB to the single channel PDQ filters, as HMA computes it: `pdqhash`'s binding runs numpy's
//! `r*0.299 + g*0.587 + b*0.114` on float64 arrays, then rounds to float32.
//!
//! That is a third of PDQ's time on a large photo, so rows go through an AVX2 kernel where the CPU
//! has one (chosen at run time): the same products and sums, four pixels per register, with the
//! bytes of eight pixels sorted into channels by two shuffles. [`numpy_luma`] per pixel is the
//! definition and the kernel's test twin.

/// numpy's `r*0.299 + g*0.587 + b*0.114` on float64 (three products, summed left to right:
/// Rust never fuses them into multiply-adds), rounded to float32.
#[inline(always)]
pub(crate) fn numpy_luma(red: f64, green: f64, blue: f64) -> f32 {
    (red * 0.299 + green * 0.587 + blue * 0.114) as f32
}

/// The luma of a row of RGB pixels (three bytes each) into `luma`, one value a pixel.
pub(crate) fn numpy_rgb_row(rgb: &[u8], luma: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU was just seen to support AVX2, the one feature the kernel enables.
        #[allow(unsafe_code)]
        unsafe {
            avx2::numpy_rgb_row(rgb, luma)
        };
        return;
    }
    numpy_rgb_row_from(0, rgb, luma);
}

/// The definition, from pixel `first` on. Always inlined, so that the kernel's tail is compiled
/// with its features.
#[inline(always)]
fn numpy_rgb_row_from(first: usize, rgb: &[u8], luma: &mut [f32]) {
    let pixels = rgb.chunks_exact(3).skip(first);
    for (out, pixel) in luma.iter_mut().skip(first).zip(pixels) {
        *out = numpy_luma(pixel[0].into(), pixel[1].into(), pixel[2].into());
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::numpy_rgb_row_from;

    /// Pixels a step.
    const STEP: usize = 8;

    /// Shuffle masks taking channel `channel` of four pixels, the first at byte `first` of a
    /// 16-byte register, each into the low byte of a 32-bit lane (a mask byte of -1 gives 0).
    #[inline(always)]
    fn channel_mask(first: i8, channel: i8) -> __m128i {
        let byte = |pixel: i8| first + 3 * pixel + channel;
        #[rustfmt::skip]
        let mask = [
            byte(0), -1, -1, -1,
            byte(1), -1, -1, -1,
            byte(2), -1, -1, -1,
            byte(3), -1, -1, -1,
        ];
        bytemuck::cast(mask)
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn numpy_rgb_row(rgb: &[u8], luma: &mut [f32]) {
        let pixels = luma.len().min(rgb.len() / 3);
        let steps = pixels / STEP;
        let coefficients = [0.299, 0.587, 0.114].map(|c| _mm256_set1_pd(c));
        // Pixels 0-3 of a step are bytes 0-11 of its first 16 bytes; pixels 4-7 are bytes 4-15
        // of the 16 bytes from byte 8 (both loads stay inside the step's 24 bytes).
        let masks: [[__m128i; 3]; 2] =
            [0, 4].map(|first| [0, 1, 2].map(|channel| channel_mask(first, channel)));
        for step in 0..steps {
            let at = step * STEP * 3;
            let halves: [__m128i; 2] = [at, at + 8].map(|from| {
                let bytes: [u8; 16] = rgb[from..from + 16].try_into().expect("16 bytes");
                bytemuck::cast(bytes)
            });
            let mut out = [0.0f32; STEP];
            for (half, (bytes, masks)) in halves.iter().zip(&masks).enumerate() {
                let channel = |c: usize| {
                    let levels = _mm_shuffle_epi8(*bytes, masks[c]);
                    _mm256_mul_pd(_mm256_cvtepi32_pd(levels), coefficients[c])
                };
                let sum = _mm256_add_pd(_mm256_add_pd(channel(0), channel(1)), channel(2));
                let values: [f32; 4] = bytemuck::cast(_mm256_cvtpd_ps(sum));
                out[half * 4..half * 4 + 4].copy_from_slice(&values);
            }
            luma[step * STEP..(step + 1) * STEP].copy_from_slice(&out);
        }
        numpy_rgb_row_from(steps * STEP, rgb, luma);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn the_kernel_computes_what_numpy_computes(rgb in proptest::collection::vec(any::<u8>(), 0..200)) {
            let pixels = rgb.len() / 3;
            let mut expected = vec![0.0f32; pixels];
            numpy_rgb_row_from(0, &rgb, &mut expected);
            let mut fast = vec![0.0f32; pixels];
            numpy_rgb_row(&rgb, &mut fast);
            let bits = |values: &[f32]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&fast), bits(&expected));
        }
    }

    #[test]
    fn luma_follows_the_coefficients() {
        assert_eq!(numpy_luma(255.0, 255.0, 255.0), 255.0);
        assert_eq!(numpy_luma(100.0, 0.0, 0.0), 29.9);
        let mut luma = [0.0f32; 9];
        let rgb: Vec<u8> = (0..27).map(|i| if i % 3 == 1 { 200 } else { 0 }).collect();
        numpy_rgb_row(&rgb, &mut luma);
        assert!(
            luma.iter().all(|&v| v == (200.0f64 * 0.587) as f32),
            "{luma:?}"
        );
    }
}
