-- 005_reconcile.sql - what `ledgerflowctl reconcile` and `ledgerflowctl
-- anchor` remember between runs (doc/database.md, "Reconcile and anchors").
--
-- * reconcile_checkpoints: per account, the newest ledger entry a clean
--   pass verified (seq, its hash, its balance_after). The next incremental
--   run continues each chain from there and re-reads only the newer
--   entries; `reconcile --full` ignores them.
-- * reconcile_state: one row, the rest of the checkpoint: from which
--   payment id the next incremental run re-checks payments (a UUIDv7 taken
--   a minute before the newest payment seen, so that a payment committed
--   late is still covered), the newest anchor already checked,
--   and counts of the last clean pass.
-- * anchors / anchor_heads: `ledgerflowctl anchor` records every account's
--   (ledger_seq, chain_head) with a timestamp and a digest over all of
--   them; reconcile checks that the chain hash at each anchored
--   (account, seq) is still the anchored one, so an edit made later even
--   with administrator rights and recomputed chains shows.
-- Only reconcile and anchor write these tables; every statement is safe to
-- repeat.

CREATE TABLE IF NOT EXISTS reconcile_checkpoints (
  account_id  BINARY(16)  NOT NULL,
  seq         BIGINT      NOT NULL COMMENT 'newest verified ledger entry of the account',
  hash        BINARY(32)  NOT NULL COMMENT 'its hash: the chain continues from here',
  balance     BIGINT      NOT NULL COMMENT 'its balance_after',
  checked_at  DATETIME(3) NOT NULL,
  PRIMARY KEY (account_id),
  CONSTRAINT reconcile_checkpoints_seq_pos CHECK (seq > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS reconcile_state (
  id             TINYINT UNSIGNED NOT NULL DEFAULT 1,
  payments_from  BINARY(16)       NOT NULL COMMENT 'incremental runs check payments with id >= this',
  anchor_id      BIGINT UNSIGNED  NOT NULL DEFAULT 0 COMMENT 'newest anchor already checked',
  entries        BIGINT           NOT NULL DEFAULT 0 COMMENT 'entries verified by the last clean pass',
  full_pass      TINYINT          NOT NULL DEFAULT 0 COMMENT '1: the last clean pass was --full',
  checked_at     DATETIME(3)      NOT NULL,
  PRIMARY KEY (id),
  CONSTRAINT reconcile_state_one_row CHECK (id = 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS anchors (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  created_at  DATETIME(6)     NOT NULL,
  accounts    BIGINT          NOT NULL COMMENT 'number of heads (accounts with entries)',
  digest      BINARY(32)      NOT NULL COMMENT 'SHA-256 over the heads, doc/database.md',
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS anchor_heads (
  anchor_id   BIGINT UNSIGNED NOT NULL,
  account_id  BINARY(16)      NOT NULL,
  seq         BIGINT          NOT NULL COMMENT 'the account''s ledger_seq when anchored',
  hash        BINARY(32)      NOT NULL COMMENT 'its chain_head then',
  PRIMARY KEY (anchor_id, account_id),
  CONSTRAINT anchor_heads_anchor_fk FOREIGN KEY (anchor_id) REFERENCES anchors (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
