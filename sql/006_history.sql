-- 006_history.sql - indexes for the history reads of the v2 API:
--   GET /api/payments (a client's payments, newest first, keyset paged
--   by id): (client_id, id); with accountId the existing payments_from /
--   payments_to indexes already end in the primary key id.
--   GET /api/accounts/{id}/balance?at=T (the last ledger entry at or
--   before T, in time order then sequence): (account_id, created_at, seq).
-- Adding an index to a large ledger_entries takes a while (online, InnoDB
-- builds it without blocking writes).

ALTER TABLE payments ADD INDEX IF NOT EXISTS payments_client_newest (client_id, id);
ALTER TABLE ledger_entries ADD INDEX IF NOT EXISTS ledger_entries_time (account_id, created_at, seq);
