-- A case file that is an image or a video is media: downloading it is a reveal, counted in the
-- analyst's exposure beside the items' reveals (it has no expiry: the bytes leave the server).
-- Keep in step with ../postgres/0009_case_file_reveals.sql.
CREATE TABLE case_file_reveals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_file_id INTEGER NOT NULL REFERENCES case_files (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    revealed_at INTEGER NOT NULL
);
CREATE INDEX case_file_reveals_by_user ON case_file_reveals (user_id, revealed_at);
