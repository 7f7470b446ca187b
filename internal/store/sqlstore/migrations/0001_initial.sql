-- Corridor's first schema. Written in the SQL that SQLite, PostgreSQL,
-- CockroachDB and YugabyteDB all accept: TEXT ids made in Go (no sequences),
-- instants as BIGINT Unix milliseconds, calendar dates as TEXT YYYY-MM-DD,
-- flags as INTEGER 0/1, no triggers.

CREATE TABLE organisations (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	name       TEXT NOT NULL,
	country    TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX organisations_name ON organisations (name);

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	email         TEXT NOT NULL,
	name          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	node_admin    INTEGER NOT NULL DEFAULT 0,
	created_at    BIGINT NOT NULL,
	disabled_at   BIGINT
);
CREATE UNIQUE INDEX users_email ON users (email);

CREATE TABLE memberships (
	user_id    TEXT NOT NULL REFERENCES users (id),
	org_id     TEXT NOT NULL REFERENCES organisations (id),
	roles      TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (user_id, org_id)
);
CREATE INDEX memberships_org ON memberships (org_id);

CREATE TABLE invitations (
	id          TEXT PRIMARY KEY,
	token_hash  TEXT NOT NULL,
	org_id      TEXT NOT NULL REFERENCES organisations (id),
	email       TEXT NOT NULL,
	roles       TEXT NOT NULL,
	invited_by  TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	expires_at  BIGINT NOT NULL,
	accepted_at BIGINT,
	accepted_by TEXT
);
CREATE UNIQUE INDEX invitations_token ON invitations (token_hash);
CREATE INDEX invitations_org ON invitations (org_id);

