-- procedures_holds.sql - the stored procedures of holds and refunds
-- (007_holds.sql has the tables): the end of a hold (capture or void,
-- lf_finish_hold), a refund (lf_refund) and the expiry of one hold past its
-- time (lf_expire_hold, the reaper's). Repeatable like procedures.sql
-- (applied after it, in name order, whenever its SHA-256 changes); the
-- conventions are that file's: one result row, errors re-raised after
-- ROLLBACK (1213 and 1205 are retried by the caller), nothing half written.
--
-- Lock order, the same everywhere: the idempotency key's row (claimed
-- first), then the payment's two accounts in ascending id order, then the
-- payment's row. lf_expire_hold locks the sender's account, then the
-- payment.
--
-- Each writes the event of the change it commits (lf_event_add, in its
-- transaction) with the object the C code rendered for it, as its own GET
-- shows it after the change: payment.captured / payment.voided (the 200
-- body), payment.expired (p_event_expired, p_data: the payment EXPIRED),
-- refund.completed (the 201 body), refund.declined (p_event_declined: the
-- refund DECLINED, as GET /api/payments/{id}/refunds lists it).
--
-- Result row of lf_finish_hold and lf_refund: lf_transfer's
--   (outcome, response_status, response_location, response_body,
--    fingerprint, expires_at)
-- 'replay' carries the stored outcome; 'not_found' (no such payment for
-- this client), 'amount_too_large' (a balance would leave BIGINT),
-- 'invalid_amount' and 'stale' (the caller's view of the payment is out of
-- date: read it again) wrote nothing and released the key; every other
-- outcome committed with the body the caller gave for it.

-- Capture (p_capture 1: p_amount of the held amount, NULL for all of it;
-- the rest is released) or void (p_capture 0) a PENDING hold. A hold past
-- its expires_at is expired here first, so a late capture or void is 409
-- payment_not_pending like one after the reaper, and writes its
-- payment.expired (p_event_expired: the payment rendered EXPIRED; NULL for
-- a payment that is not a hold, which never expires).
CREATE OR REPLACE PROCEDURE lf_finish_hold_v2(
  IN p_client           BIGINT UNSIGNED,
  IN p_key              VARBINARY(255),
  IN p_fp               BINARY(32),
  IN p_payment          BINARY(16),
  IN p_capture          TINYINT,
  IN p_amount           BIGINT,
  IN p_admin            TINYINT,
  IN p_debit_id         BINARY(16),
  IN p_credit_id        BINARY(16),
  IN p_created_at       DATETIME(3),
  IN p_expires_at       DATETIME(3),
  IN p_body_ok          MEDIUMBLOB,
  IN p_body_not_pending MEDIUMBLOB,
  IN p_event_expired    MEDIUMBLOB)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'capture or void a hold'
