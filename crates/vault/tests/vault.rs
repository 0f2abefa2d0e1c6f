//! What a hotline relies on: evidence sealed today opens tomorrow, after a key rotation too, and
//! nothing altered, relabelled or sealed under a lost key is ever returned as plaintext.

use proptest::prelude::*;
use vigie_vault::{key_id_of, KeyRing, VaultError, MAGIC};

/// A fixed key in the text form, so tests do not depend on the random generator.
const RING: &str = "old:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\
                    new:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

fn ring() -> KeyRing {
    KeyRing::parse(RING).expect("the test ring parses")
}

fn invalid(text: &str) -> String {
    match KeyRing::parse(text) {
        Err(VaultError::InvalidKey(reason)) => reason,
        other => panic!("{text:?} should be refused as an invalid key ring, got {other:?}"),
    }
}

#[test]
fn sealed_media_opens_to_the_same_bytes() {
    let ring = ring();
    for plaintext in [&b""[..], b"x", b"a reported image's bytes", &[0u8; 100_000]] {
        let sealed = ring.seal(plaintext);
        assert!(sealed.starts_with(MAGIC));
        assert_eq!(ring.open(&sealed).unwrap(), plaintext);
        // The plaintext does not appear in the sealed bytes.
        if plaintext.len() > 8 {
            assert!(!sealed.windows(plaintext.len()).any(|w| w == plaintext));
        }
    }
}

#[test]
fn sealing_twice_gives_different_bytes() {
    let ring = ring();
    assert_ne!(ring.seal(b"same"), ring.seal(b"same"));
}

#[test]
fn the_last_key_of_the_text_seals() {
    let ring = ring();
    assert_eq!(ring.current_id(), "new");
    assert_eq!(ring.ids().collect::<Vec<_>>(), ["old", "new"]);
    assert_eq!(key_id_of(&ring.seal(b"x")), Ok("new"));
}

#[test]
fn another_ring_cannot_open_it() {
    let sealed = ring().seal(b"evidence");
    // Same key id, different key: the tag does not check out.
    let impostor = KeyRing::generate("new").unwrap();
    assert_eq!(impostor.open(&sealed), Err(VaultError::Tampered));
    // A ring without the key says which key is missing.
    let other = KeyRing::generate("other").unwrap();
    assert_eq!(
        other.open(&sealed),
        Err(VaultError::UnknownKey("new".into()))
    );
}

#[test]
fn relabelling_sealed_data_as_another_key_fails() {
    let ring = ring();
    let sealed = ring.seal(b"evidence");
    // "new" and "old" are the same length, so the header can be rewritten in place.
    let mut relabelled = sealed.clone();
    relabelled[MAGIC.len() + 1..MAGIC.len() + 4].copy_from_slice(b"old");
    assert_eq!(key_id_of(&relabelled), Ok("old"));
    assert_eq!(ring.open(&relabelled), Err(VaultError::Tampered));
}

#[test]
fn truncated_or_foreign_bytes_are_refused() {
    let ring = ring();
    let sealed = ring.seal(b"evidence");
    for len in 0..sealed.len() {
        let result = ring.open(&sealed[..len]);
        let expected = if len < MAGIC.len() {
            VaultError::NotSealed
        } else {
            VaultError::Tampered
        };
        assert_eq!(result, Err(expected), "truncated to {len} bytes");
    }
    assert_eq!(ring.open(b"\x89PNG\r\n\x1a\n"), Err(VaultError::NotSealed));
    assert_eq!(key_id_of(b"plain text"), Err(VaultError::NotSealed));
}

#[test]
fn a_rotation_keeps_old_data_readable_and_reseals_it() {
    // First run: one key.
    let mut ring = KeyRing::generate("2024").unwrap();
    let before = ring.seal(b"sealed before the rotation");

    // Step 1: a new current key, the old one kept, and the ring written back to configuration.
    ring.rotate("2025").unwrap();
    let ring = KeyRing::parse(&ring.to_text()).unwrap();
    assert_eq!(ring.current_id(), "2025");
    let after = ring.seal(b"sealed after");
    assert_eq!(ring.open(&before).unwrap(), b"sealed before the rotation");
    assert_eq!(ring.needs_rekey(&before), Ok(true));
    assert_eq!(ring.needs_rekey(&after), Ok(false));

    // Step 2: re-seal what the old key sealed.
    let resealed = ring.rekey(&before).unwrap();
    assert_eq!(key_id_of(&resealed), Ok("2025"));
    assert_eq!(ring.needs_rekey(&resealed), Ok(false));

    // Step 3: drop the old key. What was re-sealed opens, what was not is gone.
    let text = ring.to_text();
    let kept: Vec<&str> = text.lines().filter(|l| l.starts_with("2025:")).collect();
    let ring = KeyRing::parse(&kept.join("\n")).unwrap();
    assert_eq!(ring.open(&resealed).unwrap(), b"sealed before the rotation");
    assert_eq!(ring.open(&after).unwrap(), b"sealed after");
    assert_eq!(
        ring.open(&before),
        Err(VaultError::UnknownKey("2024".into()))
    );
}

