//! What a fetch of a takedown's URL says about its content: still there, gone (and how, in
//! ICCAM's words), or not answering. Pure, so that each rule has its test.

use vigie_fetch::FetchError;
use vigie_hash::PdqHash;
use vigie_store::{CheckOutcome, PageMedia};

/// PDQ distance within which a medium served is the medium recorded (re-encoded, resized):
/// the threshold HMA matches with.
pub const SAME_MEDIUM_DISTANCE: u32 = 31;

/// A medium the page served at this fetch, by its hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedMedium {
    pub sha256: String,
    pub pdq: Option<String>,
}

/// What one fetch of a URL gave, as [`judge`] reads it.
#[derive(Debug)]
pub struct Observed<'a> {
    /// The host of the URL as reported.
    pub reported_host: &'a str,
    /// The final response's status and host, or why there was none.
    pub response: Result<(u16, String), &'a FetchError>,
    /// The media it served (hashed), in the page's order.
    pub served: &'a [ServedMedium],
}

/// The judgement of one fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub outcome: CheckOutcome,
    /// Why, in words, for the record.
    pub detail: String,
    /// How many of the recorded media the page still served.
    pub media_served: i64,
}

/// Judges one fetch against the media recorded for the item (`recorded`, empty when the page
/// served none that could be hashed).
///
/// - 404 and 410 are removed; a name that no longer resolves is unavailable (the site is
///   gone). A 5xx, a 429, a timeout or a refused connection say nothing of the content:
///   unreachable, tried again at the next check.
/// - A page that answers but no longer serves any recorded medium is removed: hosts often
///   leave the page (an album, a post) and take the picture down. Where nothing was recorded,
///   a page that answers is still online.
/// - A redirect to another host that serves a recorded medium there is moved: the content
///   is now someone else's to take down.
pub fn judge(observed: &Observed<'_>, recorded: &[PageMedia]) -> Judgement {
    let (status, final_host) = match &observed.response {
        Ok(response) => response.clone(),
        Err(FetchError::NameNotFound { host, .. }) => {
            return judgement(
                CheckOutcome::Unavailable,
                format!("{host} no longer resolves"),
                0,
            )
        }
        Err(error) => return judgement(CheckOutcome::Unreachable, error.to_string(), 0),
    };
    if status == 404 || status == 410 {
        return judgement(
            CheckOutcome::Removed,
            format!("the URL answers {status}"),
            0,
        );
    }
    if status == 429 || status >= 500 {
        return judgement(
            CheckOutcome::Unreachable,
            format!("the URL answers {status}"),
            0,
        );
    }
    if !(200..300).contains(&status) {
        return judgement(
            CheckOutcome::Removed,
            format!("the URL answers {status} instead of the content"),
            0,
        );
    }
    let served = recorded
        .iter()
        .filter(|medium| is_served(medium, observed.served))
        .count() as i64;
    let moved = !final_host.eq_ignore_ascii_case(observed.reported_host);
    match (recorded.is_empty(), served > 0, moved) {
        (false, true, true) => judgement(
            CheckOutcome::Moved,
            format!("the URL now leads to {final_host}, which serves the content"),
            served,
        ),
        (false, true, false) => judgement(
            CheckOutcome::Online,
            format!("{served} of {} recorded media still served", recorded.len()),
            served,
        ),
        (false, false, _) => judgement(
            CheckOutcome::Removed,
            "the page no longer serves the recorded media".to_owned(),
            0,
        ),
        (true, _, _) => judgement(CheckOutcome::Online, format!("the URL answers {status}"), 0),
    }
}

fn judgement(outcome: CheckOutcome, detail: String, media_served: i64) -> Judgement {
    Judgement {
        outcome,
        detail,
        media_served,
    }
}

