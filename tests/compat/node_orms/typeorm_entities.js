// Run by tests/compat/test_node_orms.py with (dsn, schema) against gridpg and against plain
// PostgreSQL; prints one JSON line per check, and the two outputs must be equal.
require('reflect-metadata');
const { DataSource, EntitySchema, In, MoreThan, Table, TableColumn, TableForeignKey, TableIndex } = require('typeorm');
const [dsn, schema] = process.argv.slice(2);
const out = [];
const log = (k, v) => out.push([k, v]);
const User = new EntitySchema({
  name: 'User', tableName: 'users',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    email: { type: 'varchar', unique: true },
    name: { type: 'varchar', nullable: true },
    role: { type: 'enum', enum: ['admin', 'member'], default: 'member' },
    prefs: { type: 'jsonb', nullable: true },
    score: { type: 'numeric', precision: 10, scale: 2, default: 0 },
    tags: { type: 'text', array: true, nullable: true },
    uid: { type: 'uuid', generated: 'uuid' },
    created: { type: 'timestamptz', createDate: true },
    version: { type: 'int', version: true },
  },
  relations: { posts: { type: 'one-to-many', target: 'Post', inverseSide: 'author' } },
});
const Post = new EntitySchema({
  name: 'Post', tableName: 'posts',
  columns: {
    id: { type: 'uuid', primary: true, generated: 'uuid' },
    title: { type: 'varchar', length: 200 },
    views: { type: 'int', default: 0 },
    status: { type: 'enum', enum: ['draft', 'pub'], enumName: 'post_status', default: 'draft' },
  },
  relations: {
    author: { type: 'many-to-one', target: 'User', inverseSide: 'posts', onDelete: 'CASCADE', joinColumn: { name: 'author_id' } },
    categories: { type: 'many-to-many', target: 'Category', joinTable: { name: 'post_categories' } },
  },
  indices: [{ name: 'posts_title_idx', columns: ['title'] }],
});
const Category = new EntitySchema({
  name: 'Category', tableName: 'categories',
  columns: { id: { type: Number, primary: true, generated: 'identity' }, name: { type: 'varchar', unique: true } },
});
class AddBits1700000000000 {
  async up(q) {
    await q.createTable(new Table({ name: `${schema}.audit`, columns: [
      { name: 'id', type: 'bigint', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
      { name: 'user_id', type: 'int' }, { name: 'what', type: 'text' },
      { name: 'at', type: 'timestamptz', default: 'now()' }] }), true);
    await q.createForeignKey(`${schema}.audit`, new TableForeignKey({ columnNames: ['user_id'], referencedTableName: `${schema}.users`, referencedColumnNames: ['id'], onDelete: 'CASCADE' }));
    await q.createIndex(`${schema}.audit`, new TableIndex({ name: 'audit_user_at', columnNames: ['user_id', 'at'] }));
    await q.addColumn(`${schema}.audit`, new TableColumn({ name: 'kind', type: 'varchar', length: '20', isNullable: true }));
    await q.changeColumn(`${schema}.audit`, 'kind', new TableColumn({ name: 'kind', type: 'varchar', length: '40', isNullable: false, default: "'x'" }));
    await q.renameColumn(`${schema}.audit`, 'what', 'detail');
    await q.query(`ALTER TABLE "${schema}"."audit" ADD CONSTRAINT "audit_kind_chk" CHECK (length(kind) > 0)`);
  }
  async down(q) { await q.dropTable(`${schema}.audit`); }
}
(async () => {
  const ds = new DataSource({ type: 'postgres', url: dsn, schema, entities: [User, Post, Category],
    migrations: [AddBits1700000000000], uuidExtension: 'pgcrypto', synchronize: false, logging: process.env.SQLLOG ? 'all' : false, extra: { max: 3 } });
  await ds.initialize();
  await ds.synchronize();
  const pending = await ds.driver.createSchemaBuilder().log();
  log('sync again', pending.upQueries.map(q => q.query));
  log('migrations', (await ds.runMigrations({ transaction: 'all' })).map(m => m.name));
  log('migrations again', (await ds.runMigrations()).map(m => m.name));
  const pending2 = await ds.driver.createSchemaBuilder().log();
  log('sync after migration', pending2.upQueries.map(q => q.query));
  const qr = ds.createQueryRunner();
  const t = await qr.getTable(`${schema}.audit`);
  log('audit table', [t.columns.map(c => [c.name, c.type, c.length, c.isNullable, c.default, c.isPrimary, c.isGenerated]), t.foreignKeys.map(f => [f.columnNames, f.referencedTableName, f.onDelete]), t.indices.map(i => [i.name, i.columnNames]).sort(), t.checks.map(c => c.expression)]);
  await qr.release();
  const users = ds.getRepository('User');
  const posts = ds.getRepository('Post');
  const cats = ds.getRepository('Category');
  const saved = await users.save([{ email: 'a@x', name: 'Ann', prefs: { t: 1 }, tags: ['a', 'b'] }, { email: 'b@x', role: 'admin' }, { email: 'c@x' }]);
  log('saved', saved.map(u => [u.id, u.role, u.score, u.version, typeof u.uid]));
  const cs = await cats.save([{ name: 'tech' }, { name: 'life' }]);
  for (const u of saved) for (let i = 0; i < 3; i++) await posts.save({ title: `${u.email}-${i}`, views: i * 7, author: u, categories: i === 0 ? cs : [cs[1]] });
  const ann = await users.findOne({ where: { email: 'a@x' }, relations: { posts: { categories: true } }, order: { posts: { title: 'ASC' } } });
  log('relations', [ann.email, ann.posts.map(p => [p.title, p.categories.map(c => c.name).sort()])]);
  const [rows, count] = await posts.findAndCount({ where: { views: MoreThan(0) }, relations: { author: true }, order: { views: 'DESC', title: 'ASC' }, skip: 1, take: 3 });
  log('findAndCount', [count, rows.map(p => [p.title, p.author.email])]);
  const qb = await users.createQueryBuilder('u').leftJoinAndSelect('u.posts', 'p').leftJoinAndSelect('p.categories', 'c')
    .where('c.name = :n', { n: 'tech' }).orderBy('u.id').addOrderBy('p.title').skip(0).take(2).getMany();
  log('qb paged join', qb.map(u => [u.email, u.posts.map(p => p.title)]));
  log('qb raw agg', await posts.createQueryBuilder('p').select('p.author_id', 'a').addSelect('COUNT(*)', 'n').addSelect('SUM(p.views)', 's').groupBy('p.author_id').orderBy('a').getRawMany());
  log('in', (await users.find({ where: { id: In([1, 3]) }, order: { id: 'ASC' } })).map(u => u.email));
  log('count', await posts.count({ where: { status: 'draft' } }));
  log('exists', await users.exists({ where: { email: 'c@x' } }));
  // upsert
  await users.upsert([{ email: 'a@x', name: 'Ann2' }, { email: 'd@x', name: 'Dee' }], ['email']);
  log('upsert', (await users.find({ order: { email: 'ASC' } })).map(u => [u.email, u.name, u.version]));
  const qbIns = await ds.createQueryBuilder().insert().into('Category').values([{ name: 'tech' }, { name: 'new' }]).orIgnore().returning('*').execute();
  log('orIgnore', qbIns.raw.map(r => r.name));
  const upd = await ds.createQueryBuilder().update('Post').set({ views: () => 'views + 1' }).where('views > :v', { v: 10 }).returning(['id']).execute();
  log('update', upd.affected);
  // optimistic version
  const b = await users.findOneBy({ email: 'b@x' }); b.name = 'Bob'; await users.save(b);
  log('version', (await users.findOneBy({ email: 'b@x' })).version);
  // transactions
  try {
    await ds.transaction(async (m) => {
      await m.save('Category', { name: 'tx1' });
      const q2 = m.queryRunner;
      await q2.startTransaction(); // nested: savepoint
      try { await m.save('Category', { name: 'tech' }); await q2.commitTransaction(); } catch (e) { log('nested err', e.code); await q2.rollbackTransaction(); }
      await m.save('Category', { name: 'tx2' });
    });
  } catch (e) { log('tx err', e.message); }
  log('cats', (await cats.find({ order: { id: 'ASC' } })).map(c => c.name));
  await ds.transaction(async (m) => { await m.getRepository('User').increment({ role: 'admin' }, 'score', 5); });
  log('incr', (await users.findOneBy({ email: 'b@x' })).score);
  try { await ds.transaction(async (m) => { await m.save('Category', { name: 'rolled' }); throw new Error('boom'); }); } catch (e) { log('rollback', e.message); }
  log('cats count', await cats.count());
  // jsonb / array queries
  log('jsonb', (await users.createQueryBuilder('u').where('u.prefs @> :p', { p: { t: 1 } }).getMany()).map(u => u.email));
  log('array', (await users.createQueryBuilder('u').where(':t = ANY(u.tags)', { t: 'b' }).getMany()).map(u => u.email));
  log('softdelete-ish delete', (await ds.createQueryBuilder().delete().from('User').where('email = :e', { e: 'c@x' }).execute()).affected);
  log('posts left', await posts.count());
  log('raw', await ds.query(`SELECT u.email, count(p.id)::int n FROM "${schema}".users u LEFT JOIN "${schema}".posts p ON p.author_id = u.id GROUP BY 1 ORDER BY 1`));
  await ds.undoLastMigration();
  log('after undo', await ds.query(`SELECT count(*)::int n FROM "${schema}".migrations`));
  await ds.destroy();
  console.log(out.map((x) => JSON.stringify(x)).join('\n'));
})().catch((e) => { console.log(out.map((x) => JSON.stringify(x)).join('\n')); console.error('FAILED', e.message, e.query || '', e.code || ''); process.exit(1); });
