-- The ledger (台账): runs, cases with their observations, links and append-only events, the
-- 补充耕地 project register, townships and the deadline policy. Geometries are MultiPolygons in
-- CGCS2000 longitude/latitude (EPSG:4490); areas are ellipsoidal (ST_Area(geom::geography)).

CREATE TABLE runs (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- sha256 of the run's inputs (region, dates, imagery, model, config, patches): the same run ingested twice is found here.
  run_key text NOT NULL UNIQUE,
  region_code text NOT NULL,
  before_date date,
  after_date date,
  -- Gauss–Krüger CRS of the region, for ZXX/ZXY.
  gk_srid integer,
  model jsonb NOT NULL DEFAULT '{}',
  config_hash text,
  inputs jsonb NOT NULL DEFAULT '{}',
  counts jsonb NOT NULL DEFAULT '{}',
  patch_count integer NOT NULL,
  outcome jsonb NOT NULL DEFAULT '{}',
  source text,
  actor text NOT NULL,
  ingested_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE townships (
  xzqdm text PRIMARY KEY,
  xzqmc text
);

CREATE TABLE cases (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  jcbh text NOT NULL UNIQUE,
  status text NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'dispatched', 'legal', 'illegal', 'false_change', 'facility', 'rural_road', 'rectifying', 'rectified', 'closed')),
  ruling text CHECK (ruling IN ('legal', 'illegal', 'false_change', 'facility', 'rural_road')),
  -- Evidence and ruling fields gathered by transitions (approval number, reason, illegal kind, evidence…).
  details jsonb NOT NULL DEFAULT '{}',
  deadline date,
  deadline_stage text CHECK (deadline_stage IN ('verify', 'rectify')),
  -- Attributes of the newest observation.
  tblx text NOT NULL,
  tblxmc text NOT NULL,
  xzqdm text,
  xzqmc text,
  cjmc text,
  qsx date,
  hsx date,
  dlbm text,
  dlmc text,
  xzdl text,
  area_m2 double precision NOT NULL,
  gdmj double precision NOT NULL DEFAULT 0,
  yjjbntmj double precision NOT NULL DEFAULT 0,
  sfjbnt boolean NOT NULL DEFAULT false,
  pzwh text,
  zxd double precision NOT NULL DEFAULT 0,
  gk_srid integer,
  geom geometry(MultiPolygon, 4490) NOT NULL,
  first_run_id integer NOT NULL REFERENCES runs(id),
  last_run_id integer NOT NULL REFERENCES runs(id),
  first_seen date,
  last_seen date,
  observations integer NOT NULL DEFAULT 1,
  relapses integer NOT NULL DEFAULT 0,
  -- Set when a later patch covered this case and another: the case lives on in that one.
  merged_into integer REFERENCES cases(id),
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cases_geom_gix ON cases USING gist (geom);
CREATE INDEX cases_status_idx ON cases (status);
CREATE INDEX cases_xzqdm_idx ON cases (xzqdm);
CREATE INDEX cases_tblx_idx ON cases (tblx);
CREATE INDEX cases_last_seen_idx ON cases (last_seen);
CREATE INDEX cases_area_idx ON cases (area_m2);
CREATE INDEX cases_deadline_idx ON cases (deadline) WHERE deadline IS NOT NULL;

CREATE TABLE observations (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id integer NOT NULL REFERENCES runs(id),
  case_id integer REFERENCES cases(id),
  -- The patch's own JCBH in its run.
  patch_id text NOT NULL,
  seen_on date,
  role text CHECK (role IN ('new', 'continued', 'split', 'merge', 'relapse')),
  attributes jsonb NOT NULL,
  area_m2 double precision NOT NULL,
  geom geometry(MultiPolygon, 4490) NOT NULL,
  UNIQUE (run_id, patch_id)
);
CREATE INDEX observations_case_idx ON observations (case_id);
CREATE INDEX observations_run_case_idx ON observations (run_id, case_id);

CREATE TABLE case_links (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('split', 'merge', 'relapse')),
  -- split: from = the case split, to = the new part; merge: from = the case absorbed, to = the one it lives on in;
  -- relapse: from = to = the reopened case, details name the closing event.
  from_case integer NOT NULL REFERENCES cases(id),
  to_case integer NOT NULL REFERENCES cases(id),
  run_id integer NOT NULL REFERENCES runs(id),
  details jsonb NOT NULL DEFAULT '{}',
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_links_from_idx ON case_links (from_case);
CREATE INDEX case_links_to_idx ON case_links (to_case);

CREATE TABLE events (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  case_id integer NOT NULL REFERENCES cases(id),
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('created', 'observed', 'transition', 'split', 'merge', 'relapse')),
  action text,
  from_status text,
  to_status text,
  fields jsonb NOT NULL DEFAULT '{}',
  note text,
  run_id integer REFERENCES runs(id),
  -- The case's version after this event.
  version integer NOT NULL
);
CREATE INDEX events_case_idx ON events (case_id, id);

-- Events are the audit trail: never edited, never deleted.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger events are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

-- Case numbers: one counter per JCBH prefix (region + year + quarter).
CREATE TABLE case_seq (
  prefix text PRIMARY KEY,
  last integer NOT NULL
);

-- Days a township has for each stage; xzqdm '*' is the default for every township.
CREATE TABLE deadline_policy (
  xzqdm text NOT NULL,
  stage text NOT NULL CHECK (stage IN ('verify', 'rectify')),
  days integer NOT NULL CHECK (days > 0),
  PRIMARY KEY (xzqdm, stage)
);
INSERT INTO deadline_policy VALUES ('*', 'verify', 20), ('*', 'rectify', 60);

-- 补充耕地 projects: new cropland with its 5-year care period (管护期) from acceptance (验收).
CREATE TABLE projects (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  xmbh text NOT NULL UNIQUE,
  xmmc text,
  ysrq date,
  care_until date GENERATED ALWAYS AS ((ysrq + interval '5 years')::date) STORED,
  xzqdm text,
  dlbm text,
  declared_m2 double precision,
  area_m2 double precision NOT NULL,
  properties jsonb NOT NULL DEFAULT '{}',
  geom geometry(MultiPolygon, 4490) NOT NULL,
  source text,
  imported_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_geom_gix ON projects USING gist (geom);