proc: BEGIN
  DECLARE v_dup TINYINT DEFAULT 0;
  DECLARE v_from, v_to BINARY(16) DEFAULT NULL;
  DECLARE v_owner BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_status VARCHAR(16) DEFAULT NULL;
  DECLARE v_amount, v_cap, v_from_bal, v_to_bal, v_from_seq, v_to_seq BIGINT DEFAULT NULL;
  DECLARE v_lo_bal, v_hi_bal, v_lo_seq, v_hi_seq BIGINT DEFAULT NULL;
  DECLARE v_lo_head, v_hi_head, v_from_head, v_to_head, v_dh, v_ch BINARY(32) DEFAULT NULL;
  DECLARE v_exp DATETIME(3) DEFAULT NULL;
  DECLARE CONTINUE HANDLER FOR 1062 SET v_dup = 1;
  DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;

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
  VALUES (p_client, p_key, p_fp, 0, NULL, '', NULL, p_created_at, p_expires_at);
  IF v_dup THEN
    ROLLBACK;
    SELECT 'replay' AS outcome, response_status, response_location,
           response_body, fingerprint, expires_at
      FROM idempotency_keys WHERE client_id = p_client AND idem_key = p_key;
    LEAVE proc;
  END IF;

  -- the accounts (immutable columns: no lock needed to learn them)
  SELECT from_account_id, to_account_id, client_id INTO v_from, v_to, v_owner
    FROM payments WHERE id = p_payment;
  IF v_from IS NULL OR (p_admin = 0 AND v_owner <> p_client) THEN
    ROLLBACK;
    SELECT 'not_found' AS outcome, NULL AS response_status, NULL AS response_location,
           NULL AS response_body, p_fp AS fingerprint, p_expires_at AS expires_at;
    LEAVE proc;
  END IF;
  SELECT balance, ledger_seq, chain_head INTO v_lo_bal, v_lo_seq, v_lo_head
    FROM accounts WHERE id = LEAST(v_from, v_to) FOR UPDATE;
  SELECT balance, ledger_seq, chain_head INTO v_hi_bal, v_hi_seq, v_hi_head
    FROM accounts WHERE id = GREATEST(v_from, v_to) FOR UPDATE;
  IF v_from < v_to THEN
    SET v_from_bal = v_lo_bal, v_from_seq = v_lo_seq, v_from_head = v_lo_head,
        v_to_bal = v_hi_bal, v_to_seq = v_hi_seq, v_to_head = v_hi_head;
  ELSE
    SET v_from_bal = v_hi_bal, v_from_seq = v_hi_seq, v_from_head = v_hi_head,
        v_to_bal = v_lo_bal, v_to_seq = v_lo_seq, v_to_head = v_lo_head;
  END IF;
  SELECT status, amount, expires_at INTO v_status, v_amount, v_exp
    FROM payments WHERE id = p_payment FOR UPDATE;

  -- past its time: it expires now, whatever was asked
  IF v_status = 'PENDING' AND v_exp <= p_created_at THEN
    UPDATE payments SET status = 'EXPIRED' WHERE id = p_payment;
    UPDATE accounts SET held = held - v_amount, version = version + 1
     WHERE id = v_from;
    CALL lf_event_add(NULL, 'payment.expired', p_payment, v_owner, v_from, v_to, p_created_at,
                      p_event_expired);
    SET v_status = 'EXPIRED';
  END IF;

  IF v_status <> 'PENDING' THEN
    UPDATE idempotency_keys
       SET response_status = 409, response_location = NULL, response_body = p_body_not_pending
     WHERE client_id = p_client AND idem_key = p_key;
    COMMIT;
    SELECT 'not_pending' AS outcome, 409 AS response_status, NULL AS response_location,
           NULL AS response_body, p_fp AS fingerprint, p_expires_at AS expires_at;
    LEAVE proc;
  END IF;

  IF p_capture = 0 THEN
    UPDATE payments SET status = 'VOIDED' WHERE id = p_payment;
    UPDATE accounts
       SET held = held - v_amount, version = version + 1,
           updated_at = GREATEST(updated_at, p_created_at)
     WHERE id = v_from;
    UPDATE idempotency_keys
       SET response_status = 200, response_location = NULL, response_body = p_body_ok
     WHERE client_id = p_client AND idem_key = p_key;
    CALL lf_event_add(NULL, 'payment.voided', p_payment, v_owner, v_from, v_to, p_created_at,
                      p_body_ok);
    COMMIT;
    SELECT 'voided' AS outcome, 200 AS response_status, NULL AS response_location,
           NULL AS response_body, p_fp AS fingerprint, p_expires_at AS expires_at;
    LEAVE proc;
  END IF;

  SET v_cap = IFNULL(p_amount, v_amount);
  IF v_cap <= 0 OR v_cap > v_amount THEN
    ROLLBACK;
    SELECT 'invalid_amount' AS outcome, NULL AS response_status, NULL AS response_location,
           NULL AS response_body, p_fp AS fingerprint, p_expires_at AS expires_at;
    LEAVE proc;
  END IF;
  IF CAST(v_to_bal AS DECIMAL(21)) + v_cap > 9223372036854775807
     OR CAST(v_from_bal AS DECIMAL(21)) - v_cap < -9223372036854775808 THEN
    ROLLBACK;
    SELECT 'amount_too_large' AS outcome, NULL AS response_status, NULL AS response_location,
           NULL AS response_body, p_fp AS fingerprint, p_expires_at AS expires_at;
    LEAVE proc;
  END IF;

  -- the money moves now: the captured amount, hash-chained; the whole
  -- hold is released (held never exceeds the balance of a STANDARD
  -- account, so the debit is covered)
  SET v_dh = lf_entry_hash(v_from_head, v_from, v_from_seq + 1, p_debit_id, p_payment, v_to,
                           'DEBIT', v_cap, v_from_bal - v_cap, p_created_at),
      v_ch = lf_entry_hash(v_to_head, v_to, v_to_seq + 1, p_credit_id, p_payment, v_from,
                           'CREDIT', v_cap, v_to_bal + v_cap, p_created_at);
  UPDATE accounts
     SET balance = balance - v_cap, held = held - v_amount, ledger_seq = ledger_seq + 1,
         chain_head = v_dh, version = version + 1,
         updated_at = GREATEST(updated_at, p_created_at)
   WHERE id = v_from;
  UPDATE accounts
     SET balance = balance + v_cap, ledger_seq = ledger_seq + 1, chain_head = v_ch,
         version = version + 1, updated_at = GREATEST(updated_at, p_created_at)
   WHERE id = v_to;
  INSERT INTO ledger_entries (account_id, seq, id, payment_id, counterparty_id, direction,
                              amount, balance_after, created_at, hash)
  VALUES (v_from, v_from_seq + 1, p_debit_id, p_payment, v_to, 'DEBIT', v_cap,
          v_from_bal - v_cap, p_created_at, v_dh),
         (v_to, v_to_seq + 1, p_credit_id, p_payment, v_from, 'CREDIT', v_cap,
          v_to_bal + v_cap, p_created_at, v_ch);
  IF v_dup THEN
    ROLLBACK;
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lf_finish_hold: ledger entry id already used';
  END IF;
  UPDATE payments SET status = 'COMPLETED', captured_amount = v_cap WHERE id = p_payment;
  UPDATE idempotency_keys
     SET response_status = 200, response_location = NULL, response_body = p_body_ok
   WHERE client_id = p_client AND idem_key = p_key;
  CALL lf_event_add(NULL, 'payment.captured', p_payment, v_owner, v_from, v_to, p_created_at,
                    p_body_ok);
  COMMIT;
  SELECT 'captured' AS outcome, 200 AS response_status, NULL AS response_location,
         NULL AS response_body, p_fp AS fingerprint, p_expires_at AS expires_at;
