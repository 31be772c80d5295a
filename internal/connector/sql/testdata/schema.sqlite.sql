-- The webshop the tests and the example configuration use, in SQLite.
-- Times are UTC text as strftime('%Y-%m-%d %H:%M:%f', 'now') writes them;
-- updated_at is kept by the database (a default, and a trigger on update).
-- order_lines has no updated_at: the connector keeps a change table for it
-- (change_table: {create: true}).
CREATE TABLE customers (
    id           INTEGER PRIMARY KEY,
    email        TEXT NOT NULL CONSTRAINT customers_email_key UNIQUE,
    name         TEXT NOT NULL,
    phone        TEXT,
    city         TEXT,
    country      TEXT,
    vat_number   TEXT,
    credit_limit DECIMAL(12,2),
    created_at   DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    updated_at   DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    deleted_at   DATETIME
);
CREATE INDEX customers_updated ON customers (updated_at, id);

CREATE TABLE products (
    id          INTEGER PRIMARY KEY,
    sku         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    description TEXT,
    price       DECIMAL(10,2) NOT NULL DEFAULT 0 CONSTRAINT products_price_check CHECK (price >= 0),
    active      BOOLEAN NOT NULL DEFAULT 1,
    weight_kg   REAL,
    updated_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX products_updated ON products (updated_at, id);

CREATE TABLE orders (
    id          TEXT PRIMARY KEY,
    number      TEXT NOT NULL UNIQUE,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    status      TEXT NOT NULL DEFAULT 'open',
    order_date  DATE,
    reference   TEXT,
    updated_at  DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);
CREATE INDEX orders_updated ON orders (updated_at, id);

CREATE TABLE order_lines (
    id          INTEGER PRIMARY KEY,
    order_id    TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id  INTEGER NOT NULL REFERENCES products (id),
    quantity    DECIMAL(10,3) NOT NULL,
    unit_price  DECIMAL(10,2),
    description TEXT
);

CREATE TRIGGER customers_touch AFTER UPDATE ON customers WHEN NEW.updated_at IS OLD.updated_at
BEGIN UPDATE customers SET updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = NEW.id; END;
CREATE TRIGGER products_touch AFTER UPDATE ON products WHEN NEW.updated_at IS OLD.updated_at
BEGIN UPDATE products SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id; END;
CREATE TRIGGER orders_touch AFTER UPDATE ON orders WHEN NEW.updated_at IS OLD.updated_at
BEGIN UPDATE orders SET updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = NEW.id; END;
