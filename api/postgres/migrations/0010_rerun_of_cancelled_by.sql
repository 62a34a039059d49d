-- What a run reruns and who cancelled it (issue 15): the run page links a
-- rerun to its original, lists the original's reruns, and says who stopped
-- a run.

ALTER TABLE runs
    -- The run this one runs again (POST /api/runs/{id}/rerun or
    -- rerun-failed); NULL for a new run, or once retention deleted the original.
    ADD COLUMN rerun_of     bigint REFERENCES runs (id) ON DELETE SET NULL,
    -- Who asked to cancel it, as the cancel request named them; NULL when no
    -- one asked or the request named no one. The first request's name stays.
    ADD COLUMN cancelled_by text CHECK (char_length(cancelled_by) <= 150);

-- An original's reruns (GET /api/runs?rerun_of=N), and retention's delete of
-- an original, which sets its reruns' rerun_of to NULL, find them by index.
CREATE INDEX runs_rerun_of ON runs (rerun_of) WHERE rerun_of IS NOT NULL;
