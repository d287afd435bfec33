-- A NOT NULL column whose type has no Rust type: no insert struct (it could only fail), while a
-- nullable or defaulted one of the same type is simply left out of it.
CREATE TABLE shapes (
    id integer PRIMARY KEY,
    centre point NOT NULL,
    label text
);
CREATE TABLE marks (
    id integer PRIMARY KEY,
    spot point,
    origin point NOT NULL DEFAULT point(0, 0),
    label text NOT NULL
);
