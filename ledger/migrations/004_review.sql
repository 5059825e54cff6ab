-- The review app: accounts with roles, login sessions, field-check attachments, and an audit log of
-- writes that are not about one case (accounts). Case writes stay in `events`, with the user as actor.

CREATE TABLE users (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.@-]{2,64}$'),
  display_name text,
  role text NOT NULL CHECK (role IN ('admin', 'analyst', 'township', 'viewer')),
  -- The township a township officer works for; null for county-wide roles.
  xzqdm text,
  -- scrypt$N$r$p$salt$hash (base64url).
  password_hash text NOT NULL,
  disabled boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((role = 'township') = (xzqdm IS NOT NULL))
);

CREATE TABLE sessions (
  -- sha256 of the cookie token: a leaked table does not hand out sessions.
  token_hash text PRIMARY KEY,
  user_id integer NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf_token text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE attachments (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  case_id integer NOT NULL REFERENCES cases(id),
  filename text NOT NULL,
  content_type text NOT NULL,
  size_bytes integer NOT NULL,
  sha256 text NOT NULL,
  uri text NOT NULL,
  uploaded_by text NOT NULL,
  uploaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_case_idx ON attachments (case_id, id);

-- An attachment is a case event too (a field check itself is a transition by the township officer).
ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check
  CHECK (kind IN ('created', 'observed', 'transition', 'split', 'merge', 'relapse', 'attachment'));

CREATE TABLE audit_log (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}'
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION events_append_only();

-- The review queue's default order (queries.ts ORDER.priority) walks this index.
CREATE INDEX cases_priority_idx ON cases (sfjbnt DESC, gdmj DESC, area_m2 DESC, jcbh);