#[test]
fn rekeying_damaged_data_fails_instead_of_laundering_it() {
    let ring = ring();
    let mut sealed = ring.seal(b"evidence");
    let last = sealed.len() - 1;
    sealed[last] ^= 1;
    assert_eq!(ring.rekey(&sealed), Err(VaultError::Tampered));
    assert_eq!(ring.needs_rekey(b"not sealed"), Err(VaultError::NotSealed));
}

#[test]
fn rotating_to_an_id_already_used_is_refused() {
    let mut ring = ring();
    assert!(matches!(ring.rotate("old"), Err(VaultError::InvalidKey(r)) if r.contains("already")));
    assert!(matches!(
        ring.rotate("bad id"),
        Err(VaultError::InvalidKey(_))
    ));
    assert_eq!(ring.current_id(), "new");
}

#[test]
fn commas_newlines_and_spaces_all_separate_entries() {
    let one_line = RING.replace('\n', " , ");
    let ring = KeyRing::parse(&format!("\n{one_line},\r\n\n")).unwrap();
    assert_eq!(ring.ids().collect::<Vec<_>>(), ["old", "new"]);
    // Both forms hold the same keys: each opens what the other sealed.
    assert_eq!(self::ring().open(&ring.seal(b"x")).unwrap(), b"x");
}

#[test]
fn to_text_parses_back_to_the_same_keys() {
    let ring = ring();
    let again = KeyRing::parse(&ring.to_text()).unwrap();
    assert_eq!(again.ids().collect::<Vec<_>>(), ["old", "new"]);
    assert_eq!(again.open(&ring.seal(b"x")).unwrap(), b"x");
    assert_eq!(ring.open(&again.seal(b"y")).unwrap(), b"y");
}

#[test]
fn parse_errors_say_what_is_wrong_without_the_key() {
    let key = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
    let cases: [(String, &str); 9] = [
        (String::new(), "no key"),
        (" ,\n, ".into(), "no key"),
        (key.into(), "entry 1 has no ':'"),
        (format!(":{key}"), "entry 1: the key id is empty"),
        (
            format!("a:{key},b c:{key}"),
            "entry 2: the key id \"b c\" holds ' '",
        ),
        (format!("{}:{key}", "k".repeat(33)), "at most 32"),
        (
            format!("a:{key}\na:{key}"),
            "entry 2: the key id \"a\" appears twice",
        ),
        ("a:not base64!".into(), "key \"a\" is not standard base64"),
        (
            "a:AAAA".into(),
            "key \"a\" is 3 bytes long, a key is 32 bytes (44 characters",
        ),
    ];
    for (text, expected) in cases {
        let reason = invalid(&text);
        assert!(
            reason.contains(expected),
            "{text:?}: {reason:?} should say {expected:?}"
        );
        assert!(!reason.contains(key), "{reason:?} repeats the key");
    }
    assert!(matches!(
        KeyRing::generate("é"),
        Err(VaultError::InvalidKey(_))
    ));
}

#[test]
fn debug_shows_ids_and_never_keys() {
    let ring = ring();
    let debug = format!("{ring:?}");
    assert!(debug.contains("\"old\"") && debug.contains("current: \"new\""));
    for line in ring.to_text().lines() {
        let key = line.split_once(':').unwrap().1;
        assert!(!debug.contains(key), "{debug} shows a key");
    }
}

proptest! {
    #[test]
    fn changing_any_single_byte_makes_open_fail(
        plaintext in proptest::collection::vec(any::<u8>(), 0..200),
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let ring = ring();
        let mut sealed = ring.seal(&plaintext);
        let position = position.index(sealed.len());
        sealed[position] ^= flip;
        prop_assert!(ring.open(&sealed).is_err(), "byte {} changed and still opened", position);
    }

    #[test]
    fn arbitrary_bytes_never_open(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        let ring = ring();
        let mut prefixed = MAGIC.to_vec();
        prefixed.extend_from_slice(&bytes);
        prop_assert!(ring.open(&bytes).is_err());
        prop_assert!(ring.open(&prefixed).is_err());
    }
}
