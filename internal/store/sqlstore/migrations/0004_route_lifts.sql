-- Lifting a lane suspension before its time needs an officer of each
-- side; each side's approval is kept here, on both nodes, until the pair
-- is complete. The lane is repeated so the breaker reads a lane's lifts
-- in one query.
CREATE TABLE lane_lift_approvals (
	suspension_id TEXT NOT NULL,
	country       TEXT NOT NULL,
	lane          TEXT NOT NULL,
	officer_ref   TEXT NOT NULL,
	approved_at   BIGINT NOT NULL,
	PRIMARY KEY (suspension_id, country)
);
CREATE INDEX lane_lift_approvals_lane ON lane_lift_approvals (lane, approved_at);

-- The breaker counts a lane's arrival positives in a window.
CREATE INDEX cases_stage_opened ON cases (stage, opened_at);
