-- Triage: a case's timeline reads the audit rows naming the case or its items (`case:ID`,
-- `item:ID`), in chain order; an analyst's open reveal and today's count read reveals by user
-- and expiry. Keep in step with the other dialect's 0005_triage.sql.
CREATE INDEX audit_log_by_target ON audit_log (target, seq);
CREATE INDEX reveals_open ON reveals (user_id, expires_at);
