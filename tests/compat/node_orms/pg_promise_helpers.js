// Run by tests/compat/test_node_orms.py with (dsn, schema) against gridpg and against plain
// PostgreSQL; prints one JSON line per check, and the two outputs must be equal.
const pgp = require('pg-promise')({ capSQL: true });
const [dsn, schema] = process.argv.slice(2);
const out = [];
const log = (k, v) => out.push([k, v]);
const db = pgp({ connectionString: dsn, max: 3, options: `-c search_path=${schema}` });
(async () => {
  await db.none('CREATE TABLE acct (id serial PRIMARY KEY, owner text NOT NULL, balance numeric(12,2) NOT NULL DEFAULT 0, data jsonb)');
  await db.none('CREATE TABLE xfer (id bigserial PRIMARY KEY, src int REFERENCES acct(id), dst int REFERENCES acct(id), amount numeric(12,2), at timestamptz DEFAULT now())');
  const cs = new pgp.helpers.ColumnSet(['owner', 'balance', { name: 'data', mod: ':json' }], { table: 'acct' });
  const rows = Array.from({ length: 50 }, (_, i) => ({ owner: `o${i % 7}`, balance: i * 10, data: { i, even: i % 2 === 0 } }));
  log('multi insert', (await db.many(pgp.helpers.insert(rows, cs) + ' RETURNING id')).length);
  log('one', await db.one('SELECT owner, balance FROM acct WHERE id = $1', [5]));
  log('oneOrNone', await db.oneOrNone('SELECT * FROM acct WHERE id = $1', [999]));
  log('named', await db.any('SELECT id FROM acct WHERE owner = ${o} AND balance > ${b} ORDER BY id', { o: 'o3', b: 100 }));
  log('csv in', await db.any('SELECT id FROM acct WHERE id IN ($1:csv) ORDER BY id', [[3, 9, 27]]));
  log('ps', await db.any({ name: 'by-owner', text: 'SELECT count(*)::int AS n, sum(balance) AS s FROM acct WHERE owner = $1', values: ['o1'] }));
  log('ps2', await db.any({ name: 'by-owner', text: 'SELECT count(*)::int AS n, sum(balance) AS s FROM acct WHERE owner = $1', values: ['o2'] }));
  // bulk update with helpers (UPDATE ... FROM (VALUES ...))
  const upd = [{ id: 1, balance: 111 }, { id: 2, balance: 222 }, { id: 3, balance: 333 }];
  const ucs = new pgp.helpers.ColumnSet(['?id', { name: 'balance', cast: 'numeric' }], { table: 'acct' });
  await db.none(pgp.helpers.update(upd, ucs) + ' WHERE v.id = t.id');
  log('bulk update', await db.any('SELECT id, balance FROM acct WHERE id <= 3 ORDER BY id'));
  // transfers in tx with task & savepoint
  await db.tx(async (t) => {
    for (let k = 0; k < 10; k++) {
      const src = (k % 5) + 1, dst = ((k + 2) % 5) + 1;
      await t.none('UPDATE acct SET balance = balance - $1 WHERE id = $2', [7, src]);
      await t.none('UPDATE acct SET balance = balance + $1 WHERE id = $2', [7, dst]);
      await t.none('INSERT INTO xfer (src, dst, amount) VALUES ($1, $2, $3)', [src, dst, 7]);
    }
    try { await t.tx(async (t2) => { await t2.none('INSERT INTO xfer (src, dst, amount) VALUES (1, 999, 1)'); }); } catch (e) { log('nested', e.code); }
  });
  log('sum', await db.one('SELECT sum(balance)::text AS s, count(*)::int AS n FROM acct'));
  log('xfers', await db.one('SELECT count(*)::int AS n FROM xfer'));
  log('join', await db.any('SELECT a.owner, count(x.id)::int AS n FROM acct a JOIN xfer x ON x.src = a.id GROUP BY a.owner ORDER BY a.owner'));
  log('json', await db.any("SELECT data->>'i' AS i FROM acct WHERE (data->>'even')::boolean AND id < $1 ORDER BY id", [8]));
  log('stream-ish cursor', (await db.any('SELECT id FROM acct ORDER BY balance DESC, id LIMIT 5 OFFSET 10')).map(r => r.id));
  const result = await db.result('DELETE FROM xfer WHERE amount = $1', [7]);
  log('result', [result.command, result.rowCount]);
  log('func', await db.func('pg_catalog.lower', ['ABC']));
  log('multi', await db.multi('SELECT 1 AS a; SELECT count(*)::int AS n FROM acct; SELECT 2 AS b'));
  log('copy-ish', await db.any('SELECT * FROM unnest($1::int[], $2::text[]) AS t(a, b)', [[1, 2], ['x', 'y']]));
  await db.$pool.end();
  console.log(out.map((x) => JSON.stringify(x)).join('\n'));
})().catch(async (e) => { console.log(out.map((x) => JSON.stringify(x)).join('\n')); console.error('FAILED', e.message, e.code, e.query); await db.$pool.end(); process.exit(1); });
