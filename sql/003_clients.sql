-- 003_clients.sql - API clients and their keys. api_clients (from 001, never
-- used until now) loses its single key_hash: a client has keys in api_keys,
-- found by their public prefix, stored only as HMAC-SHA-256(pepper, key), so
-- that a rotation can keep the old key working for a grace period.
-- auth_epoch is bumped by every revoke and rotate, so that workers caching
-- key lookups in shared memory drop their entries. accounts gain their
-- owner. Every statement is safe to repeat (IF [NOT] EXISTS, INSERT IGNORE).

ALTER TABLE api_clients DROP INDEX IF EXISTS api_clients_key_hash;
ALTER TABLE api_clients DROP COLUMN IF EXISTS key_hash;
ALTER TABLE api_clients
  ADD COLUMN IF NOT EXISTS rate INT UNSIGNED NULL
    COMMENT 'requests per second; NULL = [ratelimit] rate' AFTER scopes;
ALTER TABLE api_clients
  ADD COLUMN IF NOT EXISTS revoked_at DATETIME(3) NULL
    COMMENT 'NULL while active; its keys are revoked with it' AFTER created_at;
ALTER TABLE api_clients
  ADD CONSTRAINT IF NOT EXISTS api_clients_rate_range
    CHECK (rate IS NULL OR rate BETWEEN 1 AND 1000000);

CREATE TABLE IF NOT EXISTS api_keys (
  prefix      CHAR(16)        CHARACTER SET ascii COLLATE ascii_bin NOT NULL
                              COMMENT 'public part of the key: lfk_ + 12 hex',
  client_id   BIGINT UNSIGNED NOT NULL,
  digest      BINARY(32)      NOT NULL COMMENT 'HMAC-SHA-256(pepper, key); never the key',
  created_at  DATETIME(3)     NOT NULL,
  expires_at  DATETIME(3)     NULL COMMENT 'set by a rotation: the key works until then',
  revoked_at  DATETIME(3)     NULL,
  PRIMARY KEY (prefix),
  KEY api_keys_client (client_id),
  CONSTRAINT api_keys_prefix_form CHECK (prefix REGEXP '^lfk_[0-9a-f]{12}$'),
  CONSTRAINT api_keys_client_fk FOREIGN KEY (client_id) REFERENCES api_clients (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row: a counter every revoke and rotate bumps in its transaction.
CREATE TABLE IF NOT EXISTS auth_epoch (
  id     TINYINT UNSIGNED NOT NULL DEFAULT 1,
  epoch  BIGINT UNSIGNED  NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  CONSTRAINT auth_epoch_one_row CHECK (id = 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT IGNORE INTO auth_epoch (id, epoch) VALUES (1, 0);

-- The client that created an account; 0 for accounts made before
-- authentication. (owner_client_id, id) lists a client's accounts in
-- creation order (ids are UUIDv7).
ALTER TABLE accounts
  ADD COLUMN IF NOT EXISTS owner_client_id BIGINT UNSIGNED NOT NULL DEFAULT 0
    COMMENT 'api_clients.id of the creator; 0: made before authentication';
CREATE INDEX IF NOT EXISTS accounts_owner ON accounts (owner_client_id, id);
