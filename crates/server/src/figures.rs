//! `/figures`: what the hotline reports of its work, as HTML tables: reports per day (with a
//! bar chart above the table) and by category over the last 30 days, the share of resolved
//! items no one had to look at, and how long the waiting items have waited. Counts only: no
//! report content, so read-only accounts see it too. Then the time to removal of the
//! takedowns opened in the last 90 days (from the first notice to the check that found the
//! content gone): overall, by hosting country (with a chart of the medians) and by network.
//!
//! The chart is `vigie-figures`' inline SVG: no script and no inline style, so the pages'
//! Content-Security-Policy lets it through as it is. It is an image to assistive technology;
//! the table under it is what a screen reader reads.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::Extension;

use crate::auth::Principal;

use crate::error::ApiError;
use crate::triage::with_exposure;
use crate::web::{self, Page};
use crate::{now, AppState};

/// How far back the daily and category tables go.
const FIGURES_DAYS: i64 = 30;

/// How far back the takedowns counted in the time to removal were opened: removal takes
/// days, and a long-open takedown must not fall out of sight after a month.
const REMOVAL_DAYS: i64 = 90;

/// Time-to-removal figures of one group, in words.
struct RemovalRow {
    group: String,
    takedowns: usize,
    removed: usize,
    open: usize,
    median: String,
    p90: String,
    open_longest: String,
}

/// A duration in words, or "—" when there is none.
fn words(ms: Option<i64>) -> String {
    ms.map_or_else(|| "—".to_owned(), vigie_figures::duration_text)
}

impl RemovalRow {
    fn new(stats: &vigie_figures::RemovalStats) -> RemovalRow {
        RemovalRow {
            group: stats.group.clone(),
            takedowns: stats.takedowns,
            removed: stats.removed,
            open: stats.open,
            median: words(stats.median_ms),
            p90: words(stats.p90_ms),
            open_longest: words(stats.open_longest_ms),
        }
    }
}

#[derive(askama::Template)]
#[template(path = "figures.html")]
struct FiguresPage {
    page: Page,
    /// The reports-per-day bar chart, an SVG document `vigie-figures` escaped throughout.
    per_day_chart: String,
    days: Vec<(String, i64)>,
    categories: Vec<(String, i64)>,
    resolved: i64,
    resolved_without_reveal: i64,
    /// The share without a reveal, as a whole percentage ("—" when nothing is resolved yet).
    share_without_reveal: String,
    waiting: i64,
    oldest_wait: String,
    median_wait: String,
    /// Time to removal: overall, then by hosting country and by network.
    removal: RemovalRow,
    by_country: Vec<RemovalRow>,
    by_network: Vec<RemovalRow>,
    /// By host: the analysts' own page may name hosts, which the published report does not.
    by_host: Vec<RemovalRow>,
    /// The median time to removal per country, an SVG document from `vigie-figures`.
    by_country_chart: String,
}

/// `GET /figures`.
pub async fn figures_page(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    page: Page,
) -> Result<Response, ApiError> {
    let page = with_exposure(&state, &principal, page).await?;
    let at = now();
    let since = vigie_store::utc_day_start(at) - (FIGURES_DAYS - 1) * vigie_store::DAY_MS;
    let figures = state.store.figures(since, at).await?;
    let share_without_reveal = if figures.resolved == 0 {
        "—".to_owned()
    } else {
        format!(
            "{} %",
            figures.resolved_without_reveal * 100 / figures.resolved
        )
    };
    let per_day_chart = vigie_figures::chart::counts_per_day(
        page.t.get("figures.per_day"),
        &figures.reports_per_day,
    );
    let takedowns: Vec<vigie_figures::Takedown> = state
        .store
        .takedowns_opened(at - REMOVAL_DAYS * vigie_store::DAY_MS, at + 1)
        .await?
        .iter()
        .filter_map(vigie_takedown::removal_row)
        .collect();
    let stats = |grouping| vigie_figures::removal_stats(&takedowns, grouping, at);
    let overall = stats(vigie_figures::Grouping::Overall);
    let by_country = stats(vigie_figures::Grouping::Country);
    let medians: Vec<(String, i64)> = by_country
        .iter()
        .filter_map(|group| Some((group.group.clone(), group.median_ms?)))
        .collect();
    let by_country_chart = vigie_figures::chart::durations_by_group(
        page.t.get("figures.removal_by_country"),
        &medians,
    );
    let shown = FiguresPage {
        removal: RemovalRow::new(&overall[0]),
        by_country: by_country.iter().map(RemovalRow::new).collect(),
        by_network: stats(vigie_figures::Grouping::Network)
            .iter()
            .map(RemovalRow::new)
            .collect(),
        by_host: stats(vigie_figures::Grouping::Host)
            .iter()
            .map(RemovalRow::new)
            .collect(),
        by_country_chart,
        page,
        per_day_chart,
        days: figures
            .reports_per_day
            .into_iter()
            .map(|(day, count)| (vigie_figures::utc_date(day), count))
            .collect(),
        categories: figures.reports_by_category,
        resolved: figures.resolved,
        resolved_without_reveal: figures.resolved_without_reveal,
        share_without_reveal,
        waiting: figures.waiting,
        oldest_wait: words(figures.oldest_wait_ms),
        median_wait: words(figures.median_wait_ms),
    };
    Ok(web::render(&shown.page, &shown))
}
