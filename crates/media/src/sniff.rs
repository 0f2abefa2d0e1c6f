//! Media types from magic bytes.
//!
//! A report's file name, extension and `Content-Type` are whatever the reporter (or an attacker)
//! wrote; only the bytes say what a file is. The signatures are those of each format's
//! specification, as `file(1)` and browsers' MIME sniffing read them.

/// The media type (`image/jpeg`, `video/mp4`, ...) of a file from its first bytes, or `None`
/// when it is none of the formats a report's media comes in.
///
/// Images: `image/jpeg`, `image/png`, `image/gif`, `image/webp`, `image/bmp`, `image/tiff`, and,
/// from an ISO base media `ftyp` box, `image/avif` and `image/heic`. Videos: `video/mp4` (any
/// other `ftyp` brand), `video/quicktime` (brand `qt  `, or an old QuickTime file starting with
/// a `moov`, `mdat`, `wide` or `free` atom), `video/webm` and `video/x-matroska` (EBML, told apart
/// by the document type in the header). Twelve bytes are enough for every type but WebM, whose
/// document type comes within the first 64.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some("image/webp")
    } else if starts(b"BM") && bytes.len() >= 14 {
        Some("image/bmp")
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Some("image/tiff")
    } else if starts(&[0x1a, 0x45, 0xdf, 0xa3]) {
        Some(ebml_type(bytes))
    } else {
        iso_media_type(bytes)
    }
}

/// WebM is Matroska with the document type `webm`, written as the element `42 82`, its size and
/// the string, in the EBML header at the very start.
fn ebml_type(bytes: &[u8]) -> &'static str {
    let header = &bytes[..bytes.len().min(64)];
    let webm = header
        .windows(7)
        .any(|w| w[0] == 0x42 && w[1] == 0x82 && w[2] == 0x84 && &w[3..7] == b"webm");
    if webm {
        "video/webm"
    } else {
        "video/x-matroska"
    }
}

/// MP4, QuickTime, AVIF and HEIC: a box (4-byte size, 4-byte type) at the start, `ftyp` with
/// the major brand in the 4 bytes after it, or a bare QuickTime atom.
fn iso_media_type(bytes: &[u8]) -> Option<&'static str> {
    let kind = bytes.get(4..8)?;
    if kind == b"ftyp" {
        let brand = bytes.get(8..12)?;
        Some(match brand {
            b"qt  " => "video/quicktime",
            b"avif" | b"avis" => "image/avif",
            b"heic" | b"heix" | b"heim" | b"heis" | b"mif1" | b"msf1" => "image/heic",
            _ => "video/mp4",
        })
    } else if matches!(kind, b"moov" | b"mdat" | b"wide" | b"free") {
        Some("video/quicktime")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_is_told_by_its_signature() {
        let cases: [(&[u8], Option<&str>); 16] = [
            (b"\xff\xd8\xff\xe0\0\x10JFIF", Some("image/jpeg")),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Some("image/png")),
            (b"GIF89a\x01\0\x01\0", Some("image/gif")),
            (b"RIFF\x24\0\0\0WEBPVP8 ", Some("image/webp")),
            (b"RIFF\x24\0\0\0WAVEfmt ", None),
            (b"BM\x36\0\x0c\0\0\0\0\0\x36\0\0\0", Some("image/bmp")),
            (b"BM", None),
            (b"II*\0\x08\0\0\0", Some("image/tiff")),
            (b"MM\0*\0\0\0\x08", Some("image/tiff")),
            (b"\0\0\0\x20ftypisom\0\0\x02\0", Some("video/mp4")),
            (b"\0\0\0\x14ftypqt  \0\0\x02\0", Some("video/quicktime")),
            (b"\0\0\0\x08wide\0\0\0\0mdat", Some("video/quicktime")),
            (b"\0\0\0\x1cftypheic\0\0\0\0", Some("image/heic")),
            (
                b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm\x42\x87",
                Some("video/webm"),
            ),
            (
                b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska",
                Some("video/x-matroska"),
            ),
            (b"%PDF-1.7", None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(sniff(bytes), expected, "{bytes:?}");
        }
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\0\0\0\x20ftyp"), None);
    }
}
