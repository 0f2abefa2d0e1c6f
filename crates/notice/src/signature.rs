//! The signature of a webhook notice: `Vigie-Signature: t=UNIX_SECONDS,v1=HEX`, where HEX is
//! HMAC-SHA256, under the secret shared with the receiver, of `UNIX_SECONDS.BODY`.
//!
//! The time is signed with the body so that a captured request cannot be replayed later: the
//! receiver refuses a signature older than its tolerance (five minutes is usual). The
//! comparison is constant-time (the `hmac` crate's `verify_slice`).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const HEADER: &str = "Vigie-Signature";

/// Why a signature does not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is not of the form t=SECONDS,v1=HEX")]
    Malformed,
    #[error("the signature is {age} s old, over the {tolerance} s allowed")]
    Expired { age: i64, tolerance: i64 },
    #[error("the signature does not match the body")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value for `body` sent at `timestamp` (Unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", vigie_hash::hex(&tag))
}

/// Checks a received header against the body, at `now` (Unix seconds).
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut tag = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => tag = vigie_hash::unhex::<32>(value),
            _ => {}
        }
    }
    let (Some(timestamp), Some(tag)) = (timestamp, tag) else {
        return Err(SignatureError::Malformed);
    };
    let age = now - timestamp;
    if age.abs() > tolerance {
        return Err(SignatureError::Expired { age, tolerance });
    }
    mac(secret, timestamp, body)
        .verify_slice(&tag)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_checks_out_only_for_its_body_secret_and_time() {
        let header = sign(
            b"shared secret",
            1_700_000_000,
            b"{\"notice_id\":\"item-1-1\"}",
        );
        let body = b"{\"notice_id\":\"item-1-1\"}";
        assert_eq!(
            verify(b"shared secret", &header, body, 1_700_000_060, 300),
            Ok(())
        );
        assert_eq!(
            verify(b"other secret", &header, body, 1_700_000_060, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"shared secret", &header, b"{}", 1_700_000_060, 300),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            verify(b"shared secret", &header, body, 1_700_001_000, 300),
            Err(SignatureError::Expired { .. })
        ));
        assert_eq!(
            verify(b"shared secret", "v1=00", body, 1_700_000_000, 300),
            Err(SignatureError::Malformed)
        );
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
    }
}
