-- The hotline: reports as received, the items they name (deduplicated), the media kept of them
-- (encrypted), what analysts decided, what they revealed, and the cases they build. Keep in step
-- with ../postgres/0003_hotline.sql. No IP address of a reporter is stored anywhere.

-- One row per submission, from the public form or a partner's API key.
CREATE TABLE reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- What the reporter is given to quote: unique, random, not guessable from the id.
    receipt TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL CHECK (channel IN ('public', 'partner')),
    -- The partner's key; NULL for the public.
    api_key_id INTEGER REFERENCES api_keys (id),
    -- The partner's Idempotency-Key: the same key and value answer with the first report.
    idempotency_key TEXT,
    -- The partner's own reference for the report, quoted back in exports.
    partner_reference TEXT,
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    contact_email TEXT,
    -- The language the reporter used (en, fr).
    language TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (api_key_id, idempotency_key)
);
CREATE INDEX reports_by_time ON reports (received_at);

CREATE TABLE cases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL
);

-- A URL or a file, once however many reports name it: `normalised_url` or `sha256` is the key
-- that joins a new report to the existing item.
CREATE TABLE items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('url', 'file')),
    -- As first reported, and its deduplication key (url items).
    url TEXT,
    normalised_url TEXT UNIQUE,
    -- The media's SHA-256 (file items).
    sha256 TEXT UNIQUE,
    -- The most urgent category any report gave it, and that urgency (higher first in the queue).
    category TEXT NOT NULL,
    urgency INTEGER NOT NULL,
    reporters INTEGER NOT NULL,
    first_reported_at INTEGER NOT NULL,
    last_reported_at INTEGER NOT NULL,
    -- queued: waits for an analyst; claimed: one analyst has it; decided: classified and acted
    -- on; known: matched a bank and was classified from it, seen by no one.
    status TEXT NOT NULL CHECK (status IN ('queued', 'claimed', 'decided', 'known')),
    claimed_by INTEGER REFERENCES users (id),
    claimed_at INTEGER,
    -- The bank match that resolved it without a human view.
    matched_bank TEXT,
    matched_content_id INTEGER,
    matched_distance INTEGER,
    -- The classification, with the codes of vigie-hotline.
    iccam_classification TEXT,
    site_type TEXT,
    age_group TEXT,
    gender TEXT,
    ncmec_category TEXT,
    vics_category INTEGER,
    decision TEXT,
    decided_by INTEGER REFERENCES users (id),
    decided_at INTEGER,
    case_id INTEGER REFERENCES cases (id)
);
CREATE INDEX items_queue ON items (status, urgency, first_reported_at);
CREATE INDEX items_by_case ON items (case_id);

-- Which reports name which items: the reporters of an item are its rows here.
CREATE TABLE report_items (
    report_id INTEGER NOT NULL REFERENCES reports (id),
    item_id INTEGER NOT NULL REFERENCES items (id),
    PRIMARY KEY (report_id, item_id)
);
CREATE INDEX report_items_by_item ON report_items (item_id);

-- The media of a file item: hashed on arrival, kept only encrypted (`sealed`, by vigie-vault,
-- under the key `key_id`). One copy per item: a second reporter of the same bytes adds nothing.
CREATE TABLE attachments (
    item_id INTEGER PRIMARY KEY REFERENCES items (id),
    file_name TEXT,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    md5 TEXT NOT NULL,
    sha1 TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    pdq TEXT,
    pdq_quality INTEGER,
    key_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    received_at INTEGER NOT NULL
);

-- Every time an analyst chose to see the original bytes of an item, until when.
CREATE TABLE reveals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL REFERENCES items (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    revealed_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX reveals_by_user ON reveals (user_id, revealed_at);
CREATE INDEX reveals_by_item ON reveals (item_id);

CREATE TABLE case_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id INTEGER NOT NULL REFERENCES cases (id),
    author_id INTEGER NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX case_notes_by_case ON case_notes (case_id, id);

-- Files an analyst adds to a case (a screenshot of a page, a letter), encrypted like attachments.
CREATE TABLE case_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id INTEGER NOT NULL REFERENCES cases (id),
    file_name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    key_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    added_by INTEGER NOT NULL REFERENCES users (id),
    added_at INTEGER NOT NULL
);
CREATE INDEX case_files_by_case ON case_files (case_id, id);
