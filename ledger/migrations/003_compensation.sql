-- Auditing 补充耕地 (compensation farmland): the complete project register (type, claimed new area
-- with its paddy/dry split, 立项/开工/验收/入库 dates), audit runs and the cases they raise (their
-- own table, like idle_cases: findings never enter the change-patch clue lists or 进出平衡), the
-- quota plan per township and year, and the use of indicators (核销出库).

ALTER TABLE projects
  ADD COLUMN xmlx text,
  ADD COLUMN xmlxmc text,
  ADD COLUMN xzqmc text,
  -- Claimed new cropland and its paddy (水田) / dry (旱地, 水浇地) split, m².
  ADD COLUMN claimed_m2 double precision,
  ADD COLUMN paddy_m2 double precision,
  ADD COLUMN dry_m2 double precision,
  ADD COLUMN lxrq date,
  ADD COLUMN kgrq date,
  ADD COLUMN rkrq date,
  -- 0-based feature index in the register file last imported (messages name rows by it).
  ADD COLUMN source_row integer;

CREATE TABLE compensation_audits (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  as_of date NOT NULL,
  region_code text NOT NULL,
  -- Rules config, scenes (file, date), DEM, zone layers, model.
  inputs jsonb NOT NULL DEFAULT '{}',
  summary jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE compensation_cases (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  jcbh text NOT NULL UNIQUE,
  tblx text NOT NULL CHECK (tblx IN ('compensation_existing_cropland', 'compensation_still_woody', 'compensation_still_water', 'compensation_still_built',
    'compensation_no_works', 'compensation_overlap', 'compensation_protected_zone', 'compensation_steep_slope')),
  tblxmc text NOT NULL,
  -- 待核查 → 核实 (the deduction stands) or 排除 (dismissed, reason required).
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'dismissed')),
  project_id integer NOT NULL REFERENCES projects(id),
  xmbh text NOT NULL,
  -- What else the finding names: the earlier project of an overlap, the zone layer; '' otherwise.
  subject text NOT NULL DEFAULT '',
  xzqdm text,
  rule text NOT NULL,
  -- Area of the finding (parcel, overlap, inside the zone, on steep slopes), m² ellipsoidal.
  area_m2 double precision NOT NULL,
  -- Claimed new cropland the finding takes off the project's indicator, m², and the paddy part of it.
  deduct_m2 double precision NOT NULL,
  deduct_paddy_m2 double precision NOT NULL DEFAULT 0,
  evidence jsonb NOT NULL DEFAULT '{}',
  chips jsonb NOT NULL DEFAULT '[]',
  geom geometry(MultiPolygon, 4490),
  first_audit_id integer NOT NULL REFERENCES compensation_audits(id),
  last_audit_id integer NOT NULL REFERENCES compensation_audits(id),
  ruling jsonb,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX compensation_cases_project_idx ON compensation_cases (project_id);
-- One standing case per project, type and subject: a later audit confirms it rather than open another.
CREATE UNIQUE INDEX compensation_cases_open_uq ON compensation_cases (xmbh, tblx, subject) WHERE status <> 'dismissed';

CREATE TABLE compensation_events (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  case_id integer NOT NULL REFERENCES compensation_cases(id),
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('created', 'observed', 'confirmed', 'dismissed')),
  audit_id integer REFERENCES compensation_audits(id),
  fields jsonb NOT NULL DEFAULT '{}',
  version integer NOT NULL
);
CREATE INDEX compensation_events_case_idx ON compensation_events (case_id, id);
CREATE TRIGGER compensation_events_no_update BEFORE UPDATE OR DELETE ON compensation_events FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER compensation_events_no_truncate BEFORE TRUNCATE ON compensation_events FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

-- The plan: new cropland (and paddy) each township must add per year, m².
CREATE TABLE compensation_quotas (
  xzqdm text NOT NULL,
  year integer NOT NULL,
  target_m2 double precision NOT NULL CHECK (target_m2 >= 0),
  paddy_target_m2 double precision NOT NULL DEFAULT 0 CHECK (paddy_target_m2 >= 0),
  source text,
  PRIMARY KEY (xzqdm, year)
);

-- Indicators used (核销出库): a construction project pays with (part of) a 补充耕地 project's indicator.
CREATE TABLE compensation_uses (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Document number of the use (e.g. the 占补平衡 confirmation); unique per project.
  hxbh text NOT NULL,
  project_id integer NOT NULL REFERENCES projects(id),
  used_on date NOT NULL,
  area_m2 double precision NOT NULL CHECK (area_m2 > 0),
  paddy_m2 double precision NOT NULL DEFAULT 0 CHECK (paddy_m2 >= 0),
  purpose text,
  source text,
  UNIQUE (hxbh, project_id)
);
