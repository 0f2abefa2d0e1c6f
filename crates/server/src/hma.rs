//! HMA's API: the same paths and JSON shapes as Meta's Hasher-Matcher-Actioner
//! (`hasher-matcher-actioner/src/OpenMediaMatch/blueprints/` in facebook/ThreatExchange), so
//! that a platform's upload pipeline switches from HMA to Vigie by changing a host name.
//!
//! Differences a client may notice, each on purpose: every route needs credentials; errors
//! are `{"error": {"code", "message"}}`; a bank name taken is 409, not 403; banks carry a
//! source, a default category and their own PDQ threshold; signal types are `pdq`, `md5`,
//! `sha1` and `sha256` (HMA's `video_md5` is read as `md5`); `disable_until_ts` in the past
//! enables a content, in the future disables it until it is enabled again.
//!
//! Handlers are short: extract, call the store or the matcher, audit, answer.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use vigie_hash::{hash_image, hex, unhex, Digester};
use vigie_index::Hash256;
use vigie_store::{Bank, BankUpdate, NewBank, NewContent};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::matcher::split_id;
use crate::{audit, audit_entry, AppState};

/// PDQ hashes under this quality are not banked nor looked up from files: flat or tiny images
/// all hash alike and would match one another.
const MIN_PDQ_QUALITY: u8 = 50;

type ApiResult<T> = Result<T, ApiError>;

pub async fn status() -> &'static str {
    "I-AM-ALIVE"
}

/// A signal type this server matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignalKind {
    Pdq,
    Md5,
    Sha1,
    Sha256,
}

impl SignalKind {
    const ALL: [SignalKind; 4] = [
        SignalKind::Pdq,
        SignalKind::Md5,
        SignalKind::Sha1,
        SignalKind::Sha256,
    ];

    fn name(self) -> &'static str {
        match self {
            SignalKind::Pdq => "pdq",
            SignalKind::Md5 => "md5",
            SignalKind::Sha1 => "sha1",
            SignalKind::Sha256 => "sha256",
        }
    }

    fn parse(name: &str) -> ApiResult<SignalKind> {
        match name.trim().to_ascii_lowercase().as_str() {
            "pdq" => Ok(SignalKind::Pdq),
            "md5" | "video_md5" => Ok(SignalKind::Md5),
            "sha1" => Ok(SignalKind::Sha1),
            "sha256" => Ok(SignalKind::Sha256),
            other => Err(ApiError::invalid(
                "unknown_signal_type",
                format!("no such signal type '{other}' (pdq, md5, sha1, sha256)"),
            )),
        }
    }

    /// Hex digits of a value of this type.
    fn hex_len(self) -> usize {
        match self {
            SignalKind::Pdq | SignalKind::Sha256 => 64,
            SignalKind::Md5 => 32,
            SignalKind::Sha1 => 40,
        }
    }

    /// The value as the store keeps it (lowercase hex), or why it is not one.
    fn normalise(self, value: &str) -> ApiResult<String> {
        let value = value.trim().to_ascii_lowercase();
        if value.len() != self.hex_len() || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::invalid(
                "invalid_signal",
                format!(
                    "a {} value is {} hex digits; '{value}' is not",
                    self.name(),
                    self.hex_len()
                ),
            ));
        }
        Ok(value)
    }
}

/// One bank entry a lookup found.
#[derive(Debug)]
struct Found {
    bank: Bank,
    content_id: i64,
    distance: u32,
    /// With a dihedral lookup, the rotation or flip of the query that matched.
    variant: Option<&'static str>,
}

/// Looks a value up in every bank the caller may see. PDQ matches within each bank's own
/// threshold; digests match exactly.
fn find(state: &AppState, principal: &Principal, kind: SignalKind, value: &str) -> Vec<Found> {
    find_many(state, principal, &[(kind, value.to_string())])
        .pop()
        .unwrap_or_default()
}

