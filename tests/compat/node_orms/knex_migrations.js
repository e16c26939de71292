// Run by tests/compat/test_node_orms.py with (dsn, schema) against gridpg and against plain
// PostgreSQL; prints one JSON line per check, and the two outputs must be equal.
const knexLib = require('knex');
const [dsn, schema] = process.argv.slice(2);
const out = [];
const log = (k, v) => out.push([k, v]);
const knex = knexLib({ client: 'pg', connection: dsn, searchPath: [schema], pool: { min: 0, max: 3 } });
const migrations = {
  '001_init': {
    async up(k) {
      await k.schema.createTable('users', (t) => {
        t.increments('id');
        t.string('email').notNullable().unique();
        t.string('name');
        t.enu('role', ['admin', 'user'], { useNative: true, enumName: 'user_role' }).defaultTo('user');
        t.enu('status', ['a', 'b']);
        t.jsonb('prefs');
        t.json('meta');
        t.timestamps(true, true);
      });
      await k.schema.createTable('posts', (t) => {
        t.increments('id');
        t.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
        t.string('title').notNullable();
        t.text('body');
        t.decimal('score', 8, 2).defaultTo(0);
        t.index(['user_id', 'title']);
      });
      await k.schema.createTable('tags', (t) => { t.bigIncrements('id'); t.string('name').unique(); });
      await k.schema.createTable('post_tags', (t) => {
        t.integer('post_id').references('posts.id');
        t.bigInteger('tag_id').references('tags.id');
        t.primary(['post_id', 'tag_id']);
      });
    },
    async down(k) {},
  },
  '002_alter': {
    async up(k) {
      await k.schema.alterTable('posts', (t) => {
        t.string('title', 500).alter();
        t.boolean('published').defaultTo(false);
        t.text('body').nullable().defaultTo('').alter();
      });
      await k.schema.alterTable('users', (t) => { t.renameColumn('name', 'full_name'); });
      await k.schema.table('users', (t) => { t.index('full_name', 'users_full_name_idx'); });
    },
    async down(k) {},
  },
};
const source = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (m) => m,
  getMigration: (m) => migrations[m],
};
(async () => {
  const [batch, list] = await knex.migrate.latest({ migrationSource: source, schemaName: schema });
  log('migrate', [batch, list]);
  log('migrate again', await knex.migrate.latest({ migrationSource: source, schemaName: schema }));
  log('status', await knex.migrate.status({ migrationSource: source, schemaName: schema }));
  log('hasTable', [await knex.schema.withSchema(schema).hasTable('users'), await knex.schema.withSchema(schema).hasTable('nope')]);
  log('hasColumn', [await knex.schema.withSchema(schema).hasColumn('users', 'full_name'), await knex.schema.withSchema(schema).hasColumn('users', 'name')]);
  log('columnInfo', await knex('posts').withSchema(schema).columnInfo());
  const ids = await knex('users').insert([
    { email: 'a@x', full_name: 'Ann', prefs: { theme: 'dark', n: [1, 2] }, meta: JSON.stringify({ a: 1 }) },
    { email: 'b@x', full_name: 'Bob', role: 'admin', status: 'b' },
    { email: 'c@x', full_name: 'Cy' },
  ]).returning(['id', 'email', 'role']);
  log('insert', ids);
  try { await knex('users').insert({ email: 'a@x' }); log('dup', 'ok'); } catch (e) { log('dup', [e.code, e.constraint, e.table]); }
  try { await knex('users').insert({ email: 'z@x', role: 'bogus' }); log('enum', 'ok'); } catch (e) { log('enum', e.code); }
  try { await knex('users').insert({ email: 'z@x', status: 'c' }); log('check', 'ok'); } catch (e) { log('check', e.code); }
  const posts = [];
  for (const u of ids) for (let i = 0; i < 4; i++) posts.push({ user_id: u.id, title: `p${u.id}-${i}`, score: i * 1.25 });
  log('posts', (await knex('posts').insert(posts).returning('id')).length);
  try { await knex('posts').insert({ user_id: 999, title: 'orphan' }); log('fk', 'ok'); } catch (e) { log('fk', [e.code, e.constraint]); }
  await knex('tags').insert([{ name: 'x' }, { name: 'y' }]);
  const tags = await knex('tags').select('id', 'name').orderBy('id');
  log('tags', tags);
  await knex('post_tags').insert([{ post_id: 1, tag_id: tags[0].id }, { post_id: 1, tag_id: tags[1].id }, { post_id: 2, tag_id: tags[0].id }]);
  // upsert
  log('upsert', await knex('users').insert({ email: 'a@x', full_name: 'Ann2' }).onConflict('email').merge().returning(['id', 'full_name']));
  log('ignore', await knex('users').insert({ email: 'b@x', full_name: 'Bob2' }).onConflict('email').ignore().returning('*'));
  log('upsert merge cols', await knex('users').insert({ email: 'c@x', full_name: 'Cy2', status: 'a' }).onConflict('email').merge(['status']).returning(['email', 'full_name', 'status']));
  // joins, aggregates, pagination
  log('join', await knex('users as u').join('posts as p', 'p.user_id', 'u.id').select('u.email').count('p.id as n').sum('p.score as s').groupBy('u.email').orderBy('u.email'));
  log('leftjoin', await knex('users as u').leftJoin('post_tags as pt', 'pt.post_id', 'u.id').select('u.id', 'pt.tag_id').orderBy(['u.id', 'pt.tag_id']));
  log('page', await knex('posts').select('id', 'title').orderBy('id').limit(3).offset(4));
  log('count', await knex('posts').count('* as c').first());
  log('countDistinct', await knex('posts').countDistinct('user_id as c').first());
  log('whereIn', await knex('posts').whereIn('user_id', knex('users').select('id').where('role', 'admin')).select('title').orderBy('title'));
  log('whereExists', await knex('users as u').whereExists(knex('posts as p').whereRaw('p.user_id = u.id').where('score', '>', 3)).select('email').orderBy('email'));
  log('json', await knex('users').select(knex.raw("prefs->>'theme' as theme"), knex.raw("prefs->'n' as n")).whereNotNull('prefs'));
  log('jsonb where', await knex('users').whereRaw("prefs @> ?::jsonb", [JSON.stringify({ theme: 'dark' })]).select('email'));
  log('update', await knex('posts').where('user_id', ids[0].id).update({ score: knex.raw('score + 1'), published: true }).returning(['id', 'score']).then((r) => r.sort((a, b) => a.id - b.id)));
  log('delete', await knex('post_tags').where('tag_id', tags[1].id).del());
  // transactions + savepoints
  try {
    await knex.transaction(async (trx) => {
      await trx('tags').insert({ name: 'in-tx' });
      try {
        await trx.transaction(async (t2) => { await t2('tags').insert({ name: 'nested' }); throw new Error('inner'); });
      } catch (e) { log('inner', e.message); }
      await trx.transaction(async (t2) => { await t2('tags').insert({ name: 'nested-ok' }); });
      try { await trx.transaction(async (t3) => { await t3('tags').insert({ name: 'x' }); }); } catch (e) { log('nested dup', e.code); }
      log('in tx', (await trx('tags').count('* as c').first()).c);
    });
  } catch (e) { log('tx err', e.message); }
  log('after tx', await knex('tags').select('name').orderBy('id'));
  try {
    await knex.transaction(async (trx) => { await trx('tags').insert({ name: 'rolled' }); throw new Error('boom'); });
  } catch (e) { log('rollback', e.message); }
  log('after rollback', (await knex('tags').count('* as c').first()).c);
  // raw
  log('raw', (await knex.raw('select count(*)::int as n, max(score) as m from ?? where user_id = ?', ['posts', ids[1].id])).rows);
  log('delete cascade', await knex('users').where('email', 'c@x').del());
  log('posts after cascade', (await knex('posts').count('* as c').first()).c);
  // rollback migration & drop
  log('rollback mig', await knex.migrate.rollback({ migrationSource: source, schemaName: schema }, true));
  log('migrations table', await knex('knex_migrations').count('* as c').first());
  await knex.destroy();
  console.log(out.map((x) => JSON.stringify(x)).join("\n"));
})().catch(async (e) => { console.log(out.map((x) => JSON.stringify(x)).join("\n")); console.error('FAILED', e); await knex.destroy(); process.exit(1); });
