-- 007_holds.sql - holds (authorize, then capture, void or expire), refunds
-- and metadata (the v2 API's "Holds", "Refunds", "Metadata").
--
-- * accounts.held: the sum of the account's PENDING holds, written under
--   the account's row lock by every procedure that creates or ends a hold,
--   so that the available balance (balance - held) is one row read. Every
--   debit and every new hold of a STANDARD account is checked against it.
-- * payments: a hold is a payment row with expires_at set, status PENDING
--   until lf_finish_hold captures it (COMPLETED, captured_amount, the money
--   moves then: two hash-chained entries of the captured amount), voids it
--   (VOIDED) or it expires (EXPIRED, lf_expire_holds or a late capture or
--   void). captured_amount is NULL for a plain payment (its capture is its
--   amount) and for a hold not captured. refunded_amount is the sum of the
--   payment's COMPLETED refunds.
-- * refunds: money moved back from a payment's receiver to its sender, as
--   two more entries of the payment (a DEBIT on the receiver whose
--   counterparty is the sender, a CREDIT on the sender), one row per
--   refund, DECLINED ones (the receiver lacked the funds) included.
-- * metadata: a canonical JSON object (keys sorted, at most 20 string
--   values) on accounts and payments; NULL when the request had none.
-- * payments stays append-only but for exactly these transitions, which
--   the trigger below allows and nothing else: PENDING -> COMPLETED (with
--   captured_amount 1..amount), PENDING -> VOIDED or EXPIRED, and a
--   COMPLETED payment's refunded_amount growing up to what was captured.
--   refunds is append-only.
-- Every statement is safe to repeat.

ALTER TABLE accounts
  ADD COLUMN IF NOT EXISTS held BIGINT NOT NULL DEFAULT 0
    COMMENT 'sum of the PENDING holds on the account' AFTER balance,
  ADD COLUMN IF NOT EXISTS metadata MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL
    COMMENT 'canonical JSON object; NULL: none';
ALTER TABLE accounts DROP CONSTRAINT IF EXISTS accounts_held_nonneg;
ALTER TABLE accounts ADD CONSTRAINT accounts_held_nonneg CHECK (held >= 0);

ALTER TABLE payments
  MODIFY status ENUM('COMPLETED','DECLINED','PENDING','VOIDED','EXPIRED') NOT NULL,
  ADD COLUMN IF NOT EXISTS captured_amount BIGINT NULL
    COMMENT 'a captured hold: what was captured; NULL otherwise' AFTER status,
  ADD COLUMN IF NOT EXISTS refunded_amount BIGINT NOT NULL DEFAULT 0
    COMMENT 'sum of the COMPLETED refunds' AFTER captured_amount,
  ADD COLUMN IF NOT EXISTS expires_at DATETIME(3) NULL
    COMMENT 'a hold: when it expires; NULL for a plain payment' AFTER refunded_amount,
  ADD COLUMN IF NOT EXISTS metadata MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL
    COMMENT 'canonical JSON object; NULL: none';
ALTER TABLE payments ADD INDEX IF NOT EXISTS payments_pending (status, expires_at);
ALTER TABLE payments DROP CONSTRAINT IF EXISTS payments_captured_range;
ALTER TABLE payments DROP CONSTRAINT IF EXISTS payments_refunded_range;
ALTER TABLE payments
  ADD CONSTRAINT payments_captured_range
    CHECK (captured_amount IS NULL OR (captured_amount > 0 AND captured_amount <= amount)),
  ADD CONSTRAINT payments_refunded_range
    CHECK (refunded_amount >= 0 AND refunded_amount <= IFNULL(captured_amount, amount));

CREATE TABLE IF NOT EXISTS refunds (
  id               BINARY(16)      NOT NULL COMMENT 'UUIDv7 chosen by the server',
  payment_id       BINARY(16)      NOT NULL,
  client_id        BIGINT UNSIGNED NOT NULL,
  idempotency_key  VARBINARY(255)  NOT NULL,
  fingerprint      BINARY(32)      NOT NULL,
  amount           BIGINT          NOT NULL,
  currency         CHAR(3)         CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  reason           VARCHAR(200)    CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  status           ENUM('COMPLETED','DECLINED') NOT NULL,
  decline_reason   VARCHAR(64)     CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  created_at       DATETIME(3)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY refunds_client_key (client_id, idempotency_key),
  KEY refunds_payment (payment_id, id),
  CONSTRAINT refunds_amount_pos CHECK (amount > 0),
  CONSTRAINT refunds_payment_fk FOREIGN KEY (payment_id) REFERENCES payments (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- ---- append-only, but for a hold's end and a refund's sum ----

CREATE OR REPLACE TRIGGER payments_no_update BEFORE UPDATE ON payments
  FOR EACH ROW
BEGIN
  IF NOT (OLD.id <=> NEW.id AND OLD.client_id <=> NEW.client_id
          AND OLD.idempotency_key <=> NEW.idempotency_key
          AND OLD.fingerprint <=> NEW.fingerprint
          AND OLD.from_account_id <=> NEW.from_account_id
          AND OLD.to_account_id <=> NEW.to_account_id AND OLD.amount <=> NEW.amount
          AND OLD.currency <=> NEW.currency AND OLD.reference <=> NEW.reference
          AND OLD.decline_reason <=> NEW.decline_reason
          AND OLD.created_at <=> NEW.created_at AND OLD.expires_at <=> NEW.expires_at
          AND OLD.metadata <=> NEW.metadata)
     OR NOT (
       -- a hold captured
       (OLD.status = 'PENDING' AND NEW.status = 'COMPLETED' AND OLD.captured_amount IS NULL
        AND NEW.captured_amount IS NOT NULL AND NEW.refunded_amount = 0)
       -- voided or expired
       OR (OLD.status = 'PENDING' AND NEW.status IN ('VOIDED', 'EXPIRED')
           AND NEW.captured_amount IS NULL AND NEW.refunded_amount = 0)
       -- a refund of a completed payment
       OR (OLD.status = 'COMPLETED' AND NEW.status = 'COMPLETED'
           AND OLD.captured_amount <=> NEW.captured_amount
           AND NEW.refunded_amount > OLD.refunded_amount)) THEN
    SIGNAL SQLSTATE '45000'
      SET MESSAGE_TEXT = 'payments is append-only: UPDATE refused';
  END IF;
END;

CREATE OR REPLACE TRIGGER refunds_no_update BEFORE UPDATE ON refunds
  FOR EACH ROW SIGNAL SQLSTATE '45000'
    SET MESSAGE_TEXT = 'refunds is append-only: UPDATE refused';
CREATE OR REPLACE TRIGGER refunds_no_delete BEFORE DELETE ON refunds
  FOR EACH ROW SIGNAL SQLSTATE '45000'
    SET MESSAGE_TEXT = 'refunds is append-only: DELETE refused';
