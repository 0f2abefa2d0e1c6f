//! What the hotline receives: reports from the public and from partners, and the items they
//! name, deduplicated.
//!
//! A report names URLs and files. Each URL joins the item of the same normalised URL, each
//! file the item of the same SHA-256, or makes a new item: an item is the unit an analyst
//! works on, once however many people report it, and `reporters` counts the reports naming
//! it. The store takes URLs already normalised and categories already coded (the rules are
//! `vigie-hotline`'s), and files already hashed, looked up and sealed (the server's and
//! `vigie-vault`'s): it keeps what it is given and decides only how it joins.
//!
//! Reports arrive by the thousand a second from partners, so [`Store::submit_reports`] writes
//! many in one transaction (one commit, one audit append), which is what lets the server
//! acknowledge each report only once it is on disk without paying one commit per report.

use serde::{Deserialize, Serialize};

// What `dispatch!` names, resolved where it is used.
use crate::{on_postgres, on_sqlite, Pools, Store, StoreError};

/// Who sent a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The public form: no account, perhaps an e-mail address to write back to.
    Public,
    /// A partner (a platform, another hotline) through its API key.
    Partner,
}

impl Channel {
    /// The text stored in the `channel` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Public => "public",
            Channel::Partner => "partner",
        }
    }
}

impl TryFrom<String> for Channel {
    type Error = StoreError;

    fn try_from(text: String) -> Result<Self, StoreError> {
        match text.as_str() {
            "public" => Ok(Channel::Public),
            "partner" => Ok(Channel::Partner),
            other => Err(StoreError::Invalid(format!("channel {other:?}"))),
        }
    }
}

/// Whether an item is a URL or a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    Url,
    File,
}

impl ItemKind {
    /// The text stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Url => "url",
            ItemKind::File => "file",
        }
    }
}

impl TryFrom<String> for ItemKind {
    type Error = StoreError;

    fn try_from(text: String) -> Result<Self, StoreError> {
        match text.as_str() {
            "url" => Ok(ItemKind::Url),
            "file" => Ok(ItemKind::File),
            other => Err(StoreError::Invalid(format!("item kind {other:?}"))),
        }
    }
}

/// Where an item is in the hotline's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    /// Waits for an analyst.
    Queued,
    /// One analyst has it.
    Claimed,
    /// Classified and acted on.
    Decided,
    /// Matched a bank and was classified from it, seen by no one.
    Known,
}

impl ItemStatus {
    /// The text stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Queued => "queued",
            ItemStatus::Claimed => "claimed",
            ItemStatus::Decided => "decided",
            ItemStatus::Known => "known",
        }
    }
}

impl TryFrom<String> for ItemStatus {
    type Error = StoreError;

    fn try_from(text: String) -> Result<Self, StoreError> {
        match text.as_str() {
            "queued" => Ok(ItemStatus::Queued),
            "claimed" => Ok(ItemStatus::Claimed),
            "decided" => Ok(ItemStatus::Decided),
            "known" => Ok(ItemStatus::Known),
            other => Err(StoreError::Invalid(format!("item status {other:?}"))),
        }
    }
}

/// A URL as reported and its deduplication key (`vigie_hotline::normalise_url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedUrl {
    pub url: String,
    pub normalised: String,
}

/// The bank entry a file matched: the item is resolved from it, with no human view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownMatch {
    pub bank: String,
    pub content_id: i64,
    pub distance: i64,
}

/// What hashing a medium and looking it up in the banks gave: a partner's attachment and a
/// reported page's media are both stored with these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaHashes {
    /// Lowercase hex digests of the bytes: the SHA-256 is the deduplication key.
    pub md5: String,
    pub sha1: String,
    pub sha256: String,
    /// The PDQ hash, when the medium is an image of trustworthy quality.
    pub pdq: Option<String>,
    pub pdq_quality: Option<i64>,
    /// The best bank match, if any.
    pub known: Option<KnownMatch>,
}

/// A file attached to a report, already hashed, looked up in the banks and sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    /// As the sender named it (never trusted for anything but display).
    pub file_name: Option<String>,
    /// From the bytes' magic numbers, never from the sender.
    pub media_type: String,
    /// Of the plaintext, in bytes.
    pub size: i64,
    /// Of the plaintext, with the bank match found on arrival.
    pub hashes: MediaHashes,
    /// The vault key the bytes are sealed with, and the sealed bytes.
    pub key_id: String,
    pub sealed: Vec<u8>,
}

