-- Rollouts are plans that wait for a person: a plan may be `paused` (still open: one per
-- subject) or `aborted` (ended by a person). The open-plan index learns the new state.
DROP INDEX plans_open;
CREATE UNIQUE INDEX plans_open ON plans(subject) WHERE state IN ('running', 'interrupted', 'rolling-back', 'paused');
