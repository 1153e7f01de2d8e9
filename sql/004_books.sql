-- 004_books.sql - double-entry funding and tamper-evident books.
--
-- * currencies: the single source of truth for the currencies the server
--   knows (code, ISO 4217 exponent), each with one ISSUANCE account, the
--   only kind of account that may go negative. The server refuses to start
--   when this table and its built-in table (src/core/money.c) disagree.
--   An issuance account's id is fixed by its code:
--   00000000-0000-8000-8000-000000 + HEX(code) (a UUIDv8; USD is
--   00000000-0000-8000-8000-000000555344), its name 'issuance:' + code, its
--   owner client 0 (nobody: only an admin key sees or debits it).
-- * An opening balance is a transfer from the issuance account: the opening
--   CREDIT (payment_id NULL) gets a matching DEBIT on the issuance account
--   (payment_id NULL too). ledger_entries.counterparty_id names the other
--   account of every movement. For every currency the balances sum to 0.
-- * Every ledger entry carries hash = SHA-256(previous hash of the same
--   account || canonical encoding v1 of the entry), accounts.chain_head the
--   newest one (32 zero bytes for none); doc/database.md has the encoding,
--   lf_entry_hash in procedures.sql and src/core/ledger_hash.c compute it.
-- * ledger_entries and payments are append-only: triggers refuse UPDATE and
--   DELETE (SQLSTATE 45000).
--
-- The upgrade of a database filled by 001..003: the currencies and their
-- issuance accounts are created, every existing opening CREDIT gets its
-- issuance DEBIT (dated like it, in (created_at, id) order per currency),
-- every entry its counterparty, every account its chain (one recursive
-- query over all accounts: each step is a primary-key lookup of the next
-- seq, so the work is linear in the number of entries). Every statement is
-- safe to repeat after a run that stopped half-way.

-- one recursion step per seq of the longest chain (MariaDB: 1000 by default;
-- MySQL calls it cte_max_recursion_depth)
SET SESSION max_recursive_iterations = 4294967295;

-- ---- the columns ----

ALTER TABLE accounts
  ADD COLUMN IF NOT EXISTS kind ENUM('STANDARD','ISSUANCE') NOT NULL DEFAULT 'STANDARD'
    COMMENT 'ISSUANCE: the one account per currency that creates money' AFTER currency,
  ADD COLUMN IF NOT EXISTS chain_head BINARY(32) NOT NULL
    DEFAULT x'0000000000000000000000000000000000000000000000000000000000000000'
    COMMENT 'hash of the newest ledger entry; zeros when none' AFTER ledger_seq;
ALTER TABLE accounts DROP CONSTRAINT IF EXISTS accounts_balance_nonneg;
ALTER TABLE accounts
  ADD CONSTRAINT accounts_balance_nonneg CHECK (balance >= 0 OR kind = 'ISSUANCE');

-- NULL only until this migration has filled them (NOT NULL at its end)
ALTER TABLE ledger_entries
  ADD COLUMN IF NOT EXISTS counterparty_id BINARY(16) NULL
    COMMENT 'the other account of the movement' AFTER payment_id,
  ADD COLUMN IF NOT EXISTS hash BINARY(32) NULL
    COMMENT 'SHA-256(previous hash || canonical v1 encoding)' AFTER created_at;
-- issuance entries go negative; reconcile checks the standard accounts
ALTER TABLE ledger_entries DROP CONSTRAINT IF EXISTS ledger_balance_nonneg;

-- ---- currencies and their issuance accounts ----

