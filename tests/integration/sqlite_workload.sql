-- SPDX-License-Identifier: MIT
-- An SQLite workload for the real-program tests and benchmarks of kheap's
-- malloc drop-in: bulk inserts, indexes, updates, deletes, joins, grouping,
-- recursive queries, full-text search, VACUUM and an integrity check. ROWS
-- is replaced by the row count before it runs. Its output depends only on
-- the data, so runs on two mallocs must print the same.
PRAGMA journal_mode=WAL;
PRAGMA cache_size=-20000;
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, name TEXT, payload BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ROWS)
INSERT INTO t(k, name, payload)
  SELECT (x * 7919) % 100003, printf('name-%08d', (x * 31) % 50000), zeroblob(x % 300) FROM c;
CREATE INDEX t_k ON t(k);
CREATE INDEX t_name ON t(name);
CREATE TABLE u AS SELECT k, count(*) AS n, sum(length(payload)) AS bytes FROM t GROUP BY k;
UPDATE t SET name = upper(name) || '-' || k WHERE id % 3 = 0;
DELETE FROM t WHERE id % 7 = 0;
SELECT count(*), sum(k), max(name), sum(length(payload)) FROM t;
SELECT n, count(*) FROM u GROUP BY n ORDER BY n;
SELECT t.name, u.bytes FROM t JOIN u ON t.k = u.k WHERE t.id IN (10, 1000, 9999, 15001) ORDER BY t.id;
SELECT group_concat(name, ',') FROM (SELECT name FROM t ORDER BY name DESC LIMIT 20);
WITH RECURSIVE f(n, a, b) AS (SELECT 0, 0, 1 UNION ALL
  SELECT n + 1, b, (a + b) % 1000000007 FROM f WHERE n < ROWS / 2) SELECT max(a) FROM f;
SELECT k % 10, count(DISTINCT name), avg(length(payload)) FROM t GROUP BY k % 10 ORDER BY 1;
CREATE VIRTUAL TABLE ft USING fts5(body);
INSERT INTO ft SELECT name || ' ' || k || ' lorem ipsum dolor' FROM t WHERE id % 5 = 0;
SELECT count(*) FROM ft WHERE ft MATCH 'lorem AND NAME*';
VACUUM;
PRAGMA integrity_check;