/// The closest bank entry any of these hashes matches, in every bank whose matching is on:
/// how the hotline resolves a reported file with no human view (`intake.rs`).
pub(crate) fn best_match(
    state: &AppState,
    signals: &[(SignalKind, String)],
) -> Option<vigie_store::KnownMatch> {
    // The hotline's own lookup, not a partner's: every bank counts.
    find_many(state, &Principal::Anonymous, signals)
        .into_iter()
        .flatten()
        .filter(|found| found.bank.matching_enabled_ratio > 0.0)
        .min_by_key(|found| found.distance)
        .map(|found| vigie_store::KnownMatch {
            bank: found.bank.name,
            content_id: found.content_id,
            distance: i64::from(found.distance),
        })
}

/// [`find`] for many values at once: the PDQ hashes go to the index as one batch (all cores,
/// and the multi-index path when the batch is large). Result `i` answers value `i`.
fn find_many(
    state: &AppState,
    principal: &Principal,
    signals: &[(SignalKind, String)],
) -> Vec<Vec<Found>> {
    let widest = state.matcher.widest_threshold();
    let index = state.matcher.index().read();
    // The PDQ hashes of the batch, and where each answer goes.
    let (pdq_at, pdq): (Vec<usize>, Vec<Hash256>) = signals
        .iter()
        .enumerate()
        .filter(|(_, (kind, _))| *kind == SignalKind::Pdq)
        .filter_map(|(at, (_, value))| Some((at, Hash256::from_bytes(&unhex::<32>(value)?))))
        .unzip();
    let mut raw: Vec<Vec<(u64, u32)>> = vec![Vec::new(); signals.len()];
    for (at, matches) in pdq_at.into_iter().zip(index.pdq.range_batch(&pdq, widest)) {
        raw[at] = matches.into_iter().map(|m| (m.id, m.distance)).collect();
    }
    for (at, (kind, value)) in signals.iter().enumerate() {
        raw[at] = match kind {
            SignalKind::Pdq => continue,
            SignalKind::Md5 => ids(unhex::<16>(value).map(|d| index.md5.get(&d))),
            SignalKind::Sha1 => ids(unhex::<20>(value).map(|d| index.sha1.get(&d))),
            SignalKind::Sha256 => ids(unhex::<32>(value).map(|d| index.sha256.get(&d))),
        };
    }
    drop(index);
    raw.into_iter()
        .map(|matches| {
            matches
                .into_iter()
                .filter_map(|(id, distance)| {
                    let (bank_id, content_id) = split_id(id);
                    let bank = state.matcher.bank(bank_id)?;
                    (i64::from(distance) <= i64::from(bank.pdq_threshold)
                        && principal.sees_bank(&bank.name))
                    .then_some(Found {
                        bank,
                        content_id,
                        distance,
                        variant: None,
                    })
                })
                .collect()
        })
        .collect()
}

fn ids(found: Option<Vec<u64>>) -> Vec<(u64, u32)> {
    found
        .unwrap_or_default()
        .into_iter()
        .map(|id| (id, 0))
        .collect()
}

#[derive(Debug, Deserialize)]
pub struct LookupParams {
    signal: Option<String>,
    signal_type: Option<String>,
    include_distance: Option<String>,
    /// Comma-separated bank names to restrict the answer to.
    banks: Option<String>,
    /// Makes the coin flip of partly enabled banks repeatable (HMA's `seed`).
    seed: Option<String>,
    bypass_coinflip: Option<String>,
    /// `true`: an uploaded image is also looked up rotated and flipped (the eight dihedral
    /// PDQ hashes), each match saying which variant matched.
    dihedral: Option<String>,
    /// Fetch this URL (through the guarded client), hash what it serves and look that up.
    url: Option<String>,
}

impl LookupParams {
    fn signal(&self) -> ApiResult<(SignalKind, String)> {
        let (Some(signal), Some(signal_type)) = (&self.signal, &self.signal_type) else {
            return Err(ApiError::invalid(
                "missing_parameter",
                "give both `signal` and `signal_type`",
            ));
        };
        let kind = SignalKind::parse(signal_type)?;
        Ok((kind, kind.normalise(signal)?))
    }

