//! The takedown worker in the server's process, and what it recognises media with: the
//! hashing and the banks' index the server already holds (`vigie-takedown` knows neither).

use std::sync::Arc;

use axum::body::Bytes;
use vigie_store::MediaHashes;
use vigie_takedown::Recognise;

use crate::hma;
use crate::AppState;

/// Hashes media as an upload is hashed, and looks them up in every bank as the intake of
/// attachments does.
#[derive(Debug, Clone)]
pub struct BankRecogniser {
    state: Arc<AppState>,
}

impl BankRecogniser {
    pub fn new(state: Arc<AppState>) -> BankRecogniser {
        BankRecogniser { state }
    }
}

impl Recognise for BankRecogniser {
    async fn recognise(&self, bytes: Bytes) -> Result<MediaHashes, String> {
        hma::recognise(&self.state, bytes)
            .await
            .map_err(|error| error.message().to_owned())
    }
}

/// An item's takedown as its page shows it.
pub(crate) struct TakedownView {
    pub(crate) takedown: vigie_store::Takedown,
    pub(crate) opened: String,
    pub(crate) first_notice: Option<String>,
    pub(crate) closed: Option<String>,
    /// From the first notice (or the report, when none was sent) to the check that found the
    /// content gone, in words; as `vigie-figures` counts it.
    pub(crate) time_to_removal: Option<String>,
    /// When, which of the series, to whom, by what, where.
    pub(crate) notices: Vec<(String, i64, String, String, String)>,
    /// When, what was found, the HTTP status, why.
    pub(crate) checks: Vec<(String, String, String, String)>,
}

/// The takedown of an item, if one was opened.
pub(crate) async fn takedown_view(
    state: &AppState,
    item_id: i64,
) -> Result<Option<TakedownView>, vigie_store::StoreError> {
    let Some(takedown) = state.store.takedown_of_item(item_id).await? else {
        return Ok(None);
    };
    let when = vigie_hotline::export::rfc3339;
    let notices = state
        .store
        .notices_of(takedown.id)
        .await?
        .into_iter()
        .map(|notice| {
            (
                when(notice.sent_at),
                notice.sequence,
                notice.recipient,
                notice.channel,
                notice.address,
            )
        })
        .collect();
    let checks = state
        .store
        .checks_of(takedown.id)
        .await?
        .into_iter()
        .map(|check| {
            (
                when(check.checked_at),
                check.outcome,
                check
                    .http_status
                    .map_or_else(String::new, |status| status.to_string()),
                check.detail,
            )
        })
        .collect();
    let time_to_removal = vigie_takedown::removal_row(&takedown)
        .and_then(|row| Some(row.removed_at? - row.noticed_at.unwrap_or(row.reported_at)))
        .map(|ms| vigie_figures::duration_text(ms.max(0)));
    Ok(Some(TakedownView {
        time_to_removal,
        opened: when(takedown.opened_at),
        first_notice: takedown.first_notice_at.map(when),
        closed: takedown.closed_at.map(when),
        takedown,
        notices,
        checks,
    }))
}
