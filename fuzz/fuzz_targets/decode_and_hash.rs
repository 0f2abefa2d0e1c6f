//! Any bytes, decoded and hashed: the result may be an error, never a panic, a hang or a crash.
//!
//! Run with `scripts/fuzz` (seeds: the corpus images).

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigie_hash::{hash_image, DecodeOptions, HashOptions, PdqVariant};

fuzz_target!(|data: &[u8]| {
    // A small pixel limit keeps each run fast; the limit itself is part of what is tested.
    let decode = DecodeOptions {
        max_pixels: 4_000_000,
        exif_orientation: data.len() % 2 == 0,
    };
    for variant in [PdqVariant::Hma, PdqVariant::Cli512] {
        let options = HashOptions {
            decode,
            variant,
            dihedral: data.len() % 3 == 0,
        };
        let _ = hash_image(data, &options);
    }
});