    fn bank_filter(&self) -> Option<Vec<String>> {
        self.banks
            .as_ref()
            .map(|banks| banks.split(',').map(|b| b.trim().to_string()).collect())
    }

    /// HMA's coin flip: a bank whose matching is enabled for a share of lookups answers when
    /// the flip is under its ratio.
    fn coinflip(&self) -> f64 {
        if self.bypass_coinflip.as_deref() == Some("true") {
            return 0.0;
        }
        match &self.seed {
            Some(seed) => {
                let digest = sha2::Digest::finalize(sha2::Digest::chain_update(
                    sha2::Sha256::default(),
                    seed.as_bytes(),
                ));
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(&digest[..8]);
                (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
            }
            None => rand::random::<f64>(),
        }
    }
}

/// Matches grouped by bank, as HMA's `/m/lookup` answers: `{BANK: [{bank_content_id,
/// distance}]}`, enabled banks only.
fn by_bank(found: Vec<Found>, params: &LookupParams) -> Value {
    let filter = params.bank_filter();
    let flip = params.coinflip();
    let mut banks: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for found in found {
        if found.bank.matching_enabled_ratio < flip
            || found.bank.matching_enabled_ratio <= 0.0
            || filter
                .as_ref()
                .is_some_and(|names| !names.contains(&found.bank.name))
        {
            continue;
        }
        banks
            .entry(found.bank.name.clone())
            .or_default()
            .push(json!({
                "bank_content_id": found.content_id,
                "distance": found.distance.to_string(),
            }));
    }
    json!(banks)
}

pub async fn lookup_signal(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<LookupParams>,
) -> ApiResult<Json<Value>> {
    if let Some(url) = &params.url {
        let dihedral = params.dihedral.as_deref() == Some("true");
        let hashes = hash_url(&state, url, dihedral).await?;
        let mut answer = lookup_hashes(&state, &principal, &params, &hashes, url).await?;
        // As HMA: naming a signal type answers that type's matches alone.
        if let Some(name) = &params.signal_type {
            let kind = SignalKind::parse(name)?;
            answer = answer
                .get(kind.name())
                .cloned()
                .unwrap_or_else(|| json!({}));
        }
        return Ok(Json(answer));
    }
    let (kind, value) = params.signal()?;
    let found = find(&state, &principal, kind, &value);
    audit(
        &state,
        &principal,
        "lookup",
        &value,
        json!({"signal_type": kind.name(), "matches": found.len()}),
    )
    .await?;
    Ok(Json(by_bank(found, &params)))
}

/// The body of a batch lookup.
#[derive(Debug, Deserialize)]
pub struct BatchBody {
    signals: Vec<BatchSignal>,
}

#[derive(Debug, Deserialize)]
pub struct BatchSignal {
    signal_type: String,
    signal: String,
}

/// Most values one batch lookup takes: enough for a platform's backlog, bounded so that one
/// request cannot hold the index for long.
const MAX_BATCH: usize = 10_000;

/// Beyond HMA: many hashes in one request, answered in order as `/m/lookup` answers one.
pub async fn lookup_batch(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<LookupParams>,
    Json(body): Json<BatchBody>,
) -> ApiResult<Json<Value>> {
    if body.signals.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "batch_too_large",
            format!("at most {MAX_BATCH} signals a request"),
        ));
    }
    let signals = body
        .signals
        .iter()
        .map(|s| {
            let kind = SignalKind::parse(&s.signal_type)?;
            Ok((kind, kind.normalise(&s.signal)?))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let state_for_batch = Arc::clone(&state);
    let principal_for_batch = principal.clone();
    let signals_for_batch = signals.clone();
    // A large batch is CPU work for all cores: off the async threads.
    let found = tokio::task::spawn_blocking(move || {
        find_many(&state_for_batch, &principal_for_batch, &signals_for_batch)
    })
    .await
    .map_err(ApiError::internal)?;
    let total: usize = found.iter().map(Vec::len).sum();
    audit(
        &state,
        &principal,
        "lookup.batch",
        &format!("{} signals", signals.len()),
        json!({"matches": total}),
    )
    .await?;
    let results: Vec<Value> = found.into_iter().map(|f| by_bank(f, &params)).collect();
    Ok(Json(json!({"results": results})))
}

pub async fn raw_lookup(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<LookupParams>,
) -> ApiResult<Json<Value>> {
    let (kind, value) = params.signal()?;
    let filter = params.bank_filter();
    let found: Vec<Found> = find(&state, &principal, kind, &value)
        .into_iter()
        .filter(|f| {
            filter
                .as_ref()
                .is_none_or(|names| names.contains(&f.bank.name))
        })
        .collect();
    audit(
        &state,
        &principal,
        "lookup",
        &value,
        json!({"signal_type": kind.name(), "matches": found.len(), "raw": true}),
    )
    .await?;
    let matches: Vec<Value> = if params.include_distance.as_deref() == Some("true") {
        found
            .iter()
            .map(|f| json!({"bank_content_id": f.content_id, "distance": f.distance.to_string()}))
            .collect()
    } else {
        found.iter().map(|f| json!(f.content_id)).collect()
    };
    Ok(Json(json!({"matches": matches})))
}

/// The hashes of an uploaded file, as HMA's `/h/hash` names them.
pub(crate) struct FileHashes {
    pub(crate) signals: Vec<(SignalKind, String)>,
    pub(crate) pdq_quality: Option<u8>,
    /// The eight dihedral PDQ hashes (the original first), when asked for and trusted.
    dihedral: Vec<String>,
}

/// Reads the file part of a multipart form and hashes it off the async threads.
async fn hash_upload(
    state: &AppState,
    mut form: Multipart,
    dihedral: bool,
) -> ApiResult<FileHashes> {
    let mut bytes = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::invalid("invalid_upload", e.to_string()))?
    {
        if field.file_name().is_some() || bytes.is_none() {
            bytes = Some(
                field
                    .bytes()
                    .await
                    .map_err(|e| ApiError::invalid("invalid_upload", e.to_string()))?,
            );
        }
    }
    let bytes = bytes
        .ok_or_else(|| ApiError::invalid("missing_file", "send the file as multipart/form-data"))?;
    hash_bytes(state, bytes, dihedral, true).await
}

