//! Encryption at rest for what Vigie must keep but nobody should read off a disk: reported
//! media, attachments and evidence.
//!
//! A [`KeyRing`] holds one or more 256-bit keys, each under a short id. The last key of the ring
//! is the *current* one: [`KeyRing::seal`] always uses it, and [`KeyRing::open`] uses whichever
//! key the sealed bytes name, so data sealed before a rotation stays readable.
//!
//! # Sealed format
//!
//! ```text
//! "VGVLT1"              6 bytes, the magic (format version 1)
//! key id length         1 byte, 1 to 32
//! key id                ASCII letters, digits, '-' and '_'
//! nonce                 24 random bytes (XChaCha20's extended nonce, from the OS generator)
//! ciphertext            as long as the plaintext
//! tag                   16 bytes (Poly1305)
//! ```
//!
//! The cipher is XChaCha20-Poly1305. Its 192-bit nonce is long enough to be drawn at random for
//! every seal without counting or coordinating between processes: the odds of two seals under
//! one key sharing a nonce stay negligible after billions of files. The header (magic, id length
//! and id) is the associated data: it is authenticated, not encrypted, so a sealed file cannot be
//! relabelled as sealed under another key, and changing any byte of a sealed file makes
//! [`KeyRing::open`] fail. (A change inside the key id may show as [`VaultError::UnknownKey`]
//! rather than [`VaultError::Tampered`]: the key has to be found before anything can be checked.)
//!
//! # Key ring text
//!
//! Configuration holds the ring as text, `id:base64key` entries separated by commas or newlines,
//! the key in standard base64 with padding (44 characters for 32 bytes). **The last entry is the
//! current key.** Blank entries and spaces around an entry are ignored. For example:
//!
//! ```text
//! 2024-01:9pZ1...base64...=,
//! 2025-06:Qx3k...base64...=
//! ```
//!
//! [`KeyRing::generate`] makes the first ring of a new installation and [`KeyRing::to_text`]
//! writes it back in the same form. Parsing errors say which entry is wrong and why, and never
//! repeat key material.
//!
//! # Rotating keys
//!
//! 1. Add a new key at the end of the ring (by hand, or [`KeyRing::rotate`] and
//!    [`KeyRing::to_text`]), and keep the old ones: from the next start everything new is sealed
//!    under the new key, and what was sealed before still opens with the old ones.
//! 2. Re-seal what was sealed under old keys: [`KeyRing::needs_rekey`] says which sealed files
//!    are concerned and [`KeyRing::rekey`] opens and seals again under the current key (the
//!    server offers this as a command walking the store).
//! 3. When nothing sealed under an old key is left, drop that key from the ring. Anything still
//!    sealed under it is then lost for good, which is the point when a key is suspected to have
//!    leaked.
//!
//! # Keeping keys secret
//!
//! Key material is wiped from memory when a ring is dropped (`zeroize`), including the text
//! [`KeyRing::to_text`] returns. `Debug` shows the key ids, never the keys.
//!
//! **Architecture invariant:** this crate is pure. It seals and opens the bytes it is given and
//! reads no file, no environment variable and no network; where the ring comes from is the
//! caller's business. The only outside input is the operating system's random generator, for
//! nonces and new keys. Errors are [`VaultError`], named for what the caller decides.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::{AeadCore, AeadInPlace, KeyInit, OsRng};
use chacha20poly1305::{Key, Tag, XChaCha20Poly1305, XNonce};
use zeroize::{Zeroize, Zeroizing};

/// The first bytes of everything [`KeyRing::seal`] writes; the `1` is the format version.
pub const MAGIC: &[u8; 6] = b"VGVLT1";

/// Bytes in a key.
pub const KEY_LEN: usize = 32;

/// The longest key id, so that its length fits the one header byte with room to spare.
pub const MAX_KEY_ID_LEN: usize = 32;

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Why sealed bytes could not be opened, or a key ring could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// Sealed under a key the ring does not hold: the ring is missing an old key (restore it
    /// from the configuration's history) or the id was damaged.
    #[error("sealed under the key {0:?}, which is not in the key ring")]
    UnknownKey(String),
    /// The bytes name a key of the ring but do not authenticate under it: altered, damaged or
    /// truncated. Nothing of the plaintext is returned.
    #[error("the sealed data was altered, damaged or truncated (it does not authenticate)")]
    Tampered,
    /// The bytes are not sealed data at all (they do not start with the vault's magic).
    #[error("not sealed data (no VGVLT1 header)")]
    NotSealed,
    /// The key ring text, or a key id given, is not usable; the reason names the entry.
    #[error("invalid key ring: {0}")]
    InvalidKey(String),
}

