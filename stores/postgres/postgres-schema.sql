-- The table of jeff's PostgreSQL session store (PostgresStoreOptions::table =
-- jeff_sessions). Run once: psql "$DATABASE_URL" -f postgres-schema.sql
-- (or set create_table, `?create_table=1` in the URL, to let jeff run it).
-- Idempotent. key: jeff's store key; value: its msgpack record; version:
-- from the sequence, changed by every write; expires_at: on the database
-- server's clock. Expired rows are ignored at once and deleted by jeff's
-- periodic sweep.
CREATE SEQUENCE IF NOT EXISTS jeff_sessions_version;
CREATE TABLE IF NOT EXISTS jeff_sessions (
  key text COLLATE "C" PRIMARY KEY,
  value bytea NOT NULL,
  version bigint NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS jeff_sessions_expires_at ON jeff_sessions (expires_at);