/// Fetches a URL through the guarded client and hashes what it serves. A page that is not
/// there (404, 410, 500...) is an error naming the status, not an image to hash.
async fn hash_url(state: &AppState, url: &str, dihedral: bool) -> ApiResult<FileHashes> {
    let fetched = state
        .fetcher
        .get(url)
        .await
        .map_err(|error| ApiError::fetch(&error))?;
    if !(200..300).contains(&fetched.status) {
        return Err(ApiError::fetch_status(fetched.url.as_str(), fetched.status));
    }
    hash_bytes(state, fetched.body, dihedral, true).await
}

/// Hashes a file's bytes off the async threads: the digests always, PDQ when it decodes as
/// an image of enough quality. Bytes that are not an image are `invalid_image` when
/// `require_image`, else hashed by their digests alone (a reported video or document).
pub(crate) async fn hash_bytes(
    state: &AppState,
    bytes: axum::body::Bytes,
    dihedral: bool,
    require_image: bool,
) -> ApiResult<FileHashes> {
    let mut options = state.config.hash_options;
    options.dihedral = dihedral;
    tokio::task::spawn_blocking(move || {
        let mut digester = Digester::default();
        digester.update(&bytes);
        let digests = digester.finish();
        let mut signals = vec![
            (SignalKind::Md5, hex(&digests.md5)),
            (SignalKind::Sha1, hex(&digests.sha1)),
            (SignalKind::Sha256, hex(&digests.sha256)),
        ];
        let image = match hash_image(&bytes, &options) {
            Ok(image) => image,
            Err(e) if require_image => {
                return Err(ApiError::invalid("invalid_image", e.to_string()))
            }
            Err(_) => {
                return Ok(FileHashes {
                    signals,
                    pdq_quality: None,
                    dihedral: Vec::new(),
                })
            }
        };
        let quality = image.pdq.quality;
        let trusted = quality >= MIN_PDQ_QUALITY;
        if trusted {
            signals.insert(0, (SignalKind::Pdq, image.pdq.hash.to_string()));
        }
        let dihedral = match image.dihedral {
            Some(hashes) if trusted => hashes.hashes.iter().map(|h| h.to_string()).collect(),
            _ => Vec::new(),
        };
        Ok(FileHashes {
            signals,
            pdq_quality: Some(quality),
            dihedral,
        })
    })
    .await
    .map_err(ApiError::internal)?
}