/// One key of a ring.
#[derive(Clone)]
struct RingKey {
    id: String,
    material: Zeroizing<[u8; KEY_LEN]>,
}

/// The keys sealed data can be opened with, the last one also sealing.
///
/// Invariant: never empty, ids are valid and distinct, the current key is the last.
#[derive(Clone)]
pub struct KeyRing {
    keys: Vec<RingKey>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("ids", &self.ids().collect::<Vec<_>>())
            .field("current", &self.current_id())
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Reads a ring from its text form (see the crate doc): `id:base64key` entries separated by
    /// commas or newlines, the last entry current.
    pub fn parse(text: &str) -> Result<Self, VaultError> {
        let mut keys: Vec<RingKey> = Vec::new();
        let entries = text
            .split([',', '\n'])
            .map(str::trim)
            .filter(|entry| !entry.is_empty());
        for (index, entry) in entries.enumerate() {
            let number = index + 1;
            let Some((id, encoded)) = entry.split_once(':') else {
                return Err(VaultError::InvalidKey(format!(
                    "entry {number} has no ':' between a key id and a key (expected id:base64key)"
                )));
            };
            let id = id.trim();
            check_key_id(id)
                .map_err(|reason| VaultError::InvalidKey(format!("entry {number}: {reason}")))?;
            if keys.iter().any(|key| key.id == id) {
                return Err(VaultError::InvalidKey(format!(
                    "entry {number}: the key id {id:?} appears twice"
                )));
            }
            let decoded = Zeroizing::new(BASE64.decode(encoded.trim()).map_err(|_| {
                VaultError::InvalidKey(format!(
                    "key {id:?} is not standard base64 (A-Z, a-z, 0-9, '+', '/', '=' padding)"
                ))
            })?);
            if decoded.len() != KEY_LEN {
                return Err(VaultError::InvalidKey(format!(
                    "key {id:?} is {} bytes long, a key is {KEY_LEN} bytes \
                     ({BASE64_KEY_LEN} characters of base64)",
                    decoded.len(),
                )));
            }
            let mut material = Zeroizing::new([0u8; KEY_LEN]);
            material.copy_from_slice(&decoded);
            keys.push(RingKey {
                id: id.to_string(),
                material,
            });
        }
        if keys.is_empty() {
            return Err(VaultError::InvalidKey(
                "no key (expected id:base64key entries separated by commas or newlines)".into(),
            ));
        }
        Ok(Self { keys })
    }

    /// A ring of one new random key, for an installation's first run.
    pub fn generate(id: &str) -> Result<Self, VaultError> {
        check_key_id(id).map_err(VaultError::InvalidKey)?;
        Ok(Self {
            keys: vec![random_key(id)],
        })
    }

    /// Adds a new random key under `id` and makes it the current one; the others stay to open
    /// what they sealed. Step 1 of a rotation (see the crate doc).
    pub fn rotate(&mut self, id: &str) -> Result<(), VaultError> {
        check_key_id(id).map_err(VaultError::InvalidKey)?;
        if self.keys.iter().any(|key| key.id == id) {
            return Err(VaultError::InvalidKey(format!(
                "the key id {id:?} is already in the ring"
            )));
        }
        self.keys.push(random_key(id));
        Ok(())
    }

