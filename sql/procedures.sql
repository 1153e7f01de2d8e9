-- procedures.sql - the stored procedures: the money-moving transactions,
-- one CALL each, so a payment is a single round trip. Every procedure
-- returns exactly one result row (lf_get_outcome: zero or one) and then
-- the CALL status. Errors are re-raised after ROLLBACK: 1213 (deadlock)
-- and 1205 (lock wait timeout) reach the caller, which retries; nothing is
-- ever half written.
--
-- Not a numbered migration: `ledgerflowctl migrate` applies this file
-- after the NNN_*.sql files whenever its SHA-256 differs from the one
-- recorded in schema_routines, so a change of code is an edit of this file
-- (with CREATE OR REPLACE there is no moment without the procedure). No
-- DELIMITER lines: the file is sent as one multi-statement query.
--
-- The hash of one ledger entry, canonical encoding version 1 (see
-- doc/database.md; src/core/ledger_hash.c computes the same bytes):
-- SHA-256(prev || 'lf1|<account hex>|<seq>|<id hex>|<payment hex or ->|
-- <counterparty hex>|<DEBIT or CREDIT>|<amount>|<balance_after>|
-- <created_at as YYYY-MM-DD hh:mm:ss.ffffff>'), prev = the hash of the
-- account's entry seq-1, 32 zero bytes for seq 1.
CREATE OR REPLACE FUNCTION lf_entry_hash(
  p_prev          BINARY(32),
  p_account       BINARY(16),
  p_seq           BIGINT,
  p_id            BINARY(16),
  p_payment       BINARY(16),
  p_counterparty  BINARY(16),
  p_direction     VARCHAR(6) CHARACTER SET ascii,
  p_amount        BIGINT,
  p_balance_after BIGINT,
  p_created_at    DATETIME(3))
  RETURNS BINARY(32)
  DETERMINISTIC NO SQL
  SQL SECURITY DEFINER
  COMMENT 'ledger entry hash, canonical encoding v1'
RETURN UNHEX(SHA2(CONCAT(CAST(p_prev AS BINARY(32)),
  CAST(CONCAT_WS('|', 'lf1', LOWER(HEX(p_account)), p_seq, LOWER(HEX(p_id)),
                 IFNULL(LOWER(HEX(p_payment)), '-'), LOWER(HEX(p_counterparty)),
                 p_direction, p_amount, p_balance_after,
                 DATE_FORMAT(p_created_at, '%Y-%m-%d %H:%i:%s.%f')) AS BINARY)), 256));

-- One event of the transactional outbox (008_events.sql), written by the
-- procedure that makes the change, inside its transaction, after it holds
-- the rows it changes (so two events of one account are inserted, and
-- committed, in the order of their transactions). p_data is the object as
-- its own GET renders it; p_account / p_account2 the accounts whose order
-- of delivery it keeps (a payment: sender and receiver). Not granted to the
-- runtime user: an event exists only with its change. This is the hook of
-- every state change: lf_transfer writes 'payment.pending' for a hold,
-- lf_finish_hold 'payment.captured' and 'payment.voided' (the payment
-- rendered in its new state, its 200 body) or 'payment.expired', lf_refund
-- 'refund.completed' or 'refund.declined' (the refund; p_account the
-- original receiver, who pays it back, p_account2 the original sender),
-- lf_expire_hold 'payment.expired' (procedures_holds.sql). The group
-- commit, lf_transfer_group_v2, writes its payments' 'payment.completed' and
-- 'payment.declined' itself, one multi-row INSERT of the same columns in
-- arrival order. p_id NULL: a UUIDv7 is made here (for callers whose C
-- side passes none).
-- The client's day in one currency for [risk] daily_limit (doc/locking.md):
-- its client_risk row locked (INSERT ... ON DUPLICATE KEY UPDATE, an
-- exclusive lock at once, never a shared one to upgrade), and what it
-- holds for p_today: a row of an earlier day starts the sum again, a row
-- already on a later day (a payment stamped before a day another began)
-- keeps counting that day. Called in the caller's transaction after its
-- account locks, by lf_transfer_v2 and lf_bulk_atomic; not granted to the
-- runtime user.
CREATE OR REPLACE PROCEDURE lf_client_day(
  IN  p_client   BIGINT UNSIGNED,
  IN  p_currency CHAR(3) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN  p_today    DATE,
  OUT o_day      DATE,
  OUT o_spent    DECIMAL(30))
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'lock a client''s client_risk row of a currency; its day and spent'
BEGIN
  INSERT INTO client_risk (client_id, currency, day, spent)
  VALUES (p_client, p_currency, p_today, 0)
  ON DUPLICATE KEY UPDATE spent = spent;
  SELECT day, spent INTO o_day, o_spent FROM client_risk
   WHERE client_id = p_client AND currency = p_currency FOR UPDATE;
  IF o_day < p_today THEN
    SET o_day = p_today, o_spent = 0;
  END IF;
END;

CREATE OR REPLACE PROCEDURE lf_event_add(
  IN p_id         BINARY(16),
  IN p_type       VARCHAR(32) CHARACTER SET ascii,
  IN p_object     BINARY(16),
  IN p_client     BIGINT UNSIGNED,
  IN p_account    BINARY(16),
  IN p_account2   BINARY(16),
  IN p_created_at DATETIME(3),
  IN p_data       MEDIUMBLOB)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'the outbox: one event in the caller''s transaction'
BEGIN
  DECLARE v_id BINARY(16) DEFAULT p_id;
  -- not 1062 to the caller, whose CONTINUE handler would commit without it
  DECLARE EXIT HANDLER FOR 1062
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lf_event_add: event id already used';
  IF p_data IS NULL OR LENGTH(p_data) = 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lf_event_add: an event needs its data';
  END IF;
  -- no id given: a UUIDv7 made here (48-bit ms, version 7, variant 10)
  IF v_id IS NULL THEN
    SET v_id = UNHEX(CONCAT(
      LPAD(HEX(CAST(UNIX_TIMESTAMP(p_created_at) * 1000 AS UNSIGNED)), 12, '0'),
      '7', SUBSTRING(HEX(RANDOM_BYTES(2)), 2, 3),
      LPAD(HEX(128 | (ASCII(RANDOM_BYTES(1)) & 63)), 2, '0'),
      SUBSTRING(HEX(RANDOM_BYTES(8)), 3)));
  END IF;
  INSERT INTO events (id, type, object_id, client_id, account_id, account2_id, created_at, data)
  VALUES (v_id, p_type, p_object, p_client, p_account, p_account2, p_created_at, p_data);
END;

-- Result row of lf_transfer / lf_record_outcome / lf_create_account:
--   (outcome, response_status, response_location, response_body,
--    fingerprint, expires_at)
-- On 'replay' the last five come from the stored idempotency row; on the
-- other outcomes response_body is NULL (the caller holds the body it sent).
-- 'amount_too_large' (a balance would leave BIGINT) writes nothing: the
-- caller records the 422 with the key (lf_record_outcome).
--
-- Money: only an ISSUANCE account (one per currency, see 004_books.sql)
-- may go negative; every entry is hash-chained on its account
-- (lf_entry_hash, accounts.chain_head) inside the transaction, under the
-- account's row lock (a group commit's entries are hashed by the caller
-- and recomputed with SHA2() by lf_transfer_group_v2 under the lock).

CREATE OR REPLACE PROCEDURE lf_transfer_v2(
  IN p_client         BIGINT UNSIGNED,
  IN p_key            VARBINARY(255),
  IN p_fp             BINARY(32),
  IN p_payment_id     BINARY(16),
  IN p_debit_id       BINARY(16),
  IN p_credit_id      BINARY(16),
  IN p_from           BINARY(16),
  IN p_to             BINARY(16),
  IN p_amount         BIGINT,
  IN p_currency       CHAR(3) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_reference      VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_created_at     DATETIME(3),
  IN p_expires_at     DATETIME(3),
  IN p_body_completed MEDIUMBLOB,
  IN p_body_declined  MEDIUMBLOB,
  IN p_location       VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_admin          TINYINT,
  IN p_hold_expires   DATETIME(3),
  IN p_metadata       MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_event_id       BINARY(16),
  IN p_event_declined MEDIUMBLOB,
  IN p_risk_rule      VARCHAR(32) CHARACTER SET ascii,
  IN p_body_risk      MEDIUMBLOB,
  IN p_velocity_count BIGINT,
  IN p_velocity_sum   BIGINT,
  IN p_velocity_ms    BIGINT,
  IN p_daily_limit    BIGINT)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'one payment or hold: idempotency row, account locks, risk, ledger, outcome, event'
