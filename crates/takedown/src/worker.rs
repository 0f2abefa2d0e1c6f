//! The worker's loop and its four jobs (see the crate's documentation).

use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{json, Value};
use vigie_fetch::{FetchError, Fetcher, PageMedia as FetchedPage};
use vigie_hosting::{Country, Route};
use vigie_notice::{Language, Mailer, Notice, RecipientKind, Sender};
use vigie_store::{
    item_target, takedown_job, Job, Location, NewAuditEntry, NewCheck, NewNotice, NewPageMedia,
    Store, StoreError, Takedown, TakedownState, LOCATE_JOB, NOTICE_JOB, PAGE_JOB, RECHECK_JOB,
};

use crate::outcome::{judge, Judgement, Observed, ServedMedium};
use crate::{Clock, HostingData, Recognise, TakedownError};

/// The kinds of job a worker takes.
const KINDS: [&str; 4] = [PAGE_JOB, LOCATE_JOB, NOTICE_JOB, RECHECK_JOB];

/// How often a worker looks whether reference data was imported again.
const REFERENCE_REFRESH: Duration = Duration::from_secs(10);

/// How a worker works.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This worker's name in the queue's leases and in the audit log (`worker:NAME`).
    pub worker_name: String,
    /// The hotline's country: content hosted there gets notices sent to its host.
    pub country: Country,
    /// Who signs the notices.
    pub sender: Sender,
    /// Where law enforcement takes notices (escalations, and the decision to forward).
    pub law_enforcement_email: Option<String>,
    pub law_enforcement_webhook: Option<String>,
    /// How long from one check of an open takedown to the next (default a day).
    pub recheck_interval_ms: i64,
    /// After how many re-checks still finding the content the takedown is escalated
    /// (default 3).
    pub escalate_after: i64,
    /// How many re-checks a takedown gets before the worker stops (default 90: three months
    /// of daily checks); it stays open for an analyst.
    pub max_rechecks: i64,
    /// How many media of a page are fetched and hashed (default 16).
    pub max_media: usize,
    /// How many jobs a worker claims at once, and runs side by side (default 16).
    pub batch: i64,
    /// How long a claimed job is the worker's before another may take it over (default 5 min;
    /// longer than any job takes, the fetches' own time limits included).
    pub lease_ms: i64,
    /// How long an idle worker waits before looking at the queue again (default 1 s).
    pub idle_poll: Duration,
    /// The mail server notices go through; without it, e-mail notices fail and are retried.
    pub mailer: Option<Mailer>,
    /// The secret webhook notices are signed with; without it, webhook notices fail.
    pub webhook_secret: Option<Vec<u8>>,
    /// Where set, the media a page serves are also kept, sealed with this key ring, for
    /// analysts to see (blurred first) on the item's page; otherwise only their hashes are.
    pub keep_media: Option<vigie_vault::KeyRing>,
}

impl Settings {
    /// The defaults, for a worker of this name and hotline.
    pub fn new(worker_name: impl Into<String>, country: Country, sender: Sender) -> Settings {
        Settings {
            worker_name: worker_name.into(),
            country,
            sender,
            law_enforcement_email: None,
            law_enforcement_webhook: None,
            recheck_interval_ms: 24 * 60 * 60 * 1000,
            escalate_after: 3,
            max_rechecks: 90,
            max_media: 16,
            batch: 16,
            lease_ms: 5 * 60 * 1000,
            idle_poll: Duration::from_secs(1),
            mailer: None,
            webhook_secret: None,
            keep_media: None,
        }
    }
}

/// The reference data as last read, and what it was read from.
struct Hosting {
    version: Vec<(String, i64)>,
    data: Arc<HostingData>,
    read_at: Option<Instant>,
}

