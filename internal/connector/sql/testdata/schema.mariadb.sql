-- The webshop the tests and the example configuration use, in MariaDB
-- (or MySQL). updated_at is kept by the database (DEFAULT and ON UPDATE);
-- products date to the second only. order_lines has no updated_at: the
-- connector keeps a change table for it (change_table: {create: true}).
CREATE TABLE customers (
    id           BIGINT AUTO_INCREMENT PRIMARY KEY,
    email        VARCHAR(255) NOT NULL,
    name         VARCHAR(255) NOT NULL,
    phone        VARCHAR(50),
    city         VARCHAR(100),
    country      CHAR(2),
    vat_number   VARCHAR(50),
    credit_limit DECIMAL(12,2),
    created_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    deleted_at   DATETIME(6) NULL,
    CONSTRAINT customers_email_key UNIQUE (email),
    INDEX customers_updated (updated_at, id)
) ENGINE=InnoDB;

CREATE TABLE products (
    id          INT AUTO_INCREMENT PRIMARY KEY,
    sku         VARCHAR(64) NOT NULL UNIQUE,
    name        VARCHAR(255) NOT NULL,
    description TEXT,
    price       DECIMAL(10,2) NOT NULL DEFAULT 0,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    weight_kg   DOUBLE,
    updated_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    CONSTRAINT products_price_check CHECK (price >= 0),
    INDEX products_updated (updated_at, id)
) ENGINE=InnoDB;

CREATE TABLE orders (
    id          CHAR(36) PRIMARY KEY,
    number      VARCHAR(64) NOT NULL UNIQUE,
    customer_id BIGINT NOT NULL,
    status      VARCHAR(20) NOT NULL DEFAULT 'open',
    order_date  DATE,
    reference   VARCHAR(255),
    updated_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id),
    INDEX orders_updated (updated_at, id)
) ENGINE=InnoDB;

CREATE TABLE order_lines (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    order_id    CHAR(36) NOT NULL,
    product_id  INT NOT NULL,
    quantity    DECIMAL(10,3) NOT NULL,
    unit_price  DECIMAL(10,2),
    description VARCHAR(255),
    CONSTRAINT order_lines_order_fk FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
    CONSTRAINT order_lines_product_fk FOREIGN KEY (product_id) REFERENCES products (id)
) ENGINE=InnoDB;
