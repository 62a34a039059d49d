-- Fencing tokens (issue 10). Every run that starts in an environment takes
-- the environment's next fence, in its claim's transaction under the
-- environment's lock: a number that only ever grows per environment, handed
-- to the tests as TEST_ENV_FENCE. A test environment whose API remembers
-- the largest fence it has seen can refuse a smaller one: the request of a
-- holder whose lease ended (a paused host) after the next run started.
ALTER TABLE environments ADD COLUMN fence bigint NOT NULL DEFAULT 0 CHECK (fence >= 0);

-- NULL for a run that never started (or started before fences existed).
ALTER TABLE runs ADD COLUMN fence bigint CHECK (fence > 0);