/// Hashes media bytes as an upload is hashed and looks them up in every bank, as the
/// hotline's own lookup: what a partner's attachment and a reported page's media both need.
pub(crate) async fn recognise(
    state: &AppState,
    bytes: axum::body::Bytes,
) -> ApiResult<vigie_store::MediaHashes> {
    let hashes = hash_bytes(state, bytes, false, false).await?;
    let known = best_match(state, &hashes.signals);
    let signal = |kind: SignalKind| {
        hashes
            .signals
            .iter()
            .find(|(signal, _)| *signal == kind)
            .map(|(_, value)| value.clone())
    };
    let (Some(md5), Some(sha1), Some(sha256)) = (
        signal(SignalKind::Md5),
        signal(SignalKind::Sha1),
        signal(SignalKind::Sha256),
    ) else {
        return Err(ApiError::internal("hashing gave no digests"));
    };
    Ok(vigie_store::MediaHashes {
        md5,
        sha1,
        sha256,
        pdq: signal(SignalKind::Pdq),
        pdq_quality: hashes.pdq_quality.map(i64::from),
        known,
    })
}

/// The parameters of `/h/hash` by URL.
#[derive(Debug, Deserialize)]
pub struct UrlParams {
    url: Option<String>,
}

impl UrlParams {
    fn url(&self) -> ApiResult<&str> {
        self.url
            .as_deref()
            .ok_or_else(|| ApiError::invalid("missing_parameter", "give the `url` to fetch"))
    }
}

/// HMA's answer to `/h/hash`: each signal type's value, and the PDQ quality.
fn hashes_json(hashes: FileHashes) -> Json<Value> {
    let mut answer: Map<String, Value> = hashes
        .signals
        .into_iter()
        .map(|(kind, value)| (kind.name().to_string(), json!(value)))
        .collect();
    if let Some(quality) = hashes.pdq_quality {
        answer.insert("pdq_quality".into(), json!(quality));
    }
    Json(Value::Object(answer))
}

/// `GET /h/hash?url=`: hashes what a URL serves.
pub async fn hash_url_content(
    State(state): State<Arc<AppState>>,
    Query(params): Query<UrlParams>,
) -> ApiResult<Json<Value>> {
    Ok(hashes_json(hash_url(&state, params.url()?, false).await?))
}

pub async fn hash_file(
    State(state): State<Arc<AppState>>,
    form: Multipart,
) -> ApiResult<Json<Value>> {
    Ok(hashes_json(hash_upload(&state, form, false).await?))
}

pub async fn lookup_file(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<LookupParams>,
    form: Multipart,
) -> ApiResult<Json<Value>> {
    let dihedral = params.dihedral.as_deref() == Some("true");
    let hashes = hash_upload(&state, form, dihedral).await?;
    let answer = lookup_hashes(&state, &principal, &params, &hashes, "uploaded file").await?;
    Ok(Json(answer))
}

/// Looks up every hash of a file: `{SIGNAL_TYPE: {BANK: [...]}}`, audited under `target`.
async fn lookup_hashes(
    state: &AppState,
    principal: &Principal,
    params: &LookupParams,
    hashes: &FileHashes,
    target: &str,
) -> ApiResult<Value> {
    let mut answer = Map::new();
    let mut total = 0;
    for (kind, value) in &hashes.signals {
        let found = if *kind == SignalKind::Pdq && !hashes.dihedral.is_empty() {
            find_dihedral(state, principal, &hashes.dihedral)
        } else {
            find(state, principal, *kind, value)
        };
        total += found.len();
        answer.insert(kind.name().to_string(), by_bank(found, params));
    }
    audit(
        state,
        principal,
        "lookup",
        target,
        json!({"matches": total}),
    )
    .await?;
    Ok(Value::Object(answer))
}

