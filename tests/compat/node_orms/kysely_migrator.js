// Run by tests/compat/test_node_orms.py with (dsn, schema) against gridpg and against plain
// PostgreSQL; prints one JSON line per check, and the two outputs must be equal.
const { Pool } = require('pg');
const { Kysely, PostgresDialect, Migrator, sql } = require('kysely');
const { jsonArrayFrom, jsonObjectFrom } = require('kysely/helpers/postgres');
const [dsn, schema] = process.argv.slice(2);
const out = [];
const log = (k, v) => out.push([k, v]);
const db = new Kysely({ dialect: new PostgresDialect({ pool: new Pool({ connectionString: dsn, max: 3, options: `-c search_path=${schema}` }) }) });
const migrations = {
  '001': { async up(db) {
    await db.schema.createType('species').asEnum(['dog', 'cat']).execute();
    await db.schema.createTable('person').addColumn('id', 'serial', (c) => c.primaryKey()).addColumn('first_name', 'varchar(50)', (c) => c.notNull())
      .addColumn('last_name', 'varchar(255)').addColumn('gender', 'varchar(50)', (c) => c.notNull().check(sql`gender in ('m','f','x')`))
      .addColumn('created_at', 'timestamptz', (c) => c.defaultTo(sql`now()`).notNull()).addColumn('profile', 'jsonb').execute();
    await db.schema.createTable('pet').addColumn('id', 'serial', (c) => c.primaryKey()).addColumn('name', 'varchar', (c) => c.notNull().unique())
      .addColumn('owner_id', 'integer', (c) => c.references('person.id').onDelete('cascade').notNull()).addColumn('species', sql`species`, (c) => c.notNull()).execute();
    await db.schema.createIndex('pet_owner_id_index').on('pet').column('owner_id').execute();
  } },
  '002': { async up(db) {
    await db.schema.alterTable('person').addColumn('age', 'integer').execute();
    await db.schema.alterTable('person').alterColumn('last_name', (c) => c.setDataType('text')).execute();
    await db.schema.alterTable('person').addUniqueConstraint('person_name_uq', ['first_name', 'last_name']).execute();
    await db.schema.createTable('toy').addColumn('id', 'bigserial', (c) => c.primaryKey()).addColumn('pet_id', 'integer', (c) => c.references('pet.id'))
      .addColumn('price', sql`numeric(6,2)`).execute();
  } },
};
(async () => {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, migrationTableSchema: schema });
  const r = await migrator.migrateToLatest();
  log('migrate', [r.error ? String(r.error) : null, (r.results || []).map(x => [x.migrationName, x.status])]);
  { const r2 = await migrator.migrateToLatest(); log('again', [r2.error ? String(r2.error) : null, (r2.results || []).length]); }
  const tables = await db.introspection.getTables();
  log('introspect', tables.filter(t => t.schema === schema).map(t => [t.name, t.columns.map(c => [c.name, c.dataType, c.isNullable, c.hasDefaultValue, c.isAutoIncrementing])]).sort());
  const people = await db.insertInto('person').values([{ first_name: 'Jen', last_name: 'A', gender: 'f', profile: JSON.stringify({ x: 1 }) }, { first_name: 'Sam', last_name: 'B', gender: 'm', age: 30 }, { first_name: 'Al', gender: 'x' }]).returning(['id', 'first_name']).execute();
  log('people', people);
  await db.insertInto('pet').values([{ name: 'Rex', owner_id: 1, species: 'dog' }, { name: 'Tom', owner_id: 1, species: 'cat' }, { name: 'Fifi', owner_id: 2, species: 'dog' }]).execute();
  await db.insertInto('toy').values([{ pet_id: 1, price: '9.99' }, { pet_id: 1, price: '1.00' }, { pet_id: 3, price: '5.50' }]).execute();
  log('nested', await db.selectFrom('person').select((eb) => ['id', 'first_name',
    jsonArrayFrom(eb.selectFrom('pet').select((eb2) => ['pet.id', 'pet.name', jsonArrayFrom(eb2.selectFrom('toy').select(['toy.price']).whereRef('toy.pet_id', '=', 'pet.id').orderBy('toy.id')).as('toys')]).whereRef('pet.owner_id', '=', 'person.id').orderBy('pet.name')).as('pets')]).orderBy('id').execute());
  log('obj', await db.selectFrom('pet').select((eb) => ['name', jsonObjectFrom(eb.selectFrom('person').select(['first_name']).whereRef('person.id', '=', 'pet.owner_id')).as('owner')]).orderBy('name').execute());
  log('agg', await db.selectFrom('pet').innerJoin('toy', 'toy.pet_id', 'pet.id').select(['pet.species', (eb) => eb.fn.count('toy.id').as('n'), (eb) => eb.fn.sum('toy.price').as('s')]).groupBy('pet.species').orderBy('pet.species').execute());
  log('upsert', await db.insertInto('pet').values({ name: 'Rex', owner_id: 2, species: 'cat' }).onConflict((oc) => oc.column('name').doUpdateSet((eb) => ({ owner_id: eb.ref('excluded.owner_id') }))).returning(['id', 'owner_id']).execute());
  log('distinctOn', await db.selectFrom('pet').distinctOn('owner_id').select(['owner_id', 'name']).orderBy('owner_id').orderBy('name').execute());
  log('window', await db.selectFrom('toy').select(['id', sql`row_number() over (partition by pet_id order by price)`.as('rn')]).orderBy('id').execute());
  log('tx', await db.transaction().execute(async (trx) => {
    await trx.updateTable('person').set({ age: sql`coalesce(age, 0) + 1` }).where('gender', '!=', 'm').execute();
    return (await trx.selectFrom('person').select(['first_name', 'age']).orderBy('first_name').execute());
  }));
  try { await db.transaction().execute(async (trx) => { await trx.deleteFrom('toy').execute(); throw new Error('rb'); }); } catch (e) { log('rb', e.message); }
  log('toys', (await db.selectFrom('toy').select((eb) => eb.fn.countAll().as('c')).executeTakeFirst()).c);
  try { await db.insertInto('person').values({ first_name: 'Jen', last_name: 'A', gender: 'f' }).execute(); } catch (e) { log('uq', e.code); }
  try { await db.insertInto('person').values({ first_name: 'Zed', gender: 'q' }).execute(); } catch (e) { log('check', e.code); }
  await db.deleteFrom('toy').execute();
  log('del', (await db.deleteFrom('person').where('id', '=', 2).executeTakeFirst()).numDeletedRows.toString());
  log('pets', (await db.selectFrom('pet').select('name').orderBy('name').execute()).map(p => p.name));
  await db.destroy();
  console.log(out.map((x) => JSON.stringify(x)).join('\n'));
})().catch(async (e) => { console.log(out.map((x) => JSON.stringify(x)).join('\n')); console.error('FAILED', e.message, e.code); await db.destroy(); process.exit(1); });