proc: BEGIN
  DECLARE v_dup TINYINT DEFAULT 0;
  DECLARE v_nf TINYINT DEFAULT 0;
  DECLARE v_lo_cur, v_hi_cur CHAR(3) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL;
  DECLARE v_lo_bal, v_hi_bal, v_lo_seq, v_hi_seq, v_lo_held, v_hi_held BIGINT DEFAULT NULL;
  DECLARE v_from_cur, v_to_cur CHAR(3) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL;
  DECLARE v_from_bal, v_to_bal, v_from_seq, v_to_seq, v_from_held BIGINT DEFAULT NULL;
  DECLARE v_lo_owner, v_hi_owner, v_from_owner BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_lo_kind, v_hi_kind, v_from_kind, v_to_kind VARCHAR(8) DEFAULT NULL;
  DECLARE v_lo_head, v_hi_head, v_from_head, v_to_head BINARY(32) DEFAULT NULL;
  DECLARE v_debit_hash, v_credit_hash BINARY(32) DEFAULT NULL;
  DECLARE v_old_id BINARY(16) DEFAULT NULL;
  DECLARE v_old_fp BINARY(32) DEFAULT NULL;
  DECLARE v_risk VARCHAR(32) CHARACTER SET ascii DEFAULT NULL;
  DECLARE v_vcount BIGINT DEFAULT 0;
  DECLARE v_vsum, v_spent DECIMAL(30) DEFAULT 0;
  DECLARE v_day, v_today DATE DEFAULT NULL;
  DECLARE v_daily TINYINT DEFAULT 0;
  DECLARE CONTINUE HANDLER FOR 1062 SET v_dup = 1;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_nf = 1;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;

  -- (a) a decided outcome already stored under this key: replay it.
  IF EXISTS (SELECT 1 FROM idempotency_keys
             WHERE client_id = p_client AND idem_key = p_key) THEN
    SELECT 'replay' AS outcome, response_status, response_location,
           response_body, fingerprint, expires_at
      FROM idempotency_keys WHERE client_id = p_client AND idem_key = p_key;
    LEAVE proc;
  END IF;

  SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
  START TRANSACTION;

  -- (b) claim the key first: a concurrent duplicate blocks on the primary
  -- key until we commit, then fails with 1062 and replays our outcome.
  INSERT INTO idempotency_keys (client_id, idem_key, fingerprint, response_status,
                                response_location, response_body, payment_id,
                                created_at, expires_at)
  VALUES (p_client, p_key, p_fp, 0, NULL, '', NULL, p_created_at, p_expires_at);
  IF v_dup THEN
    ROLLBACK;
    SELECT 'replay' AS outcome, response_status, response_location,
           response_body, fingerprint, expires_at
      FROM idempotency_keys WHERE client_id = p_client AND idem_key = p_key;
    LEAVE proc;
  END IF;

  -- (b2) the key's stored outcome was reaped after its retention, but its
  -- payment is kept forever under the same key: never pay twice. The
  -- caller renders that payment again ('payment_exists': the payment id
  -- comes back in response_body, its fingerprint in fingerprint).
  SELECT id, fingerprint INTO v_old_id, v_old_fp
    FROM payments WHERE client_id = p_client AND idempotency_key = p_key;
  IF v_old_id IS NOT NULL THEN
    ROLLBACK;
    SELECT 'payment_exists' AS outcome, NULL AS response_status,
           NULL AS response_location, v_old_id AS response_body,
           v_old_fp AS fingerprint, p_expires_at AS expires_at;
    LEAVE proc;
  END IF;

  -- (c) lock both accounts in ascending id order (no lock-order deadlock).
  SELECT currency, balance, ledger_seq, owner_client_id, kind, chain_head, held
    INTO v_lo_cur, v_lo_bal, v_lo_seq, v_lo_owner, v_lo_kind, v_lo_head, v_lo_held
    FROM accounts WHERE id = LEAST(p_from, p_to) FOR UPDATE;
  SELECT currency, balance, ledger_seq, owner_client_id, kind, chain_head, held
    INTO v_hi_cur, v_hi_bal, v_hi_seq, v_hi_owner, v_hi_kind, v_hi_head, v_hi_held
    FROM accounts WHERE id = GREATEST(p_from, p_to) FOR UPDATE;
  IF p_from < p_to THEN
    SET v_from_cur = v_lo_cur, v_from_bal = v_lo_bal, v_from_seq = v_lo_seq,
        v_from_held = v_lo_held,
        v_from_owner = v_lo_owner, v_from_kind = v_lo_kind, v_from_head = v_lo_head,
        v_to_cur = v_hi_cur, v_to_bal = v_hi_bal, v_to_seq = v_hi_seq,
        v_to_kind = v_hi_kind, v_to_head = v_hi_head;
  ELSE
    SET v_from_cur = v_hi_cur, v_from_bal = v_hi_bal, v_from_seq = v_hi_seq,
        v_from_held = v_hi_held, v_from_owner = v_hi_owner, v_from_kind = v_hi_kind, v_from_head = v_hi_head,
        v_to_cur = v_lo_cur, v_to_bal = v_lo_bal, v_to_seq = v_lo_seq,
        v_to_kind = v_lo_kind, v_to_head = v_lo_head;
  END IF;

  -- Ownership is decided here, under the lock, not only at the edge: a
  -- client may debit only its own accounts (admin any); another client's
  -- sender is reported exactly like a missing one, so existence does not
  -- leak. Any account may be credited.
  IF v_from_cur IS NULL OR v_to_cur IS NULL
     OR (p_admin = 0 AND v_from_owner <> p_client) THEN
    ROLLBACK;
    SELECT 'account_not_found' AS outcome, NULL AS response_status,
           NULL AS response_location, NULL AS response_body,
           p_fp AS fingerprint, p_expires_at AS expires_at;
    LEAVE proc;
  END IF;
  IF v_from_cur <> p_currency OR v_to_cur <> p_currency THEN
    ROLLBACK;
    SELECT 'currency_mismatch' AS outcome, NULL AS response_status,
           NULL AS response_location, NULL AS response_body,
           p_fp AS fingerprint, p_expires_at AS expires_at;
    LEAVE proc;
  END IF;

  -- (d0) a balance would leave BIGINT (an issuance account's below its
  -- minimum, any account's above its maximum): decided, nothing written,
  -- the caller records the 422. DECIMAL arithmetic: no overflow here.
  IF CAST(v_to_bal AS DECIMAL(21)) + p_amount > 9223372036854775807
     OR CAST(v_from_bal AS DECIMAL(21)) - p_amount < -9223372036854775808
     OR CAST(v_from_held AS DECIMAL(21)) + p_amount > 9223372036854775807 THEN
    ROLLBACK;
    SELECT 'amount_too_large' AS outcome, NULL AS response_status,
           NULL AS response_location, NULL AS response_body,
           p_fp AS fingerprint, p_expires_at AS expires_at;
    LEAVE proc;
  END IF;

  -- (d1) the risk rules (doc/design.md, "Risk rules"), each NULL when it
  -- is off; p_risk_rule is one decided before the call (max_amount, the
  -- risk webhook). Velocity: the payments and holds the sender made in
  -- the last p_velocity_ms that were not declined, read under the
  -- sender's lock, so two payments of one account never both pass.
  -- Daily limit: the client's row of client_risk, locked after both
  -- accounts (the one lock taken after them: no cycle), holds what its
  -- accepted payments took today (UTC; a payment stamped before a day
  -- another already began counts toward that newer day).
  SET v_risk = p_risk_rule;
  IF v_risk IS NULL AND (p_velocity_count IS NOT NULL OR p_velocity_sum IS NOT NULL) THEN
    SELECT COUNT(*), IFNULL(SUM(amount), 0) INTO v_vcount, v_vsum
      FROM payments
     WHERE from_account_id = p_from AND status <> 'DECLINED'
       AND created_at > TIMESTAMPADD(MICROSECOND, -1000 * p_velocity_ms, p_created_at);
    IF p_velocity_count IS NOT NULL AND v_vcount >= p_velocity_count THEN
      SET v_risk = 'velocity_count';
    ELSEIF p_velocity_sum IS NOT NULL AND v_vsum + p_amount > p_velocity_sum THEN
      SET v_risk = 'velocity_sum';
    END IF;
  END IF;
  IF v_risk IS NULL AND p_daily_limit IS NOT NULL THEN
    SET v_today = DATE(p_created_at);
    CALL lf_client_day(p_client, p_currency, v_today, v_day, v_spent);
    IF v_spent + p_amount > p_daily_limit THEN
      SET v_risk = 'daily_limit';
    ELSE
      SET v_daily = 1;
    END IF;
  END IF;
  IF v_risk IS NOT NULL THEN
    INSERT INTO payments (id, client_id, idempotency_key, fingerprint,
                          from_account_id, to_account_id, amount, currency,
                          reference, status, decline_reason, created_at, metadata)
    VALUES (p_payment_id, p_client, p_key, p_fp, p_from, p_to, p_amount,
            p_currency, p_reference, 'DECLINED', 'risk_declined', p_created_at,
            p_metadata);
    IF v_dup THEN
      ROLLBACK;
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
        'lf_transfer: payment id or idempotency key already used by an earlier payment';
    END IF;
    UPDATE idempotency_keys
       SET response_status = 422, response_location = NULL,
           response_body = p_body_risk, payment_id = p_payment_id
     WHERE client_id = p_client AND idem_key = p_key;
    CALL lf_event_add(p_event_id, 'payment.declined', p_payment_id, p_client, p_from, p_to,
                      p_created_at, p_event_declined);
    COMMIT;
    -- the rule that declined it comes back in response_location
    SELECT 'risk_declined' AS outcome, 422 AS response_status,
           v_risk AS response_location, NULL AS response_body,
           p_fp AS fingerprint, p_expires_at AS expires_at;
    LEAVE proc;
  END IF;

  -- (d) insufficient funds: the available balance (balance - held) does
  -- not cover a payment or a new hold (only an issuance account may go
  -- negative): the decline is recorded and replayable.
  IF CAST(v_from_bal AS DECIMAL(21)) - v_from_held < p_amount AND v_from_kind <> 'ISSUANCE' THEN
    INSERT INTO payments (id, client_id, idempotency_key, fingerprint,
                          from_account_id, to_account_id, amount, currency,
                          reference, status, decline_reason, created_at, metadata)
    VALUES (p_payment_id, p_client, p_key, p_fp, p_from, p_to, p_amount,
            p_currency, p_reference, 'DECLINED', 'insufficient_funds', p_created_at,
            p_metadata);
    IF v_dup THEN
      ROLLBACK;
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
        'lf_transfer: payment id or idempotency key already used by an earlier payment';
    END IF;
    -- events hook: payment.declined
    UPDATE idempotency_keys
       SET response_status = 422, response_location = NULL,
           response_body = p_body_declined, payment_id = p_payment_id
     WHERE client_id = p_client AND idem_key = p_key;
    CALL lf_event_add(p_event_id, 'payment.declined', p_payment_id, p_client, p_from, p_to,
                      p_created_at, p_event_declined);
    COMMIT;
    SELECT 'declined' AS outcome, 422 AS response_status,
           NULL AS response_location, NULL AS response_body,
           p_fp AS fingerprint, p_expires_at AS expires_at;
    LEAVE proc;
  END IF;

  -- (d1') accepted: it counts toward the client's day
  IF v_daily THEN
    UPDATE client_risk SET day = v_day, spent = v_spent + p_amount
     WHERE client_id = p_client AND currency = p_currency;
  END IF;

  -- (d2) a hold: reserve the amount on the sender (held), move nothing.
  IF p_hold_expires IS NOT NULL THEN
    UPDATE accounts
       SET held = held + p_amount, version = version + 1,
           updated_at = GREATEST(updated_at, p_created_at)
     WHERE id = p_from;
    INSERT INTO payments (id, client_id, idempotency_key, fingerprint,
                          from_account_id, to_account_id, amount, currency,
                          reference, status, decline_reason, created_at, expires_at,
                          metadata)
    VALUES (p_payment_id, p_client, p_key, p_fp, p_from, p_to, p_amount,
            p_currency, p_reference, 'PENDING', NULL, p_created_at, p_hold_expires,
            p_metadata);
    IF v_dup THEN
      ROLLBACK;
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
        'lf_transfer: payment id or idempotency key already used by an earlier payment';
    END IF;
    UPDATE idempotency_keys
       SET response_status = 201, response_location = p_location,
           response_body = p_body_completed, payment_id = p_payment_id
     WHERE client_id = p_client AND idem_key = p_key;
    -- the 201 body of a hold is the payment PENDING
    CALL lf_event_add(p_event_id, 'payment.pending', p_payment_id, p_client, p_from, p_to,
                      p_created_at, p_body_completed);
    COMMIT;
    SELECT 'completed' AS outcome, 201 AS response_status,
           p_location AS response_location, NULL AS response_body,
           p_fp AS fingerprint, p_expires_at AS expires_at;
    LEAVE proc;
  END IF;

  -- (e) move the money; each entry extends its account's chain.
  SET v_debit_hash = lf_entry_hash(v_from_head, p_from, v_from_seq + 1, p_debit_id,
                                   p_payment_id, p_to, 'DEBIT', p_amount,
                                   v_from_bal - p_amount, p_created_at),
      v_credit_hash = lf_entry_hash(v_to_head, p_to, v_to_seq + 1, p_credit_id,
                                    p_payment_id, p_from, 'CREDIT', p_amount,
                                    v_to_bal + p_amount, p_created_at);
  UPDATE accounts
     SET balance = balance - p_amount, ledger_seq = ledger_seq + 1,
         chain_head = v_debit_hash,
         version = version + 1, updated_at = GREATEST(updated_at, p_created_at)
   WHERE id = p_from;
  UPDATE accounts
     SET balance = balance + p_amount, ledger_seq = ledger_seq + 1,
         chain_head = v_credit_hash,
         version = version + 1, updated_at = GREATEST(updated_at, p_created_at)
   WHERE id = p_to;
  INSERT INTO payments (id, client_id, idempotency_key, fingerprint,
                        from_account_id, to_account_id, amount, currency,
                        reference, status, decline_reason, created_at, metadata)
  VALUES (p_payment_id, p_client, p_key, p_fp, p_from, p_to, p_amount,
          p_currency, p_reference, 'COMPLETED', NULL, p_created_at, p_metadata);
  IF v_dup THEN
    -- The key's stored outcome was reaped but its payment remains.
    ROLLBACK;
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
      'lf_transfer: payment id or idempotency key already used by an earlier payment';
  END IF;
  INSERT INTO ledger_entries (account_id, seq, id, payment_id, counterparty_id,
                              direction, amount, balance_after, created_at, hash)
  VALUES (p_from, v_from_seq + 1, p_debit_id, p_payment_id, p_to, 'DEBIT',
          p_amount, v_from_bal - p_amount, p_created_at, v_debit_hash),
         (p_to, v_to_seq + 1, p_credit_id, p_payment_id, p_from, 'CREDIT',
          p_amount, v_to_bal + p_amount, p_created_at, v_credit_hash);
  IF v_dup THEN
    ROLLBACK;
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
      'lf_transfer: ledger entry id already used';
  END IF;
  -- events hook: payment.completed
  UPDATE idempotency_keys
     SET response_status = 201, response_location = p_location,
         response_body = p_body_completed, payment_id = p_payment_id
   WHERE client_id = p_client AND idem_key = p_key;
  CALL lf_event_add(p_event_id, 'payment.completed', p_payment_id, p_client, p_from, p_to,
                    p_created_at, p_body_completed);
  COMMIT;
  SELECT 'completed' AS outcome, 201 AS response_status,
         p_location AS response_location, NULL AS response_body,
         p_fp AS fingerprint, p_expires_at AS expires_at;
END;

-- lf_group_lock: begins a group's transaction by locking its accounts, for
-- a caller that expects them to move before it could lock them (an account
-- that every concurrent group debits: an unlocked read of it would be
-- stale by the time lf_transfer_group_v2 locks it, and the group decided
-- twice). p_ids: JSON array of the accounts' ids as 32 hex digits, in
-- ascending order (the lock order). Answers the rows of the accounts that
-- exist, locked, with the columns of the group's unlocked read; the
-- transaction stays open for lf_transfer_group_v2(2, ...) (or the caller's
-- ROLLBACK).
CREATE OR REPLACE PROCEDURE lf_group_lock(IN p_ids LONGTEXT CHARACTER SET ascii)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'locks the accounts of a group of payments and reads them'
BEGIN
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;
  SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
  START TRANSACTION;
  SELECT a.id, a.currency, a.owner_client_id, a.kind, a.balance, a.held, a.ledger_seq,
         a.chain_head
    FROM JSON_TABLE(p_ids, '$[*]' COLUMNS (
           id VARCHAR(32) CHARACTER SET ascii PATH '$')) j
    STRAIGHT_JOIN accounts a FORCE INDEX (PRIMARY) ON a.id = UNHEX(j.id)
     FOR UPDATE;
END;

-- Many payments decided in one transaction: the group commit (see
-- doc/design.md, "Group commit"). The caller has read the accounts
-- without a lock, decided every payment in arrival order against the
-- running balances with lf_transfer's rules, and computed each entry
-- (seq, balance after, hash); this procedure is the judge: it locks the
-- accounts, checks that they are as the caller saw them and that every
-- entry follows from them (sequence, arithmetic, hash chain, available
-- funds, ownership, currency), and then writes everything set-wise, a
-- fixed number of statements whatever the number of payments.
--
-- The fixed fields of an account or a payment travel as one string of
-- fixed width each (MariaDB's JSON_TABLE costs about a microsecond per
-- column and row; SUBSTRING is nearly free): numbers right-aligned in
-- their width (printf's %20lld: a BIGINT in 20; %10d for counts), ids and hashes
-- as lower-case hex, times as 'YYYY-MM-DD hh:mm:ss.fff' UTC (23), a field
-- that is absent as spaces. A string of another length is refused.
-- p_accounts: JSON array of strings (323 characters), in ascending id
-- order (the lock order), one per account the payments touch, the fields
-- one after the other:
--   id (32), b/h/s (20 each) and hd (64): balance, held, ledger_seq and
--   chain head as read; nb/ns (20 each) and nh (64): balance, seq and head
--   after the group; mv (10): entries added; la (23): the last entry's
--   created_at; nl (20): held after the group; hm (10): holds placed on it.
-- p_items: JSON array, in arrival order, one array per payment: [fixed,
-- key, reference, metadata, location] (reference and metadata null when
-- none), fixed a string of 578 characters:
--   c client (20), adm admin flag (1), fp fingerprint (64), id payment id
--   (32), f/t from/to (32 each), a amount (20), cur currency (3), at/exp
--   created_at/the key's expires_at (23 each), o outcome (1: 'c'
--   completed, 'h' a hold placed (PENDING), 'd' declined for insufficient
--   funds), ev the event id (32), hx a hold's expiry (23), then for a
--   completion dr/ds/db/dh and cr/cs/cb/ch: the debit's and the credit's
--   entry id (32), seq (20), balance after (20) and hash (64).
-- (lf_transfer_group in procedures_compat.sql takes the previous
-- release's JSON objects and calls this.)
-- p_bodies: JSON array, one object per item in the same order: b the
--   stored response (201 or 422 body), e the event's data when declined
--   (the payment DECLINED; a completion's is b). Apart from p_items so
--   that the statements that do not need them do not parse them.
-- p_continue: 0 begins the transaction (claims each key with its decided
-- outcome, locks the accounts); 1 continues the transaction a 'stale'
-- answer left open, with the payments decided again from the state it
-- returned (their outcomes are then written again); 2 continues the
-- transaction lf_group_lock began (the accounts locked and read there,
-- the payments decided from that): claims the keys, then as 0.
-- Answers rows (outcome, item, id, balance, held, seq, head):
--   'ok': committed.
--   'stale': an account changed since the caller read it: one row per
--     account with its locked state; the transaction stays open, the
--     caller decides again and calls with p_continue = 1 (or rolls back).
--   'conflict': a key is already known (stored, claimed and committed
--     meanwhile, or a payment under it): rolled back, one row per such
--     item (0-based); the caller decides those alone.
-- A check that fails raises an error (rolled back): the caller has a bug.
CREATE OR REPLACE PROCEDURE lf_transfer_group_v2(
  IN p_continue TINYINT,
  IN p_accounts LONGTEXT CHARACTER SET utf8mb4,
  IN p_items    LONGTEXT CHARACTER SET utf8mb4,
  IN p_bodies   LONGTEXT CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'many payments in one transaction (group commit), decided by the caller'
proc: BEGIN
  DECLARE v_dup TINYINT DEFAULT 0;
  DECLARE v_n, v_want, v_items, v_stale, v_bad, v_bad_h, v_bad_end INT DEFAULT 0;
  DECLARE CONTINUE HANDLER FOR 1062 SET v_dup = 1;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;

  -- The statements read the three JSON arguments from user variables, not
  -- from the parameters: MariaDB rewrites the text of every statement of a
  -- procedure that names a parameter, the parameter's whole value quoted
  -- in (NAME_CONST), and the binary log keeps that text beside the rows
  -- (binlog_annotate_row_events, on by default). Naming p_items in two
  -- statements and p_bodies in two or three made a group of 16 payments
  -- copy and escape ~50 KB and log ~30 KB of it as annotations: half the
  -- binary log's bytes, the bodies and metadata in it once more
  -- (performance.md, "The procedure's arguments"). A user variable is the
  -- session's (each pool connection its own), set here at every call.
  SET @lf_group_a = p_accounts, @lf_group_i = p_items, @lf_group_b = p_bodies;

  -- The fixed fields are parsed once, into three temporary tables of the
  -- session (created at its first call, emptied at each), binary and
  -- indexed: every statement below reads those. They are MEMORY tables:
  -- not transactional (a ROLLBACK leaves them as they are, and filling
  -- them costs no undo) and without files (an Aria table's file lives in
  -- tmpdir for the whole session, where a cleaner of /tmp can delete it:
  -- then every call of the session fails with 1017). The items' table
  -- keeps each completion's entries, and the entries' table is filled
  -- from it; what MEMORY cannot hold (the metadata, the bodies) is read
  -- from the JSON by the statements that write it. (lf_group_items3: a
  -- session that ran the previous release's body keeps its lf_group_items
  -- of another shape until it ends.)
  IF @lf_group_tables3 IS NULL THEN
    CREATE TEMPORARY TABLE IF NOT EXISTS lf_group_accounts (
      id  BINARY(16)  NOT NULL PRIMARY KEY,
      ord INT         NOT NULL,
      b   BIGINT      NOT NULL, h BIGINT NOT NULL, s BIGINT NOT NULL, hd BINARY(32) NOT NULL,
      nb  BIGINT      NOT NULL, ns BIGINT NOT NULL, nh BINARY(32) NOT NULL, mv INT NOT NULL,
      la  DATETIME(3) NOT NULL,
      nl  BIGINT      NOT NULL, hm INT NOT NULL
    ) ENGINE=MEMORY;
    CREATE TEMPORARY TABLE IF NOT EXISTS lf_group_items3 (
      idx  INT             NOT NULL,
      c    BIGINT UNSIGNED NOT NULL,
      adm  TINYINT         NOT NULL,
      k    VARBINARY(255)  NOT NULL,
      fp   BINARY(32)      NOT NULL,
      id   BINARY(16)      NOT NULL,
      f    BINARY(16)      NOT NULL,
      t    BINARY(16)      NOT NULL,
      a    BIGINT          NOT NULL,
      cur  CHAR(3)         CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
      ref  VARCHAR(200)    CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
      at   DATETIME(3)     NOT NULL,
      exp  DATETIME(3)     NOT NULL,
      o    CHAR(1)         CHARACTER SET ascii NOT NULL,
      loc  VARCHAR(128)    CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
      ev   BINARY(16)      NOT NULL,
      hx   DATETIME(3)     NULL,
      dr   BINARY(16)      NULL, ds BIGINT NULL, db BIGINT NULL, dh BINARY(32) NULL,
      cr   BINARY(16)      NULL, cs BIGINT NULL, cb BIGINT NULL, ch BINARY(32) NULL,
      PRIMARY KEY (idx) USING BTREE
    ) ENGINE=MEMORY;
    CREATE TEMPORARY TABLE IF NOT EXISTS lf_group_entries (
      acc BINARY(16)      NOT NULL,
      s   BIGINT          NOT NULL,
      x   INT             NOT NULL,
      eid BINARY(16)      NOT NULL,
      pay BINARY(16)      NOT NULL,
      cp  BINARY(16)      NOT NULL,
      d   VARCHAR(6)      CHARACTER SET ascii NOT NULL,
      m   BIGINT          NOT NULL,
      b   BIGINT          NOT NULL,
      at  DATETIME(3)     NOT NULL,
      h   BINARY(32)      NOT NULL,
      c   BIGINT UNSIGNED NOT NULL,
      adm TINYINT         NOT NULL,
      cur CHAR(3)         CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
      PRIMARY KEY (acc, s) USING BTREE
    ) ENGINE=MEMORY;
    SET @lf_group_tables3 = 1;
  END IF;
  -- (the 'conflict' answer reads them after its ROLLBACK)
  DELETE FROM lf_group_accounts;
  DELETE FROM lf_group_items3;
  DELETE FROM lf_group_entries;
  INSERT INTO lf_group_accounts (id, ord, b, h, s, hd, nb, ns, nh, mv, la, nl, hm)
  SELECT UNHEX(IF(LENGTH(j.r) = 323, SUBSTRING(j.r, 1, 32), NULL)), j.ord,
         CAST(SUBSTRING(j.r, 33, 20) AS SIGNED), CAST(SUBSTRING(j.r, 53, 20) AS SIGNED),
         CAST(SUBSTRING(j.r, 73, 20) AS SIGNED), UNHEX(SUBSTRING(j.r, 93, 64)),
         CAST(SUBSTRING(j.r, 157, 20) AS SIGNED), CAST(SUBSTRING(j.r, 177, 20) AS SIGNED),
         UNHEX(SUBSTRING(j.r, 197, 64)), CAST(SUBSTRING(j.r, 261, 10) AS SIGNED),
         CAST(SUBSTRING(j.r, 271, 23) AS DATETIME(3)), CAST(SUBSTRING(j.r, 294, 20) AS SIGNED),
         CAST(SUBSTRING(j.r, 314, 10) AS SIGNED)
    FROM JSON_TABLE(@lf_group_a, '$[*]' COLUMNS (
           ord FOR ORDINALITY,
           r   VARCHAR(400) CHARACTER SET ascii PATH '$')) j;
  SET v_want = ROW_COUNT();
  INSERT INTO lf_group_items3 (idx, c, adm, k, fp, id, f, t, a, cur, ref, at, exp, o, loc,
                               ev, hx, dr, ds, db, dh, cr, cs, cb, ch)
  SELECT i.idx, CAST(SUBSTRING(i.r, 1, 20) AS UNSIGNED), CAST(SUBSTRING(i.r, 21, 1) AS SIGNED),
         CAST(i.k AS BINARY), UNHEX(SUBSTRING(i.r, 22, 64)),
         UNHEX(IF(LENGTH(i.r) = 578, SUBSTRING(i.r, 86, 32), NULL)),
         UNHEX(SUBSTRING(i.r, 118, 32)), UNHEX(SUBSTRING(i.r, 150, 32)),
         CAST(SUBSTRING(i.r, 182, 20) AS SIGNED), SUBSTRING(i.r, 202, 3), i.ref,
         CAST(SUBSTRING(i.r, 205, 23) AS DATETIME(3)),
         CAST(SUBSTRING(i.r, 228, 23) AS DATETIME(3)), SUBSTRING(i.r, 251, 1), i.loc,
         UNHEX(SUBSTRING(i.r, 252, 32)),
         CAST(NULLIF(TRIM(SUBSTRING(i.r, 284, 23)), '') AS DATETIME(3)),
         UNHEX(NULLIF(TRIM(SUBSTRING(i.r, 307, 32)), '')),
         CAST(NULLIF(TRIM(SUBSTRING(i.r, 339, 20)), '') AS SIGNED),
         CAST(NULLIF(TRIM(SUBSTRING(i.r, 359, 20)), '') AS SIGNED),
         UNHEX(NULLIF(TRIM(SUBSTRING(i.r, 379, 64)), '')),
         UNHEX(NULLIF(TRIM(SUBSTRING(i.r, 443, 32)), '')),
         CAST(NULLIF(TRIM(SUBSTRING(i.r, 475, 20)), '') AS SIGNED),
         CAST(NULLIF(TRIM(SUBSTRING(i.r, 495, 20)), '') AS SIGNED),
         UNHEX(NULLIF(TRIM(SUBSTRING(i.r, 515, 64)), ''))
    FROM JSON_TABLE(@lf_group_i, '$[*]' COLUMNS (
           idx FOR ORDINALITY,
           r   VARCHAR(600) CHARACTER SET ascii PATH '$[0]',
           k   VARCHAR(255) CHARACTER SET utf8mb4 PATH '$[1]',
           ref VARCHAR(200) CHARACTER SET utf8mb4 PATH '$[2]',
           loc VARCHAR(128) CHARACTER SET utf8mb4 PATH '$[4]')) i;
  SET v_items = ROW_COUNT();
  -- each completion's two entries (each item twice: side 0 its debit,
  -- side 1 its credit)
  INSERT INTO lf_group_entries (acc, s, x, eid, pay, cp, d, m, b, at, h, c, adm, cur)
  SELECT IF(sd.side = 0, e.f, e.t), IF(sd.side = 0, e.ds, e.cs), e.idx,
         IF(sd.side = 0, e.dr, e.cr), e.id, IF(sd.side = 0, e.t, e.f),
         IF(sd.side = 0, 'DEBIT', 'CREDIT'), e.a, IF(sd.side = 0, e.db, e.cb), e.at,
         IF(sd.side = 0, e.dh, e.ch), e.c, IF(sd.side = 0, e.adm, 1), e.cur
    FROM lf_group_items3 e
    JOIN (SELECT 0 AS side UNION ALL SELECT 1) sd
   WHERE e.o = 'c';

  IF p_continue NOT IN (0, 1, 2) OR (p_continue <> 0 AND @@in_transaction = 0) THEN
    -- nothing to continue: the statements below would each commit alone
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
      'lf_transfer_group_v2: p_continue without the transaction it continues';
  END IF;
  IF p_continue <> 1 THEN
    IF p_continue = 0 THEN
      SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
      START TRANSACTION;
    END IF;
    -- (a) claim the keys first, like lf_transfer (a concurrent duplicate
    -- waits for us, then fails with 1062 and replays our outcome), each
    -- with the outcome decided for it
    INSERT INTO idempotency_keys (client_id, idem_key, fingerprint, response_status,
                                  response_location, response_body, payment_id,
                                  created_at, expires_at)
    SELECT i.c, i.k, i.fp, IF(i.o = 'd', 422, 201), IF(i.o = 'd', NULL, i.loc),
           CAST(x.b AS BINARY), i.id, i.at, i.exp
      FROM lf_group_items3 i
      JOIN JSON_TABLE(@lf_group_b, '$[*]' COLUMNS (
             idx FOR ORDINALITY,
             b   MEDIUMTEXT CHARACTER SET utf8mb4 PATH '$.b')) x ON x.idx = i.idx
     ORDER BY i.idx;
    IF NOT v_dup AND ROW_COUNT() <> v_items THEN
      ROLLBACK;
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lf_transfer_group_v2: a body is missing';
    END IF;
    IF v_dup THEN
      ROLLBACK;
      SELECT 'conflict' AS outcome, i.idx - 1 AS item, NULL AS id, NULL AS balance,
             NULL AS held, NULL AS seq, NULL AS head
        FROM lf_group_items3 i
       WHERE EXISTS (SELECT 1 FROM idempotency_keys x
                      WHERE x.client_id = i.c AND x.idem_key = i.k)
          OR EXISTS (SELECT 1 FROM payments x
                      WHERE x.client_id = i.c AND x.idempotency_key = i.k);
      LEAVE proc;
    END IF;
  END IF;

  -- (b) lock every account once, in ascending id order (the table's
  -- primary key order, driven by it), and compare with what the caller read
  SELECT COUNT(*),
         IFNULL(SUM(NOT (a.balance = j.b AND a.held = j.h AND a.ledger_seq = j.s
                         AND a.chain_head = j.hd)), 0)
    INTO v_n, v_stale
    FROM lf_group_accounts j FORCE INDEX (PRIMARY)
    STRAIGHT_JOIN accounts a FORCE INDEX (PRIMARY) ON a.id = j.id
     FOR UPDATE;
  IF v_n <> v_want THEN
    ROLLBACK;
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lf_transfer_group_v2: an account is missing';
  END IF;
  IF v_stale > 0 THEN
    IF p_continue <> 0 THEN
      ROLLBACK;
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
        'lf_transfer_group_v2: decided again from a state that is not the locked one';
    END IF;
    SELECT 'stale' AS outcome, NULL AS item, a.id, a.balance, a.held, a.ledger_seq AS seq,
           a.chain_head AS head
      FROM lf_group_accounts j STRAIGHT_JOIN accounts a FORCE INDEX (PRIMARY) ON a.id = j.id
     ORDER BY j.id;
    LEAVE proc;
  END IF;

  -- (c) the judge, one statement with three counts:
  -- v_bad: every entry follows from the locked state or from the entry
  -- before it in the group (LAG over the account's entries by seq); every
  -- completion debits an account the client may debit, in the payment's
  -- currency, within its available balance (issuance accounts excepted);
  -- v_bad_h: holds and declines: what was available to the sender at that
  -- point (its balance after its last entry before it, or as locked, less
  -- what was held then: as locked plus the group's earlier holds) covers a
  -- hold and does not cover a decline; a hold's sender is the client's (or
  -- admin), both accounts in its currency; each account's held after the
  -- group is what it was plus the group's holds on it;
  -- (an account's hm, the holds the group places on it, skips the sums of
  -- its earlier holds when it has none: v_bad_h refuses an hm that is not
  -- the number of its holds)
  -- v_bad_end: each account moved ends at its last entry (seq ns = s + mv,
  -- an entry there): with the checks of v_bad (from seq s + 1 on, one
  -- after the other, none past ns) its entries are exactly s + 1 .. ns;
  -- and both accounts of every payment are among the accounts (locked,
  -- judged and written above: none escapes the checks)
  SELECT
    (SELECT COUNT(*)
       FROM (SELECT e.*, LAG(e.s) OVER w AS ps, LAG(e.b) OVER w AS pb, LAG(e.h) OVER w AS ph
               FROM lf_group_entries e
             WINDOW w AS (PARTITION BY e.acc ORDER BY e.s)) e
       JOIN lf_group_accounts j ON j.id = e.acc
       JOIN accounts a FORCE INDEX (PRIMARY) ON a.id = e.acc
      WHERE NOT (
        e.m > 0 AND e.s > j.s AND e.s <= j.ns AND a.currency = e.cur
        AND (e.d = 'CREDIT' OR e.adm = 1 OR a.owner_client_id = e.c)
        AND (e.d = 'CREDIT' OR a.kind = 'ISSUANCE'
             OR e.b - a.held - IF(j.hm = 0, 0,
                                  IFNULL((SELECT SUM(x.a) FROM lf_group_items3 x
                                           WHERE x.o = 'h' AND x.f = e.acc AND x.idx < e.x), 0))
                >= 0)
        AND e.s = IFNULL(e.ps, j.s) + 1
        AND e.b = IFNULL(e.pb, j.b) + IF(e.d = 'DEBIT', -e.m, e.m)
        AND e.h = UNHEX(SHA2(CONCAT(IFNULL(e.ph, j.hd),
              CAST(CONCAT_WS('|', 'lf1', LOWER(HEX(e.acc)), e.s, LOWER(HEX(e.eid)),
                             LOWER(HEX(e.pay)), LOWER(HEX(e.cp)), e.d, e.m, e.b,
                             DATE_FORMAT(e.at, '%Y-%m-%d %H:%i:%s.%f')) AS BINARY)), 256)))),
    (SELECT COUNT(*)
       FROM (SELECT i.*, j.b AS jb, j.h AS jh, a.kind AS kind, a.owner_client_id AS owner,
                    a.currency AS fcur,
                    IFNULL((SELECT e.b FROM lf_group_entries e
                             WHERE e.acc = i.f AND e.x < i.idx ORDER BY e.s DESC LIMIT 1), j.b)
                    - j.h - IF(j.hm = 0, 0,
                               IFNULL((SELECT SUM(x.a) FROM lf_group_items3 x
                                        WHERE x.o = 'h' AND x.f = i.f AND x.idx < i.idx), 0))
                    AS avail
               FROM lf_group_items3 i
               JOIN lf_group_accounts j ON j.id = i.f
               JOIN accounts a FORCE INDEX (PRIMARY) ON a.id = i.f
              WHERE i.o IN ('h', 'd')) i
       JOIN accounts t FORCE INDEX (PRIMARY) ON t.id = i.t
      WHERE NOT (i.a > 0 AND i.fcur = i.cur AND t.currency = i.cur
                 AND (i.adm = 1 OR i.owner = i.c)
                 AND IF(i.o = 'h', i.hx IS NOT NULL AND (i.kind = 'ISSUANCE' OR i.avail >= i.a),
                        i.kind <> 'ISSUANCE' AND i.avail < i.a)))
    + (SELECT COUNT(*)
         FROM lf_group_accounts j
         LEFT JOIN (SELECT x.f, SUM(x.a) AS sa, COUNT(*) AS n FROM lf_group_items3 x
                     WHERE x.o = 'h' GROUP BY x.f) x ON x.f = j.id
        WHERE j.nl <> j.h + IFNULL(x.sa, 0) OR j.hm <> IFNULL(x.n, 0)),
    (SELECT COUNT(*)
       FROM lf_group_accounts j
      WHERE j.mv > 0
        AND (j.ns <> j.s + j.mv
             OR NOT EXISTS (SELECT 1 FROM lf_group_entries e WHERE e.acc = j.id AND e.s = j.ns)))
    + (SELECT COUNT(*)
         FROM lf_group_items3 i
        WHERE NOT EXISTS (SELECT 1 FROM lf_group_accounts j WHERE j.id = i.f)
           OR NOT EXISTS (SELECT 1 FROM lf_group_accounts j WHERE j.id = i.t))
    INTO v_bad, v_bad_h, v_bad_end;
  IF v_bad > 0 THEN
    ROLLBACK;
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lf_transfer_group_v2: an entry does not follow';
  END IF;
  IF v_bad_h > 0 THEN
    ROLLBACK;
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
      'lf_transfer_group_v2: a hold or a decline does not follow';
  END IF;
  IF v_bad_end > 0 THEN
    ROLLBACK;
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
      'lf_transfer_group_v2: an account does not end at its last entry or is not listed';
  END IF;

  -- (e) write it all: payments, entries, each balance once, the events
  -- (the outbox, in arrival order)
  INSERT INTO payments (id, client_id, idempotency_key, fingerprint, from_account_id,
                        to_account_id, amount, currency, reference, status, decline_reason,
                        created_at, expires_at, metadata)
  SELECT i.id, i.c, i.k, i.fp, i.f, i.t, i.a, i.cur, i.ref,
         CASE i.o WHEN 'c' THEN 'COMPLETED' WHEN 'h' THEN 'PENDING' ELSE 'DECLINED' END,
         IF(i.o = 'd', 'insufficient_funds', NULL), i.at, i.hx, m.md
    FROM lf_group_items3 i
    JOIN JSON_TABLE(@lf_group_i, '$[*]' COLUMNS (
           idx FOR ORDINALITY,
           md  MEDIUMTEXT CHARACTER SET utf8mb4 PATH '$[3]')) m ON m.idx = i.idx
   ORDER BY i.idx;
  IF v_dup THEN
    -- a payment under a key whose stored outcome was reaped
    ROLLBACK;
    SELECT 'conflict' AS outcome, i.idx - 1 AS item, NULL AS id, NULL AS balance,
           NULL AS held, NULL AS seq, NULL AS head
      FROM lf_group_items3 i
     WHERE EXISTS (SELECT 1 FROM payments x
                    WHERE x.client_id = i.c AND x.idempotency_key = i.k);
    LEAVE proc;
  END IF;
  INSERT INTO ledger_entries (account_id, seq, id, payment_id, counterparty_id, direction,
                              amount, balance_after, created_at, hash)
  SELECT acc, s, eid, pay, cp, d, m, b, at, h FROM lf_group_entries ORDER BY x, d DESC;
  IF v_dup THEN
    ROLLBACK;
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lf_transfer_group_v2: ledger entry already used';
  END IF;
  -- each account once: one moved ends at its last entry (seq ns, checked
  -- by the judge), one a hold was placed on gets its held after the group
  UPDATE accounts a FORCE INDEX (PRIMARY)
    JOIN lf_group_accounts j ON a.id = j.id
    LEFT JOIN lf_group_entries e ON e.acc = j.id AND e.s = j.ns AND j.mv > 0
     SET a.balance = IF(j.mv > 0, e.b, a.balance),
         a.ledger_seq = IF(j.mv > 0, e.s, a.ledger_seq),
         a.chain_head = IF(j.mv > 0, e.h, a.chain_head),
         a.held = IF(j.hm > 0, j.nl, a.held),
         a.version = a.version + j.mv + j.hm,
         a.updated_at = GREATEST(a.updated_at, IF(j.mv > 0, j.la, a.updated_at),
                                 IF(j.hm > 0,
                                    IFNULL((SELECT MAX(x.at) FROM lf_group_items3 x
                                             WHERE x.o = 'h' AND x.f = j.id), a.updated_at),
                                    a.updated_at))
   WHERE j.mv > 0 OR j.hm > 0;
  IF p_continue = 1 THEN
    -- decided again after 'stale': the outcomes as they are now
    UPDATE idempotency_keys k JOIN lf_group_items3 i ON k.client_id = i.c AND k.idem_key = i.k
      JOIN JSON_TABLE(@lf_group_b, '$[*]' COLUMNS (
             idx FOR ORDINALITY,
             b   MEDIUMTEXT CHARACTER SET utf8mb4 PATH '$.b')) x ON x.idx = i.idx
       SET k.response_status = IF(i.o = 'd', 422, 201),
           k.response_location = IF(i.o = 'd', NULL, i.loc),
           k.response_body = CAST(x.b AS BINARY);
  END IF;
  INSERT INTO events (id, type, object_id, client_id, account_id, account2_id, created_at,
                      data)
  SELECT i.ev,
         CASE i.o WHEN 'c' THEN 'payment.completed' WHEN 'h' THEN 'payment.pending'
                  ELSE 'payment.declined' END,
         i.id, i.c, i.f, i.t, i.at, CAST(IF(i.o = 'd', x.e, x.b) AS BINARY)
    FROM lf_group_items3 i
    JOIN JSON_TABLE(@lf_group_b, '$[*]' COLUMNS (
           idx FOR ORDINALITY,
           b   MEDIUMTEXT CHARACTER SET utf8mb4 PATH '$.b',
           e   MEDIUMTEXT CHARACTER SET utf8mb4 PATH '$.e')) x ON x.idx = i.idx
   ORDER BY i.idx;
  IF NOT v_dup AND ROW_COUNT() <> v_items THEN
    ROLLBACK;
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lf_transfer_group_v2: a body is missing';
  END IF;
  IF v_dup THEN
    ROLLBACK;
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lf_transfer_group_v2: event id already used';
  END IF;
  COMMIT;
  SELECT 'ok' AS outcome, NULL AS item, NULL AS id, NULL AS balance, NULL AS held,
         NULL AS seq, NULL AS head;
END;


-- Store an outcome that moved no money (a 422 decided outside lf_transfer).
CREATE OR REPLACE PROCEDURE lf_record_outcome(
  IN p_client     BIGINT UNSIGNED,
  IN p_key        VARBINARY(255),
  IN p_fp         BINARY(32),
  IN p_status     SMALLINT,
  IN p_location   VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_body       MEDIUMBLOB,
  IN p_created_at DATETIME(3),
  IN p_expires_at DATETIME(3))
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'store a decided outcome with its key, or replay the stored one'
proc: BEGIN
  DECLARE v_dup TINYINT DEFAULT 0;
  DECLARE CONTINUE HANDLER FOR 1062 SET v_dup = 1;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;

  IF p_status IS NULL OR p_status <= 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lf_record_outcome: status must be > 0';
  END IF;
  IF EXISTS (SELECT 1 FROM idempotency_keys
             WHERE client_id = p_client AND idem_key = p_key) THEN
    SELECT 'replay' AS outcome, response_status, response_location,
           response_body, fingerprint, expires_at
      FROM idempotency_keys WHERE client_id = p_client AND idem_key = p_key;
    LEAVE proc;
  END IF;

  SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
  START TRANSACTION;
  INSERT INTO idempotency_keys (client_id, idem_key, fingerprint, response_status,
                                response_location, response_body, payment_id,
                                created_at, expires_at)
  VALUES (p_client, p_key, p_fp, p_status, p_location, COALESCE(p_body, ''),
          NULL, p_created_at, p_expires_at);
  IF v_dup THEN
    ROLLBACK;
    SELECT 'replay' AS outcome, response_status, response_location,
           response_body, fingerprint, expires_at
      FROM idempotency_keys WHERE client_id = p_client AND idem_key = p_key;
    LEAVE proc;
  END IF;
  COMMIT;
  SELECT 'stored' AS outcome, p_status AS response_status,
         p_location AS response_location, NULL AS response_body,
         p_fp AS fingerprint, p_expires_at AS expires_at;
END;

-- Open an account; an initial balance > 0 is a transfer from the
-- currency's issuance account: an opening CREDIT on the new account (seq 1,
-- payment_id NULL, counterparty the issuance account) and a DEBIT on the
-- issuance account (payment_id NULL, counterparty the new account), both
-- hash-chained, the two rows locked in ascending id order (the new one is
-- locked by its INSERT). So the balance is always the sum of entries and
-- every currency's balances sum to 0. p_key NULL: no Idempotency-Key.
-- 'exists' (id taken) and 'amount_too_large' (the issuance balance would
-- leave BIGINT) store nothing.
CREATE OR REPLACE PROCEDURE lf_create_account(
  IN p_client     BIGINT UNSIGNED,
  IN p_key        VARBINARY(255),
  IN p_fp         BINARY(32),
  IN p_id         BINARY(16),
  IN p_name       VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_currency   CHAR(3) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_initial    BIGINT,
  IN p_entry_id   BINARY(16),
  IN p_created_at DATETIME(3),
  IN p_expires_at DATETIME(3),
  IN p_body       MEDIUMBLOB,
  IN p_location   VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_issue_entry_id BINARY(16),
  IN p_metadata   MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_event_id   BINARY(16))
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'open an account with its opening transfer from issuance, and its event'
proc: BEGIN
  DECLARE v_dup TINYINT DEFAULT 0;
  DECLARE v_iss BINARY(16) DEFAULT NULL;
  DECLARE v_iss_bal, v_iss_seq BIGINT DEFAULT NULL;
  DECLARE v_iss_head, v_credit_hash, v_debit_hash BINARY(32) DEFAULT NULL;
  DECLARE v_zero BINARY(32) DEFAULT x'0000000000000000000000000000000000000000000000000000000000000000';
  DECLARE CONTINUE HANDLER FOR 1062 SET v_dup = 1;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;

  IF p_initial IS NULL OR p_initial < 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lf_create_account: initial balance must be >= 0';
  END IF;
  IF p_key IS NOT NULL AND EXISTS (SELECT 1 FROM idempotency_keys
                                   WHERE client_id = p_client AND idem_key = p_key) THEN
    SELECT 'replay' AS outcome, response_status, response_location,
           response_body, fingerprint, expires_at
      FROM idempotency_keys WHERE client_id = p_client AND idem_key = p_key;
    LEAVE proc;
  END IF;
  SELECT issuance_account_id INTO v_iss FROM currencies WHERE code = p_currency;
  IF v_iss IS NULL THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lf_create_account: currency not in the currencies table';
  END IF;

  SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
  START TRANSACTION;
  IF p_key IS NOT NULL THEN
    INSERT INTO idempotency_keys (client_id, idem_key, fingerprint, response_status,
                                  response_location, response_body, payment_id,
                                  created_at, expires_at)
    VALUES (p_client, p_key, p_fp, 0, NULL, '', NULL, p_created_at, p_expires_at);
    IF v_dup THEN
      ROLLBACK;
      SELECT 'replay' AS outcome, response_status, response_location,
             response_body, fingerprint, expires_at
        FROM idempotency_keys WHERE client_id = p_client AND idem_key = p_key;
      LEAVE proc;
    END IF;
  END IF;

  -- ascending id order: the issuance row first when its id is the lower
  -- (always, for the built-in ids 00000000-0000-8000-8000-...)
  IF p_initial > 0 AND v_iss < p_id THEN
    SELECT balance, ledger_seq, chain_head INTO v_iss_bal, v_iss_seq, v_iss_head
      FROM accounts WHERE id = v_iss FOR UPDATE;
  END IF;

  -- the account belongs to the client that creates it
  SET v_credit_hash = IF(p_initial > 0,
        lf_entry_hash(v_zero, p_id, 1, p_entry_id, NULL, v_iss, 'CREDIT', p_initial,
                      p_initial, p_created_at), v_zero);
  INSERT INTO accounts (id, name, currency, kind, balance, ledger_seq, chain_head,
                        version, created_at, updated_at, owner_client_id, metadata)
  VALUES (p_id, p_name, p_currency, 'STANDARD', p_initial, IF(p_initial > 0, 1, 0),
          v_credit_hash, 0, p_created_at, p_created_at, p_client, p_metadata);
  IF v_dup THEN
    ROLLBACK;
    SELECT 'exists' AS outcome, NULL AS response_status,
           NULL AS response_location, NULL AS response_body,
           p_fp AS fingerprint, p_expires_at AS expires_at;
    LEAVE proc;
  END IF;

  IF p_initial > 0 THEN
    IF v_iss_bal IS NULL THEN
      SELECT balance, ledger_seq, chain_head INTO v_iss_bal, v_iss_seq, v_iss_head
        FROM accounts WHERE id = v_iss FOR UPDATE;
    END IF;
    IF CAST(v_iss_bal AS DECIMAL(21)) - p_initial < -9223372036854775808 THEN
      ROLLBACK;
      SELECT 'amount_too_large' AS outcome, NULL AS response_status,
             NULL AS response_location, NULL AS response_body,
             p_fp AS fingerprint, p_expires_at AS expires_at;
      LEAVE proc;
    END IF;
    SET v_debit_hash = lf_entry_hash(v_iss_head, v_iss, v_iss_seq + 1, p_issue_entry_id,
                                     NULL, p_id, 'DEBIT', p_initial, v_iss_bal - p_initial,
                                     p_created_at);
    UPDATE accounts
       SET balance = balance - p_initial, ledger_seq = ledger_seq + 1,
           chain_head = v_debit_hash, version = version + 1,
           updated_at = GREATEST(updated_at, p_created_at)
     WHERE id = v_iss;
    INSERT INTO ledger_entries (account_id, seq, id, payment_id, counterparty_id, direction,
                                amount, balance_after, created_at, hash)
    VALUES (p_id, 1, p_entry_id, NULL, v_iss, 'CREDIT', p_initial, p_initial,
            p_created_at, v_credit_hash),
           (v_iss, v_iss_seq + 1, p_issue_entry_id, NULL, p_id, 'DEBIT', p_initial,
            v_iss_bal - p_initial, p_created_at, v_debit_hash);
    IF v_dup THEN
      ROLLBACK;
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lf_create_account: ledger entry id already used';
    END IF;
  END IF;

  -- events hook: account.created
  IF p_key IS NOT NULL THEN
    UPDATE idempotency_keys
       SET response_status = 201, response_location = p_location,
           response_body = COALESCE(p_body, '')
     WHERE client_id = p_client AND idem_key = p_key;
  END IF;
  CALL lf_event_add(p_event_id, 'account.created', p_id, p_client, p_id, NULL, p_created_at,
                    p_body);
  COMMIT;
  SELECT 'created' AS outcome, 201 AS response_status,
         p_location AS response_location, NULL AS response_body,
         p_fp AS fingerprint, p_expires_at AS expires_at;
END;

-- The stored outcome of a key: zero or one row.
CREATE OR REPLACE PROCEDURE lf_get_outcome(
  IN p_client BIGINT UNSIGNED,
  IN p_key    VARBINARY(255))
  READS SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'the stored outcome of an idempotency key'
BEGIN
  SELECT response_status, response_location, response_body, fingerprint, expires_at
    FROM idempotency_keys
   WHERE client_id = p_client AND idem_key = p_key AND response_status <> 0;
END;

-- ---- events and webhooks (008_events.sql) ----

-- Give the committed events without a seq the next numbers, in insert
-- order, at most p_max of them; returns (sequenced, last_seq). One
-- sequencer at a time: the others see event_sequence locked and leave at
-- once (SKIP LOCKED) - the running one numbers what they would have. An
-- event still uncommitted is not numbered now (the UPDATE skips it or
-- waits for its COMMIT, both fine): it gets a larger seq at a later call,
-- so a reader that pages by seq never skips it. Called by GET /api/events
-- before it reads and by the delivery process every round.
CREATE OR REPLACE PROCEDURE lf_events_sequence(IN p_max INT)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'commit order: number the committed events'
proc: BEGIN
  DECLARE v_last BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_n BIGINT DEFAULT 0;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_last = NULL;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;
  IF NOT EXISTS (SELECT 1 FROM events WHERE seq IS NULL) THEN
    SELECT 0 AS sequenced, (SELECT last_seq FROM event_sequence WHERE id = 1) AS last_seq;
    LEAVE proc;
  END IF;
  SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
  START TRANSACTION;
  SELECT last_seq INTO v_last FROM event_sequence WHERE id = 1 FOR UPDATE SKIP LOCKED;
  IF v_last IS NULL THEN
    ROLLBACK;
    SELECT 0 AS sequenced, NULL AS last_seq;
    LEAVE proc;
  END IF;
  SET @lf_seq = v_last;
  UPDATE events SET seq = (@lf_seq := @lf_seq + 1)
   WHERE seq IS NULL ORDER BY pos LIMIT p_max;
  SET v_n = @lf_seq - v_last;
  UPDATE event_sequence SET last_seq = @lf_seq WHERE id = 1;
  COMMIT;
  SELECT v_n AS sequenced, @lf_seq AS last_seq;
END;

-- Queue for one webhook the events after its cursor_seq that it takes
-- (its types; its client's, or every client's when client_id is NULL),
-- looking at most p_max events, and move the cursor past what it looked
-- at; returns (queued, cursor_seq). A removed webhook queues nothing.
CREATE OR REPLACE PROCEDURE lf_webhook_enqueue(
  IN p_webhook BINARY(16),
  IN p_max     INT,
  IN p_now     DATETIME(3))
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'queue the new events a webhook takes'
proc: BEGIN
  DECLARE v_cursor, v_to BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_types VARCHAR(512) CHARACTER SET ascii DEFAULT NULL;
  DECLARE v_client BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_n BIGINT DEFAULT 0;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_cursor = NULL;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;
  SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
  START TRANSACTION;
  SELECT cursor_seq, event_types, client_id INTO v_cursor, v_types, v_client
    FROM webhooks WHERE id = p_webhook AND removed_at IS NULL FOR UPDATE;
  IF v_cursor IS NULL THEN
    ROLLBACK;
    SELECT 0 AS queued, NULL AS cursor_seq;
    LEAVE proc;
  END IF;
  SELECT MAX(seq) INTO v_to
    FROM (SELECT seq FROM events WHERE seq > v_cursor ORDER BY seq LIMIT p_max) x;
  IF v_to IS NULL THEN
    ROLLBACK;
    SELECT 0 AS queued, v_cursor AS cursor_seq;
    LEAVE proc;
  END IF;
  INSERT IGNORE INTO webhook_deliveries (webhook_id, seq, state, attempts, next_at)
  SELECT p_webhook, seq, 'pending', 0, p_now
    FROM events
   WHERE seq > v_cursor AND seq <= v_to
     AND FIND_IN_SET(type, v_types) > 0
     AND (v_client IS NULL OR client_id = v_client)
   ORDER BY seq;
  SET v_n = ROW_COUNT();
  UPDATE webhooks SET cursor_seq = v_to WHERE id = p_webhook;
  COMMIT;
  SELECT v_n AS queued, v_to AS cursor_seq;
END;

-- The result of one delivery attempt: delivered (a 2xx) deletes the row;
-- otherwise the attempt is counted, the next one set at p_next_at, and
-- with p_give_up (past [webhooks] max_age) the row is kept as 'failed'
-- and no longer holds back the events after it. Returns (changed).
CREATE OR REPLACE PROCEDURE lf_webhook_result(
  IN p_webhook   BINARY(16),
  IN p_seq       BIGINT UNSIGNED,
  IN p_delivered TINYINT,
  IN p_status    SMALLINT,
  IN p_next_at   DATETIME(3),
  IN p_give_up   TINYINT)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'record a webhook delivery attempt'
BEGIN
  IF p_delivered THEN
    DELETE FROM webhook_deliveries WHERE webhook_id = p_webhook AND seq = p_seq;
  ELSE
    UPDATE webhook_deliveries
       SET attempts = attempts + 1, last_status = p_status, next_at = p_next_at,
           state = IF(p_give_up, 'failed', 'pending')
     WHERE webhook_id = p_webhook AND seq = p_seq AND state = 'pending';
  END IF;
  SELECT ROW_COUNT() AS changed;
END;