/// Looks the eight dihedral hashes of an image up; each bank entry comes back once, through
/// the variant closest to it (the original on a tie).
fn find_dihedral(state: &AppState, principal: &Principal, variants: &[String]) -> Vec<Found> {
    let signals: Vec<(SignalKind, String)> = variants
        .iter()
        .map(|hash| (SignalKind::Pdq, hash.clone()))
        .collect();
    let mut closest: BTreeMap<(i64, i64), Found> = BTreeMap::new();
    for (variant, found) in find_many(state, principal, &signals)
        .into_iter()
        .enumerate()
    {
        for mut found in found {
            found.variant = Some(vigie_hash::Dihedral::ALL[variant].name());
            let key = (found.bank.id, found.content_id);
            match closest.get(&key) {
                Some(best) if best.distance <= found.distance => {}
                _ => {
                    closest.insert(key, found);
                }
            }
        }
    }
    closest.into_values().collect()
}

pub async fn index_status(State(state): State<Arc<AppState>>) -> Json<Value> {
    let built_to = state.matcher.applied();
    let status: Map<String, Value> = state
        .matcher
        .sizes()
        .into_iter()
        .map(|(name, size)| {
            (
                name.to_string(),
                json!({"built_to": built_to, "present": true, "size": size}),
            )
        })
        .collect();
    Json(Value::Object(status))
}

/// `POST /m/compare`: HMA's pairwise comparison. `{"pdq": [a, b]}` answers
/// `{"pdq": [matches, {"distance": d}]}`, PDQ matching within 31 bits as HMA's PDQ signal type
/// does; a digest answers `[equal, {}]`. Nothing is read from the banks.
pub async fn compare(Json(pairs): Json<Map<String, Value>>) -> ApiResult<Json<Value>> {
    let mut answer = Map::new();
    for (type_name, pair) in pairs {
        let kind = SignalKind::parse(&type_name)?;
        let values: Vec<&str> = pair
            .as_array()
            .filter(|values| values.len() == 2)
            .map(|values| values.iter().filter_map(Value::as_str).collect())
            .filter(|values: &Vec<&str>| values.len() == 2)
            .ok_or_else(|| {
                ApiError::invalid(
                    "invalid_comparison",
                    format!("{type_name}: a comparison is a list of exactly two hashes"),
                )
            })?;
        let left = kind.normalise(values[0])?;
        let right = kind.normalise(values[1])?;
        let compared = match kind {
            SignalKind::Pdq => {
                let pdq = |value: &str| {
                    Hash256::from_bytes(&unhex::<32>(value).expect("normalised to 64 hex digits"))
                };
                let distance = vigie_index::hamming(&pdq(&left), &pdq(&right));
                json!([distance <= vigie_index::PDQ_MATCH_RADIUS, {"distance": distance}])
            }
            _ => json!([left == right, {}]),
        };
        answer.insert(kind.name().to_string(), compared);
    }
    Ok(Json(Value::Object(answer)))
}

pub async fn signal_types() -> Json<Value> {
    let types: Map<String, Value> = SignalKind::ALL
        .iter()
        .map(|kind| (kind.name().to_string(), json!({"enabled": true})))
        .collect();
    Json(Value::Object(types))
}

fn bank_json(bank: &Bank) -> Value {
    json!({
        "name": bank.name,
        "matching_enabled_ratio": bank.matching_enabled_ratio,
        "source": bank.source,
        "default_category": bank.default_category,
        "pdq_threshold": bank.pdq_threshold,
    })
}

pub async fn banks(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
) -> ApiResult<Json<Value>> {
    let banks = state.store.banks().await?;
    Ok(Json(Value::Array(
        banks
            .iter()
            .filter(|bank| principal.sees_bank(&bank.name))
            .map(bank_json)
            .collect(),
    )))
}