END;

-- Refund p_amount of a COMPLETED payment: from its receiver back to its
-- sender, two entries of the payment (DEBIT on the receiver, CREDIT on
-- the sender), refunded_amount raised, a refunds row. p_rest 1: the
-- amount is what the caller read as the rest (captured - refunded); it
-- must still be ('stale' otherwise). More than the rest (0 for a payment
-- not COMPLETED): 'exceeds', the 422 stored. The receiver's available
-- balance short: a DECLINED refund recorded, its 422 stored, and its
-- refund.declined event (p_event_declined: the refund rendered DECLINED).
CREATE OR REPLACE PROCEDURE lf_refund_v2(
  IN p_client        BIGINT UNSIGNED,
  IN p_key           VARBINARY(255),
  IN p_fp            BINARY(32),
  IN p_payment       BINARY(16),
  IN p_refund_id     BINARY(16),
  IN p_amount        BIGINT,
  IN p_rest          TINYINT,
  IN p_reason        VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN p_admin         TINYINT,
  IN p_debit_id      BINARY(16),
  IN p_credit_id     BINARY(16),
  IN p_created_at    DATETIME(3),
  IN p_expires_at    DATETIME(3),
  IN p_body_ok       MEDIUMBLOB,
  IN p_body_declined MEDIUMBLOB,
  IN p_body_exceeds  MEDIUMBLOB,
  IN p_event_declined MEDIUMBLOB)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'refund (part of) a payment'
