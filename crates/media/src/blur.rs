//! The pixel work of a thumbnail: grey area downscale and the three-pass box blur, in integers.

use vigie_hash::{Layout, Pixels};

/// The thumbnail's size: the image's own when it fits in `max_side`, otherwise scaled down so
/// that its longer side is `max_side`, the aspect ratio kept to the nearest pixel.
pub(crate) fn thumbnail_size(width: usize, height: usize, max_side: u32) -> (usize, usize) {
    let max_side = (max_side as usize).max(1);
    let longer = width.max(height);
    if longer <= max_side {
        return (width, height);
    }
    // In u128 so that no pair of u32-sized sides and limit can overflow.
    let scale = |side: usize| {
        let scaled = (side as u128 * max_side as u128 + longer as u128 / 2) / longer as u128;
        (scaled as usize).max(1)
    };
    (scale(width), scale(height))
}

/// Grey pixels of `pixels` at `width` x `height` (no larger than the image): each is the mean
/// luma of the block of source pixels it covers. Blocks have whole-pixel edges, which differs
/// from an exact area filter by less than a source pixel, invisible after the blur.
pub(crate) fn downscale_grey(pixels: &Pixels, width: usize, height: usize) -> Vec<u8> {
    let columns: Vec<usize> = (0..=width).map(|x| x * pixels.width / width).collect();
    let mut out = Vec::with_capacity(width * height);
    let mut sums = vec![0u64; width];
    let mut luma = vec![0u8; pixels.width];
    for y in 0..height {
        let (top, bottom) = (y * pixels.height / height, (y + 1) * pixels.height / height);
        sums.fill(0);
        for row in top..bottom {
            luma_row(pixels.row(row), pixels.layout, &mut luma);
            for (x, sum) in sums.iter_mut().enumerate() {
                *sum += luma[columns[x]..columns[x + 1]]
                    .iter()
                    .map(|&v| u64::from(v))
                    .sum::<u64>();
            }
        }
        for (x, &sum) in sums.iter().enumerate() {
            let count = ((columns[x + 1] - columns[x]) * (bottom - top)) as u64;
            out.push(((sum + count / 2) / count) as u8);
        }
    }
    out
}

/// BT.601 luma of one row, in integers (weights in thousandths, rounded).
fn luma_row(row: &[u8], layout: Layout, luma: &mut [u8]) {
    match layout {
        Layout::Grey => luma.copy_from_slice(row),
        Layout::Rgb => {
            for (out, rgb) in luma.iter_mut().zip(row.chunks_exact(3)) {
                let [r, g, b] = [rgb[0], rgb[1], rgb[2]].map(u32::from);
                *out = ((299 * r + 587 * g + 114 * b + 500) / 1000) as u8;
            }
        }
    }
}

/// Three passes of a box blur of `radius` over a grey image, each horizontal then vertical.
/// Three boxes make a close approximation of a Gaussian (the central limit theorem at work).
/// Near the edges the window holds only the pixels inside the image: repeating the edge pixel
/// instead would weigh it as much as half the window, and leave a visible band along the
/// border.
pub(crate) fn box_blur(grey: &mut [u8], width: usize, height: usize, radius: usize) {
    let mut line = Vec::with_capacity(width.max(height));
    for _ in 0..3 {
        for y in 0..height {
            blur_line(grey, y * width, 1, width, radius, &mut line);
        }
        for x in 0..width {
            blur_line(grey, x, width, height, radius, &mut line);
        }
    }
}

/// Box-blurs the `len` pixels at `start`, `start + step`, ... in place with a running sum, so
/// the cost is the same whatever the radius: each pixel becomes the rounded mean of the pixels
/// within `radius` of it.
fn blur_line(
    grey: &mut [u8],
    start: usize,
    step: usize,
    len: usize,
    radius: usize,
    line: &mut Vec<u8>,
) {
    line.clear();
    line.extend((0..len).map(|i| grey[start + i * step]));
    // The window of pixel i is [i - radius, i + radius] within [0, len).
    let mut sum: u64 = line[..len.min(radius + 1)]
        .iter()
        .map(|&v| u64::from(v))
        .sum();
    let mut count = len.min(radius + 1) as u64;
    for i in 0..len {
        grey[start + i * step] = ((sum + count / 2) / count) as u8;
        if let Some(&entering) = line.get(i + radius + 1) {
            sum += u64::from(entering);
            count += 1;
        }
        if i >= radius {
            sum -= u64::from(line[i - radius]);
            count -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain definition of one box pass: the rounded mean of the window inside the line.
    fn box_pass_by_definition(line: &[u8], radius: usize) -> Vec<u8> {
        (0..line.len())
            .map(|i| {
                let window = &line[i.saturating_sub(radius)..(i + radius + 1).min(line.len())];
                let sum: u64 = window.iter().map(|&v| u64::from(v)).sum();
                let count = window.len() as u64;
                ((sum + count / 2) / count) as u8
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn the_running_sum_is_the_windowed_mean(
            line in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..60),
            radius in 0usize..80,
        ) {
            let mut blurred = line.clone();
            let mut scratch = Vec::new();
            blur_line(&mut blurred, 0, 1, line.len(), radius, &mut scratch);
            proptest::prop_assert_eq!(blurred, box_pass_by_definition(&line, radius));
        }
    }

    #[test]
    fn sizes_keep_the_aspect_ratio_and_never_enlarge() {
        assert_eq!(thumbnail_size(640, 480, 320), (320, 240));
        assert_eq!(thumbnail_size(480, 640, 320), (240, 320));
        assert_eq!(thumbnail_size(100, 50, 320), (100, 50));
        assert_eq!(thumbnail_size(10_000, 1, 320), (320, 1));
        assert_eq!(thumbnail_size(5, 5, 0), (1, 1));
    }

    #[test]
    fn downscaling_averages_blocks() {
        let data = vec![0, 255, 0, 255, 10, 20, 30, 40];
        let pixels = Pixels::new(4, 2, Layout::Grey, data).unwrap();
        assert_eq!(downscale_grey(&pixels, 2, 1), vec![71, 81]);
        let rgb = Pixels::new(1, 1, Layout::Rgb, vec![255, 0, 0]).unwrap();
        assert_eq!(downscale_grey(&rgb, 1, 1), vec![76]);
    }
}
