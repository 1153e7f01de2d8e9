-- 010_risk.sql - what the risk rules of lf_transfer read (doc/design.md,
-- "Risk rules"; doc/database.md, "Risk rules").
--
-- * payments_from_time (from_account_id, created_at): the velocity rule
--   counts and sums the payments an account made within [risk]
--   velocity_window, under the sender's row lock, with one range read.
-- * client_risk: one row per (client, currency), the amount the client's
--   accepted payments and holds took on `day` (UTC). lf_transfer locks it
--   (INSERT ... ON DUPLICATE KEY UPDATE, an exclusive lock at once, never
--   a shared one to upgrade) after both account locks, and only while
--   [risk] daily_limit is set for the currency: the one lock it takes
--   after the accounts, and the only one on this table, so no cycle. A
--   new day starts the sum again. Nothing else reads or writes it.
-- Numbered 010: 009 is left to the bulk payments' migration.

ALTER TABLE payments ADD INDEX IF NOT EXISTS payments_from_time (from_account_id, created_at);

CREATE TABLE IF NOT EXISTS client_risk (
  client_id  BIGINT UNSIGNED NOT NULL,
  currency   CHAR(3)         CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  day        DATE            NOT NULL COMMENT 'the UTC day spent is counted for',
  spent      BIGINT          NOT NULL DEFAULT 0 COMMENT 'minor units taken that day',
  PRIMARY KEY (client_id, currency)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
