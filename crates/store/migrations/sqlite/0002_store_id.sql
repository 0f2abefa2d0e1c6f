-- A random identity, made once when the database is created, so that a replica's index
-- snapshot (a cache of a prefix of this database's change log) is never completed from another
-- database's log. Keep in step with ../postgres/0002_store_id.sql. A copy of the database file
-- keeps the identity, as it keeps the log.
CREATE TABLE store_identity (
    one_row INTEGER PRIMARY KEY CHECK (one_row = 1),
    store_id TEXT NOT NULL
);
INSERT INTO store_identity (one_row, store_id) VALUES (1, lower(hex(randomblob(16))));