/// A report to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReport {
    pub channel: Channel,
    /// The partner's key (required for the partner channel, absent for the public).
    pub api_key_id: Option<i64>,
    /// The partner's `Idempotency-Key`: a second report with the same key and value is
    /// answered with the first and writes nothing.
    pub idempotency_key: Option<String>,
    pub partner_reference: Option<String>,
    /// The category's code (`vigie_hotline::ReportCategory::code`) and its urgency.
    pub category: String,
    pub urgency: i64,
    pub description: String,
    /// Only ever kept here, never in the audit log.
    pub contact_email: Option<String>,
    /// `en` or `fr`.
    pub language: String,
    /// Who the audit log names when the report came neither from the public form nor with
    /// a key: a signed-in person's actor name (`user:alice`), for a report they took down
    /// (from a phone call). `None` for the form and for partners.
    pub submitted_by: Option<String>,
    pub urls: Vec<ReportedUrl>,
    pub attachments: Vec<NewAttachment>,
}

/// One item of a report as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportItem {
    pub id: i64,
    pub kind: ItemKind,
    pub status: ItemStatus,
    /// True when this report made the item; false when it joined an existing one.
    pub new: bool,
    /// The bank match that resolved the item, when it is known.
    pub known: Option<KnownMatch>,
}

/// A report as stored, with its items in the order the report named them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub id: i64,
    pub receipt: String,
    pub channel: Channel,
    pub api_key_id: Option<i64>,
    pub partner_reference: Option<String>,
    pub category: String,
    pub received_at: i64,
    pub items: Vec<ReportItem>,
}

/// What [`Store::submit_reports`] answers for one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub report: Report,
    /// True when the report's idempotency key had been used: this is the first report, and
    /// nothing was written.
    pub replayed: bool,
}

/// An item and what the reports made of it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ItemSummary {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub kind: ItemKind,
    pub url: Option<String>,
    pub normalised_url: Option<String>,
    pub sha256: Option<String>,
    pub category: String,
    pub urgency: i64,
    pub reporters: i64,
    pub first_reported_at: i64,
    pub last_reported_at: i64,
    #[sqlx(try_from = "String")]
    pub status: ItemStatus,
    pub matched_bank: Option<String>,
    pub matched_content_id: Option<i64>,
    pub matched_distance: Option<i64>,
}

/// The audit action of a report received. Its row names the report's receipt, which is how a
/// case's timeline finds the reports of its items.
pub const REPORT_RECEIVE_ACTION: &str = "report.receive";

/// The most URLs and files one report may name.
pub const MAX_REPORT_ITEMS: usize = 100;

/// The longest text field a report may carry (a description), in bytes.
pub const MAX_REPORT_TEXT: usize = 20_000;

impl Store {
    /// Stores reports in one transaction, with each report's audit row, and answers each in
    /// order: the stored report, or why it was refused (`Invalid`; nothing of it is written,
    /// the others go on). An error of the whole call means nothing was written.
    ///
    /// Each URL joins the item of its normalised URL and each file the item of its SHA-256,
    /// or makes one; a report counts once as a reporter of each item it names, raises the
    /// item's category when it is more urgent, and a file that matched a bank makes a
    /// queued item `known` (an item an analyst holds or decided is left as it is). A report
    /// whose partner key and idempotency key were seen before, in an earlier call or earlier
    /// in this one, is answered with the first report and writes nothing.
    ///
    /// The store makes each audit row itself (actor `public` or `key:N`, action
    /// `report.receive`, the receipt, the channel, category and items), so that the
    /// reporter's e-mail address cannot end up in the log.
    pub async fn submit_reports(
        &self,
        reports: &[NewReport],
    ) -> Result<Vec<Result<Submitted, StoreError>>, StoreError> {
        dispatch!(self.submit_reports(reports))
    }

    /// The report with this receipt and its items' current status; `NotFound` if none.
    pub async fn report_by_receipt(&self, receipt: &str) -> Result<Report, StoreError> {
        dispatch!(self.report_by_receipt(receipt))
    }

    /// An item as the reports left it; `NotFound` if none.
    pub async fn item_summary(&self, id: i64) -> Result<ItemSummary, StoreError> {
        dispatch!(self.item_summary(id))
    }
}

