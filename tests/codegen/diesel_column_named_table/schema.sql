CREATE TABLE column_named_table (
    id SERIAL PRIMARY KEY,
    "table" INTEGER NOT NULL
);