pub async fn bank(
    State(state): State<Arc<AppState>>,
    Path(bank_name): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(bank_json(&state.store.bank(&bank_name).await?)))
}

#[derive(Debug, Deserialize)]
pub struct BankBody {
    name: Option<String>,
    enabled: Option<bool>,
    enabled_ratio: Option<f64>,
    source: Option<String>,
    default_category: Option<String>,
    pdq_threshold: Option<i32>,
}

impl BankBody {
    fn ratio(&self) -> Option<f64> {
        self.enabled_ratio
            .or(self.enabled.map(|enabled| if enabled { 1.0 } else { 0.0 }))
    }

    fn checked_threshold(&self) -> ApiResult<Option<i32>> {
        match self.pdq_threshold {
            Some(t) if !(0..=256).contains(&t) => Err(ApiError::invalid(
                "invalid_threshold",
                "pdq_threshold is a number of bits, 0 to 256",
            )),
            other => Ok(other),
        }
    }
}

pub async fn create_bank(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Json(body): Json<BankBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = body
        .name
        .clone()
        .ok_or_else(|| ApiError::invalid("missing_parameter", "a bank needs a `name`"))?;
    let bank = state
        .store
        .create_bank(
            &NewBank {
                name,
                source: body.source.clone(),
                default_category: body.default_category.clone(),
                pdq_threshold: body.checked_threshold()?.unwrap_or(31),
                matching_enabled_ratio: body.ratio().unwrap_or(1.0),
            },
            |bank| audit_entry(&principal, "bank.create", &bank.name, bank_json(bank)),
        )
        .await?;
    state.matcher.refresh_banks(&state.store).await?;
    Ok((StatusCode::CREATED, Json(bank_json(&bank))))
}

pub async fn update_bank(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(bank_name): Path<String>,
    Json(body): Json<BankBody>,
) -> ApiResult<Json<Value>> {
    let update = BankUpdate {
        name: body.name.clone(),
        source: body.source.clone().map(Some),
        default_category: body.default_category.clone().map(Some),
        pdq_threshold: body.checked_threshold()?,
        matching_enabled_ratio: body.ratio(),
    };
    let bank = state
        .store
        .update_bank(&bank_name, &update, |bank| {
            audit_entry(&principal, "bank.update", &bank_name, bank_json(bank))
        })
        .await?;
    state.matcher.refresh_banks(&state.store).await?;
    Ok(Json(bank_json(&bank)))
}

pub async fn delete_bank(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(bank_name): Path<String>,
) -> ApiResult<Json<Value>> {
    let audited = audit_entry(&principal, "bank.delete", &bank_name, json!({}));
    state.store.delete_bank(&bank_name, &audited).await?;
    state.matcher.catch_up(&state.store).await?;
    state.matcher.refresh_banks(&state.store).await?;
    Ok(Json(json!({"message": "Done"})))
}

/// Banks a content and makes it matchable before answering.
async fn add_content(
    state: &AppState,
    principal: &Principal,
    bank_name: &str,
    signals: Vec<(SignalKind, String)>,
) -> ApiResult<Json<Value>> {
    if signals.is_empty() {
        return Err(ApiError::invalid("no_signals", "no signals given"));
    }
    let shown: Map<String, Value> = signals
        .iter()
        .map(|(kind, value)| (kind.name().to_string(), json!(value)))
        .collect();
    let content = state
        .store
        .add_content(
            bank_name,
            &NewContent {
                label: None,
                category: None,
                note: None,
                signals: signals
                    .iter()
                    .map(|(kind, value)| (kind.name().to_string(), value.clone()))
                    .collect(),
            },
            |content| {
                let target = format!("{bank_name}/{}", content.id);
                audit_entry(principal, "content.add", &target, json!(shown))
            },
        )
        .await?;
    state.matcher.catch_up(&state.store).await?;
    Ok(Json(json!({"id": content.id, "signals": shown})))
}