proc: BEGIN
  DECLARE v_dup TINYINT DEFAULT 0;
  DECLARE v_from, v_to BINARY(16) DEFAULT NULL;
  DECLARE v_owner BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_status VARCHAR(16) DEFAULT NULL;
  DECLARE v_cur CHAR(3) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL;
  DECLARE v_amount, v_captured, v_refunded, v_rest BIGINT DEFAULT NULL;
  DECLARE v_from_bal, v_to_bal, v_from_seq, v_to_seq, v_to_held BIGINT DEFAULT NULL;
  DECLARE v_lo_bal, v_hi_bal, v_lo_seq, v_hi_seq, v_lo_held, v_hi_held BIGINT DEFAULT NULL;
  DECLARE v_lo_kind, v_hi_kind, v_to_kind VARCHAR(8) DEFAULT NULL;
  DECLARE v_lo_head, v_hi_head, v_from_head, v_to_head, v_dh, v_ch BINARY(32) DEFAULT NULL;
  DECLARE CONTINUE HANDLER FOR 1062 SET v_dup = 1;
  DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;

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
  VALUES (p_client, p_key, p_fp, 0, NULL, '', NULL, p_created_at, p_expires_at);
  IF v_dup THEN
    ROLLBACK;
    SELECT 'replay' AS outcome, response_status, response_location,
           response_body, fingerprint, expires_at
      FROM idempotency_keys WHERE client_id = p_client AND idem_key = p_key;
    LEAVE proc;
  END IF;

  SELECT from_account_id, to_account_id, client_id, currency INTO v_from, v_to, v_owner, v_cur
    FROM payments WHERE id = p_payment;
  IF v_from IS NULL OR (p_admin = 0 AND v_owner <> p_client) THEN
    ROLLBACK;
    SELECT 'not_found' AS outcome, NULL AS response_status, NULL AS response_location,
           NULL AS response_body, p_fp AS fingerprint, p_expires_at AS expires_at;
    LEAVE proc;
  END IF;
  SELECT balance, ledger_seq, chain_head, held, kind
    INTO v_lo_bal, v_lo_seq, v_lo_head, v_lo_held, v_lo_kind
    FROM accounts WHERE id = LEAST(v_from, v_to) FOR UPDATE;
  SELECT balance, ledger_seq, chain_head, held, kind
    INTO v_hi_bal, v_hi_seq, v_hi_head, v_hi_held, v_hi_kind
    FROM accounts WHERE id = GREATEST(v_from, v_to) FOR UPDATE;
  IF v_from < v_to THEN
    SET v_from_bal = v_lo_bal, v_from_seq = v_lo_seq, v_from_head = v_lo_head,
        v_to_bal = v_hi_bal, v_to_seq = v_hi_seq, v_to_head = v_hi_head,
        v_to_held = v_hi_held, v_to_kind = v_hi_kind;
  ELSE
    SET v_from_bal = v_hi_bal, v_from_seq = v_hi_seq, v_from_head = v_hi_head,
        v_to_bal = v_lo_bal, v_to_seq = v_lo_seq, v_to_head = v_lo_head,
        v_to_held = v_lo_held, v_to_kind = v_lo_kind;
  END IF;
  SELECT status, amount, captured_amount, refunded_amount
    INTO v_status, v_amount, v_captured, v_refunded
    FROM payments WHERE id = p_payment FOR UPDATE;
  SET v_rest = IF(v_status = 'COMPLETED', IFNULL(v_captured, v_amount), 0) - v_refunded;

  IF p_rest = 1 AND p_amount <> v_rest THEN
    ROLLBACK;
    SELECT 'stale' AS outcome, NULL AS response_status, NULL AS response_location,
           NULL AS response_body, p_fp AS fingerprint, p_expires_at AS expires_at;
    LEAVE proc;
  END IF;
  IF p_amount <= 0 OR p_amount > v_rest THEN
    UPDATE idempotency_keys
       SET response_status = 422, response_location = NULL, response_body = p_body_exceeds
     WHERE client_id = p_client AND idem_key = p_key;
    COMMIT;
    SELECT 'exceeds' AS outcome, 422 AS response_status, NULL AS response_location,
           NULL AS response_body, p_fp AS fingerprint, p_expires_at AS expires_at;
    LEAVE proc;
  END IF;

  -- the receiver's available balance (held funds are not spent)
  IF CAST(v_to_bal AS DECIMAL(21)) - v_to_held < p_amount AND v_to_kind <> 'ISSUANCE' THEN
    INSERT INTO refunds (id, payment_id, client_id, idempotency_key, fingerprint, amount,
                         currency, reason, status, decline_reason, created_at)
    VALUES (p_refund_id, p_payment, p_client, p_key, p_fp, p_amount, v_cur, p_reason,
            'DECLINED', 'insufficient_funds', p_created_at);
    IF v_dup THEN
      ROLLBACK;
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lf_refund: refund id or key already used';
    END IF;
    UPDATE idempotency_keys
       SET response_status = 422, response_location = NULL, response_body = p_body_declined
     WHERE client_id = p_client AND idem_key = p_key;
    CALL lf_event_add(NULL, 'refund.declined', p_refund_id, v_owner, v_to, v_from,
                      p_created_at, p_event_declined);
    COMMIT;
    SELECT 'declined' AS outcome, 422 AS response_status, NULL AS response_location,
           NULL AS response_body, p_fp AS fingerprint, p_expires_at AS expires_at;
    LEAVE proc;
  END IF;
  IF CAST(v_from_bal AS DECIMAL(21)) + p_amount > 9223372036854775807
     OR CAST(v_to_bal AS DECIMAL(21)) - p_amount < -9223372036854775808 THEN
    ROLLBACK;
    SELECT 'amount_too_large' AS outcome, NULL AS response_status, NULL AS response_location,
           NULL AS response_body, p_fp AS fingerprint, p_expires_at AS expires_at;
    LEAVE proc;
  END IF;

  SET v_dh = lf_entry_hash(v_to_head, v_to, v_to_seq + 1, p_debit_id, p_payment, v_from,
                           'DEBIT', p_amount, v_to_bal - p_amount, p_created_at),
      v_ch = lf_entry_hash(v_from_head, v_from, v_from_seq + 1, p_credit_id, p_payment, v_to,
                           'CREDIT', p_amount, v_from_bal + p_amount, p_created_at);
  UPDATE accounts
     SET balance = balance - p_amount, ledger_seq = ledger_seq + 1, chain_head = v_dh,
         version = version + 1, updated_at = GREATEST(updated_at, p_created_at)
   WHERE id = v_to;
  UPDATE accounts
     SET balance = balance + p_amount, ledger_seq = ledger_seq + 1, chain_head = v_ch,
         version = version + 1, updated_at = GREATEST(updated_at, p_created_at)
   WHERE id = v_from;
  INSERT INTO ledger_entries (account_id, seq, id, payment_id, counterparty_id, direction,
                              amount, balance_after, created_at, hash)
  VALUES (v_to, v_to_seq + 1, p_debit_id, p_payment, v_from, 'DEBIT', p_amount,
          v_to_bal - p_amount, p_created_at, v_dh),
         (v_from, v_from_seq + 1, p_credit_id, p_payment, v_to, 'CREDIT', p_amount,
          v_from_bal + p_amount, p_created_at, v_ch);
  INSERT INTO refunds (id, payment_id, client_id, idempotency_key, fingerprint, amount,
                       currency, reason, status, decline_reason, created_at)
  VALUES (p_refund_id, p_payment, p_client, p_key, p_fp, p_amount, v_cur, p_reason,
          'COMPLETED', NULL, p_created_at);
  IF v_dup THEN
    ROLLBACK;
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lf_refund: an id or key already used';
  END IF;
  UPDATE payments SET refunded_amount = refunded_amount + p_amount WHERE id = p_payment;
  UPDATE idempotency_keys
     SET response_status = 201, response_location = NULL, response_body = p_body_ok
   WHERE client_id = p_client AND idem_key = p_key;
  CALL lf_event_add(NULL, 'refund.completed', p_refund_id, v_owner, v_to, v_from, p_created_at,
                    p_body_ok);
  COMMIT;
  SELECT 'completed' AS outcome, 201 AS response_status, NULL AS response_location,
         NULL AS response_body, p_fp AS fingerprint, p_expires_at AS expires_at;
