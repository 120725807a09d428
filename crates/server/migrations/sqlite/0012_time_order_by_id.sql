-- Signals and events are appended in time order, so their ids already order them by time:
-- retention deletes from the oldest id up to the first row it must keep, and the overview
-- counts the last hour from the newest id down. The two time indexes only cost every ingest
-- two more B-tree writes (about a tenth of the SQLite writer's time per signal, bench/RESULTS.md).
DROP INDEX signals_received_at;
DROP INDEX events_created_at;
