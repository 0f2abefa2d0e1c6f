//! MD5, SHA-1 and SHA-256 of a file's bytes, in one pass.
//!
//! Files can be gigabytes (a seized disk holds videos and archives), so the digests are fed
//! chunk by chunk and never need the whole file in memory.

use md5::{Digest as _, Md5};
use sha1::Sha1;
use sha2::Sha256;

/// The three cryptographic digests of some bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digests {
    /// MD5, still the most common hash in exchanged lists.
    pub md5: [u8; 16],
    /// SHA-1, used by NCMEC, Project VIC and Project Arachnid.
    pub sha1: [u8; 20],
    /// SHA-256.
    pub sha256: [u8; 32],
}

impl Digests {
    /// The digests of bytes held in memory.
    pub fn of(bytes: &[u8]) -> Self {
        let mut digester = Digester::default();
        digester.update(bytes);
        digester.finish()
    }
}

/// Lowercase hex of some bytes, the form every hash list uses.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

/// The `N` bytes that `2 * N` hex digits (either case) spell, or `None` when `text` is not that.
pub fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let nibble = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    let mut bytes = [0u8; N];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = (nibble(digits[2 * i])? << 4) | nibble(digits[2 * i + 1])?;
    }
    Some(bytes)
}

/// Computes the three digests of a stream fed in pieces.
#[derive(Debug, Clone, Default)]
pub struct Digester {
    md5: Md5,
    sha1: Sha1,
    sha256: Sha256,
}

impl Digester {
    /// Feeds the next piece.
    pub fn update(&mut self, bytes: &[u8]) {
        self.md5.update(bytes);
        self.sha1.update(bytes);
        self.sha256.update(bytes);
    }

    /// The digests of everything fed.
    pub fn finish(self) -> Digests {
        Digests {
            md5: self.md5.finalize().into(),
            sha1: self.sha1.finalize().into(),
            sha256: self.sha256.finalize().into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unhex_reads_what_hex_writes_and_nothing_else() {
        let bytes = [0x00, 0x1f, 0xa0, 0xff];
        assert_eq!(unhex::<4>(&hex(&bytes)), Some(bytes));
        assert_eq!(unhex::<4>("001FA0FF"), Some(bytes));
        assert_eq!(unhex::<4>("001fa0f"), None);
        assert_eq!(unhex::<4>("001fa0fg"), None);
        assert_eq!(unhex::<2>("001fa0ff"), None);
    }

    #[test]
    fn known_digests_of_abc() {
        let digests = Digests::of(b"abc");
        assert_eq!(hex(&digests.md5), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            hex(&digests.sha1),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(&digests.sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn pieces_give_the_digest_of_the_whole() {
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut digester = Digester::default();
        for piece in bytes.chunks(333) {
            digester.update(piece);
        }
        assert_eq!(digester.finish(), Digests::of(&bytes));
    }
}
