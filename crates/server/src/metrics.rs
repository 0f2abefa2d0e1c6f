//! `/metrics`: what an operator's Prometheus scrapes.
//!
//! Requests are counted and timed by route (the route's pattern, never the path a caller sent,
//! so that bank names and hashes do not become label values and the series stay few), method
//! and status. The index's size and the change-log position are read at scrape time, so a
//! replica that stops following the log shows it: its `vigie_changes_applied` stops moving
//! while the others' go on.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::AppState;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SignalLabels {
    signal_type: &'static str,
}

type Histograms = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// Latency buckets from half a millisecond to about eight seconds.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// The server's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Histograms,
    index_entries: Family<SignalLabels, Gauge>,
    changes_applied: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("vigie");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Requests answered, by route pattern, method and status",
            requests.clone(),
        );
        let durations = Histograms::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from the request's arrival to its response, by route pattern",
            durations.clone(),
        );
        let index_entries = Family::<SignalLabels, Gauge>::default();
        registry.register(
            "index_entries",
            "Live entries in this replica's index, by signal type",
            index_entries.clone(),
        );
        let changes_applied = Gauge::default();
        registry.register(
            "changes_applied",
            "The last change-log sequence number this replica has applied",
            changes_applied.clone(),
        );
        Self {
            registry,
            requests,
            durations,
            index_entries,
            changes_applied,
        }
    }
}

/// Counts and times every request. Unrouted paths are counted under `unmatched`.
pub async fn record(
    State(state): State<Arc<AppState>>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = matched.map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let metrics = &state.metrics;
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route: route.clone(),
            method,
            status: response.status().as_u16(),
        })
        .inc();
    metrics
        .durations
        .get_or_create(&RouteLabels { route })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: the Prometheus text format.
pub async fn scrape(State(state): State<Arc<AppState>>) -> Response {
    let metrics = &state.metrics;
    let sizes = state.matcher.sizes();
    for (signal_type, size) in sizes {
        metrics
            .index_entries
            .get_or_create(&SignalLabels { signal_type })
            .set(size as i64);
    }
    metrics.changes_applied.set(state.matcher.applied());
    let mut text = String::new();
    if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &metrics.registry) {
        tracing::error!(%error, "encoding the metrics");
        return crate::error::ApiError::internal(error).into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
