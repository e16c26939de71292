/*
Schema and data of the oracle suite; run first in every corpus file's schema (the tables
the file names; all of them for a file that may list its schema's relations).
Exercises: CREATE TABLE ... DISTRIBUTE BY HASH (int, text, bigint) / MODULO / ROUNDROBIN /
REPLICATION, colocation of same-typed HASH tables (users, orders, empty_t, skewed),
routed multi-row INSERT (\load: batches of 200 rows routed to shards), and full scans
of every table after loading (fast path for reference tables, pushdown otherwise).
*/

-- HASH on int; primary key = distribution column
CREATE TABLE users (
    id          int PRIMARY KEY,
    name        text NOT NULL,
    email       varchar(40),
    age         int,
    score       numeric(10,2),
    active      bool,
    city        text,
    signup      date,
    last_login  timestamptz,
    tags        text[],
    profile     jsonb,
    uid         uuid,
    note        text
) DISTRIBUTE BY HASH (id);

-- HASH on int, colocated with users (joinable on users.id = orders.user_id)
CREATE TABLE orders (
    order_id  int NOT NULL,
    user_id   int NOT NULL,
    amount    numeric(12,2),
    qty       int,
    status    varchar(12),
    created   timestamptz,
    weight    double precision,
    note      text
) DISTRIBUTE BY HASH (user_id);

-- HASH on text
CREATE TABLE events (
    ev_id    bigint NOT NULL,
    device   text NOT NULL,
    kind     text,
    payload  jsonb,
    ts       timestamptz,
    dur      interval,
    val      double precision,
    code     varchar(10),
    flags    bool[]
) DISTRIBUTE BY HASH (device);

-- HASH on bigint (extreme values, negatives, duplicates)
CREATE TABLE metrics (
    seq      int NOT NULL,
    big_id   bigint NOT NULL,
    m_int    int,
    m_num    numeric(20,5),
    m_small  smallint,
    m_bool   bool,
    ratio    double precision,
    day      date
) DISTRIBUTE BY HASH (big_id);

-- MODULO
CREATE TABLE inventory (
    inv_id     int NOT NULL,
    item_id    int NOT NULL,
    warehouse  text,
    stock      int,
    price      numeric(8,2),
    restock    date
) DISTRIBUTE BY MODULO (item_id);

-- ROUNDROBIN
CREATE TABLE logs (
    log_id  int NOT NULL,
    user_id int,
    level   text,
    msg     text,
    at      timestamptz,
    dur_ms  int
) DISTRIBUTE BY ROUNDROBIN;

-- REPLICATION (reference tables)
CREATE TABLE countries (
    code        text PRIMARY KEY,
    cname       text NOT NULL,
    region      text,
    population  bigint
) DISTRIBUTE BY REPLICATION;

CREATE TABLE cities (
    city          text PRIMARY KEY,
    country_code  text,
    pop           int,
    coastal       bool
) DISTRIBUTE BY REPLICATION;

-- empty, HASH on int (colocated with users)
CREATE TABLE empty_t (
    id     int NOT NULL,
    val    int,
    label  text,
    price  numeric(10,2),
    f      double precision
) DISTRIBUTE BY HASH (id);

-- skewed: ~90% of the rows have k = 7
CREATE TABLE skewed (
    sk_id  int NOT NULL,
    k      int NOT NULL,
    v      int,
    s      text
) DISTRIBUTE BY HASH (k);

\load users
\load orders
\load events
\load metrics
\load inventory
\load logs
\load countries
\load cities
\load skewed

SELECT count(*) FROM users;
SELECT count(*) FROM orders;
SELECT count(*) FROM events;
SELECT count(*) FROM metrics;
SELECT count(*) FROM inventory;
SELECT count(*) FROM logs;
SELECT count(*) FROM countries;
SELECT count(*) FROM cities;
SELECT count(*) FROM empty_t;
SELECT count(*) FROM skewed;
