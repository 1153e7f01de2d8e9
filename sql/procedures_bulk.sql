-- procedures_bulk.sql - POST /api/payments/batch with "atomic": true: the
-- whole batch in one CALL, one transaction (src/api/bulk_decide.c). A
-- repeatable file like procedures.sql (applied after it, in name order,
-- whenever its SHA-256 changes); it uses lf_entry_hash from there.
--
-- p_items is a JSON array, in request order, of one object per payment:
--   k the item's internal key (the batch key's derived name, never one a
--   client can send), id/dr/cr the payment's and its two entries' ids
--   (hex), f/t from/to (hex), a the amount in the sender's minor units
--   (null: the sender was unknown, or not the client's, when the request
--   was validated: account_not_found), cur the currency (the request's, or
--   the sender's), ref reference, md metadata (null: none), bc the payment
--   rendered COMPLETED (its place in the 201 body and its event's data),
--   ev its event's id (hex); and the risk rules it is held to (absent or
--   null: off; doc/design.md, "Risk rules"): rr a rule that already
--   stopped it before the call (max_amount, webhook), vc/vs the sender's
--   velocity count and sum limits over the last vw milliseconds, dl the
--   client's daily limit in its currency. p_body is the whole 201 body.
--
-- Returns one row (outcome, response_status, response_location,
-- response_body, fingerprint, expires_at) like lf_transfer:
--   'replay'    the outcome stored under the batch key (the last five
--               columns are the stored row's);
--   'completed' every item moved, the 201 stored under the key;
--   'failed'    nothing was written: response_status is the index (from 0)
--               of the first item that could not be made and
--               response_location its code (account_not_found,
--               same_account, currency_mismatch, amount_too_large,
--               risk_declined, insufficient_funds), and for
--               risk_declined response_body the rule (velocity_count,
--               ...); the caller renders the 422 batch_failed and records
--               it (lf_record_outcome).
-- The items are decided in request order against the running balances
-- (each sees what the items before it left: TigerBeetle's linked chain),
-- with lf_transfer's rules in the order the single path applies them;
-- every account is locked once, in ascending id order, after the key is
-- claimed (lf_transfer's lock order), then the client's client_risk rows
-- of the currencies with a daily limit, in ascending currency order (the
-- single path's one row after its accounts: no cycle); each balance, seq
-- and chain head is written once. The velocity rule counts what the
-- sender paid within the window before the batch (read under its lock)
-- and the batch's own earlier items; the daily limit likewise. Works in
-- three temporary tables of the session.
CREATE OR REPLACE PROCEDURE lf_bulk_atomic(
  IN p_client     BIGINT UNSIGNED,
  IN p_key        VARBINARY(255),
  IN p_fp         BINARY(32),
  IN p_admin      TINYINT,
  IN p_created_at DATETIME(3),
  IN p_expires_at DATETIME(3),
  IN p_body       MEDIUMBLOB,
  IN p_items      LONGTEXT CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'an atomic batch of payments: all or nothing, in request order'
proc: BEGIN
  DECLARE v_dup, v_done TINYINT DEFAULT 0;
  DECLARE v_idx INT DEFAULT NULL;
  DECLARE v_fail VARCHAR(32) CHARACTER SET ascii DEFAULT NULL;
  DECLARE v_id, v_from, v_to, v_pay, v_dr, v_cr BINARY(16) DEFAULT NULL;
  DECLARE v_owner, v_from_owner BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_amount, v_bal, v_seq, v_from_bal, v_to_bal, v_from_seq, v_to_seq BIGINT DEFAULT NULL;
  DECLARE v_held, v_from_held BIGINT DEFAULT NULL;
  DECLARE v_cur, v_acur, v_from_cur, v_to_cur CHAR(3) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL;
  DECLARE v_kind, v_from_kind VARCHAR(8) DEFAULT NULL;
  DECLARE v_head, v_from_head, v_to_head, v_dh, v_ch BINARY(32) DEFAULT NULL;
  DECLARE v_rr, v_rule VARCHAR(32) CHARACTER SET ascii DEFAULT NULL;
  DECLARE v_vc, v_vs, v_vw, v_dl, v_vcount BIGINT DEFAULT NULL;
  DECLARE v_vsum, v_spent DECIMAL(30) DEFAULT NULL;
  DECLARE v_day, v_today DATE DEFAULT NULL;
  DECLARE c_accounts CURSOR FOR SELECT id FROM lf_bulk_accounts ORDER BY id;
  DECLARE c_daily CURSOR FOR SELECT currency FROM lf_bulk_daily ORDER BY currency;
  DECLARE c_items CURSOR FOR
    SELECT idx, from_id, to_id, amount, currency, pay_id, debit_id, credit_id, risk_rule,
           v_count, v_sum, v_ms, d_limit
      FROM lf_bulk_items ORDER BY idx;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_done = 1;
  DECLARE CONTINUE HANDLER FOR 1062 SET v_dup = 1;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;

  -- (a) a decided outcome already stored under the batch key: replay it
  IF EXISTS (SELECT 1 FROM idempotency_keys
             WHERE client_id = p_client AND idem_key = p_key) THEN
    SELECT 'replay' AS outcome, response_status, response_location,
           response_body, fingerprint, expires_at
      FROM idempotency_keys WHERE client_id = p_client AND idem_key = p_key;
    LEAVE proc;
  END IF;

  CREATE OR REPLACE TEMPORARY TABLE lf_bulk_items (
    idx            INT             NOT NULL PRIMARY KEY,
    idem_key       VARBINARY(255)  NOT NULL,
    pay_id         BINARY(16)      NOT NULL,
    debit_id       BINARY(16)      NOT NULL,
    credit_id      BINARY(16)      NOT NULL,
    from_id        BINARY(16)      NOT NULL,
    to_id          BINARY(16)      NOT NULL,
    amount         BIGINT          NULL,
    currency       CHAR(3)         CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    reference      VARCHAR(200)    CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    metadata       MEDIUMTEXT      CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    body           MEDIUMBLOB      NOT NULL,
    event_id       BINARY(16)      NOT NULL,
    risk_rule      VARCHAR(32)     CHARACTER SET ascii NULL,
    v_count        BIGINT          NULL,
    v_sum          BIGINT          NULL,
    v_ms           BIGINT          NULL,
    d_limit        BIGINT          NULL,
    debit_seq      BIGINT          NULL,
    credit_seq     BIGINT          NULL,
    debit_after    BIGINT          NULL,
    credit_after   BIGINT          NULL,
    debit_hash     BINARY(32)      NULL,
    credit_hash    BINARY(32)      NULL
  );
  CREATE OR REPLACE TEMPORARY TABLE lf_bulk_accounts (
    id        BINARY(16)      NOT NULL PRIMARY KEY,
    currency  CHAR(3)         CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    balance   BIGINT          NULL,
    held      BIGINT          NULL,
    seq       BIGINT          NULL,
    owner     BIGINT UNSIGNED NULL,
    kind      VARCHAR(8)      NULL,
    head      BINARY(32)      NULL,
    moves     INT             NOT NULL DEFAULT 0,
    vcount    BIGINT          NULL COMMENT 'velocity: payments in the window so far',
    vsum      DECIMAL(30)     NULL COMMENT 'velocity: their sum'
  );
  CREATE OR REPLACE TEMPORARY TABLE lf_bulk_daily (
    currency  CHAR(3)         CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
    day       DATE            NULL,
    spent     DECIMAL(30)     NULL COMMENT 'the day so far, the batch included'
  );
  INSERT INTO lf_bulk_items (idx, idem_key, pay_id, debit_id, credit_id, from_id, to_id, amount,
                             currency, reference, metadata, body, event_id, risk_rule, v_count,
                             v_sum, v_ms, d_limit)
  SELECT j.idx - 1, CAST(j.k AS BINARY), UNHEX(j.id), UNHEX(j.dr), UNHEX(j.cr), UNHEX(j.f),
         UNHEX(j.t), j.a, j.cur, j.ref, j.md, CAST(j.bc AS BINARY), UNHEX(j.ev), j.rr, j.vc,
         j.vs, j.vw, j.dl
    FROM JSON_TABLE(p_items, '$[*]' COLUMNS (
           idx FOR ORDINALITY,
           k   VARCHAR(255) CHARACTER SET utf8mb4 PATH '$.k',
           id  VARCHAR(32) CHARACTER SET ascii PATH '$.id',
           dr  VARCHAR(32) CHARACTER SET ascii PATH '$.dr',
           cr  VARCHAR(32) CHARACTER SET ascii PATH '$.cr',
           f   VARCHAR(32) CHARACTER SET ascii PATH '$.f',
           t   VARCHAR(32) CHARACTER SET ascii PATH '$.t',
           a   BIGINT PATH '$.a',
           cur VARCHAR(3) CHARACTER SET utf8mb4 PATH '$.cur',
           ref VARCHAR(200) CHARACTER SET utf8mb4 PATH '$.ref',
           md  MEDIUMTEXT CHARACTER SET utf8mb4 PATH '$.md',
           bc  MEDIUMTEXT CHARACTER SET utf8mb4 PATH '$.bc',
           ev  VARCHAR(32) CHARACTER SET ascii PATH '$.ev',
           rr  VARCHAR(32) CHARACTER SET ascii PATH '$.rr',
           vc  BIGINT PATH '$.vc',
           vs  BIGINT PATH '$.vs',
           vw  BIGINT PATH '$.vw',
           dl  BIGINT PATH '$.dl')) j;
  IF NOT EXISTS (SELECT 1 FROM lf_bulk_items) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lf_bulk_atomic: a batch needs items';
  END IF;

  SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
  START TRANSACTION;

  -- (b) claim the key first: a concurrent duplicate blocks on the primary
  -- key until we commit (or roll back), then replays or decides
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
  -- (b2) the batch's payments are kept forever under their derived keys,
  -- and so is its 201: payments without the stored outcome mean the books
  -- were edited by hand. Never pay twice: refuse.
  IF EXISTS (SELECT 1 FROM payments p JOIN lf_bulk_items i
              ON p.client_id = p_client AND p.idempotency_key = i.idem_key) THEN
    ROLLBACK;
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
      'lf_bulk_atomic: a payment of this batch exists without its stored outcome';
  END IF;

  -- (c) lock every account involved once, in ascending id order
  INSERT INTO lf_bulk_accounts (id)
  SELECT from_id FROM lf_bulk_items UNION SELECT to_id FROM lf_bulk_items;
  SET v_done = 0;
  OPEN c_accounts;
  lock_accounts: LOOP
    FETCH c_accounts INTO v_id;
    IF v_done THEN
      LEAVE lock_accounts;
    END IF;
    SET v_acur = NULL;
    SELECT currency, balance, ledger_seq, owner_client_id, kind, chain_head, held
      INTO v_acur, v_bal, v_seq, v_owner, v_kind, v_head, v_held
      FROM accounts WHERE id = v_id FOR UPDATE;
    SET v_done = 0; -- a missing account raised NOT FOUND: not the cursor's end
    IF v_acur IS NOT NULL THEN
      UPDATE lf_bulk_accounts
         SET currency = v_acur, balance = v_bal, seq = v_seq, owner = v_owner, kind = v_kind,
             head = v_head, held = v_held
       WHERE id = v_id;
    END IF;
  END LOOP;
  CLOSE c_accounts;

  -- (c2) the client's day in each currency with a daily limit, locked
  -- after every account, in ascending currency order; a new day starts
  -- the sum again (a row already on a later day keeps counting it)
  INSERT INTO lf_bulk_daily (currency)
  SELECT DISTINCT currency FROM lf_bulk_items WHERE d_limit IS NOT NULL;
  SET v_today = DATE(p_created_at), v_done = 0;
  OPEN c_daily;
  lock_days: LOOP
    FETCH c_daily INTO v_acur;
    IF v_done THEN
      LEAVE lock_days;
    END IF;
    CALL lf_client_day(p_client, v_acur, v_today, v_day, v_spent);
    UPDATE lf_bulk_daily SET day = v_day, spent = v_spent WHERE currency = v_acur;
  END LOOP;
  CLOSE c_daily;

  -- (d) decide each item in request order against the running balances;
  -- the first one that cannot be made ends the batch
  SET v_done = 0;
  OPEN c_items;
  decide: LOOP
    FETCH c_items INTO v_idx, v_from, v_to, v_amount, v_cur, v_pay, v_dr, v_cr, v_rr, v_vc,
                       v_vs, v_vw, v_dl;
    IF v_done THEN
      LEAVE decide;
    END IF;
    SELECT currency, balance, seq, owner, kind, head, held
      INTO v_from_cur, v_from_bal, v_from_seq, v_from_owner, v_from_kind, v_from_head,
           v_from_held
      FROM lf_bulk_accounts WHERE id = v_from;
    SELECT currency, balance, seq, head
      INTO v_to_cur, v_to_bal, v_to_seq, v_to_head
      FROM lf_bulk_accounts WHERE id = v_to;
    -- a client debits only its own accounts (admin any); another's sender
    -- is reported exactly like a missing one
    IF v_amount IS NULL OR v_from_cur IS NULL OR (p_admin = 0 AND v_from_owner <> p_client) THEN
      SET v_fail = 'account_not_found';
    ELSEIF v_from = v_to THEN
      SET v_fail = 'same_account';
    ELSEIF v_to_cur IS NULL THEN
      SET v_fail = 'account_not_found';
    ELSEIF v_from_cur <> v_cur OR v_to_cur <> v_cur THEN
      SET v_fail = 'currency_mismatch';
    ELSEIF CAST(v_to_bal AS DECIMAL(21)) + v_amount > 9223372036854775807
           OR CAST(v_from_bal AS DECIMAL(21)) - v_amount < -9223372036854775808 THEN
      SET v_fail = 'amount_too_large';
    ELSEIF v_rr IS NOT NULL THEN
      SET v_fail = 'risk_declined', v_rule = v_rr;
    END IF;
    -- the risk rules that read history, in lf_transfer's order: the
    -- sender's velocity (its payments in the window before the batch, read
    -- once under its lock, then the batch's earlier items), the client's day
    IF v_fail IS NULL AND (v_vc IS NOT NULL OR v_vs IS NOT NULL) THEN
      SELECT vcount, vsum INTO v_vcount, v_vsum FROM lf_bulk_accounts WHERE id = v_from;
      IF v_vcount IS NULL THEN
        SELECT COUNT(*), IFNULL(SUM(amount), 0) INTO v_vcount, v_vsum
          FROM payments
         WHERE from_account_id = v_from AND status <> 'DECLINED'
           AND created_at > TIMESTAMPADD(MICROSECOND, -1000 * v_vw, p_created_at);
        UPDATE lf_bulk_accounts SET vcount = v_vcount, vsum = v_vsum WHERE id = v_from;
      END IF;
      IF v_vc IS NOT NULL AND v_vcount >= v_vc THEN
        SET v_fail = 'risk_declined', v_rule = 'velocity_count';
      ELSEIF v_vs IS NOT NULL AND v_vsum + v_amount > v_vs THEN
        SET v_fail = 'risk_declined', v_rule = 'velocity_sum';
      END IF;
    END IF;
    IF v_fail IS NULL AND v_dl IS NOT NULL THEN
      SELECT spent INTO v_spent FROM lf_bulk_daily WHERE currency = v_cur;
      IF v_spent + v_amount > v_dl THEN
        SET v_fail = 'risk_declined', v_rule = 'daily_limit';
      END IF;
    END IF;
    IF v_fail IS NULL AND CAST(v_from_bal AS DECIMAL(21)) - v_from_held < v_amount
           AND v_from_kind <> 'ISSUANCE' THEN
      -- the available balance: held funds are not spent
      SET v_fail = 'insufficient_funds';
    END IF;
    IF v_fail IS NOT NULL THEN
      LEAVE decide;
    END IF;
    SET v_dh = lf_entry_hash(v_from_head, v_from, v_from_seq + 1, v_dr, v_pay, v_to, 'DEBIT',
                             v_amount, v_from_bal - v_amount, p_created_at),
        v_ch = lf_entry_hash(v_to_head, v_to, v_to_seq + 1, v_cr, v_pay, v_from, 'CREDIT',
                             v_amount, v_to_bal + v_amount, p_created_at);
    UPDATE lf_bulk_items
       SET debit_seq = v_from_seq + 1, credit_seq = v_to_seq + 1,
           debit_after = v_from_bal - v_amount, credit_after = v_to_bal + v_amount,
           debit_hash = v_dh, credit_hash = v_ch
     WHERE idx = v_idx;
    UPDATE lf_bulk_accounts
       SET balance = IF(id = v_from, balance - v_amount, balance + v_amount),
           seq = seq + 1, head = IF(id = v_from, v_dh, v_ch), moves = moves + 1,
           vcount = IF(id = v_from, vcount + 1, vcount),
           vsum = IF(id = v_from, vsum + v_amount, vsum)
     WHERE id IN (v_from, v_to);
    IF v_dl IS NOT NULL THEN
      UPDATE lf_bulk_daily SET spent = spent + v_amount WHERE currency = v_cur;
    END IF;
  END LOOP;
  CLOSE c_items;
  IF v_fail IS NOT NULL THEN
    -- nothing of the batch is kept, not even its claim: the caller
    -- records the 422 (a concurrent twin that decided first wins there)
    ROLLBACK;
    SELECT 'failed' AS outcome, v_idx AS response_status, v_fail AS response_location,
           v_rule AS response_body, p_fp AS fingerprint, p_expires_at AS expires_at;
    LEAVE proc;
  END IF;

  -- (e) write it all: payments, entries, each balance once, the outcome,
  -- the events (payment.completed for each item, in request order)
  INSERT INTO payments (id, client_id, idempotency_key, fingerprint, from_account_id,
                        to_account_id, amount, currency, reference, status, decline_reason,
                        created_at, metadata)
  SELECT pay_id, p_client, idem_key, p_fp, from_id, to_id, amount, currency, reference,
         'COMPLETED', NULL, p_created_at, metadata
    FROM lf_bulk_items ORDER BY idx;
  IF v_dup THEN
    ROLLBACK;
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
      'lf_bulk_atomic: payment id or idempotency key already used by an earlier payment';
  END IF;
  INSERT INTO ledger_entries (account_id, seq, id, payment_id, counterparty_id, direction,
                              amount, balance_after, created_at, hash)
  SELECT from_id, debit_seq, debit_id, pay_id, to_id, 'DEBIT', amount, debit_after,
         p_created_at, debit_hash
    FROM lf_bulk_items
  UNION ALL
  SELECT to_id, credit_seq, credit_id, pay_id, from_id, 'CREDIT', amount, credit_after,
         p_created_at, credit_hash
    FROM lf_bulk_items;
  IF v_dup THEN
    ROLLBACK;
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lf_bulk_atomic: ledger entry id already used';
  END IF;
  UPDATE accounts a JOIN lf_bulk_accounts b ON b.id = a.id
     SET a.balance = b.balance, a.ledger_seq = b.seq, a.chain_head = b.head,
         a.version = a.version + b.moves, a.updated_at = GREATEST(a.updated_at, p_created_at)
   WHERE b.moves > 0;
  UPDATE client_risk c JOIN lf_bulk_daily d ON c.client_id = p_client AND c.currency = d.currency
     SET c.day = d.day, c.spent = d.spent;
  UPDATE idempotency_keys
     SET response_status = 201, response_location = NULL, response_body = p_body
   WHERE client_id = p_client AND idem_key = p_key;
  INSERT INTO events (id, type, object_id, client_id, account_id, account2_id, created_at, data)
  SELECT event_id, 'payment.completed', pay_id, p_client, from_id, to_id, p_created_at, body
    FROM lf_bulk_items ORDER BY idx;
  IF v_dup THEN
    ROLLBACK;
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lf_bulk_atomic: event id already used';
  END IF;
  COMMIT;
  SELECT 'completed' AS outcome, 201 AS response_status, NULL AS response_location,
         NULL AS response_body, p_fp AS fingerprint, p_expires_at AS expires_at;
END;
