-- 001_schema.sql - the ledger's tables. Money is BIGINT minor units, ids
-- are BINARY(16) UUIDs, times are DATETIME(3) UTC. Applied once by
-- `ledgerflowctl migrate` (recorded in schema_migrations); every statement
-- is IF NOT EXISTS so a run interrupted half-way can simply be repeated.

CREATE TABLE IF NOT EXISTS accounts (
  id          BINARY(16)      NOT NULL,
  name        VARCHAR(200)    CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  currency    CHAR(3)         CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  balance     BIGINT          NOT NULL,
  ledger_seq  BIGINT          NOT NULL DEFAULT 0 COMMENT 'seq of the newest ledger entry',
  version     BIGINT UNSIGNED NOT NULL DEFAULT 0,
  created_at  DATETIME(3)     NOT NULL,
  updated_at  DATETIME(3)     NOT NULL,
  PRIMARY KEY (id),
  CONSTRAINT accounts_balance_nonneg CHECK (balance >= 0),
  CONSTRAINT accounts_seq_nonneg CHECK (ledger_seq >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS payments (
  id               BINARY(16)      NOT NULL COMMENT 'UUIDv7 chosen by the server',
  client_id        BIGINT UNSIGNED NOT NULL,
  idempotency_key  VARBINARY(255)  NOT NULL,
  fingerprint      BINARY(32)      NOT NULL,
  from_account_id  BINARY(16)      NOT NULL,
  to_account_id    BINARY(16)      NOT NULL,
  amount           BIGINT          NOT NULL,
  currency         CHAR(3)         CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  reference        VARCHAR(200)    CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  status           ENUM('COMPLETED','DECLINED') NOT NULL,
  decline_reason   VARCHAR(64)     CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  created_at       DATETIME(3)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY payments_client_key (client_id, idempotency_key),
  KEY payments_from (from_account_id),
  KEY payments_to (to_account_id),
  CONSTRAINT payments_amount_pos CHECK (amount > 0),
  CONSTRAINT payments_from_fk FOREIGN KEY (from_account_id) REFERENCES accounts (id),
  CONSTRAINT payments_to_fk FOREIGN KEY (to_account_id) REFERENCES accounts (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS ledger_entries (
  account_id     BINARY(16)  NOT NULL,
  seq            BIGINT      NOT NULL COMMENT 'per-account, 1 = first entry',
  id             BINARY(16)  NOT NULL,
  payment_id     BINARY(16)  NULL COMMENT 'NULL: opening entry',
  direction      ENUM('DEBIT','CREDIT') NOT NULL,
  amount         BIGINT      NOT NULL,
  balance_after  BIGINT      NOT NULL,
  created_at     DATETIME(3) NOT NULL,
  PRIMARY KEY (account_id, seq),
  UNIQUE KEY ledger_entries_id (id),
  KEY ledger_entries_payment (payment_id),
  CONSTRAINT ledger_amount_pos CHECK (amount > 0),
  CONSTRAINT ledger_balance_nonneg CHECK (balance_after >= 0),
  CONSTRAINT ledger_seq_pos CHECK (seq > 0),
  CONSTRAINT ledger_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id),
  CONSTRAINT ledger_payment_fk FOREIGN KEY (payment_id) REFERENCES payments (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Every decided outcome (201 or 422) of an idempotent request, written in
-- the same transaction as the money. Rows are reaped after expires_at;
-- payments keep their own unique (client_id, idempotency_key) forever.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  client_id          BIGINT UNSIGNED  NOT NULL,
  idem_key           VARBINARY(255)   NOT NULL,
  fingerprint        BINARY(32)       NOT NULL,
  response_status    SMALLINT         NOT NULL DEFAULT 0 COMMENT '0 only inside the deciding transaction',
  response_location  VARCHAR(128)     CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  response_body      MEDIUMBLOB       NOT NULL,
  payment_id         BINARY(16)       NULL,
  created_at         DATETIME(3)      NOT NULL,
  expires_at         DATETIME(3)      NOT NULL,
  PRIMARY KEY (client_id, idem_key),
  KEY idempotency_keys_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- API clients for authentication (keys are stored as SHA-256 hashes).
CREATE TABLE IF NOT EXISTS api_clients (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  name        VARCHAR(100)    CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  key_hash    BINARY(32)      NOT NULL,
  scopes      VARCHAR(255)    CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  created_at  DATETIME(3)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY api_clients_name (name),
  UNIQUE KEY api_clients_key_hash (key_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
