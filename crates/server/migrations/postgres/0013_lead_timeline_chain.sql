-- A lead's timeline is a chain instead of an index. The only query on the index
-- signal_captures(lead_id, seq) was "the newest N (at most 100) captures of a lead", and it
-- cost every typed capture one more B-tree write at a random leaf page: about 38 % of the
-- WAL pages a typed batch wrote, and most of the pages it read back (bench/RESULTS.md).
-- Now each capture names its lead's previous capture, and the lead its latest one (the lead's
-- row is rewritten for every capture anyway); the timeline is read by following the chain.
ALTER TABLE signal_captures ADD COLUMN previous_capture_id TEXT;
ALTER TABLE leads ADD COLUMN latest_capture_id TEXT;

UPDATE signal_captures SET previous_capture_id = chained.previous
FROM (SELECT seq, LAG(id) OVER (PARTITION BY lead_id ORDER BY seq) AS previous FROM signal_captures) AS chained
WHERE chained.seq = signal_captures.seq AND chained.previous IS NOT NULL;

UPDATE leads SET latest_capture_id = latest.id
FROM (SELECT lead_id, id, ROW_NUMBER() OVER (PARTITION BY lead_id ORDER BY seq DESC) AS newest FROM signal_captures) AS latest
WHERE latest.lead_id = leads.id AND latest.newest = 1;

DROP INDEX signal_captures_lead;
