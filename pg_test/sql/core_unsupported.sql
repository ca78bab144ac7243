-- Operations glassheap does not implement yet fail with an error that names them;
-- the table keeps working afterwards.
CREATE TABLE g_un (a int PRIMARY KEY, b text) USING glassheap;
INSERT INTO g_un SELECT g, g::text FROM generate_series(1, 10) g;
SELECT count(*) FROM g_un;
-- a historic snapshot cannot read glassheap; logical decoding is refused when it meets
-- glassheap changes (covered in the TAP suite, which can create replication slots)
SELECT count(*) FROM g_un;
