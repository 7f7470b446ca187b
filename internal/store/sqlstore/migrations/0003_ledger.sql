-- The zero-cross-border-infection ledger: secondary cases (people who are
-- not lane travellers, infected by one), and the indexes behind the joint
-- dashboard's reads by date.

CREATE TABLE secondary_cases (
	id          TEXT PRIMARY KEY,
	trip_id     TEXT NOT NULL REFERENCES trips (id),
	lane        TEXT NOT NULL,
	detected_on TEXT NOT NULL,
	local_ref   TEXT NOT NULL,
	note        TEXT NOT NULL,
	recorded_by TEXT NOT NULL,
	created_at  BIGINT NOT NULL
);
-- One record per case of the local health system: entered twice, it must
-- not count twice.
CREATE UNIQUE INDEX secondary_cases_local_ref ON secondary_cases (local_ref);
CREATE INDEX secondary_cases_detected ON secondary_cases (detected_on);
CREATE INDEX secondary_cases_trip ON secondary_cases (trip_id);
CREATE INDEX secondary_cases_lane ON secondary_cases (lane, detected_on);

CREATE INDEX cases_opened ON cases (opened_at);
CREATE INDEX federation_peer_cases_detected ON federation_peer_cases (peer, detected_on);