/// A takedown worker. Cheap to share: [`Worker::run`] takes it in an `Arc`.
pub struct Worker<R> {
    store: Store,
    fetcher: Fetcher,
    recogniser: Arc<R>,
    clock: Arc<dyn Clock>,
    settings: Settings,
    hosting: RwLock<Hosting>,
    /// On SQLite, whose one writer at a time makes concurrent writers wait in its busy
    /// handler's sleeps: this worker's jobs take turns to write instead (their fetching and
    /// hashing still run side by side). None on PostgreSQL, whose writers do not block.
    write_turns: Option<tokio::sync::Mutex<()>>,
}

impl<R> std::fmt::Debug for Worker<R> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Worker")
            .field("name", &self.settings.worker_name)
            .finish_non_exhaustive()
    }
}

impl<R: Recognise> Worker<R> {
    pub fn new(
        store: Store,
        fetcher: Fetcher,
        recogniser: Arc<R>,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Arc<Worker<R>> {
        let write_turns =
            (store.dialect() == vigie_store::Dialect::Sqlite).then(|| tokio::sync::Mutex::new(()));
        Arc::new(Worker {
            write_turns,
            store,
            fetcher,
            recogniser,
            clock,
            settings,
            hosting: RwLock::new(Hosting {
                version: Vec::new(),
                data: Arc::new(HostingData::default()),
                read_at: None,
            }),
        })
    }

    /// Works until `shutdown` completes; the jobs in hand are finished first.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let worked = match self.run_once().await {
                Ok(worked) => worked,
                Err(error) => {
                    tracing::error!(%error, worker = %self.settings.worker_name, "the takedown worker could not take jobs");
                    0
                }
            };
            if worked == 0 {
                tokio::select! {
                    () = &mut shutdown => return,
                    () = tokio::time::sleep(self.settings.idle_poll) => {}
                }
            }
        }
    }

    /// Claims the jobs due now (up to the batch), runs them side by side and records how each
    /// went; returns how many there were.
    pub async fn run_once(self: &Arc<Self>) -> Result<usize, TakedownError> {
        self.refresh_hosting().await?;
        let jobs = self
            .store
            .claim_jobs(
                &self.settings.worker_name,
                &KINDS,
                self.clock.now(),
                self.settings.lease_ms,
                self.settings.batch,
            )
            .await?;
        let count = jobs.len();
        let mut running = tokio::task::JoinSet::new();
        for job in jobs {
            let worker = Arc::clone(self);
            running.spawn(async move { worker.finish(job).await });
        }
        let mut done = Vec::with_capacity(count);
        while let Some(finished) = running.join_next().await {
            match finished {
                Ok(Some(id)) => done.push(id),
                Ok(None) => {}
                Err(error) => tracing::error!(%error, "a takedown job panicked"),
            }
        }
        // One statement, one commit, for the batch's jobs done: the queue's bookkeeping
        // should not cost a commit per page. A job whose lease another worker took over is
        // left to it (the queue working as meant).
        let _turn = self.write_turn().await;
        self.store
            .complete_jobs(&done, &self.settings.worker_name, self.clock.now())
            .await?;
        Ok(count)
    }

    /// Runs one job; its id when it is done, for the batch to complete. A failure is recorded
    /// here, with its retry.
    async fn finish(&self, job: Job) -> Option<i64> {
        let error = match self.run_job(&job).await {
            Ok(()) => return Some(job.id),
            Err(error) => error,
        };
        tracing::warn!(job = job.id, kind = %job.kind, %error, "a takedown job failed; it will be retried");
        let name = &self.settings.worker_name;
        let _turn = self.write_turn().await;
        if let Err(error) = self
            .store
            .fail_job(job.id, name, &error.to_string(), self.clock.now())
            .await
        {
            // A lease lost to another worker is the queue working as meant; anything else
            // leaves the job to its lease's expiry.
            tracing::warn!(job = job.id, %error, "the job's failure could not be recorded");
        }
        None
    }

    async fn run_job(&self, job: &Job) -> Result<(), TakedownError> {
        let payload: Value =
            serde_json::from_str(&job.payload).map_err(|error| TakedownError::InvalidJob {
                id: job.id,
                reason: error.to_string(),
            })?;
        let number = |field: &str| {
            payload[field]
                .as_i64()
                .ok_or_else(|| TakedownError::InvalidJob {
                    id: job.id,
                    reason: format!("the payload has no number '{field}'"),
                })
        };
        match job.kind.as_str() {
            PAGE_JOB => self.fetch_reported_page(number("item_id")?).await,
            LOCATE_JOB => self.locate(number("takedown_id")?).await,
            NOTICE_JOB => {
                let recipient =
                    RecipientKind::from_code(payload["recipient"].as_str().unwrap_or(""))
                        .ok_or_else(|| TakedownError::InvalidJob {
                            id: job.id,
                            reason: "the payload has no known 'recipient'".into(),
                        })?;
                self.send_notice(number("takedown_id")?, number("sequence")?, recipient)
                    .await
            }
            RECHECK_JOB => self.recheck(number("takedown_id")?, number("check")?).await,
            other => Err(TakedownError::InvalidJob {
                id: job.id,
                reason: format!("no worker does '{other}' jobs"),
            }),
        }
    }

    /// Reads the reference data again when it was imported since it was last read.
    async fn refresh_hosting(&self) -> Result<(), TakedownError> {
        let due = self.hosting.read().map_or(true, |hosting| {
            hosting
                .read_at
                .is_none_or(|at| at.elapsed() >= REFERENCE_REFRESH)
        });
        if !due {
            return Ok(());
        }
        let version = self.store.reference_data_version().await?;
        let unchanged = self
            .hosting
            .read()
            .is_ok_and(|hosting| hosting.read_at.is_some() && hosting.version == version);
        let data = if unchanged {
            None
        } else {
            let stored = self.store.reference_data().await?;
            let data = tokio::task::spawn_blocking(move || HostingData::from_reference(&stored))
                .await
                .map_err(|error| TakedownError::InvalidReference {
                    kind: "stored",
                    reason: error.to_string(),
                })??;
            Some(Arc::new(data))
        };
        if let Ok(mut hosting) = self.hosting.write() {
            hosting.read_at = Some(Instant::now());
            if let Some(data) = data {
                hosting.data = data;
                hosting.version = version;
            }
        }
        Ok(())
    }

    /// Waits for this worker's turn to write (see `write_turns`); the turn lasts as long as
    /// the guard.
    async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_turns {
            Some(turns) => Some(turns.lock().await),
            None => None,
        }
    }

    fn hosting(&self) -> Arc<HostingData> {
        self.hosting
            .read()
            .map(|hosting| Arc::clone(&hosting.data))
            .unwrap_or_default()
    }

    fn audit(&self, action: &str, item_id: i64, detail: Value) -> NewAuditEntry {
        NewAuditEntry {
            at: self.clock.now(),
            actor: format!("worker:{}", self.settings.worker_name),
            action: action.to_owned(),
            target: item_target(item_id),
            detail,
        }
    }

    async fn enqueue(
        &self,
        kind: &str,
        key: String,
        payload: Value,
        run_at: i64,
    ) -> Result<(), StoreError> {
        self.store
            .enqueue_job(&takedown_job(kind, key, payload, run_at))
            .await
            .map(|_| ())
    }

    /// The `page` job: fetches a newly reported URL, records what media it served and, when
    /// one is known material, resolves the item without a human view.
    async fn fetch_reported_page(&self, item_id: i64) -> Result<(), TakedownError> {
        let item = self.store.triage_item(item_id).await?.item;
        let Some(url) = item.url else {
            return Ok(());
        };
        let now = self.clock.now();
        let page = match self
            .fetcher
            .fetch_page_media(&url, self.settings.max_media)
            .await
        {
            Ok(page) => page,
            Err(error) => {
                let detail = json!({ "url": url, "error": error.to_string() });
                let _turn = self.write_turn().await;
                self.store
                    .append_audit(&self.audit("item.page_fetch", item_id, detail))
                    .await?;
                return Ok(());
            }
        };
        let records = self.hash_media(&page).await;
        let detail = json!({
            "url": url,
            "status": page.page.status,
            "media": records.len(),
        });
        // The hashes and the fetch's audit row in one commit.
        let audit = self.audit("item.page_fetch", item_id, detail);
        let _turn = self.write_turn().await;
        self.store
            .record_page_media(item_id, &records, now, &audit)
            .await?;
        let known = records
            .iter()
            .filter_map(|medium| medium.hashes.known.as_ref().map(|known| (medium, known)))
            .min_by_key(|(_, known)| known.distance);
        if let Some((medium, known)) = known {
            let detail = json!({
                "url": url,
                "media_url": medium.url,
                "bank": known.bank,
                "content_id": known.content_id,
                "distance": known.distance,
            });
            let audit = self.audit("item.resolve_known", item_id, detail);
            self.store
                .resolve_known_page(item_id, known, now, &audit)
                .await?;
        }
        Ok(())
    }

    /// Hashes and looks up every medium a page served (2xx, typed as media by its bytes).
    async fn hash_media(&self, page: &FetchedPage) -> Vec<NewPageMedia> {
        let mut hashed = Vec::new();
        for media in &page.media {
            let Ok(fetched) = &media.result else {
                continue;
            };
            if !(200..300).contains(&fetched.status) || fetched.body.is_empty() {
                continue;
            }
            let Some(media_type) = vigie_media::sniff(&fetched.body) else {
                continue;
            };
            let sealed = match &self.settings.keep_media {
                Some(keys) => {
                    let key_id = keys.current_id().to_owned();
                    let (keys, bytes) = (keys.clone(), Bytes::clone(&fetched.body));
                    let sealed = tokio::task::spawn_blocking(move || keys.seal(&bytes)).await;
                    match sealed {
                        Ok(sealed) => Some((key_id, sealed)),
                        Err(error) => {
                            tracing::error!(%error, "sealing a medium failed");
                            continue;
                        }
                    }
                }
                None => None,
            };
            match self.recogniser.recognise(Bytes::clone(&fetched.body)).await {
                Ok(hashes) => hashed.push(NewPageMedia {
                    url: fetched.url.to_string(),
                    media_type: media_type.to_owned(),
                    size: fetched.body.len() as i64,
                    hashes,
                    sealed,
                }),
                Err(error) => {
                    tracing::warn!(url = %fetched.url, %error, "a medium could not be hashed")
                }
            }
        }
        hashed
    }

    /// Fetches a takedown's URL, records what it served, and judges it against the media
    /// recorded for the item.
    async fn check(
        &self,
        takedown: &Takedown,
    ) -> Result<(Judgement, Option<IpAddr>, Option<i64>), TakedownError> {
        let fetched = self
            .fetcher
            .fetch_page_media(&takedown.url, self.settings.max_media)
            .await;
        let (media, address, status) = match &fetched {
            Ok(page) => (
                self.hash_media(page).await,
                page.page.address.map(|address| address.ip()),
                Some(i64::from(page.page.status)),
            ),
            Err(_) => (Vec::new(), None, None),
        };
        let recorded = self.store.page_media(takedown.item_id).await?;
        let served: Vec<ServedMedium> = media
            .iter()
            .map(|medium| ServedMedium {
                sha256: medium.hashes.sha256.clone(),
                pdq: medium.hashes.pdq.clone(),
            })
            .collect();
        let response: Result<(u16, String), &FetchError> = match &fetched {
            Ok(page) => Ok((
                page.page.status,
                page.page.url.host_str().unwrap_or_default().to_owned(),
            )),
            Err(error) => Err(error),
        };
        let judgement = judge(
            &Observed {
                reported_host: &takedown.host,
                response,
                served: &served,
            },
            &recorded,
        );
        // What a page served when an analyst decided on it is what the re-checks look for;
        // media it serves later are not added, or a host's new banner would keep it online.
        if recorded.is_empty() && !media.is_empty() {
            let detail = json!({ "takedown": takedown.id, "media": media.len() });
            let audit = self.audit("item.page_fetch", takedown.item_id, detail);
            let _turn = self.write_turn().await;
            self.store
                .record_page_media(takedown.item_id, &media, self.clock.now(), &audit)
                .await?;
        }
        Ok((judgement, address, status))
    }

    async fn record_check(
        &self,
        takedown: &Takedown,
        judgement: &Judgement,
        status: Option<i64>,
        number: i64,
    ) -> Result<Takedown, TakedownError> {
        let now = self.clock.now();
        let check = NewCheck {
            checked_at: now,
            http_status: status,
            outcome: judgement.outcome,
            detail: judgement.detail.clone(),
            media_served: judgement.media_served,
        };
        let detail = json!({
            "takedown": takedown.id,
            "check": number,
            "outcome": judgement.outcome.as_str(),
            "status": status,
            "detail": judgement.detail,
            "iccam_action": judgement.outcome.closes_as().map(iccam_action),
        });
        let audit = self.audit("takedown.check", takedown.item_id, detail);
        Ok(self.store.record_check(takedown.id, &check, &audit).await?)
    }

    /// The `locate` job: the first check of a takedown, where it is hosted, whom to tell; then
    /// the first notices and the first re-check.
    async fn locate(&self, takedown_id: i64) -> Result<(), TakedownError> {
        let mut takedown = self.store.takedown(takedown_id).await?;
        let checked = match takedown.state {
            TakedownState::Locating => Some(self.check(&takedown).await?),
            _ => None,
        };
        let _turn = self.write_turn().await;
        if let Some((judgement, address, status)) = checked {
            let hosting = self.hosting();
            let found = address.map(|address| hosting.locator.locate(address));
            let country = found.as_ref().and_then(|found| found.country);
            let recipients = self.recipients(&takedown, country, &hosting);
            let location = Location {
                address: address.map(|address| address.to_string()),
                asn: found.as_ref().and_then(|found| found.asn).map(i64::from),
                network: found.as_ref().and_then(network_name),
                country: country.map(|country| country.code().to_owned()),
                recipients: recipients.iter().map(|r| r.code().to_owned()).collect(),
            };
            let detail = json!({
                "takedown": takedown.id,
                "address": location.address,
                "asn": location.asn,
                "network": location.network,
                "country": location.country,
                "recipients": location.recipients,
            });
            let audit = self.audit("takedown.locate", takedown.item_id, detail);
            self.store
                .locate_takedown(takedown.id, &location, self.clock.now(), &audit)
                .await?;
            takedown = self.record_check(&takedown, &judgement, status, 0).await?;
        }
        if takedown.state != TakedownState::Open {
            return Ok(());
        }
        // Asked for again on a retry after a crash, the jobs exist once: their keys say so.
        for recipient in recipients_of(&takedown) {
            self.enqueue_notice(&takedown, 1, recipient).await?;
        }
        self.enqueue_recheck(&takedown, 1).await?;
        Ok(())
    }

    /// Whom a takedown's notices go to, by its decision and where it is hosted (`country`).
    fn recipients(
        &self,
        takedown: &Takedown,
        country: Option<Country>,
        hosting: &HostingData,
    ) -> Vec<RecipientKind> {
        let routed =
            || match vigie_hosting::route(country, self.settings.country, &hosting.partners) {
                Route::NoticeToHost => vec![RecipientKind::Host],
                Route::ForwardToPartner(_) => vec![RecipientKind::PartnerHotline],
                Route::NoticeToHostAndLawEnforcement => {
                    vec![RecipientKind::Host, RecipientKind::LawEnforcement]
                }
            };
        match takedown.decision.as_str() {
            // The analyst chose; the police may want the content left in place for their
            // investigation, so the host is not told.
            "law_enforcement" => vec![RecipientKind::LawEnforcement],
            "notice_to_host" => vec![RecipientKind::Host],
            // The partner of the country the analyst named (else of the hosting country), if
            // the directory has one; else the routing rule says what the choice cannot be.
            "partner_hotline" => {
                let named = takedown
                    .decision_country
                    .as_deref()
                    .and_then(Country::parse);
                match named
                    .or(country)
                    .and_then(|c| hosting.partners.partner_in(c))
                {
                    Some(_) => vec![RecipientKind::PartnerHotline],
                    None => routed(),
                }
            }
            _ => routed(),
        }
    }

    async fn enqueue_notice(
        &self,
        takedown: &Takedown,
        sequence: i64,
        recipient: RecipientKind,
    ) -> Result<(), TakedownError> {
        let code = recipient.code();
        self.enqueue(
            NOTICE_JOB,
            format!("notice:takedown-{}-{sequence}-{code}", takedown.id),
            json!({ "takedown_id": takedown.id, "sequence": sequence, "recipient": code }),
            self.clock.now(),
        )
        .await?;
        Ok(())
    }

    async fn enqueue_recheck(&self, takedown: &Takedown, check: i64) -> Result<(), TakedownError> {
        self.enqueue(
            RECHECK_JOB,
            format!("recheck:takedown-{}-{check}", takedown.id),
            json!({ "takedown_id": takedown.id, "check": check }),
            self.clock.now() + self.settings.recheck_interval_ms,
        )
        .await?;
        Ok(())
    }

    /// The `recheck` job: is the content gone? If not, the host is told again, and after
    /// `escalate_after` re-checks the takedown is escalated.
    async fn recheck(&self, takedown_id: i64, number: i64) -> Result<(), TakedownError> {
        let takedown = self.store.takedown(takedown_id).await?;
        if takedown.state != TakedownState::Open {
            return Ok(());
        }
        let (judgement, _, status) = self.check(&takedown).await?;
        let _turn = self.write_turn().await;
        let takedown = self
            .record_check(&takedown, &judgement, status, number)
            .await?;
        if takedown.state != TakedownState::Open {
            return Ok(());
        }
        let recipients = recipients_of(&takedown);
        if judgement.outcome == vigie_store::CheckOutcome::Online {
            if recipients.contains(&RecipientKind::Host) {
                self.enqueue_notice(&takedown, number + 1, RecipientKind::Host)
                    .await?;
            }
            if number >= self.settings.escalate_after && takedown.escalated_at.is_none() {
                self.escalate(&takedown, number + 1, &recipients).await?;
            }
        }
        if number < self.settings.max_rechecks {
            self.enqueue_recheck(&takedown, number + 1).await?;
        }
        Ok(())
    }

    /// Tells law enforcement (or, without a police contact, the partner hotline of the
    /// hosting country) of content still online after the re-checks, once.
    async fn escalate(
        &self,
        takedown: &Takedown,
        sequence: i64,
        recipients: &[RecipientKind],
    ) -> Result<(), TakedownError> {
        let police_known = self.settings.law_enforcement_email.is_some()
            || self.settings.law_enforcement_webhook.is_some();
        let to = if police_known && !recipients.contains(&RecipientKind::LawEnforcement) {
            Some(RecipientKind::LawEnforcement)
        } else if !recipients.contains(&RecipientKind::PartnerHotline)
            && self.partner_of(takedown).is_some()
        {
            Some(RecipientKind::PartnerHotline)
        } else {
            None
        };
        let Some(to) = to else {
            return Ok(());
        };
        let detail = json!({
            "takedown": takedown.id,
            "after_checks": takedown.checks,
            "to": to.code(),
        });
        let audit = self.audit("takedown.escalate", takedown.item_id, detail);
        if self
            .store
            .record_escalation(takedown.id, self.clock.now(), &audit)
            .await?
        {
            self.enqueue_notice(takedown, sequence, to).await?;
        }
        Ok(())
    }

    /// The partner hotline of the country the analyst named, else of the hosting country.
    fn partner_of(&self, takedown: &Takedown) -> Option<vigie_hosting::Partner> {
        let country = takedown
            .decision_country
            .as_deref()
            .or(takedown.country.as_deref())
            .and_then(Country::parse)?;
        self.hosting().partners.partner_in(country).cloned()
    }

    /// Where a notice to `recipient` goes: e-mail and webhook addresses, and the language.
    fn addresses(
        &self,
        takedown: &Takedown,
        recipient: RecipientKind,
    ) -> (Vec<(&'static str, String)>, Language) {
        let mut addresses = Vec::new();
        let mut add = |email: Option<String>, webhook: Option<String>| {
            addresses.extend(email.map(|email| ("email", email)));
            addresses.extend(webhook.map(|webhook| ("webhook", webhook)));
        };
        let language = match recipient {
            RecipientKind::Host => {
                let hosting = self.hosting();
                let address = takedown.address.as_deref().and_then(|a| a.parse().ok());
                let asn = takedown.asn.and_then(|asn| u32::try_from(asn).ok());
                match hosting.abuse.contact_for(&takedown.host, address, asn) {
                    Some(contact) => {
                        add(contact.email.clone(), contact.webhook.clone());
                        Language::from_code(&contact.language)
                    }
                    None => Language::En,
                }
            }
            // Hotlines of the network work with one another in English.
            RecipientKind::PartnerHotline => {
                if let Some(partner) = self.partner_of(takedown) {
                    add(partner.email, partner.webhook);
                }
                Language::En
            }
            RecipientKind::LawEnforcement => {
                add(
                    self.settings.law_enforcement_email.clone(),
                    self.settings.law_enforcement_webhook.clone(),
                );
                Language::from_code(self.settings.country.code())
            }
        };
        (addresses, language)
    }

    /// The `notice` job: one notice of the series to one recipient, by each channel the
    /// recipient has, each recorded once under its key.
    async fn send_notice(
        &self,
        takedown_id: i64,
        sequence: i64,
        recipient: RecipientKind,
    ) -> Result<(), TakedownError> {
        let takedown = self.store.takedown(takedown_id).await?;
        if takedown.state.is_closed() {
            return Ok(());
        }
        let (addresses, language) = self.addresses(&takedown, recipient);
        let code = recipient.code();
        if addresses.is_empty() {
            let detail = json!({
                "takedown": takedown.id,
                "sequence": sequence,
                "recipient": code,
                "reason": format!("no contact is known for the {} of {}", code.replace('_', " "), takedown.host),
            });
            let _turn = self.write_turn().await;
            self.store
                .append_audit(&self.audit(
                    "takedown.notice_undeliverable",
                    takedown.item_id,
                    detail,
                ))
                .await?;
            return Ok(());
        }
        for (channel, address) in addresses {
            let key = format!("takedown-{}-{sequence}-{code}-{channel}", takedown.id);
            if self.store.notice_sent(&key).await? {
                continue;
            }
            let notice = Notice {
                id: key.clone(),
                reference: format!("item-{}", takedown.item_id),
                language,
                recipient,
                urls: vec![takedown.url.clone()],
                classification: classification_words(&takedown),
                first_reported_at: takedown.first_reported_at,
                sequence: u32::try_from(sequence).unwrap_or(u32::MAX),
                first_notice_at: takedown.first_notice_at,
                sender: self.settings.sender.clone(),
            };
            match channel {
                "email" => self.send_email(&notice, &address).await?,
                _ => self.send_webhook(&notice, &address).await?,
            }
            let sent_at = self.clock.now();
            let record = NewNotice {
                id: 0,
                takedown_id: takedown.id,
                notice_key: key,
                sequence,
                recipient: code.to_owned(),
                channel: channel.to_owned(),
                address: address.clone(),
                sent_at,
            };
            let detail = json!({
                "takedown": takedown.id,
                "notice": record.notice_key,
                "sequence": sequence,
                "recipient": code,
                "channel": channel,
                "address": address,
            });
            let audit = self.audit("takedown.notice", takedown.item_id, detail);
            let _turn = self.write_turn().await;
            self.store.record_notice(&record, &audit).await?;
        }
        Ok(())
    }

    async fn send_email(&self, notice: &Notice, to: &str) -> Result<(), TakedownError> {
        let Some(mailer) = &self.settings.mailer else {
            return Err(TakedownError::Notice(
                vigie_notice::NoticeError::InvalidSettings(
                    "no mail server is configured (--smtp-host)".into(),
                ),
            ));
        };
        Ok(mailer.send(notice, to).await?)
    }

    async fn send_webhook(&self, notice: &Notice, url: &str) -> Result<(), TakedownError> {
        let failed = |reason: String| TakedownError::Webhook {
            url: url.to_owned(),
            reason,
        };
        let Some(secret) = &self.settings.webhook_secret else {
            return Err(failed(
                "no webhook secret is configured (--webhook-secret-file)".into(),
            ));
        };
        let body = vigie_notice::webhook_body(notice);
        let signature = vigie_notice::signature::sign(secret, self.clock.now() / 1000, &body);
        let headers = [
            ("content-type", "application/json".to_owned()),
            (vigie_notice::signature::HEADER, signature),
            ("idempotency-key", notice.id.clone()),
        ];
        let answer = self
            .fetcher
            .post(url, &headers, Bytes::from(body))
            .await
            .map_err(|error| failed(error.to_string()))?;
        if (200..300).contains(&answer.status) {
            Ok(())
        } else {
            Err(failed(format!("answered {}", answer.status)))
        }
    }
}

