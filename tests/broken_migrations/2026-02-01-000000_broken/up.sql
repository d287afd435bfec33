-- fails on purpose: the error must keep the server's message as its source
SELECT * FROM no_such_table_for_migrations;