/// Checks what a report must be before any of it is written.
pub(crate) fn check_report(report: &NewReport) -> Result<(), StoreError> {
    let invalid = |reason: &str| Err(StoreError::Invalid(reason.to_owned()));
    match (report.channel, report.api_key_id) {
        (Channel::Partner, None) => return invalid("a partner's report needs its API key"),
        (Channel::Public, Some(_)) => return invalid("a public report has no API key"),
        _ => {}
    }
    if report.idempotency_key.is_some() && report.api_key_id.is_none() {
        return invalid("an idempotency key needs an API key");
    }
    let named = report.urls.len() + report.attachments.len();
    if named == 0 {
        return invalid("a report names at least one URL or file");
    }
    if named > MAX_REPORT_ITEMS {
        return Err(StoreError::Invalid(format!(
            "a report names at most {MAX_REPORT_ITEMS} URLs and files"
        )));
    }
    let code_like = |code: &str| {
        !code.is_empty()
            && code.len() <= 32
            && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    };
    if !code_like(&report.category) {
        return invalid("a category is a lowercase code");
    }
    if !code_like(&report.language) {
        return invalid("a language is a lowercase code");
    }
    let texts = [
        Some(&report.description),
        report.contact_email.as_ref(),
        report.partner_reference.as_ref(),
        report.idempotency_key.as_ref(),
    ];
    if texts
        .into_iter()
        .flatten()
        .any(|t| t.len() > MAX_REPORT_TEXT)
    {
        return Err(StoreError::Invalid(format!(
            "a report's texts are at most {MAX_REPORT_TEXT} bytes each"
        )));
    }
    if report.urls.iter().any(|url| url.normalised.is_empty()) {
        return invalid("a URL needs its normalised form");
    }
    let hex = |value: &str, digits: usize| {
        value.len() == digits
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    for file in &report.attachments {
        let hashes = &file.hashes;
        let digests_ok = hex(&hashes.md5, 32)
            && hex(&hashes.sha1, 40)
            && hex(&hashes.sha256, 64)
            && hashes.pdq.as_deref().is_none_or(|pdq| hex(pdq, 64));
        if !digests_ok {
            return invalid("a file's digests are lowercase hex (MD5, SHA-1, SHA-256, PDQ)");
        }
        if file.sealed.is_empty() || file.key_id.is_empty() {
            return invalid("a file is stored sealed, with its key id");
        }
    }
    Ok(())
}

/// A receipt: `VG-` and three groups of four Crockford base32 characters, 60 random bits
/// from the operating system. Crockford's alphabet has no I, L, O or U, so a receipt read
/// aloud or copied by hand survives.
pub(crate) fn new_receipt() -> String {
    use rand::RngCore;
    const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bits = rand::rngs::OsRng.next_u64();
    let mut receipt = String::from("VG");
    for position in 0..12 {
        if position % 4 == 0 {
            receipt.push('-');
        }
        let digit = (bits >> (position * 5)) & 31;
        receipt.push(char::from(CROCKFORD[digit as usize]));
    }
    receipt
}

/// One row of a report's items, as read back.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ReportItemRow {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub kind: ItemKind,
    #[sqlx(try_from = "String")]
    pub status: ItemStatus,
    pub created_item: bool,
    pub matched_bank: Option<String>,
    pub matched_content_id: Option<i64>,
    pub matched_distance: Option<i64>,
}

impl From<ReportItemRow> for ReportItem {
    fn from(row: ReportItemRow) -> Self {
        let known = match (row.status, row.matched_bank, row.matched_content_id) {
            (ItemStatus::Known, Some(bank), Some(content_id)) => Some(KnownMatch {
                bank,
                content_id,
                distance: row.matched_distance.unwrap_or_default(),
            }),
            _ => None,
        };
        ReportItem {
            id: row.id,
            kind: row.kind,
            status: row.status,
            new: row.created_item,
            known,
        }
    }
}

/// A report's own columns, as read back.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ReportRow {
    pub id: i64,
    pub receipt: String,
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    pub api_key_id: Option<i64>,
    pub partner_reference: Option<String>,
    pub category: String,
    pub received_at: i64,
}

impl ReportRow {
    pub(crate) fn with_items(self, items: Vec<ReportItem>) -> Report {
        Report {
            id: self.id,
            receipt: self.receipt,
            channel: self.channel,
            api_key_id: self.api_key_id,
            partner_reference: self.partner_reference,
            category: self.category,
            received_at: self.received_at,
            items,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::new_receipt;

    #[test]
    fn receipts_are_random_crockford_groups() {
        let receipt = new_receipt();
        assert_eq!(receipt.len(), 17, "{receipt}");
        assert!(receipt.starts_with("VG-"));
        let groups: Vec<&str> = receipt[3..].split('-').collect();
        assert_eq!(groups.len(), 3);
        for group in groups {
            assert_eq!(group.len(), 4);
            assert!(group
                .bytes()
                .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b))));
        }
        assert_ne!(new_receipt(), receipt);
    }
}
