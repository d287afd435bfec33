-- Two tables that point at each other: a joinable! each way would implement JoinTo twice, so
-- neither gets one (print-schema's rule); a third table keeps its own.
CREATE TABLE customers (id SERIAL PRIMARY KEY, last_order_id INTEGER);
CREATE TABLE orders (id SERIAL PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers (id));
ALTER TABLE customers ADD FOREIGN KEY (last_order_id) REFERENCES orders (id);
CREATE TABLE order_notes (id SERIAL PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders (id));
