CREATE TABLE example (
    id SERIAL PRIMARY KEY,
    "type" VARCHAR(10)
);
