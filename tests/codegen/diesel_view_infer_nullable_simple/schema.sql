CREATE VIEW test AS SELECT 'test' AS name, 1 AS id;
