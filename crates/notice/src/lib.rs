//! Notices: what a hotline sends to a host, a partner hotline or the police about material it
//! found, in the recipient's language, by e-mail or by a signed webhook.
//!
//! A notice names the URLs, what the material was classified as, when it was first reported
//! and how many notices came before; it never carries the material itself, nor anything that
//! identifies who reported it. Project Arachnid repeats a notice every day until the content is
//! gone, so a notice also says which one of the series it is.
//!
//! - [`Notice`] and [`render`]: the words (`templates/notice_en.txt`, `notice_fr.txt`).
//! - [`Mailer`]: SMTP through lettre, with the notice's id as the `Message-ID`, so that a
//!   recipient (or a retry after a crash) sees one message per notice, never two.
//! - [`signature`]: the HMAC-SHA256 signature webhook receivers check.
//! - [`sink`]: a mail sink on loopback, the SMTP server of tests and trials.
//!
//! **Architecture invariant:** this crate sends mail and signs bodies; it decides nothing. What
//! to send, to whom and when is the takedown worker's business, and it never sends the same
//! notice id twice.

mod mailer;
pub mod signature;
pub mod sink;

pub use mailer::{Mailer, Security, SmtpSettings};

use askama::Template;
use serde::Serialize;
use vigie_hotline::export::rfc3339;

/// The languages notices are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    En,
    Fr,
}

impl Language {
    /// The language for a directory's code (`fr`, `FR`, `fr-BE`); English for anything else.
    pub fn from_code(code: &str) -> Language {
        let primary = code.split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("fr") {
            Language::Fr
        } else {
            Language::En
        }
    }
}

/// Who a notice is for; the words differ (a host is asked to remove, a partner to act in its
/// country, the police are informed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientKind {
    Host,
    PartnerHotline,
    LawEnforcement,
}

impl RecipientKind {
    pub const ALL: [RecipientKind; 3] = [
        RecipientKind::Host,
        RecipientKind::PartnerHotline,
        RecipientKind::LawEnforcement,
    ];

    /// The stable code the store and the webhook body use (`partner_hotline`).
    pub fn code(self) -> &'static str {
        match self {
            RecipientKind::Host => "host",
            RecipientKind::PartnerHotline => "partner_hotline",
            RecipientKind::LawEnforcement => "law_enforcement",
        }
    }

    /// The kind a code names.
    pub fn from_code(code: &str) -> Option<RecipientKind> {
        RecipientKind::ALL
            .into_iter()
            .find(|kind| kind.code() == code)
    }
}

/// The hotline sending the notice.
#[derive(Debug, Clone, Serialize)]
pub struct Sender {
    pub name: String,
    pub email: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// One notice of a series about one item.
#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    /// Unique per notice (item and sequence, e.g. `item-42-3`): the `Message-ID` and the
    /// webhook's idempotency key.
    pub id: String,
    /// The item's reference, which the recipient quotes back.
    pub reference: String,
    pub language: Language,
    pub recipient: RecipientKind,
    pub urls: Vec<String>,
    /// What the material was classified as, in words (`ICCAM baseline: child sexual abuse
    /// material illegal in every country`).
    pub classification: String,
    /// Unix milliseconds.
    pub first_reported_at: i64,
    /// 1 for the first notice, 2 for the first repeat, ...
    pub sequence: u32,
    /// When the first notice of the series was sent, for repeats.
    pub first_notice_at: Option<i64>,
    pub sender: Sender,
}

/// A notice in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedNotice {
    pub subject: String,
    pub body: String,
}

#[derive(Template)]
#[template(path = "notice_en.txt", escape = "none")]
struct English<'a> {
    notice: &'a Notice,
    first_reported: String,
    first_notice: Option<String>,
}

#[derive(Template)]
#[template(path = "notice_fr.txt", escape = "none")]
struct French<'a> {
    notice: &'a Notice,
    first_reported: String,
    first_notice: Option<String>,
}

/// Why a notice could not be written or sent.
#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    /// An address (sender or recipient) is not a valid mailbox.
    #[error("'{address}' is not a valid e-mail address: {reason}")]
    InvalidAddress { address: String, reason: String },
    /// The SMTP settings cannot be used (a host name that cannot be a TLS name, say).
    #[error("SMTP settings: {0}")]
    InvalidSettings(String),
    /// The mail server could not be reached or refused the message: worth retrying later.
    #[error("the mail server did not take the notice: {0}")]
    NotDelivered(String),
    /// A template failed: a bug.
    #[error("the notice could not be written: {0}")]
    Template(String),
}

