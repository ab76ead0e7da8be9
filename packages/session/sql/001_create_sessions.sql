-- The table @holdfast/session/stores/postgres reads and writes (default name: sessions).
-- token_hash is the SHA-256 (hex) of the cookie's token; the token itself is never stored.
-- user_id may instead be your users table's key type (uuid, bigint as text, ...) with a foreign
-- key ON DELETE CASCADE, so deleting a user ends their sessions.
CREATE TABLE IF NOT EXISTS sessions (
  token_hash     TEXT PRIMARY KEY,
  data           JSONB NOT NULL,
  user_id        TEXT,
  created_at     TIMESTAMPTZ(3) NOT NULL,
  last_active_at TIMESTAMPTZ(3) NOT NULL,
  expires_at     TIMESTAMPTZ(3) NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX IF NOT EXISTS sessions_user_id_idx ON sessions (user_id);
