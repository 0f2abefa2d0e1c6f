//! What the analyst is shown of a reported image: grey, small, and blurred beyond reading, on
//! the benign photos of `../shared/corpus/` and on generated patterns; and hostile files give
//! errors, never a panic.

use std::path::PathBuf;

use image::imageops::FilterType;
use image::{GrayImage, ImageFormat, Rgb, RgbImage};
use proptest::prelude::*;
use vigie_hash::{DecodeOptions, Layout};
use vigie_media::{
    blurred_thumbnail, is_grey, sharpness, sniff, MediaError, Thumbnail, ThumbnailOptions,
};

fn corpus() -> PathBuf {
    let shared = std::env::var_os("VIGIE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    shared.join("corpus/pdq")
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(corpus().join(file))
        .unwrap_or_else(|e| panic!("reading {file}: {e} (is ../shared beside the checkout?)"))
}

/// Photos and drawings of every format and colour mode the corpus has.
const IMAGES: [&str; 12] = [
    "bridge-mods/aaa-orig.jpg",
    "bridge-mods/high-contrast.jpg",
    "bridge-mods/square-512x512.jpg",
    "misc-images/c.png",
    "reg-test-input/exif-rotn/exif-rotn-6.jpg",
    "misc-images/modes/RGBA.png",
    "misc-images/modes/L.png",
    "misc-images/modes/P.png",
    "misc-images/modes/CMYK.jpg",
    "misc-images/modes/HSV.webp",
    "reg-test-input/labelme-subset/q0003.jpg",
    "reg-test-input/dih/bridge-2-rotate-90.jpg",
];

/// The thumbnail's PNG decoded back, as a browser would: its grey levels and its RGBA pixels.
fn decoded(thumbnail: &Thumbnail) -> (Vec<u8>, Vec<u8>) {
    let image = image::load_from_memory_with_format(&thumbnail.png, ImageFormat::Png)
        .expect("the thumbnail is a PNG");
    assert_eq!(
        (image.width(), image.height()),
        (thumbnail.width, thumbnail.height)
    );
    (image.to_luma8().into_raw(), image.to_rgba8().into_raw())
}

/// The same image downscaled to the same size by another implementation (the `image` crate's
/// triangle filter), grey and not blurred: what the analyst would see without the blur.
fn unblurred(bytes: &[u8], width: u32, height: u32) -> Vec<u8> {
    let options = DecodeOptions {
        exif_orientation: true,
        ..DecodeOptions::default()
    };
    let pixels = vigie_hash::decode(bytes, &options).unwrap();
    let grey: Vec<u8> = match pixels.layout {
        Layout::Grey => pixels.as_bytes().to_vec(),
        Layout::Rgb => pixels
            .as_bytes()
            .chunks_exact(3)
            .map(|p| ((299 * p[0] as u32 + 587 * p[1] as u32 + 114 * p[2] as u32) / 1000) as u8)
            .collect(),
    };
    let grey = GrayImage::from_raw(pixels.width as u32, pixels.height as u32, grey).unwrap();
    image::imageops::resize(&grey, width, height, FilterType::Triangle).into_raw()
}

fn png_of(image: &RgbImage) -> Vec<u8> {
    let mut png = std::io::Cursor::new(Vec::new());
    image.write_to(&mut png, ImageFormat::Png).unwrap();
    png.into_inner()
}

fn checkerboard(width: u32, height: u32, square: u32, dark: Rgb<u8>, light: Rgb<u8>) -> Vec<u8> {
    png_of(&RgbImage::from_fn(width, height, |x, y| {
        if (x / square + y / square).is_multiple_of(2) {
            dark
        } else {
            light
        }
    }))
}

#[test]
fn every_corpus_image_comes_out_grey_blurred_and_within_the_size() {
    let options = ThumbnailOptions::default();
    for file in IMAGES {
        let bytes = read(file);
        let thumbnail =
            blurred_thumbnail(&bytes, &options).unwrap_or_else(|e| panic!("{file}: {e}"));
        let (grey, rgba) = decoded(&thumbnail);
        assert!(is_grey(&rgba), "{file}: the thumbnail has colour");
        assert!(
            rgba.chunks_exact(4).all(|p| p[0] == p[1] && p[1] == p[2]),
            "{file}: R, G and B differ somewhere"
        );

        let (width, height) = (thumbnail.width, thumbnail.height);
        assert!(width.max(height) <= 320, "{file}: {width}x{height}");
        let original = vigie_hash::decode(
            &bytes,
            &DecodeOptions {
                exif_orientation: true,
                ..DecodeOptions::default()
            },
        )
        .unwrap();
        let (ow, oh) = (original.width as u64, original.height as u64);
        if ow.max(oh) > 320 {
            assert_eq!(width.max(height), 320, "{file}: not as large as allowed");
        }
        // Same aspect ratio to within the rounding of one thumbnail pixel.
        let skew = (u64::from(width) * oh).abs_diff(u64::from(height) * ow);
        assert!(
            skew <= ow.max(oh),
            "{file}: {width}x{height} from {ow}x{oh}"
        );

        let blurred = sharpness(&grey, width as usize, height as usize);
        let sharp = sharpness(
            &unblurred(&bytes, width, height),
            width as usize,
            height as usize,
        );
        assert!(
            blurred < sharp / 4.0,
            "{file}: sharpness {blurred:.2} blurred against {sharp:.2} unblurred"
        );
    }
}

#[test]
fn a_high_contrast_checkerboard_comes_out_nearly_flat() {
    let black = Rgb([0, 0, 0]);
    let white = Rgb([255, 255, 255]);
    for (width, height, square) in [(640, 480, 8), (1000, 300, 25), (200, 200, 2), (48, 48, 3)] {
        let bytes = checkerboard(width, height, square, black, white);
        let thumbnail = blurred_thumbnail(&bytes, &ThumbnailOptions::default()).unwrap();
        let (grey, _) = decoded(&thumbnail);
        let (lowest, highest) = (grey.iter().min().unwrap(), grey.iter().max().unwrap());
        let level = sharpness(&grey, thumbnail.width as usize, thumbnail.height as usize);
        assert!(
            level < 0.5 && highest - lowest <= 24,
            "{width}x{height} in squares of {square}: \
             sharpness {level:.2}, levels {lowest}..{highest}"
        );
    }
}

#[test]
fn colour_becomes_grey() {
    let bytes = checkerboard(300, 200, 50, Rgb([255, 0, 0]), Rgb([0, 0, 255]));
    let thumbnail = blurred_thumbnail(&bytes, &ThumbnailOptions::default()).unwrap();
    let (_, rgba) = decoded(&thumbnail);
    assert!(is_grey(&rgba));
    let image = image::load_from_memory(&thumbnail.png).unwrap();
    assert_eq!(image.color(), image::ColorType::L8);
}

#[test]
fn max_side_is_respected_and_small_images_are_not_enlarged() {
    let bytes = read("bridge-mods/aaa-orig.jpg");
    for max_side in [1, 16, 100, 257] {
        let options = ThumbnailOptions {
            max_side,
            ..ThumbnailOptions::default()
        };
        let thumbnail = blurred_thumbnail(&bytes, &options).unwrap();
        assert_eq!(thumbnail.width.max(thumbnail.height), max_side);
    }
    let small = png_of(&RgbImage::from_pixel(40, 30, Rgb([9, 99, 199])));
    let thumbnail = blurred_thumbnail(&small, &ThumbnailOptions::default()).unwrap();
    assert_eq!((thumbnail.width, thumbnail.height), (40, 30));
    // Extreme options are not a reason to fail: a flat grey image of the same size.
    let extreme = ThumbnailOptions {
        max_side: u32::MAX,
        blur_radius_percent: u32::MAX,
        max_pixels: u64::MAX,
    };
    let thumbnail = blurred_thumbnail(&small, &extreme).unwrap();
    assert_eq!((thumbnail.width, thumbnail.height), (40, 30));
    // A very thin image keeps at least one pixel across.
    let thin = png_of(&RgbImage::from_pixel(2000, 1, Rgb([1, 2, 3])));
    let thumbnail = blurred_thumbnail(&thin, &ThumbnailOptions::default()).unwrap();
    assert_eq!((thumbnail.width, thumbnail.height), (320, 1));
}

#[test]
fn an_image_over_the_pixel_limit_is_refused_before_decoding() {
    let options = ThumbnailOptions {
        max_pixels: 10_000,
        ..ThumbnailOptions::default()
    };
    let result = blurred_thumbnail(&read("bridge-mods/aaa-orig.jpg"), &options);
    assert!(
        matches!(result, Err(MediaError::TooLarge { limit: 10_000, .. })),
        "{result:?}"
    );
    let result = blurred_thumbnail(&read("misc-images/c.png"), &options);
    assert!(
        matches!(result, Err(MediaError::TooLarge { .. })),
        "{result:?}"
    );
}

/// A PNG chunk: length, type, data, CRC of type and data.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    out
}

