-- pytest's JUnit report of each ended run that has one, for download.
CREATE TABLE run_reports (
    run_id    bigint PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    junit_xml bytea  NOT NULL
);
