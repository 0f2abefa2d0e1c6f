-- An item forwarded to the partner hotline of the hosting country names that country (ISO
-- 3166-1 alpha-2, upper case): the ICCAM export reports the move to it. NULL for any other
-- decision. Keep in step with ../postgres/0008_decision_country.sql.
ALTER TABLE items ADD COLUMN decision_country TEXT;
