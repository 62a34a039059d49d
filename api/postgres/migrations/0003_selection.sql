-- Picking tests inside files: node ids, -k and -m. test_files keeps every
-- file the run touches (the files of its tests included), so its limits and
-- the runs table stay as they were.
ALTER TABLE runs
    ADD COLUMN tests   jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tests) = 'array' AND jsonb_array_length(tests) <= 5000),
    ADD COLUMN keyword text  NOT NULL DEFAULT '' CHECK (octet_length(keyword) <= 1000),
    ADD COLUMN markers text  NOT NULL DEFAULT '' CHECK (octet_length(markers) <= 1000);
