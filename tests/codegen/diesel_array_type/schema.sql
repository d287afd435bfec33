CREATE TABLE users (
    id   SERIAL PRIMARY KEY,
    tags TEXT[] NOT NULL
);
