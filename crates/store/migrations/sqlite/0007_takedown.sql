-- Takedown: what reported pages served (hashed), where reported content is hosted, the
-- notices sent about it and the re-checks until it is gone. Keep in step with
-- ../postgres/0007_takedown.sql.

-- The hosting reference data an administrator imports (IP-to-ASN and IP-to-country tables,
-- GeoLite2 databases, the abuse-contact and partner-hotline directories), kept in the store so
-- that every worker on it reads the same.
CREATE TABLE reference_data (
    name TEXT PRIMARY KEY,
    content BLOB NOT NULL,
    imported_at INTEGER NOT NULL
);

-- The media a reported page served when it was fetched, by their hashes; the bytes only
-- sealed by vigie-vault, and only where the hotline keeps them (`--keep-page-media`), for its
-- analysts to see blurred. A re-check compares what the page serves then with these.
CREATE TABLE page_media (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL REFERENCES items (id),
    url TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    md5 TEXT NOT NULL,
    sha1 TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    pdq TEXT,
    pdq_quality INTEGER,
    matched_bank TEXT,
    matched_content_id INTEGER,
    matched_distance INTEGER,
    key_id TEXT,
    sealed BLOB,
    fetched_at INTEGER NOT NULL,
    UNIQUE (item_id, sha256)
);

-- One per URL item that is to come down, opened with its decision (or when the page served
-- known material). `locating` until a worker has fetched it and found its host; `open` while
-- notices go out and re-checks follow; closed as `removed`, `unavailable` or `moved`, the
-- ICCAM actions.
CREATE TABLE takedowns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL UNIQUE REFERENCES items (id),
    url TEXT NOT NULL,
    host TEXT NOT NULL,
    -- notice_to_host, partner_hotline, law_enforcement (an analyst's), automatic (a bank's).
    decision TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('locating', 'open', 'removed', 'unavailable', 'moved')),
    address TEXT,
    asn INTEGER,
    network TEXT,
    country TEXT,
    -- Whom the notices go to: host, partner_hotline, law_enforcement, comma-separated.
    recipients TEXT,
    opened_at INTEGER NOT NULL,
    located_at INTEGER,
    first_notice_at INTEGER,
    closed_at INTEGER,
    checks INTEGER NOT NULL,
    notices INTEGER NOT NULL,
    escalated_at INTEGER
);
CREATE INDEX takedowns_by_state ON takedowns (state, opened_at);

-- Every notice sent. `notice_key` is the notice's id (its Message-ID, the webhook's
-- idempotency key), unique: the same notice is never recorded, nor sent, twice.
CREATE TABLE notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    takedown_id INTEGER NOT NULL REFERENCES takedowns (id),
    notice_key TEXT NOT NULL UNIQUE,
    sequence INTEGER NOT NULL,
    recipient TEXT NOT NULL CHECK (recipient IN ('host', 'partner_hotline', 'law_enforcement')),
    channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    address TEXT NOT NULL,
    sent_at INTEGER NOT NULL
);
CREATE INDEX notices_by_takedown ON notices (takedown_id);
CREATE INDEX notices_by_time ON notices (sent_at);

-- Every fetch of a takedown's URL: the first, when it is located, then each re-check.
CREATE TABLE url_checks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    takedown_id INTEGER NOT NULL REFERENCES takedowns (id),
    checked_at INTEGER NOT NULL,
    http_status INTEGER,
    -- online, unreachable (try again), or removed / unavailable / moved (closes the takedown).
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    -- How many of the media recorded for the item the page still served.
    media_served INTEGER NOT NULL
);
CREATE INDEX url_checks_by_takedown ON url_checks (takedown_id, checked_at);