/// Whether a recorded medium is among those served: the same bytes, or a PDQ hash within
/// [`SAME_MEDIUM_DISTANCE`].
fn is_served(recorded: &PageMedia, served: &[ServedMedium]) -> bool {
    let recorded_pdq = recorded
        .pdq
        .as_deref()
        .and_then(|hash| hash.parse::<PdqHash>().ok());
    served.iter().any(|medium| {
        medium.sha256 == recorded.sha256
            || match (&recorded_pdq, medium.pdq.as_deref()) {
                (Some(recorded), Some(served)) => served
                    .parse::<PdqHash>()
                    .is_ok_and(|served| served.distance(recorded) <= SAME_MEDIUM_DISTANCE),
                _ => false,
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

    fn recorded(sha256: &str, pdq: Option<&str>) -> PageMedia {
        PageMedia {
            id: 1,
            item_id: 1,
            url: "https://files.example/a.jpg".into(),
            media_type: "image/jpeg".into(),
            size: 10,
            md5: String::new(),
            sha1: String::new(),
            sha256: sha256.into(),
            pdq: pdq.map(str::to_owned),
            pdq_quality: Some(100),
            matched_bank: None,
            matched_content_id: None,
            matched_distance: None,
            fetched_at: 0,
        }
    }

    fn served(sha256: &str, pdq: Option<&str>) -> ServedMedium {
        ServedMedium {
            sha256: sha256.into(),
            pdq: pdq.map(str::to_owned),
        }
    }

    fn judge_answer(
        status: u16,
        host: &str,
        media: &[ServedMedium],
        kept: &[PageMedia],
    ) -> Judgement {
        judge(
            &Observed {
                reported_host: "files.example",
                response: Ok((status, host.to_owned())),
                served: media,
            },
            kept,
        )
    }

    #[test]
    fn gone_answers_are_removed_and_errors_are_unreachable() {
        let kept = [recorded("aa", None)];
        assert_eq!(
            judge_answer(404, "files.example", &[], &kept).outcome,
            CheckOutcome::Removed
        );
        assert_eq!(
            judge_answer(410, "files.example", &[], &kept).outcome,
            CheckOutcome::Removed
        );
        assert_eq!(
            judge_answer(503, "files.example", &[], &kept).outcome,
            CheckOutcome::Unreachable
        );
        assert_eq!(
            judge_answer(429, "files.example", &[], &kept).outcome,
            CheckOutcome::Unreachable
        );
        let timeout = FetchError::TimedOut {
            after: std::time::Duration::from_secs(20),
        };
        let observed = Observed {
            reported_host: "files.example",
            response: Err(&timeout),
            served: &[],
        };
        assert_eq!(judge(&observed, &kept).outcome, CheckOutcome::Unreachable);
        let gone = FetchError::NameNotFound {
            host: "files.example".into(),
            reason: "no such name".into(),
        };
        let observed = Observed {
            reported_host: "files.example",
            response: Err(&gone),
            served: &[],
        };
        let judged = judge(&observed, &kept);
        assert_eq!(judged.outcome, CheckOutcome::Unavailable);
        assert!(judged.detail.contains("files.example"), "{}", judged.detail);
    }

    #[test]
    fn a_page_is_online_while_it_serves_a_recorded_medium_by_bytes_or_by_pdq() {
        let kept = [recorded("aa", Some(PDQ))];
        let same_bytes = judge_answer(200, "files.example", &[served("aa", None)], &kept);
        assert_eq!(same_bytes.outcome, CheckOutcome::Online);
        assert_eq!(same_bytes.media_served, 1);
        // One bit off: a re-encoded copy.
        let near = format!("e{}", &PDQ[1..]);
        let re_encoded = judge_answer(200, "files.example", &[served("bb", Some(&near))], &kept);
        assert_eq!(re_encoded.outcome, CheckOutcome::Online);
        let other = judge_answer(200, "files.example", &[served("cc", None)], &kept);
        assert_eq!(other.outcome, CheckOutcome::Removed);
        assert_eq!(other.media_served, 0);
    }

    #[test]
    fn a_redirect_elsewhere_serving_the_content_is_moved() {
        let kept = [recorded("aa", None)];
        let judged = judge_answer(200, "mirror.example", &[served("aa", None)], &kept);
        assert_eq!(judged.outcome, CheckOutcome::Moved);
        assert!(judged.detail.contains("mirror.example"));
        // Sent to a home page that does not serve it: removed.
        let home = judge_answer(200, "www.example", &[], &kept);
        assert_eq!(home.outcome, CheckOutcome::Removed);
    }

    #[test]
    fn with_nothing_recorded_an_answering_page_is_online() {
        assert_eq!(
            judge_answer(200, "files.example", &[], &[]).outcome,
            CheckOutcome::Online
        );
    }
}