pub async fn add_content_signals(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(bank_name): Path<String>,
    Json(body): Json<Map<String, Value>>,
) -> ApiResult<Json<Value>> {
    let mut signals = Vec::new();
    for (name, value) in &body {
        let kind = SignalKind::parse(name)?;
        let value = value.as_str().ok_or_else(|| {
            ApiError::invalid(
                "invalid_signal",
                format!("the {name} value must be a string"),
            )
        })?;
        signals.push((kind, kind.normalise(value)?));
    }
    add_content(&state, &principal, &bank_name, signals).await
}

/// `POST /c/bank/NAME/content`: banks an uploaded file, or with `?url=`, what a URL serves.
pub async fn add_content_file(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(bank_name): Path<String>,
    Query(params): Query<UrlParams>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Json<Value>> {
    // The bank is checked first so that a file for a bank that does not exist is not hashed.
    state.store.bank(&bank_name).await?;
    let hashes = match (&params.url, form) {
        (Some(url), _) => hash_url(&state, url, false).await?,
        (None, Ok(form)) => hash_upload(&state, form, false).await?,
        (None, Err(rejection)) => {
            return Err(ApiError::invalid(
                "missing_file",
                format!("send the file as multipart/form-data, or give `url=` ({rejection})"),
            ))
        }
    };
    add_content(&state, &principal, &bank_name, hashes.signals).await
}

fn content_json(content: &vigie_store::Content, bank: &Bank, with_signals: bool) -> Value {
    let mut value = json!({
        "id": content.id,
        "disable_until_ts": if content.enabled { 0 } else { i64::from(u32::MAX) },
        "collab_metadata": {},
        "original_media_uri": content.label,
        "bank": {"name": bank.name, "matching_enabled_ratio": bank.matching_enabled_ratio},
        "category": content.category,
    });
    if with_signals {
        let signals: Map<String, Value> = content
            .signals
            .iter()
            .map(|(kind, value)| (kind.clone(), json!(value)))
            .collect();
        value["signals"] = Value::Object(signals);
    }
    value
}

#[derive(Debug, Deserialize)]
pub struct ContentParams {
    include_signals: Option<String>,
}

pub async fn content(
    State(state): State<Arc<AppState>>,
    Path((bank_name, content_id)): Path<(String, i64)>,
    Query(params): Query<ContentParams>,
) -> ApiResult<Json<Value>> {
    let bank = state.store.bank(&bank_name).await?;
    let content = state.store.content(&bank_name, content_id).await?;
    let with_signals = params.include_signals.as_deref() == Some("true");
    Ok(Json(content_json(&content, &bank, with_signals)))
}

#[derive(Debug, Deserialize)]
pub struct ContentBody {
    disable_until_ts: Option<i64>,
    category: Option<String>,
}

pub async fn update_content(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path((bank_name, content_id)): Path<(String, i64)>,
    Json(body): Json<ContentBody>,
) -> ApiResult<Json<Value>> {
    let enabled = body
        .disable_until_ts
        .map(|until| until * 1000 <= crate::now());
    let bank = state.store.bank(&bank_name).await?;
    let content = state
        .store
        .update_content(
            &bank_name,
            content_id,
            enabled,
            body.category.clone().map(Some),
            |content| {
                let target = format!("{bank_name}/{content_id}");
                audit_entry(
                    &principal,
                    "content.update",
                    &target,
                    content_json(content, &bank, false),
                )
            },
        )
        .await?;
    state.matcher.catch_up(&state.store).await?;
    Ok(Json(content_json(&content, &bank, false)))
}

pub async fn delete_content(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path((bank_name, content_id)): Path<(String, i64)>,
) -> ApiResult<Json<Value>> {
    let target = format!("{bank_name}/{content_id}");
    let audited = audit_entry(&principal, "content.delete", &target, json!({}));
    state
        .store
        .delete_content(&bank_name, content_id, &audited)
        .await?;
    state.matcher.catch_up(&state.store).await?;
    // HMA answers the number of contents removed.
    Ok(Json(json!({"deleted": 1})))
}