#[test]
fn huge_declared_dimensions_are_refused_without_allocating() {
    // A valid PNG header declaring 100,000 x 100,000 pixels (30 GB of RGB) and no data.
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    // The decoder reads up to the first image data before it gives the size.
    png.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(chunk(b"IEND", &[]));
    let result = blurred_thumbnail(&png, &ThumbnailOptions::default());
    assert!(
        matches!(
            result,
            Err(MediaError::TooLarge {
                width: 100_000,
                height: 100_000,
                ..
            })
        ),
        "{result:?}"
    );

    // A BMP header declaring 50,000 x 50,000 pixels.
    let mut bmp = b"BM".to_vec();
    bmp.extend_from_slice(&[0; 8]);
    bmp.extend_from_slice(&54u32.to_le_bytes());
    bmp.extend_from_slice(&40u32.to_le_bytes());
    bmp.extend_from_slice(&50_000i32.to_le_bytes());
    bmp.extend_from_slice(&50_000i32.to_le_bytes());
    bmp.extend_from_slice(&1u16.to_le_bytes());
    bmp.extend_from_slice(&24u16.to_le_bytes());
    bmp.extend_from_slice(&[0; 24]);
    let result = blurred_thumbnail(&bmp, &ThumbnailOptions::default());
    assert!(
        matches!(result, Err(MediaError::TooLarge { .. })),
        "{result:?}"
    );
}

