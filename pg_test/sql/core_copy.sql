-- COPY uses multi_insert (batched, one WAL record per page); COPY FREEZE writes frozen
-- rows. Results match a heap twin; the packing is 291 narrow rows per page.
SELECT twin_tables('cp', 'a int, b int');
COPY h_cp FROM PROGRAM 'seq 1 5000 | sed "s/.*/&,&/"' WITH (FORMAT csv);
COPY g_cp FROM PROGRAM 'seq 1 5000 | sed "s/.*/&,&/"' WITH (FORMAT csv);
SELECT twin_query($$SELECT * FROM @@cp$$);
SELECT count(*), sum(a), sum(b) FROM g_cp;
SELECT pg_relation_size('g_cp') / 8192 AS glassheap_pages, pg_relation_size('h_cp') / 8192 AS heap_pages;

-- mixed widths and NULLs in one batch
SELECT twin_tables('cpm', 'a int, t text, n numeric');
COPY h_cpm FROM stdin;
1	one	1.5
2	\N	\N
3	three three three three three three three three three three three three three three	3
4		4
\.
COPY g_cpm FROM stdin;
1	one	1.5
2	\N	\N
3	three three three three three three three three three three three three three three	3
4		4
\.
SELECT twin_query($$SELECT * FROM @@cpm$$);

-- COPY FREEZE into a table created in the same transaction
BEGIN;
CREATE TABLE g_frz (a int) USING glassheap;
COPY g_frz FROM PROGRAM 'seq 1 100' WITH (FREEZE);
COMMIT;
SELECT count(*), sum(a) FROM g_frz;

-- INSERT ... SELECT of many rows and of rows from another glassheap table
CREATE TABLE g_cp2 (a int, b int) USING glassheap;
INSERT INTO g_cp2 SELECT * FROM g_cp;
SELECT count(*), sum(a) FROM g_cp2;
