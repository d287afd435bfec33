-- The sample sandbox: what an Experience Platform sandbox looks like to a PostgreSQL client,
-- plus a few ordinary relational tables.

-- XDM objects arrive as composite types, named after table and column or shared.
CREATE TYPE web_webreferrer AS (url text, type text);
CREATE TYPE web_webpagedetails AS (name text, url text, is_home_page boolean);
CREATE TYPE luma_web_data_web AS (webpagedetails web_webpagedetails, webreferrer web_webreferrer);
CREATE TYPE commerce_order AS (price_total numeric(12, 2), currency_code text, purchase_id text);
CREATE TYPE luma_web_data_commerce AS ("order" commerce_order, checkouts_value double precision);
CREATE TYPE productlistitems_e AS (sku text, name text, quantity integer, price_total numeric(12, 2));
CREATE TYPE device_kind AS ENUM ('mobile', 'desktop', 'tablet', 'other');
CREATE DOMAIN email_address AS text CHECK (VALUE LIKE '%@%');

-- ExperienceEvent dataset: no primary key, `_id` and `timestamp`, everything nullable.
CREATE TABLE luma_web_data (
    _id text,
    "timestamp" timestamptz,
    web luma_web_data_web,
    commerce luma_web_data_commerce,
    productlistitems productlistitems_e[],
    identitymap jsonb,
    device device_kind,
    tags text[],
    eventtype text
);
COMMENT ON TABLE luma_web_data IS 'Luma web events (ExperienceEvent dataset)';
COMMENT ON COLUMN luma_web_data._id IS 'Unique event identifier';

-- Profile dataset: no primary key either.
CREATE TABLE luma_profile (
    _id text,
    person_name text,
    email email_address,
    loyalty_points integer,
    birth_date date,
    segments text[],
    identitymap jsonb,
    created timestamptz
);
COMMENT ON TABLE luma_profile IS 'Luma customer profiles (Profile dataset)';

-- Ordinary relational tables with keys, defaults, identity and generated columns.
CREATE TABLE customers (
    id bigserial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    name varchar(100) NOT NULL,
    country char(2),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE customers IS 'Customers of the Luma store';
COMMENT ON COLUMN customers.email IS 'Login e-mail, unique';

CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');

CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    status order_status NOT NULL DEFAULT 'new',
    total numeric(12, 2) NOT NULL CHECK (total >= 0),
    total_with_tax numeric(12, 2) GENERATED ALWAYS AS (total * 1.2) STORED,
    note text,
    placed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE INDEX orders_placed_idx ON orders (placed_at DESC) WHERE status <> 'cancelled';

CREATE TABLE order_items (
    order_id bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no integer NOT NULL,
    sku text NOT NULL,
    quantity integer NOT NULL DEFAULT 1 CHECK (quantity > 0),
    unit_price numeric(12, 2) NOT NULL,
    PRIMARY KEY (order_id, line_no),
    CONSTRAINT order_items_sku_per_order UNIQUE (order_id, sku)
);

-- Awkward names: spaces and upper case, a leading digit, Rust keywords.
CREATE TABLE "Web Sessions" (
    "Session ID" uuid PRIMARY KEY,
    "User Agent" text,
    "Started At" timestamptz NOT NULL DEFAULT now(),
    "Page Views" integer NOT NULL DEFAULT 0
);

CREATE TABLE "2024_campaigns" (
    campaign_id integer PRIMARY KEY,
    "type" text NOT NULL,
    "match" text,
    "async" boolean NOT NULL DEFAULT false,
    "self" text,
    budget numeric(14, 2)
);

CREATE TABLE "match" (
    id serial PRIMARY KEY,
    "fn" text,
    "where" text,
    "struct" integer,
    "await" text,
    "dyn" text,
    "try" text,
    "gen" text
);

-- A table with a unique non-null column but no primary key.
CREATE TABLE segment_members (
    member_key text NOT NULL UNIQUE,
    segment text,
    joined timestamptz
);

-- Views.
CREATE VIEW customer_order_totals AS
SELECT c.id AS customer_id, c.email, count(o.id) AS order_count, coalesce(sum(o.total), 0) AS total_spent
FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
GROUP BY c.id, c.email;
COMMENT ON VIEW customer_order_totals IS 'Order count and spend per customer';

CREATE MATERIALIZED VIEW daily_event_counts AS
SELECT date_trunc('day', "timestamp") AS day, eventtype, count(*) AS events
FROM luma_web_data
GROUP BY 1, 2;

-- A few rows so the examples have something to show.
INSERT INTO customers (email, name, country) VALUES
    ('ada@example.com', 'Ada Lovelace', 'GB'),
    ('grace@example.com', 'Grace Hopper', 'US');
INSERT INTO orders (customer_id, status, total, note) VALUES (1, 'paid', 120.50, 'first order'), (2, 'new', 35.00, NULL);
INSERT INTO order_items (order_id, line_no, sku, quantity, unit_price) VALUES
    (1, 1, 'LUMA-TEE-01', 2, 40.25), (1, 2, 'LUMA-CAP-02', 1, 40.00), (2, 1, 'LUMA-MUG-03', 1, 35.00);
INSERT INTO luma_web_data (_id, "timestamp", web, commerce, productlistitems, identitymap, device, tags, eventtype) VALUES
    ('evt-1', '2026-11-01 10:00:00+00',
     ROW(ROW('Home', 'https://luma.example/', true), ROW('https://search.example/?q=luma', 'external')),
     ROW(NULL, NULL), NULL, '{"ECID": [{"id": "123", "primary": true}]}', 'desktop', ARRAY['home'], 'web.webpagedetails.pageViews'),
    ('evt-2', '2026-11-01 10:05:00+00',
     ROW(ROW('Cart', 'https://luma.example/cart', false), NULL),
     ROW(ROW(120.50, 'USD', 'p-1'), 1), ARRAY[ROW('LUMA-TEE-01', 'Tee', 2, 80.50)::productlistitems_e, ROW('LUMA-CAP-02', 'Cap', 1, 40.00)::productlistitems_e],
     '{"ECID": [{"id": "123"}]}', 'mobile', ARRAY['cart', 'checkout'], 'commerce.purchases');
INSERT INTO luma_profile (_id, person_name, email, loyalty_points, birth_date, segments, identitymap, created) VALUES
    ('prof-1', 'Ada Lovelace', 'ada@example.com', 1200, '1815-12-10', ARRAY['gold'], '{"Email": [{"id": "ada@example.com"}]}', '2026-01-01 00:00:00+00');
INSERT INTO segment_members (member_key, segment, joined) VALUES ('prof-1', 'gold', '2026-02-01 00:00:00+00');
REFRESH MATERIALIZED VIEW daily_event_counts;