#[test]
fn truncated_images_are_errors() {
    let options = ThumbnailOptions::default();
    for file in [
        "bridge-mods/aaa-orig.jpg",
        "misc-images/c.png",
        "misc-images/modes/HSV.webp",
    ] {
        let bytes = read(file);
        for len in [
            0,
            1,
            3,
            8,
            20,
            100,
            bytes.len() / 3,
            bytes.len() / 2,
            bytes.len() - 10,
        ] {
            let result = blurred_thumbnail(&bytes[..len], &options);
            assert!(
                matches!(result, Err(MediaError::NotAnImage | MediaError::Invalid(_))),
                "{file} cut at {len} bytes: {result:?}"
            );
        }
    }
}

#[test]
fn what_is_not_an_image_says_so() {
    let options = ThumbnailOptions::default();
    let mp4 = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41".to_vec();
    assert_eq!(sniff(&mp4), Some("video/mp4"));
    assert_eq!(
        blurred_thumbnail(&mp4, &options),
        Err(MediaError::NotAnImage)
    );
    assert_eq!(
        blurred_thumbnail(b"", &options),
        Err(MediaError::NotAnImage)
    );
    assert_eq!(
        blurred_thumbnail(b"<html><img src=x></html>", &options),
        Err(MediaError::NotAnImage)
    );
}

#[test]
fn sniffing_names_the_corpus_files_by_their_bytes() {
    for (file, expected) in [
        ("bridge-mods/aaa-orig.jpg", "image/jpeg"),
        ("misc-images/c.png", "image/png"),
        ("misc-images/modes/HSV.webp", "image/webp"),
    ] {
        assert_eq!(sniff(&read(file)), Some(expected), "{file}");
    }
    // A PNG named .jpg is a PNG: the bytes decide, not the name.
    assert_eq!(sniff(&png_of(&RgbImage::new(2, 2))), Some("image/png"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_bytes_are_errors(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        prop_assert!(blurred_thumbnail(&bytes, &ThumbnailOptions::default()).is_err());
    }

    /// Random bytes behind a real signature reach the decoders; whatever they make of it, the
    /// answer is an error or a grey thumbnail, never a panic.
    #[test]
    fn random_bytes_behind_a_signature_never_panic(
        magic in prop::sample::select(vec![
            &b"\xff\xd8\xff\xe0"[..], b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\0\0\0\0WEBPVP8 ",
            b"BM", b"II*\0", b"MM\0*",
        ]),
        tail in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(&tail);
        if let Ok(thumbnail) = blurred_thumbnail(&bytes, &ThumbnailOptions::default()) {
            let (_, rgba) = decoded(&thumbnail);
            prop_assert!(is_grey(&rgba));
        }
    }
}