END;

-- The reaper's, one hold at a time (the C side lists the holds past their
-- time and renders each as its GET will show it once EXPIRED, p_data): if
-- p_payment is still PENDING and its expires_at is at or before p_now, it
-- becomes EXPIRED, releases its amount and writes payment.expired, in one
-- short transaction (the sender's row, then the payment's). Returns one
-- row: 1 when it expired here, 0 when it was no longer PENDING (captured,
-- voided or expired meanwhile) or not yet due.
CREATE OR REPLACE PROCEDURE lf_expire_hold(
  IN p_payment BINARY(16),
  IN p_now     DATETIME(3),
  IN p_data    MEDIUMBLOB)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'expire one hold past its time'
proc: BEGIN
  DECLARE v_n INT DEFAULT 0;
  DECLARE v_from, v_to BINARY(16) DEFAULT NULL;
  DECLARE v_owner BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_status VARCHAR(16) DEFAULT NULL;
  DECLARE v_amount, v_held BIGINT DEFAULT NULL;
  DECLARE v_exp DATETIME(3) DEFAULT NULL;
  DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;

  -- the accounts and the owner (immutable columns: no lock needed)
  SELECT from_account_id, to_account_id, client_id INTO v_from, v_to, v_owner
    FROM payments WHERE id = p_payment;
  IF v_from IS NULL THEN
    SELECT 0 AS expired;
    LEAVE proc;
  END IF;
  SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
  START TRANSACTION;
  SELECT held INTO v_held FROM accounts WHERE id = v_from FOR UPDATE;
  SELECT status, amount, expires_at INTO v_status, v_amount, v_exp
    FROM payments WHERE id = p_payment FOR UPDATE;
  IF v_status = 'PENDING' AND v_exp <= p_now THEN
    UPDATE payments SET status = 'EXPIRED' WHERE id = p_payment;
    UPDATE accounts SET held = held - v_amount, version = version + 1 WHERE id = v_from;
    CALL lf_event_add(NULL, 'payment.expired', p_payment, v_owner, v_from, v_to, p_now, p_data);
    SET v_n = 1;
  END IF;
  COMMIT;
  SELECT v_n AS expired;
END;

-- lf_expire_holds (the reaper's loop in SQL, before events) expired holds
-- without their event: procedures_compat.sql keeps its name for the
-- previous release's binary, as a procedure that expires nothing.
