CREATE TABLE reserved_names_columns
(
    id SERIAL PRIMARY KEY,
    is_nullable BOOLEAN
);
