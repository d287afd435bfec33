-- Relations and types named like Rust prelude items, Diesel's own names and keywords.
CREATE TYPE "Result" AS ENUM ('Ok', 'Err');
CREATE TABLE "Option" (
    id integer PRIMARY KEY,
    "Result" text,
    "String" "Result",
    "table" text,
    is_nullable boolean,
    "bool" boolean,
    "Option" text
);
CREATE TABLE vec (
    id integer PRIMARY KEY,
    option_id integer REFERENCES "Option" (id),
    "type" text,
    -- reserved words print-schema suffixes (abstract) and ones it does not know (await, gen)
    "abstract" text,
    "await" text,
    "gen" text
);