/// The notice in its language: subject and plain-text body.
pub fn render(notice: &Notice) -> Result<RenderedNotice, NoticeError> {
    let first_reported = day(notice.first_reported_at);
    let first_notice = notice.first_notice_at.map(day);
    let (subject, body) = match notice.language {
        Language::En => (
            format!(
                "[{}] {} ({})",
                notice.sender.name,
                match notice.recipient {
                    RecipientKind::Host => "Child sexual abuse material on your service",
                    RecipientKind::PartnerHotline =>
                        "Report of child sexual abuse material hosted in your country",
                    RecipientKind::LawEnforcement =>
                        "Child sexual abuse material: information for law enforcement",
                },
                repeat_en(notice.sequence),
            ),
            English {
                notice,
                first_reported,
                first_notice,
            }
            .render(),
        ),
        Language::Fr => (
            format!(
                "[{}] {} ({})",
                notice.sender.name,
                match notice.recipient {
                    RecipientKind::Host => "Contenu pédocriminel sur votre service",
                    RecipientKind::PartnerHotline =>
                        "Signalement de contenu pédocriminel hébergé dans votre pays",
                    RecipientKind::LawEnforcement =>
                        "Contenu pédocriminel : information des services d'enquête",
                },
                repeat_fr(notice.sequence),
            ),
            French {
                notice,
                first_reported,
                first_notice,
            }
            .render(),
        ),
    };
    let body = body.map_err(|error| NoticeError::Template(error.to_string()))?;
    Ok(RenderedNotice { subject, body })
}

/// The date of a time, as the day the recipient reads (UTC).
fn day(millis: i64) -> String {
    rfc3339(millis)[..10].to_string()
}

fn repeat_en(sequence: u32) -> String {
    if sequence <= 1 {
        "first notice".into()
    } else {
        format!("notice {sequence}")
    }
}

fn repeat_fr(sequence: u32) -> String {
    if sequence <= 1 {
        "premier signalement".into()
    } else {
        format!("signalement n° {sequence}")
    }
}

/// The JSON a webhook receives: the notice's fields, with the times in RFC 3339.
pub fn webhook_body(notice: &Notice) -> Vec<u8> {
    let body = serde_json::json!({
        "notice_id": notice.id,
        "reference": notice.reference,
        "recipient": notice.recipient,
        "language": notice.language,
        "urls": notice.urls,
        "classification": notice.classification,
        "first_reported_at": rfc3339(notice.first_reported_at),
        "sequence": notice.sequence,
        "first_notice_at": notice.first_notice_at.map(rfc3339),
        "sender": notice.sender,
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipient_codes_read_back_and_are_what_webhooks_carry() {
        for kind in RecipientKind::ALL {
            assert_eq!(RecipientKind::from_code(kind.code()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.code());
        }
        assert_eq!(RecipientKind::from_code("police"), None);
    }

    pub(crate) fn notice(language: Language, sequence: u32) -> Notice {
        Notice {
            id: format!("item-42-{sequence}"),
            reference: "VG-ITEM-42".into(),
            language,
            recipient: RecipientKind::Host,
            urls: vec!["https://files.example-host.net/a/photo.jpg".into()],
            classification: "ICCAM baseline".into(),
            first_reported_at: 1_764_547_200_000,
            sequence,
            first_notice_at: (sequence > 1).then_some(1_764_633_600_000),
            sender: Sender {
                name: "Vigie Test Hotline".into(),
                email: "notices@hotline.example".into(),
                country: "FR".into(),
            },
        }
    }

    #[test]
    fn a_notice_reads_in_its_language_and_says_which_of_the_series_it_is() {
        let english = render(&notice(Language::En, 1)).unwrap();
        assert_eq!(
            english.subject,
            "[Vigie Test Hotline] Child sexual abuse material on your service (first notice)"
        );
        assert!(english
            .body
            .contains("https://files.example-host.net/a/photo.jpg"));
        assert!(english.body.contains("2025-12-01"), "{}", english.body);
        assert!(english.body.contains("VG-ITEM-42"));
        let french = render(&notice(Language::Fr, 3)).unwrap();
        assert!(french.subject.ends_with("(signalement n° 3)"));
        assert!(french.body.contains("2025-12-02"), "{}", french.body);
        assert!(french.body.contains("retirer"));
    }

    #[test]
    fn languages_come_from_directory_codes() {
        assert_eq!(Language::from_code("fr-BE"), Language::Fr);
        assert_eq!(Language::from_code("FR"), Language::Fr);
        assert_eq!(Language::from_code("nl"), Language::En);
        assert_eq!(Language::from_code(""), Language::En);
    }

    #[test]
    fn the_webhook_body_names_the_notice() {
        let body: serde_json::Value =
            serde_json::from_slice(&webhook_body(&notice(Language::En, 2))).unwrap();
        assert_eq!(body["notice_id"], "item-42-2");
        assert_eq!(body["recipient"], "host");
        assert_eq!(body["first_reported_at"], "2025-12-01T00:00:00.000Z");
    }
}
