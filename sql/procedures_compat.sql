-- procedures_compat.sql - the previous release's procedure signatures, kept
-- for one release so that a binary upgrade (SIGUSR2: the old and the new
-- generation serve side by side, doc/operations) fails no request when the
-- database was migrated first: the old workers still CALL these names
-- with these arguments. Each is a thin wrapper of today's procedure (or,
-- where that cannot be, answers what makes the old binary take its safe
-- path). Not for new code: ledgerflowd calls the *_v2 procedures and
-- lf_transfer_group. Repeatable like procedures.sql (applied after it by
-- name order; a CALL is resolved when it runs, not when it is created).
--
-- What the old generation does not get during the window: the risk rules
-- (it never sent them), and the event of a late capture of an expired
-- hold or of a declined refund (it renders no data for them: those two
-- calls fail with lf_event_add's error and are answered 500, nothing
-- written). Upgrade the binary right after migrating.

-- lf_transfer before the risk rules (21 arguments): lf_transfer_v2 with
-- every rule off.
CREATE OR REPLACE PROCEDURE lf_transfer(
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
  IN p_event_declined MEDIUMBLOB)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'compat (previous release): lf_transfer_v2 without risk rules'
  CALL lf_transfer_v2(p_client, p_key, p_fp, p_payment_id, p_debit_id, p_credit_id, p_from,
                      p_to, p_amount, p_currency, p_reference, p_created_at, p_expires_at,
                      p_body_completed, p_body_declined, p_location, p_admin, p_hold_expires,
                      p_metadata, p_event_id, p_event_declined, NULL, NULL, NULL, NULL, NULL,
                      NULL);

-- The previous group commit (one JSON array of payments): every item
-- answered 'fallback', nothing written, so the old binary decides each
-- one alone through lf_transfer above.
CREATE OR REPLACE PROCEDURE lf_transfer_batch(
  IN p_items LONGTEXT CHARACTER SET utf8mb4)
  READS SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'compat (previous release): every item falls back to lf_transfer'
  SELECT j.idx - 1 AS item, 'fallback' AS outcome
    FROM JSON_TABLE(p_items, '$[*]' COLUMNS (idx FOR ORDINALITY)) j
   ORDER BY j.idx;

-- lf_finish_hold before payment.expired's data (13 arguments).
CREATE OR REPLACE PROCEDURE lf_finish_hold(
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
  IN p_body_not_pending MEDIUMBLOB)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'compat (previous release): lf_finish_hold_v2'
  CALL lf_finish_hold_v2(p_client, p_key, p_fp, p_payment, p_capture, p_amount, p_admin,
                         p_debit_id, p_credit_id, p_created_at, p_expires_at, p_body_ok,
                         p_body_not_pending, NULL);

-- lf_refund before refund.declined's data (16 arguments).
CREATE OR REPLACE PROCEDURE lf_refund(
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
  IN p_body_exceeds  MEDIUMBLOB)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'compat (previous release): lf_refund_v2'
  CALL lf_refund_v2(p_client, p_key, p_fp, p_payment, p_refund_id, p_amount, p_rest, p_reason,
                    p_admin, p_debit_id, p_credit_id, p_created_at, p_expires_at, p_body_ok,
                    p_body_declined, p_body_exceeds, NULL);

-- The previous reaper's loop: expires nothing (it would write no event);
-- the new generation's reaper (lf_expire_hold, with the payment's data)
-- does it.
CREATE OR REPLACE PROCEDURE lf_expire_holds(
  IN p_now   DATETIME(3),
  IN p_limit INT)
  READS SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'compat (previous release): expires nothing'
  SELECT 0 AS expired;
