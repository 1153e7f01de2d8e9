-- procedures_compat.sql - the previous release's procedure signatures, kept
-- for one release so that a binary upgrade (SIGUSR2: the old and the new
-- generation serve side by side, doc/operations) fails no request when the
-- database was migrated first: the old workers still CALL these names
-- with these arguments. Each is a thin wrapper of today's procedure (or,
-- where that cannot be, answers what makes the old binary take its safe
-- path). Not for new code: ledgerflowd calls the *_v2 procedures.
-- Repeatable like procedures.sql (applied after it by
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

-- lf_transfer_group with the accounts and the payments as JSON objects
-- (the same fields and answers): rewritten into lf_transfer_group_v2's
-- fixed-width strings (procedures.sql) and handed to it.
CREATE OR REPLACE PROCEDURE lf_transfer_group(
  IN p_continue TINYINT,
  IN p_accounts LONGTEXT CHARACTER SET utf8mb4,
  IN p_items    LONGTEXT CHARACTER SET utf8mb4,
  IN p_bodies   LONGTEXT CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'compat (previous release): lf_transfer_group_v2 from JSON objects'
BEGIN
  DECLARE v_gcl BIGINT UNSIGNED DEFAULT @@session.group_concat_max_len;
  DECLARE v_accounts, v_items LONGTEXT CHARACTER SET utf8mb4;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    SET SESSION group_concat_max_len = v_gcl;
    RESIGNAL;
  END;
  -- (JSON_ARRAYAGG is bounded by group_concat_max_len)
  SET SESSION group_concat_max_len = 1073741824;
  SELECT JSON_ARRAYAGG(CONCAT(j.id, LPAD(j.b, 20, ' '), LPAD(j.h, 20, ' '), LPAD(j.s, 20, ' '),
                              j.hd, LPAD(j.nb, 20, ' '), LPAD(j.ns, 20, ' '), j.nh,
                              LPAD(j.mv, 10, ' '), j.la, LPAD(j.nl, 20, ' '), LPAD(j.hm, 10, ' '))
                       ORDER BY j.ord)
    INTO v_accounts
    FROM JSON_TABLE(p_accounts, '$[*]' COLUMNS (
           ord FOR ORDINALITY,
           id  VARCHAR(32) CHARACTER SET ascii PATH '$.id',
           b   BIGINT PATH '$.b', h BIGINT PATH '$.h', s BIGINT PATH '$.s',
           hd  VARCHAR(64) CHARACTER SET ascii PATH '$.hd',
           nb  BIGINT PATH '$.nb', ns BIGINT PATH '$.ns',
           nh  VARCHAR(64) CHARACTER SET ascii PATH '$.nh',
           mv  INT PATH '$.mv',
           la  VARCHAR(32) CHARACTER SET ascii PATH '$.la',
           nl  BIGINT PATH '$.nl', hm INT PATH '$.hm')) j;
  SELECT JSON_ARRAYAGG(JSON_ARRAY(
           CONCAT(LPAD(i.c, 20, ' '), i.adm, i.fp, i.id, i.f, i.t, LPAD(i.a, 20, ' '), i.cur,
                  i.at, i.exp, i.o, i.ev, IFNULL(i.hx, SPACE(23)),
                  IF(i.o = 'c', CONCAT(i.dr, LPAD(i.ds, 20, ' '), LPAD(i.db, 20, ' '), i.dh,
                                       i.cr, LPAD(i.cs, 20, ' '), LPAD(i.cb, 20, ' '), i.ch),
                     SPACE(272))),
           i.k, i.ref, i.md, i.loc) ORDER BY i.idx)
    INTO v_items
    FROM JSON_TABLE(p_items, '$[*]' COLUMNS (
           idx FOR ORDINALITY,
           c   BIGINT UNSIGNED PATH '$.c',
           adm TINYINT PATH '$.adm',
           k   VARCHAR(255) CHARACTER SET utf8mb4 PATH '$.k',
           fp  VARCHAR(64) CHARACTER SET ascii PATH '$.fp',
           id  VARCHAR(32) CHARACTER SET ascii PATH '$.id',
           f   VARCHAR(32) CHARACTER SET ascii PATH '$.f',
           t   VARCHAR(32) CHARACTER SET ascii PATH '$.t',
           a   BIGINT PATH '$.a',
           cur VARCHAR(3) CHARACTER SET utf8mb4 PATH '$.cur',
           ref VARCHAR(200) CHARACTER SET utf8mb4 PATH '$.ref',
           md  MEDIUMTEXT CHARACTER SET utf8mb4 PATH '$.md',
           at  VARCHAR(32) CHARACTER SET ascii PATH '$.at',
           exp VARCHAR(32) CHARACTER SET ascii PATH '$.exp',
           o   VARCHAR(1) CHARACTER SET ascii PATH '$.o',
           loc VARCHAR(128) CHARACTER SET utf8mb4 PATH '$.loc',
           ev  VARCHAR(32) CHARACTER SET ascii PATH '$.ev',
           hx  VARCHAR(32) CHARACTER SET ascii PATH '$.hx',
           dr  VARCHAR(32) CHARACTER SET ascii PATH '$.dr',
           ds  BIGINT PATH '$.ds', db BIGINT PATH '$.db',
           dh  VARCHAR(64) CHARACTER SET ascii PATH '$.dh',
           cr  VARCHAR(32) CHARACTER SET ascii PATH '$.cr',
           cs  BIGINT PATH '$.cs', cb BIGINT PATH '$.cb',
           ch  VARCHAR(64) CHARACTER SET ascii PATH '$.ch')) i;
  SET SESSION group_concat_max_len = v_gcl;
  CALL lf_transfer_group_v2(p_continue, v_accounts, v_items, p_bodies);
END;

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
