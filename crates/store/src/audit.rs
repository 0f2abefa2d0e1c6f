//! The audit log's hash chain: how a row's hash is computed and how a walk checks the chain.
//!
//! Each row's hash covers its own fields and the previous row's hash, so editing, deleting or
//! reordering a stored row breaks the chain at that row. The encoding is unambiguous: a version
//! tag, then integers as 8 big-endian bytes and texts as an 8-byte big-endian length followed by
//! their UTF-8 bytes, so no two different rows encode alike (`"ab","c"` differs from `"a","bc"`).
//! `detail` is hashed as the exact JSON text stored, not re-serialised, so the check never depends
//! on how a JSON library orders keys. This module is pure; the queries feed it rows.
//!
//! What the chain cannot show on its own: rows cut off the end (the last row still links to its
//! predecessor). Catching that needs the latest hash kept elsewhere, e.g. in the server's logs.

use sha2::{Digest, Sha256};

use crate::AuditVerdict;

/// The `prev_hash` of the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of one stored row as the chain sees them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct ChainRow {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The SHA-256 hex of a row's canonical encoding; `texts` are, in this order, the actor, the
/// action, the target, the detail's JSON text and the previous row's hash.
pub(crate) fn row_hash(seq: i64, at: i64, texts: [&str; 5]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"vigie-audit-v1");
    hasher.update(seq.to_be_bytes());
    hasher.update(at.to_be_bytes());
    for text in texts {
        // A usize always fits in a u64 on the platforms Rust supports.
        hasher.update((text.len() as u64).to_be_bytes());
        hasher.update(text.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

impl ChainRow {
    /// The hash this row should carry given its fields.
    fn expected_hash(&self) -> String {
        row_hash(
            self.seq,
            self.at,
            [
                &self.actor,
                &self.action,
                &self.target,
                &self.detail,
                &self.prev_hash,
            ],
        )
    }
}

/// A walk along the chain, fed rows in `seq` order, one page at a time.
#[derive(Debug)]
pub(crate) struct ChainCheck {
    next_seq: i64,
    prev_hash: String,
    rows: u64,
}

impl ChainCheck {
    pub(crate) fn new() -> Self {
        ChainCheck {
            next_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
            rows: 0,
        }
    }

    /// Checks the next row; returns the verdict if it breaks the chain. The link is checked
    /// before the content, so a row moved elsewhere is reported as reordered, not as edited.
    pub(crate) fn check(&mut self, row: &ChainRow) -> Option<AuditVerdict> {
        let broken = |reason: &str| {
            Some(AuditVerdict::Broken {
                seq: row.seq,
                reason: reason.to_owned(),
            })
        };
        if row.seq != self.next_seq || row.prev_hash != self.prev_hash {
            return broken("row deleted or reordered");
        }
        if row.hash != row.expected_hash() {
            return broken("row edited");
        }
        self.next_seq += 1;
        self.prev_hash.clone_from(&row.hash);
        self.rows += 1;
        None
    }

    /// The verdict once every row has passed.
    pub(crate) fn intact(&self) -> AuditVerdict {
        AuditVerdict::Intact { rows: self.rows }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(length: i64) -> Vec<ChainRow> {
        let mut prev_hash = GENESIS_HASH.to_owned();
        (1..=length)
            .map(|seq| {
                let detail = format!("{{\"n\":{seq}}}");
                let hash = row_hash(
                    seq,
                    1000 + seq,
                    ["system", "test", "t", &detail, &prev_hash],
                );
                let row = ChainRow {
                    seq,
                    at: 1000 + seq,
                    actor: "system".into(),
                    action: "test".into(),
                    target: "t".into(),
                    detail,
                    prev_hash: prev_hash.clone(),
                    hash: hash.clone(),
                };
                prev_hash = hash;
                row
            })
            .collect()
    }

    fn verdict(rows: &[ChainRow]) -> AuditVerdict {
        let mut check = ChainCheck::new();
        rows.iter()
            .find_map(|row| check.check(row))
            .unwrap_or_else(|| check.intact())
    }

    #[test]
    fn field_boundaries_are_part_of_the_hash() {
        let joined = row_hash(1, 2, ["ab", "c", "", "", ""]);
        let split = row_hash(1, 2, ["a", "bc", "", "", ""]);
        assert_ne!(joined, split);
    }

    #[test]
    fn an_untouched_chain_is_intact() {
        assert_eq!(verdict(&chain(5)), AuditVerdict::Intact { rows: 5 });
        assert_eq!(verdict(&[]), AuditVerdict::Intact { rows: 0 });
    }

    #[test]
    fn each_tampering_names_its_row() {
        let mut edited = chain(5);
        edited[2].detail = "{\"n\":99}".into();
        assert_eq!(
            verdict(&edited),
            AuditVerdict::Broken {
                seq: 3,
                reason: "row edited".into()
            }
        );

        let mut deleted = chain(5);
        deleted.remove(2);
        assert_eq!(
            verdict(&deleted),
            AuditVerdict::Broken {
                seq: 4,
                reason: "row deleted or reordered".into()
            }
        );

        let mut swapped = chain(5);
        swapped.swap(1, 3);
        (swapped[1].seq, swapped[3].seq) = (2, 4);
        assert_eq!(
            verdict(&swapped),
            AuditVerdict::Broken {
                seq: 2,
                reason: "row deleted or reordered".into()
            }
        );
    }
}
