//! The store's takedowns as the figures count them, and the transparency report's input.

use vigie_store::{Store, StoreError, Takedown, TakedownState};

/// A takedown as `vigie-figures` counts it, or `None` for one that moved: the URL now leads
/// elsewhere, so its content was neither removed nor is it still at the URL noticed.
pub fn removal_row(takedown: &Takedown) -> Option<vigie_figures::Takedown> {
    let removed_at = match takedown.state {
        TakedownState::Moved => return None,
        TakedownState::Removed | TakedownState::Unavailable => takedown.closed_at,
        TakedownState::Locating | TakedownState::Open => None,
    };
    Some(vigie_figures::Takedown {
        reference: format!("item-{}", takedown.item_id),
        host: takedown.host.clone(),
        network: takedown.network.clone(),
        country: takedown.country.clone(),
        reported_at: takedown.first_reported_at,
        noticed_at: takedown.first_notice_at,
        removed_at,
    })
}

/// What the transparency report of `[from, to)` says, read from the store: reports, what
/// became of the items, notices sent, and the takedowns opened in the period.
pub async fn transparency_input(
    store: &Store,
    from: i64,
    to: i64,
    hotline: &str,
    country: &str,
    now: i64,
) -> Result<vigie_figures::TransparencyInput, StoreError> {
    let figures = store.figures(from, to).await?;
    let takedowns = store.takedowns_opened(from, to).await?;
    Ok(vigie_figures::TransparencyInput {
        hotline: hotline.to_owned(),
        country: country.to_owned(),
        from,
        to,
        generated_at: now,
        reports_by_category: figures.reports_by_category,
        reports_per_day: figures.reports_per_day,
        items: figures.resolved + figures.waiting,
        resolved_without_view: figures.resolved_without_reveal,
        decisions: store.decisions_between(from, to).await?,
        notices_sent: store.notices_sent_between(from, to).await?,
        takedowns: takedowns.iter().filter_map(removal_row).collect(),
    })
}
