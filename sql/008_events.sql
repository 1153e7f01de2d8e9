-- 008_events.sql - the transactional outbox and the webhooks
-- (doc/design.md, "Events and webhooks"; doc/database.md, "Events").
--
-- * events: one row per committed state change, written by the procedure
--   that makes the change, in its transaction (lf_event_add). `pos` is
--   taken at INSERT, so it is not commit order: a transaction may take
--   pos 10, another pos 11 and commit first. `seq` is commit order: it is
--   NULL until lf_events_sequence gives the committed rows without one the
--   next numbers, in pos order, under the one row of event_sequence. A
--   row is given a seq only once it is committed, and every seq is larger
--   than every seq given before, so a reader paging by seq (GET
--   /api/events, the webhook queue) never skips an event that commits
--   late: it simply gets a larger seq. data is the object exactly as its
--   own GET renders it at that moment (an account, a payment).
-- * webhooks: the endpoints `ledgerflowctl webhook add` registers; the
--   signing secret is stored sealed (AES-256-GCM under a key derived from
--   the pepper, doc/security.md), never in clear. cursor_seq: the events
--   up to it are queued for the webhook (or did not match it).
-- * webhook_deliveries: the queue of the delivery process, one row per
--   (webhook, event) not yet delivered; a delivered row is deleted, one
--   given up after [webhooks] max_age is kept as 'failed'.
-- Only the procedures (and ledgerflowctl as the admin user) write these
-- tables; events refuse DELETE and any UPDATE but giving a seq once.

CREATE TABLE IF NOT EXISTS events (
  pos          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT COMMENT 'insert order (not commit order)',
  seq          BIGINT UNSIGNED NULL COMMENT 'commit order, given once committed: the API cursor',
  id           BINARY(16)      NOT NULL COMMENT 'the public event id (UUIDv7)',
  type         ENUM('account.created', 'payment.completed', 'payment.declined',
                    'payment.pending', 'payment.captured', 'payment.voided',
                    'payment.expired', 'refund.completed', 'refund.declined') NOT NULL,
  object_id    BINARY(16)      NOT NULL COMMENT 'the account, payment or refund',
  client_id    BIGINT UNSIGNED NOT NULL COMMENT 'the client that owns the object',
  account_id   BINARY(16)      NOT NULL COMMENT 'the account, or the sender: delivery order',
  account2_id  BINARY(16)      NULL COMMENT 'the receiver: delivery order',
  created_at   DATETIME(3)     NOT NULL,
  data         MEDIUMBLOB      NOT NULL COMMENT 'the object as its GET renders it (JSON)',
  PRIMARY KEY (pos),
  UNIQUE KEY events_id (id),
  UNIQUE KEY events_seq (seq),
  KEY events_client_seq (client_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS event_sequence (
  id        TINYINT UNSIGNED NOT NULL DEFAULT 1,
  last_seq  BIGINT UNSIGNED  NOT NULL DEFAULT 0 COMMENT 'the newest seq given',
  PRIMARY KEY (id),
  CONSTRAINT event_sequence_one_row CHECK (id = 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT IGNORE INTO event_sequence (id, last_seq) VALUES (1, 0);

CREATE TABLE IF NOT EXISTS webhooks (
  id           BINARY(16)      NOT NULL,
  url          VARCHAR(2048)   CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  event_types  VARCHAR(512)    CHARACTER SET ascii COLLATE ascii_bin NOT NULL
                 COMMENT 'comma-separated event types',
  client_id    BIGINT UNSIGNED NULL COMMENT 'only this client''s events; NULL: every event',
  secret_box   VARBINARY(128)  NOT NULL COMMENT 'nonce || AES-256-GCM(secret) || tag',
  cursor_seq   BIGINT UNSIGNED NOT NULL COMMENT 'events up to this seq are queued',
  created_at   DATETIME(3)     NOT NULL,
  removed_at   DATETIME(3)     NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS webhook_deliveries (
  webhook_id   BINARY(16)      NOT NULL,
  seq          BIGINT UNSIGNED NOT NULL COMMENT 'the event''s seq',
  state        ENUM('pending', 'failed') NOT NULL DEFAULT 'pending'
                 COMMENT 'failed: given up after [webhooks] max_age',
  attempts     INT UNSIGNED    NOT NULL DEFAULT 0,
  next_at      DATETIME(3)     NOT NULL COMMENT 'not before this time',
  last_status  SMALLINT        NULL COMMENT 'HTTP status of the last attempt; 0: no answer',
  PRIMARY KEY (webhook_id, seq),
  KEY webhook_deliveries_state (state, webhook_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- append-only, but for the one UPDATE that gives a committed event its seq
CREATE OR REPLACE TRIGGER events_seq_once BEFORE UPDATE ON events
  FOR EACH ROW
    IF OLD.seq IS NOT NULL OR NEW.seq IS NULL OR NEW.pos <> OLD.pos OR NEW.id <> OLD.id
       OR NEW.type <> OLD.type OR NEW.object_id <> OLD.object_id
       OR NEW.client_id <> OLD.client_id OR NEW.account_id <> OLD.account_id
       OR NOT (NEW.account2_id <=> OLD.account2_id) OR NEW.created_at <> OLD.created_at
       OR NEW.data <> OLD.data THEN
      SIGNAL SQLSTATE '45000'
        SET MESSAGE_TEXT = 'events is append-only: only a seq may be given, once';
    END IF;
CREATE OR REPLACE TRIGGER events_no_delete BEFORE DELETE ON events
  FOR EACH ROW SIGNAL SQLSTATE '45000'
    SET MESSAGE_TEXT = 'events is append-only: DELETE refused';
