//! Measures of the two promises a thumbnail makes, blurred and grey, for this crate's tests and
//! for the browser tests that check what the analyst's page really shows (on a screenshot
//! region or a downloaded PNG).

/// How far apart a pixel's red, green and blue may be for [`is_grey`] to call it grey. A grey
/// PNG decodes with equal channels; the slack is for a browser's colour management and a
/// screenshot's encoding, far below the differences of any coloured photo.
pub const GREY_TOLERANCE: u8 = 3;

/// The mean absolute difference between neighbouring pixels (each pixel and the one to its
/// right, each pixel and the one below), of a grey image of `width` x `height`, rows top to
/// bottom. A sharp photo measures several levels (often above 5), a strongly blurred one well
/// under 1, a flat image 0.
///
/// A buffer shorter than `width * height` is measured on the rows it holds whole; an image with
/// no two neighbouring pixels measures 0.
pub fn sharpness(grey_pixels: &[u8], width: usize, height: usize) -> f64 {
    if width == 0 {
        return 0.0;
    }
    let height = height.min(grey_pixels.len() / width);
    let pixel = |x: usize, y: usize| i32::from(grey_pixels[y * width + x]);
    let mut total: u64 = 0;
    let mut pairs: u64 = 0;
    for y in 0..height {
        for x in 0..width {
            if x + 1 < width {
                total += pixel(x, y).abs_diff(pixel(x + 1, y)) as u64;
                pairs += 1;
            }
            if y + 1 < height {
                total += pixel(x, y).abs_diff(pixel(x, y + 1)) as u64;
                pairs += 1;
            }
        }
    }
    if pairs == 0 {
        0.0
    } else {
        total as f64 / pairs as f64
    }
}

/// Whether every pixel of RGBA bytes (four a pixel, as image decoders and WebDriver screenshots
/// give them; alpha is ignored) has its red, green and blue within [`GREY_TOLERANCE`] of each
/// other. Trailing bytes short of a whole pixel are ignored.
pub fn is_grey(rgba: &[u8]) -> bool {
    rgba.chunks_exact(4).all(|pixel| {
        let (r, g, b) = (pixel[0], pixel[1], pixel[2]);
        r.max(g).max(b) - r.min(g).min(b) <= GREY_TOLERANCE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharpness_is_the_mean_neighbour_difference() {
        // 0 10
        // 30 0   pairs: |0-10|, |0-30|, |10-0|, |30-0| = 80 over 4.
        assert_eq!(sharpness(&[0, 10, 30, 0], 2, 2), 20.0);
        assert_eq!(sharpness(&[7; 100], 10, 10), 0.0);
        assert_eq!(sharpness(&[1], 1, 1), 0.0);
        assert_eq!(sharpness(&[], 0, 5), 0.0);
        // A short buffer: only the first whole row counts.
        assert_eq!(sharpness(&[0, 10, 30], 2, 2), 10.0);
    }

    #[test]
    fn grey_means_equal_channels_within_the_tolerance() {
        assert!(is_grey(&[5, 5, 5, 255, 200, 202, 199, 0]));
        assert!(!is_grey(&[5, 5, 5, 255, 200, 0, 0, 255]));
        assert!(is_grey(&[]));
    }
}
