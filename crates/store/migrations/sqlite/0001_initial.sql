-- Vigie's store on SQLite. Keep in step with ../postgres/0001_initial.sql: same tables, same
-- columns, same meaning; only the dialect differs. Ids use AUTOINCREMENT so that an id is never
-- reused after a deletion (the change log and the audit log name ids long after the rows are gone),
-- and so that `sqlite_sequence` tells bulk imports where to reserve a block of ids.

CREATE TABLE banks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    source TEXT,
    default_category TEXT,
    pdq_threshold INTEGER NOT NULL,
    matching_enabled_ratio REAL NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE contents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_id INTEGER NOT NULL REFERENCES banks (id) ON DELETE CASCADE,
    label TEXT,
    category TEXT,
    note TEXT,
    enabled BOOLEAN NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX contents_by_bank ON contents (bank_id, id);

CREATE TABLE signals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    content_id INTEGER NOT NULL REFERENCES contents (id) ON DELETE CASCADE,
    signal_type TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX signals_by_content ON signals (content_id);

-- No foreign keys: a Remove row must outlive the bank, content and signal it names.
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_id INTEGER NOT NULL,
    content_id INTEGER NOT NULL,
    signal_id INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('add', 'remove')),
    signal_type TEXT NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'readonly')),
    disabled BOOLEAN NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);

CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    used_at INTEGER
);

-- `seq` is written by the store (it is part of the hashed row), not generated. `detail` is the
-- JSON text exactly as hashed.
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
