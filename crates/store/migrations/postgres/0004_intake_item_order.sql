-- What a report said of each item it names: where the item stood in the report (so that a
-- partner's replay or status read lists the items in the order it sent them) and whether this
-- report made the item (the first reporter) or joined one that existed. Keep in step with
-- ../sqlite/0004_intake_item_order.sql.
ALTER TABLE report_items ADD COLUMN position BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_items ADD COLUMN created_item BOOLEAN NOT NULL DEFAULT FALSE;