    /// The ring in the text form [`KeyRing::parse`] reads, one entry a line, the current key
    /// last. The text holds the keys: it is wiped from memory when dropped.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::new());
        for key in &self.keys {
            text.push_str(&key.id);
            text.push(':');
            let mut encoded = BASE64.encode(&key.material[..]);
            text.push_str(&encoded);
            encoded.zeroize();
            text.push('\n');
        }
        text
    }

    /// The id of the key [`KeyRing::seal`] uses.
    pub fn current_id(&self) -> &str {
        &self.current().id
    }

    /// The ids of the ring, oldest first, the current one last.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|key| key.id.as_str())
    }

    /// Encrypts and authenticates `plaintext` under the current key, with a fresh random nonce:
    /// sealing the same bytes twice gives different outputs.
    ///
    /// # Panics
    ///
    /// Only on a plaintext over the cipher's limit of 256 GiB, far above anything held in
    /// memory, or if the operating system cannot give random bytes.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let key = self.current();
        let header_len = MAGIC.len() + 1 + key.id.len();
        let mut sealed = Vec::with_capacity(header_len + NONCE_LEN + plaintext.len() + TAG_LEN);
        sealed.extend_from_slice(MAGIC);
        // The id is at most MAX_KEY_ID_LEN bytes, checked when the key entered the ring.
        sealed.push(key.id.len() as u8);
        sealed.extend_from_slice(key.id.as_bytes());
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(plaintext);
        let (head, body) = sealed.split_at_mut(header_len + NONCE_LEN);
        let tag = cipher(key)
            .encrypt_in_place_detached(&nonce, &head[..header_len], body)
            .expect("a plaintext held in memory is under XChaCha20-Poly1305's 256 GiB limit");
        sealed.extend_from_slice(&tag);
        sealed
    }

    /// Checks and decrypts what [`KeyRing::seal`] wrote, with whichever key of the ring sealed
    /// it.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
        let parts = Parts::of(sealed)?;
        let key = self
            .keys
            .iter()
            .find(|key| key.id == parts.key_id)
            .ok_or_else(|| VaultError::UnknownKey(parts.key_id.to_string()))?;
        let mut plaintext = parts.ciphertext.to_vec();
        cipher(key)
            .decrypt_in_place_detached(
                XNonce::from_slice(parts.nonce),
                parts.header,
                &mut plaintext,
                Tag::from_slice(parts.tag),
            )
            .map_err(|_| VaultError::Tampered)?;
        Ok(plaintext)
    }

    /// Whether `sealed` was sealed under a key other than the current one, and so should be
    /// re-sealed (step 2 of a rotation). Only the header is read: the bytes are authenticated
    /// when they are opened, not here.
    pub fn needs_rekey(&self, sealed: &[u8]) -> Result<bool, VaultError> {
        Ok(key_id_of(sealed)? != self.current_id())
    }

    /// Opens `sealed` and seals its plaintext again under the current key. The plaintext is
    /// wiped from memory before returning.
    pub fn rekey(&self, sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
        let plaintext = Zeroizing::new(self.open(sealed)?);
        Ok(self.seal(&plaintext))
    }

    fn current(&self) -> &RingKey {
        self.keys
            .last()
            .expect("a key ring always holds at least one key")
    }
}

/// The id of the key `sealed` names in its header, read without any key. The header is not
/// authenticated until the bytes are opened.
pub fn key_id_of(sealed: &[u8]) -> Result<&str, VaultError> {
    Parts::of(sealed).map(|parts| parts.key_id)
}

/// Characters of base64 for a key of [`KEY_LEN`] bytes, padding included.
const BASE64_KEY_LEN: usize = KEY_LEN.div_ceil(3) * 4;

/// Why `id` cannot be a key id, if it cannot.
fn check_key_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("the key id is empty".into());
    }
    if id.len() > MAX_KEY_ID_LEN {
        return Err(format!(
            "the key id {id:?} is {} characters long, at most {MAX_KEY_ID_LEN} are allowed",
            id.chars().count()
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(format!(
            "the key id {id:?} holds {bad:?}; ids are ASCII letters, digits, '-' and '_'"
        ));
    }
    Ok(())
}

fn random_key(id: &str) -> RingKey {
    let mut material = Zeroizing::new([0u8; KEY_LEN]);
    OsRng.fill_bytes(&mut material[..]);
    RingKey {
        id: id.to_string(),
        material,
    }
}

fn cipher(key: &RingKey) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(Key::from_slice(&key.material[..]))
}

/// The fields of sealed bytes, borrowed from them.
struct Parts<'a> {
    /// Magic, id length and id: the associated data.
    header: &'a [u8],
    key_id: &'a str,
    nonce: &'a [u8],
    ciphertext: &'a [u8],
    tag: &'a [u8],
}

impl<'a> Parts<'a> {
    fn of(sealed: &'a [u8]) -> Result<Self, VaultError> {
        let rest = sealed
            .strip_prefix(MAGIC.as_slice())
            .ok_or(VaultError::NotSealed)?;
        // From here on the bytes claim to be sealed data: anything wrong is damage.
        let (&id_len, rest) = rest.split_first().ok_or(VaultError::Tampered)?;
        let id_len = usize::from(id_len);
        if id_len == 0 || id_len > MAX_KEY_ID_LEN || rest.len() < id_len + NONCE_LEN + TAG_LEN {
            return Err(VaultError::Tampered);
        }
        let (id, rest) = rest.split_at(id_len);
        let key_id = std::str::from_utf8(id).map_err(|_| VaultError::Tampered)?;
        if check_key_id(key_id).is_err() {
            return Err(VaultError::Tampered);
        }
        let (nonce, rest) = rest.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        Ok(Self {
            header: &sealed[..MAGIC.len() + 1 + id_len],
            key_id,
            nonce,
            ciphertext,
            tag,
        })
    }
}
