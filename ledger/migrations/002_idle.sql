-- Idle (闲置撂荒) and non-grain (非粮化) monitoring of 补充耕地 parcels: per-scene parcel
-- observations, and cases of their own (not in `cases`, so they never enter the 进出平衡 balances
-- or the change-patch clue lists) with an append-only event trail like the change cases'.

CREATE TABLE parcel_observations (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Parcel key: XMBH for register projects, BSM for survey parcels.
  parcel text NOT NULL,
  project_id integer REFERENCES projects(id),
  obs_date date NOT NULL,
  scene text NOT NULL,
  usable boolean NOT NULL,
  clear_fraction double precision NOT NULL,
  -- NDVI statistics, NDWI, cover fractions, pixel counts, why unusable.
  stats jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (parcel, obs_date, scene)
);
CREATE INDEX parcel_observations_parcel_idx ON parcel_observations (parcel, obs_date);

CREATE TABLE idle_cases (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  jcbh text NOT NULL UNIQUE,
  kind text NOT NULL CHECK (kind IN ('idle', 'non_grain')),
  non_grain_kind text CHECK (non_grain_kind IN ('woody', 'water', 'facility')),
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  parcel text NOT NULL,
  project_id integer REFERENCES projects(id),
  xzqdm text,
  season_name text NOT NULL,
  season_start date NOT NULL,
  season_end date NOT NULL,
  -- The decision that raised (or last confirmed) the case: verdict, reason, signals.
  decision jsonb NOT NULL,
  -- The usable observations the decision rests on.
  observation_ids integer[] NOT NULL,
  plot text,
  chips jsonb NOT NULL DEFAULT '[]',
  closed_on date,
  close_evidence jsonb,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idle_cases_parcel_idx ON idle_cases (parcel, status);
-- One open case per parcel and kind: later seasons confirm it rather than open another.
CREATE UNIQUE INDEX idle_cases_open_uq ON idle_cases (parcel, kind) WHERE status = 'open';

CREATE TABLE idle_events (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  case_id integer NOT NULL REFERENCES idle_cases(id),
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('created', 'confirmed', 'closed')),
  fields jsonb NOT NULL DEFAULT '{}',
  version integer NOT NULL
);
CREATE INDEX idle_events_case_idx ON idle_events (case_id, id);
CREATE TRIGGER idle_events_no_update BEFORE UPDATE OR DELETE ON idle_events FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER idle_events_no_truncate BEFORE TRUNCATE ON idle_events FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