CREATE TABLE sessions (
	id_hash      TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users (id),
	org_id       TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE traveller_sessions (
	id_hash    TEXT PRIMARY KEY,
	trip_id    TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX traveller_sessions_trip ON traveller_sessions (trip_id);

CREATE TABLE api_tokens (
	id           TEXT PRIMARY KEY,
	token_hash   TEXT NOT NULL,
	org_id       TEXT NOT NULL REFERENCES organisations (id),
	name         TEXT NOT NULL,
	roles        TEXT NOT NULL,
	created_by   TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	expires_at   BIGINT,
	revoked_at   BIGINT,
	last_used_at BIGINT
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);
CREATE INDEX api_tokens_org ON api_tokens (org_id);

-- One row per HMAC key (of an account and a client address): a fixed
-- window counter.
CREATE TABLE rate_limits (
	limit_key    TEXT PRIMARY KEY,
	window_start BIGINT NOT NULL,
	hits         INTEGER NOT NULL
);

CREATE TABLE trips (
	id                    TEXT PRIMARY KEY,
	reference             TEXT NOT NULL,
	state                 TEXT NOT NULL,
	suspended_from        TEXT NOT NULL,
	version               BIGINT NOT NULL,
	lane                  TEXT NOT NULL,
	region                TEXT NOT NULL,
	purpose               TEXT NOT NULL,
	sponsor_org_id        TEXT NOT NULL REFERENCES organisations (id),
	created_by            TEXT NOT NULL,
	given_name            TEXT NOT NULL,
	family_name           TEXT NOT NULL,
	given_name_icao       TEXT NOT NULL,
	family_name_icao      TEXT NOT NULL,
	date_of_birth         TEXT NOT NULL,
	sex                   TEXT NOT NULL,
	nationality           TEXT NOT NULL,
	passport_country      TEXT NOT NULL,
	passport_number       TEXT NOT NULL,
	email                 TEXT NOT NULL,
	phone                 TEXT NOT NULL,
	host_name             TEXT NOT NULL,
	host_email            TEXT NOT NULL,
	host_phone            TEXT NOT NULL,
	departure_date        TEXT NOT NULL,
	return_date           TEXT NOT NULL,
	traveller_token_hash  TEXT,
	approval_id           TEXT NOT NULL,
	approval_hc1          TEXT NOT NULL,
	approved_at           BIGINT,
	approval_valid_until  BIGINT,
	monitoring_started_at BIGINT,
	cleared_at            BIGINT,
	flight                TEXT NOT NULL,
	seat                  TEXT NOT NULL,
	departed_at           BIGINT,
	arrived_at            BIGINT,
	hold_started_at       BIGINT,
	hold_until            BIGINT,
	released_at           BIGINT,
	follow_up_until       BIGINT,
	created_at            BIGINT NOT NULL,
	updated_at            BIGINT NOT NULL,
	submitted_at          BIGINT,
	finished_at           BIGINT,
	purged_at             BIGINT
);
CREATE UNIQUE INDEX trips_reference ON trips (reference);
CREATE UNIQUE INDEX trips_traveller_token ON trips (traveller_token_hash);
CREATE INDEX trips_sponsor ON trips (sponsor_org_id, created_at);
CREATE INDEX trips_state ON trips (state, created_at);

CREATE TABLE itinerary_items (
	trip_id   TEXT NOT NULL REFERENCES trips (id),
	pos       INTEGER NOT NULL,
	kind      TEXT NOT NULL,
	site      TEXT NOT NULL,
	address   TEXT NOT NULL,
	from_date TEXT NOT NULL,
	to_date   TEXT NOT NULL,
	PRIMARY KEY (trip_id, pos)
);

CREATE TABLE transitions (
	id          TEXT PRIMARY KEY,
	trip_id     TEXT NOT NULL REFERENCES trips (id),
	seq         INTEGER NOT NULL,
	action      TEXT NOT NULL,
	from_state  TEXT NOT NULL,
	to_state    TEXT NOT NULL,
	actor       TEXT NOT NULL,
	actor_role  TEXT NOT NULL,
	reason      TEXT NOT NULL,
	occurred_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX transitions_trip_seq ON transitions (trip_id, seq);

CREATE TABLE declarations (
	id              TEXT PRIMARY KEY,
	trip_id         TEXT NOT NULL REFERENCES trips (id),
	phase           TEXT NOT NULL,
	day             TEXT NOT NULL,
	temperature_dc  INTEGER NOT NULL,
	symptoms        TEXT NOT NULL,
	note            TEXT NOT NULL,
	recorded_by     TEXT NOT NULL,
	created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX declarations_day ON declarations (trip_id, phase, day);

CREATE TABLE tests (
	id          TEXT PRIMARY KEY,
	trip_id     TEXT NOT NULL REFERENCES trips (id),
	lab_org_id  TEXT NOT NULL REFERENCES organisations (id),
	stage       TEXT NOT NULL,
	test_type   TEXT NOT NULL,
	test_name   TEXT NOT NULL,
	sampled_at  BIGINT NOT NULL,
	result      TEXT NOT NULL,
	facility    TEXT NOT NULL,
	country     TEXT NOT NULL,
	uvci        TEXT NOT NULL,
	hc1         TEXT NOT NULL,
	recorded_by TEXT NOT NULL,
	created_at  BIGINT NOT NULL
);
CREATE INDEX tests_trip ON tests (trip_id, sampled_at);
CREATE UNIQUE INDEX tests_uvci ON tests (uvci);

CREATE TABLE cases (
	id        TEXT PRIMARY KEY,
	trip_id   TEXT NOT NULL REFERENCES trips (id),
	test_id   TEXT NOT NULL REFERENCES tests (id),
	stage     TEXT NOT NULL,
	opened_at BIGINT NOT NULL,
	closed_at BIGINT
);
CREATE INDEX cases_trip ON cases (trip_id);
CREATE UNIQUE INDEX cases_test ON cases (test_id);

CREATE TABLE alerts (
	id              TEXT PRIMARY KEY,
	trip_id         TEXT NOT NULL REFERENCES trips (id),
	phase           TEXT NOT NULL,
	kind            TEXT NOT NULL,
	day             TEXT NOT NULL,
	detail          TEXT NOT NULL,
	created_at      BIGINT NOT NULL,
	acknowledged_at BIGINT,
	acknowledged_by TEXT NOT NULL
);
CREATE UNIQUE INDEX alerts_once ON alerts (trip_id, phase, kind, day);
CREATE INDEX alerts_open ON alerts (acknowledged_at, created_at);

-- Weekly approval counters, taken with one conditional upsert.
CREATE TABLE quota_usage (
	lane   TEXT NOT NULL,
	scope  TEXT NOT NULL,
	bucket TEXT NOT NULL,
	week   TEXT NOT NULL,
	used   INTEGER NOT NULL,
	PRIMARY KEY (lane, scope, bucket, week)
);

CREATE TABLE lane_suspensions (
	id         TEXT PRIMARY KEY,
	lane       TEXT NOT NULL,
	starts_at  BIGINT NOT NULL,
	ends_at    BIGINT NOT NULL,
	reason     TEXT NOT NULL,
	created_by TEXT NOT NULL,
	lifted_at  BIGINT
);
CREATE INDEX lane_suspensions_lane ON lane_suspensions (lane, ends_at);

-- The audit chain. audit_head is its single head row: appends update it
-- first, which serialises them on every engine.
CREATE TABLE audit_entries (
	seq         BIGINT PRIMARY KEY,
	occurred_at BIGINT NOT NULL,
	actor       TEXT NOT NULL,
	actor_role  TEXT NOT NULL,
	action      TEXT NOT NULL,
	object      TEXT NOT NULL,
	details     TEXT NOT NULL,
	prev_hash   TEXT NOT NULL,
	hash        TEXT NOT NULL
);
CREATE INDEX audit_entries_object ON audit_entries (object, seq);

CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY,
	seq  BIGINT NOT NULL,
	hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');
