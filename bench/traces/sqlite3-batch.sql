-- SPDX-License-Identifier: MIT
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, val REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<20000)
INSERT INTO t SELECT x, 'name' || x || substr('abcdefghijklmnopqrstuvwxyz', 1, x % 26), x % 97, x * 0.5 FROM c;
CREATE INDEX t_grp ON t(grp);
SELECT grp, count(*), sum(val) FROM t GROUP BY grp ORDER BY 3 DESC LIMIT 5;
SELECT count(*) FROM t a JOIN t b ON a.grp = b.grp AND a.id < b.id AND b.id < a.id + 300;
UPDATE t SET name = upper(name) WHERE grp < 30;
DELETE FROM t WHERE id % 3 = 0;
SELECT name FROM t ORDER BY name DESC LIMIT 3;