/// The recipients recorded on a takedown when it was located.
fn recipients_of(takedown: &Takedown) -> Vec<RecipientKind> {
    takedown
        .recipients
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter_map(RecipientKind::from_code)
        .collect()
}

/// `AS16276 OVH SAS`, or what of it is known.
fn network_name(location: &vigie_hosting::Location) -> Option<String> {
    match (location.asn, location.organisation.as_deref()) {
        (Some(asn), Some(organisation)) if !organisation.is_empty() => {
            Some(format!("AS{asn} {organisation}"))
        }
        (Some(asn), _) => Some(format!("AS{asn}")),
        (None, Some(organisation)) => Some(organisation.to_owned()),
        (None, None) => None,
    }
}

/// The ICCAM action a closing state is reported as.
fn iccam_action(state: TakedownState) -> &'static str {
    use vigie_hotline::IccamAction;
    match state {
        TakedownState::Unavailable => IccamAction::Unavailable.code(),
        TakedownState::Moved => IccamAction::Moved.code(),
        _ => IccamAction::Removed.code(),
    }
}

/// What the content was classified as, for the notice: the analyst's classification, or the
/// bank it matched.
fn classification_words(takedown: &Takedown) -> String {
    let mut words = Vec::new();
    if let Some(code) = &takedown.iccam_classification {
        words.push(format!("ICCAM classification: {code}"));
    }
    if let Some(code) = &takedown.ncmec_category {
        words.push(format!("NCMEC industry category: {code}"));
    }
    if let Some(bank) = &takedown.matched_bank {
        words.push(format!(
            "matches the hash list '{bank}' of known child sexual abuse material"
        ));
    }
    if words.is_empty() {
        words.push(format!(
            "reported as {}",
            takedown.category.replace('_', " ")
        ));
    }
    words.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_named_with_what_is_known() {
        let location = |asn, organisation: Option<&str>| vigie_hosting::Location {
            asn,
            organisation: organisation.map(str::to_owned),
            country: None,
        };
        assert_eq!(
            network_name(&location(Some(16276), Some("OVH SAS"))).as_deref(),
            Some("AS16276 OVH SAS")
        );
        assert_eq!(
            network_name(&location(Some(64500), None)).as_deref(),
            Some("AS64500")
        );
        assert_eq!(network_name(&location(None, None)), None);
    }
}
