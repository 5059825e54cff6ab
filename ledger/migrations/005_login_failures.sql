-- Failed logins per (address, account), so the lockout holds across restarts and across every
-- server process sharing the ledger. Rows older than the lockout window are deleted as new ones come.
CREATE TABLE login_failures (
  key text NOT NULL,
  failed_at timestamptz NOT NULL
);
CREATE INDEX login_failures_key_idx ON login_failures (key, failed_at);
CREATE INDEX login_failures_at_idx ON login_failures (failed_at);
