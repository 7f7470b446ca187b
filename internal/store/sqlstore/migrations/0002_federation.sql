-- The joint response mechanism: peers, the outbox, the inbox's exactly-once
-- bookkeeping, dead letters, counters, peers' lists, shared trips and the
-- tracing index. docs/federation-delivery.md explains the tables.

CREATE TABLE federation_peers (
	country    TEXT PRIMARY KEY,
	url        TEXT NOT NULL,
	csca_pem   TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

-- The last number given out per peer and stream; the row of stream ''
-- counts positions across the peer's streams. Updating the row takes its
-- lock, so concurrent writers get consecutive numbers.
CREATE TABLE federation_out_counters (
	peer   TEXT NOT NULL,
	stream TEXT NOT NULL,
	last   BIGINT NOT NULL,
	PRIMARY KEY (peer, stream)
);

CREATE TABLE federation_outbox (
	peer            TEXT NOT NULL,
	stream          TEXT NOT NULL,
	seq             BIGINT NOT NULL,
	pos             BIGINT NOT NULL,
	id              TEXT NOT NULL,
	type            TEXT NOT NULL,
	envelope        TEXT NOT NULL,
	created_at      BIGINT NOT NULL,
	attempts        INTEGER NOT NULL,
	next_attempt_at BIGINT NOT NULL,
	last_error      TEXT NOT NULL,
	acked_at        BIGINT,
	PRIMARY KEY (peer, stream, seq)
);
CREATE UNIQUE INDEX federation_outbox_id ON federation_outbox (id);
CREATE UNIQUE INDEX federation_outbox_pos ON federation_outbox (peer, pos);
-- Both partial indexes hold only the messages in flight, so sending and
-- acknowledging cost the same with a million messages delivered or none.
CREATE INDEX federation_outbox_unacked ON federation_outbox (peer, pos) WHERE acked_at IS NULL;
CREATE INDEX federation_outbox_unacked_seq ON federation_outbox (peer, stream, seq) WHERE acked_at IS NULL;
CREATE INDEX federation_outbox_acked ON federation_outbox (acked_at);

-- The next sequence number expected per peer and stream.
CREATE TABLE federation_inbox_cursors (
	peer     TEXT NOT NULL,
	stream   TEXT NOT NULL,
	next_seq BIGINT NOT NULL,
	PRIMARY KEY (peer, stream)
);

-- Every message id taken, with the digest of its content.
CREATE TABLE federation_inbox_seen (
	id          TEXT PRIMARY KEY,
	peer        TEXT NOT NULL,
	stream      TEXT NOT NULL,
	seq         BIGINT NOT NULL,
	type        TEXT NOT NULL,
	digest      TEXT NOT NULL,
	outcome     TEXT NOT NULL,
	received_at BIGINT NOT NULL,
	done_at     BIGINT
);

-- Messages that came before their predecessor.
CREATE TABLE federation_inbox_held (
	peer        TEXT NOT NULL,
	stream      TEXT NOT NULL,
	seq         BIGINT NOT NULL,
	id          TEXT NOT NULL,
	envelope    TEXT NOT NULL,
	received_at BIGINT NOT NULL,
	PRIMARY KEY (peer, stream, seq)
);

CREATE TABLE federation_dead_letters (
	id          TEXT PRIMARY KEY,
	peer        TEXT NOT NULL,
	stream      TEXT NOT NULL,
	seq         BIGINT NOT NULL,
	type        TEXT NOT NULL,
	envelope    TEXT NOT NULL,
	reason      TEXT NOT NULL,
	failed_at   BIGINT NOT NULL,
	attempts    INTEGER NOT NULL,
	resolved_at BIGINT,
	resolved_by TEXT NOT NULL
);
CREATE INDEX federation_dead_letters_open ON federation_dead_letters (resolved_at, failed_at);

CREATE TABLE federation_counters (
	peer TEXT NOT NULL,
	name TEXT NOT NULL,
	n    BIGINT NOT NULL,
	PRIMARY KEY (peer, name)
);

CREATE TABLE federation_peer_lists (
	peer        TEXT NOT NULL,
	kind        TEXT NOT NULL,
	sequence    BIGINT NOT NULL,
	data        TEXT NOT NULL,
	received_at BIGINT NOT NULL,
	PRIMARY KEY (peer, kind)
);

-- Credentials this node revoked, by hash (the DCC revocation scheme).
CREATE TABLE revoked_credentials (
	hash_type  TEXT NOT NULL,
	hash       TEXT NOT NULL,
	kid        TEXT NOT NULL,
	revoked_at BIGINT NOT NULL,
	revoked_by TEXT NOT NULL,
	PRIMARY KEY (hash_type, hash, kid)
);

CREATE TABLE federation_trip_links (
	trip_id          TEXT PRIMARY KEY REFERENCES trips (id),
	peer             TEXT NOT NULL,
	side             TEXT NOT NULL,
	passport_country TEXT NOT NULL,
	passport_salt    TEXT NOT NULL,
	passport_hash    TEXT NOT NULL,
	created_at       BIGINT NOT NULL
);

CREATE TABLE federation_peer_cases (
	ref         TEXT NOT NULL,
	peer        TEXT NOT NULL,
	lane        TEXT NOT NULL,
	stage       TEXT NOT NULL,
	detected_on TEXT NOT NULL,
	trip_ref    TEXT NOT NULL,
	trip_id     TEXT NOT NULL,
	exposure    TEXT NOT NULL,
	received_at BIGINT NOT NULL,
	PRIMARY KEY (peer, ref)
);
CREATE INDEX federation_peer_cases_received ON federation_peer_cases (received_at);

CREATE TABLE trace_contacts (
	case_ref TEXT NOT NULL,
	trip_id  TEXT NOT NULL REFERENCES trips (id),
	rules    TEXT NOT NULL,
	source   TEXT NOT NULL,
	found_at BIGINT NOT NULL,
	PRIMARY KEY (case_ref, trip_id)
);
CREATE INDEX trace_contacts_trip ON trace_contacts (trip_id);

CREATE TABLE trace_requests (
	ref         TEXT PRIMARY KEY,
	case_ref    TEXT NOT NULL,
	peer        TEXT NOT NULL,
	sent_at     BIGINT NOT NULL,
	answered_at BIGINT,
	contacts    INTEGER NOT NULL
);

-- A trip's exposure and its tracing keys (tracing.Keys): a trace reads
-- the trips filed under the case's keys and checks only those.
CREATE TABLE trace_exposures (
	trip_id     TEXT PRIMARY KEY REFERENCES trips (id),
	trip_ref    TEXT NOT NULL,
	flight      TEXT NOT NULL,
	flight_date TEXT NOT NULL,
	seat        TEXT NOT NULL,
	hold_site   TEXT NOT NULL,
	hold_from   BIGINT,
	hold_until  BIGINT,
	sites       TEXT NOT NULL
);

-- tkey is 63 bits of the key's FNV-1a hash (see keyHash).
CREATE TABLE trace_keys (
	tkey    BIGINT NOT NULL,
	trip_id TEXT NOT NULL,
	PRIMARY KEY (tkey, trip_id)
);
CREATE INDEX trace_keys_trip ON trace_keys (trip_id);

CREATE TABLE federation_peer_stats (
	peer        TEXT NOT NULL,
	day         TEXT NOT NULL,
	lane        TEXT NOT NULL,
	body        TEXT NOT NULL,
	received_at BIGINT NOT NULL,
	PRIMARY KEY (peer, day, lane)
);
