CREATE SCHEMA "CustomSchema";

CREATE TABLE "CustomSchema"."User" (
    id integer PRIMARY KEY NOT NULL
);
