//! `/figures`: what the hotline reports of its work, as HTML tables: reports per day (with a
//! bar chart above the table) and by category over the last 30 days, the share of resolved
//! items no one had to look at, and how long the waiting items have waited. Counts only: no
//! report content, so read-only accounts see it too.
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
    let wait = |ms: Option<i64>| ms.map_or_else(|| "—".to_owned(), vigie_figures::duration_text);
    let per_day_chart = vigie_figures::chart::counts_per_day(
        page.t.get("figures.per_day"),
        &figures.reports_per_day,
    );
    let shown = FiguresPage {
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
        oldest_wait: wait(figures.oldest_wait_ms),
        median_wait: wait(figures.median_wait_ms),
    };
    Ok(web::render(&shown.page, &shown))
}