CREATE TABLE IF NOT EXISTS currencies (
  code                 CHAR(3)          CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  exponent             TINYINT UNSIGNED NOT NULL COMMENT 'ISO 4217 minor unit digits',
  issuance_account_id  BINARY(16)       NOT NULL,
  PRIMARY KEY (code),
  UNIQUE KEY currencies_issuance (issuance_account_id),
  CONSTRAINT currencies_exponent_range CHECK (exponent <= 9),
  CONSTRAINT currencies_issuance_fk FOREIGN KEY (issuance_account_id) REFERENCES accounts (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The built-in table of src/core/money.c at the time of this migration.
CREATE TEMPORARY TABLE lf_iso4217 (
  code      CHAR(3) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
  exponent  TINYINT UNSIGNED NOT NULL
);
INSERT INTO lf_iso4217 (code, exponent) VALUES
  ('AED',2), ('AFN',2), ('ALL',2), ('AMD',2), ('AOA',2), ('ARS',2),
  ('AUD',2), ('AWG',2), ('AZN',2), ('BAM',2), ('BBD',2), ('BDT',2),
  ('BGN',2), ('BHD',3), ('BIF',0), ('BMD',2), ('BND',2), ('BOB',2),
  ('BOV',2), ('BRL',2), ('BSD',2), ('BTN',2), ('BWP',2), ('BYN',2),
  ('BZD',2), ('CAD',2), ('CDF',2), ('CHE',2), ('CHF',2), ('CHW',2),
  ('CLF',4), ('CLP',0), ('CNY',2), ('COP',2), ('COU',2), ('CRC',2),
  ('CUC',2), ('CUP',2), ('CVE',2), ('CZK',2), ('DJF',0), ('DKK',2),
  ('DOP',2), ('DZD',2), ('EGP',2), ('ERN',2), ('ETB',2), ('EUR',2),
  ('FJD',2), ('FKP',2), ('GBP',2), ('GEL',2), ('GHS',2), ('GIP',2),
  ('GMD',2), ('GNF',0), ('GTQ',2), ('GYD',2), ('HKD',2), ('HNL',2),
  ('HTG',2), ('HUF',2), ('IDR',2), ('ILS',2), ('INR',2), ('IQD',3),
  ('IRR',2), ('ISK',0), ('JMD',2), ('JOD',3), ('JPY',0), ('KES',2),
  ('KGS',2), ('KHR',2), ('KMF',0), ('KPW',2), ('KRW',0), ('KWD',3),
  ('KYD',2), ('KZT',2), ('LAK',2), ('LBP',2), ('LKR',2), ('LRD',2),
  ('LSL',2), ('LYD',3), ('MAD',2), ('MDL',2), ('MGA',2), ('MKD',2),
  ('MMK',2), ('MNT',2), ('MOP',2), ('MRU',2), ('MUR',2), ('MVR',2),
  ('MWK',2), ('MXN',2), ('MXV',2), ('MYR',2), ('MZN',2), ('NAD',2),
  ('NGN',2), ('NIO',2), ('NOK',2), ('NPR',2), ('NZD',2), ('OMR',3),
  ('PAB',2), ('PEN',2), ('PGK',2), ('PHP',2), ('PKR',2), ('PLN',2),
  ('PYG',0), ('QAR',2), ('RON',2), ('RSD',2), ('RUB',2), ('RWF',0),
  ('SAR',2), ('SBD',2), ('SCR',2), ('SDG',2), ('SEK',2), ('SGD',2),
  ('SHP',2), ('SLE',2), ('SOS',2), ('SRD',2), ('SSP',2), ('STN',2),
  ('SVC',2), ('SYP',2), ('SZL',2), ('THB',2), ('TJS',2), ('TMT',2),
  ('TND',3), ('TOP',2), ('TRY',2), ('TTD',2), ('TWD',2), ('TZS',2),
  ('UAH',2), ('UGX',0), ('USD',2), ('USN',2), ('UYI',0), ('UYU',2),
  ('UYW',4), ('UZS',2), ('VED',2), ('VES',2), ('VND',0), ('VUV',0),
  ('WST',2), ('XAF',0), ('XCD',2), ('XCG',2), ('XOF',0), ('XPF',0),
  ('YER',2), ('ZAR',2), ('ZMW',2), ('ZWG',2);

INSERT IGNORE INTO accounts (id, name, currency, kind, balance, ledger_seq, version,
                             created_at, updated_at, owner_client_id)
SELECT UNHEX(CONCAT('00000000000080008000000000', HEX(code))), CONCAT('issuance:', code),
       code, 'ISSUANCE', 0, 0, 0, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3), 0
  FROM lf_iso4217;
INSERT IGNORE INTO currencies (code, exponent, issuance_account_id)
SELECT code, exponent, UNHEX(CONCAT('00000000000080008000000000', HEX(code)))
  FROM lf_iso4217;
DROP TEMPORARY TABLE lf_iso4217;

-- ---- the upgrade: counterparties and the missing issuance debits ----

UPDATE ledger_entries e JOIN payments p ON p.id = e.payment_id
   SET e.counterparty_id = IF(e.direction = 'DEBIT', p.to_account_id, p.from_account_id)
 WHERE e.counterparty_id IS NULL;
UPDATE ledger_entries e
  JOIN accounts a ON a.id = e.account_id AND a.kind = 'STANDARD'
  JOIN currencies c ON c.code = a.currency
   SET e.counterparty_id = c.issuance_account_id
 WHERE e.payment_id IS NULL AND e.direction = 'CREDIT' AND e.counterparty_id IS NULL;

-- One DEBIT on the issuance account per opening CREDIT that has none yet,
-- appended after the issuance account's newest entry.
INSERT INTO ledger_entries (account_id, seq, id, payment_id, counterparty_id, direction,
                            amount, balance_after, created_at)
SELECT i.id,
       i.ledger_seq + ROW_NUMBER() OVER w,
       UNHEX(REPLACE(UUID(), '-', '')), NULL, o.account_id, 'DEBIT', o.amount,
       i.balance - SUM(o.amount) OVER (w ROWS UNBOUNDED PRECEDING),
       o.created_at
  FROM ledger_entries o
  JOIN accounts a ON a.id = o.account_id AND a.kind = 'STANDARD'
  JOIN currencies c ON c.code = a.currency
  JOIN accounts i ON i.id = c.issuance_account_id
 WHERE o.payment_id IS NULL AND o.direction = 'CREDIT'
   AND NOT EXISTS (SELECT 1 FROM ledger_entries d
                    WHERE d.account_id = i.id AND d.payment_id IS NULL
                      AND d.counterparty_id = o.account_id)
WINDOW w AS (PARTITION BY i.id ORDER BY o.created_at, o.id);

UPDATE accounts i
  JOIN (SELECT account_id, MAX(seq) AS mx, MIN(created_at) AS first_at,
               MAX(created_at) AS last_at,
               SUM(IF(direction = 'CREDIT', amount, -amount)) AS net
          FROM ledger_entries GROUP BY account_id) x ON x.account_id = i.id
   SET i.balance = x.net, i.ledger_seq = x.mx, i.version = i.version + 1,
       i.created_at = LEAST(i.created_at, x.first_at),
       i.updated_at = GREATEST(i.updated_at, x.last_at)
 WHERE i.kind = 'ISSUANCE' AND i.ledger_seq <> x.mx;

-- ---- the chains ----

CREATE TEMPORARY TABLE lf_chain (
  account_id  BINARY(16) NOT NULL,
  seq         BIGINT     NOT NULL,
  hash        BINARY(32) NOT NULL,
  PRIMARY KEY (account_id, seq)
);
INSERT INTO lf_chain (account_id, seq, hash)
WITH RECURSIVE chain (account_id, seq, hash) AS (
  SELECT e.account_id, e.seq,
         UNHEX(SHA2(CONCAT(
           CAST(x'0000000000000000000000000000000000000000000000000000000000000000' AS BINARY(32)),
           CAST(CONCAT_WS('|', 'lf1', LOWER(HEX(e.account_id)), e.seq, LOWER(HEX(e.id)),
                     IFNULL(LOWER(HEX(e.payment_id)), '-'), LOWER(HEX(e.counterparty_id)),
                     e.direction, e.amount, e.balance_after,
                     DATE_FORMAT(e.created_at, '%Y-%m-%d %H:%i:%s.%f')) AS BINARY)), 256))
    FROM ledger_entries e WHERE e.seq = 1
  UNION ALL
  SELECT e.account_id, e.seq,
         UNHEX(SHA2(CONCAT(CAST(chain.hash AS BINARY(32)),
           CAST(CONCAT_WS('|', 'lf1', LOWER(HEX(e.account_id)), e.seq, LOWER(HEX(e.id)),
                     IFNULL(LOWER(HEX(e.payment_id)), '-'), LOWER(HEX(e.counterparty_id)),
                     e.direction, e.amount, e.balance_after,
                     DATE_FORMAT(e.created_at, '%Y-%m-%d %H:%i:%s.%f')) AS BINARY)), 256))
    FROM chain JOIN ledger_entries e
      ON e.account_id = chain.account_id AND e.seq = chain.seq + 1
)
SELECT account_id, seq, hash FROM chain;
UPDATE ledger_entries e JOIN lf_chain c ON c.account_id = e.account_id AND c.seq = e.seq
   SET e.hash = c.hash
 WHERE NOT (e.hash <=> c.hash);
DROP TEMPORARY TABLE lf_chain;
UPDATE accounts a JOIN ledger_entries e ON e.account_id = a.id AND e.seq = a.ledger_seq
   SET a.chain_head = e.hash;

-- Every entry has its counterparty and hash now; a NULL left (an entry the
-- old schema could not have written) fails the migration here.
ALTER TABLE ledger_entries
  MODIFY counterparty_id BINARY(16) NOT NULL COMMENT 'the other account of the movement',
  MODIFY hash BINARY(32) NOT NULL COMMENT 'SHA-256(previous hash || canonical v1 encoding)';

-- ---- append-only ----

CREATE OR REPLACE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
  FOR EACH ROW SIGNAL SQLSTATE '45000'
    SET MESSAGE_TEXT = 'ledger_entries is append-only: UPDATE refused';
CREATE OR REPLACE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
  FOR EACH ROW SIGNAL SQLSTATE '45000'
    SET MESSAGE_TEXT = 'ledger_entries is append-only: DELETE refused';
CREATE OR REPLACE TRIGGER payments_no_update BEFORE UPDATE ON payments
  FOR EACH ROW SIGNAL SQLSTATE '45000'
    SET MESSAGE_TEXT = 'payments is append-only: UPDATE refused';
CREATE OR REPLACE TRIGGER payments_no_delete BEFORE DELETE ON payments
  FOR EACH ROW SIGNAL SQLSTATE '45000'
    SET MESSAGE_TEXT = 'payments is append-only: DELETE refused';

-- ---- account-creation keys live as long as their account ----
-- (the accounts table has no key column: a reaped key would let a late
-- retry open a second account)
UPDATE idempotency_keys SET expires_at = '9999-12-31 23:59:59.999'
  WHERE response_location LIKE '/api/accounts/%';
