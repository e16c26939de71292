// Run by tests/compat/test_node_orms.py with (dsn, schema) against gridpg and against plain
// PostgreSQL; prints one JSON line per check, and the two outputs must be equal.
const knexLib = require('knex');
const [dsn, schema] = process.argv.slice(2);
// on gridpg (GRIDPG=1) the tables are spread by tenant after the ORM created them, as Citus users do
const out = [];
const log = (k, v) => out.push([k, v]);
const knex = knexLib({ client: 'pg', connection: dsn, searchPath: [schema], pool: { min: 0, max: 4 } });
const gridpg = !!process.env.GRIDPG;
(async () => {
  await knex.schema.createTable('companies', (t) => { t.integer('id').primary(); t.string('name'); t.jsonb('settings'); });
  await knex.schema.createTable('projects', (t) => { t.integer('company_id').notNullable(); t.integer('id').notNullable(); t.string('name'); t.integer('budget'); t.primary(['company_id', 'id']); });
  await knex.schema.createTable('tasks', (t) => { t.integer('company_id').notNullable(); t.integer('id').notNullable(); t.integer('project_id'); t.string('title'); t.string('state'); t.integer('hours'); t.timestamp('due');
    t.primary(['company_id', 'id']); t.foreign(['company_id', 'project_id']).references(['company_id', 'id']).inTable('projects').onDelete('CASCADE'); t.index(['company_id', 'state']); });
  await knex.schema.createTable('countries', (t) => { t.string('code').primary(); t.string('name'); });
  if (gridpg) {
    await knex.raw("SELECT create_distributed_table('companies', 'id')");
    await knex.raw("SELECT create_distributed_table('projects', 'company_id', colocate_with => 'companies')");
    await knex.raw("SELECT create_distributed_table('tasks', 'company_id', colocate_with => 'companies')");
    await knex.raw("SELECT create_reference_table('countries')");
  }
  await knex('countries').insert([{ code: 'de', name: 'Germany' }, { code: 'fr', name: 'France' }]);
  const companies = Array.from({ length: 12 }, (_, i) => ({ id: i + 1, name: `co${i + 1}`, settings: { country: i % 2 ? 'de' : 'fr', tier: i % 3 } }));
  await knex('companies').insert(companies);
  const projects = []; const tasks = [];
  for (const c of companies) for (let p = 1; p <= 3; p++) { projects.push({ company_id: c.id, id: p, name: `c${c.id}p${p}`, budget: c.id * 100 + p });
    for (let k = 1; k <= 4; k++) tasks.push({ company_id: c.id, id: p * 10 + k, project_id: p, title: `t${c.id}-${p}-${k}`, state: ['new', 'wip', 'done'][(c.id + k) % 3], hours: (c.id * k) % 9, due: new Date(Date.UTC(2024, 0, c.id, k)) }); }
  log('ins projects', (await knex('projects').insert(projects).returning(['company_id', 'id'])).length);
  log('ins tasks', (await knex('tasks').insert(tasks).returning('id')).length);
  // tenant-scoped queries
  log('tenant join', await knex('projects as p').join('tasks as t', function () { this.on('t.company_id', 'p.company_id').andOn('t.project_id', 'p.id'); })
    .where('p.company_id', 5).select('p.name').sum('t.hours as h').count('t.id as n').groupBy('p.name').orderBy('p.name'));
  log('eager in', await knex('tasks').whereIn('project_id', [1, 2]).andWhere('company_id', 3).orderBy('id').pluck('title'));
  log('eager tuple in', await knex('projects').whereIn(['company_id', 'id'], [[1, 1], [2, 3], [7, 2]]).orderBy(['company_id', 'id']).pluck('name'));
  log('cross tenant agg', await knex('tasks').select('state').count('* as n').sum('hours as h').avg('hours as a').groupBy('state').orderBy('state'));
  log('page', await knex('tasks').select('company_id', 'id', 'hours').orderBy([{ column: 'hours', order: 'desc' }, 'company_id', 'id']).limit(5).offset(7));
  log('keyset', await knex('tasks').select('company_id', 'id').where(knex.raw('(company_id, id) > (?, ?)', [6, 23])).orderBy(['company_id', 'id']).limit(4));
  log('distinct', await knex('tasks').distinct('state').orderBy('state').pluck('state'));
  log('count distinct', await knex('tasks').countDistinct({ n: ['company_id', 'project_id'] }));
  log('ref join', await knex('companies as c').join('countries as k', 'k.code', knex.raw("c.settings->>'country'")).select('k.name').count('* as n').groupBy('k.name').orderBy('k.name'));
  log('subq in', await knex('projects').whereIn('company_id', knex('companies').select('id').whereRaw("(settings->>'tier')::int = 2")).orderBy(['company_id', 'id']).limit(4).pluck('name'));
  log('not exists', await knex('projects as p').whereNotExists(knex('tasks as t').whereRaw('t.company_id = p.company_id and t.project_id = p.id').where('state', 'done')).orderBy(['company_id', 'id']).select('company_id', 'id'));
  log('window', await knex('tasks').select('company_id', 'id', knex.raw('rank() over (partition by company_id order by hours desc, id) as r')).where('company_id', '<=', 2).orderBy(['company_id', 'id']));
  log('window global', await knex('tasks').select('company_id', 'id', knex.raw('row_number() over (order by hours desc, company_id, id) as r')).orderBy('r').limit(3));
  log('cte', (await knex.raw('with big as (select company_id, sum(hours) h from tasks group by company_id) select c.name, b.h from companies c join big b on b.company_id = c.id order by b.h desc, c.id limit 3')).rows);
  log('having', await knex('tasks').select('company_id').sum('hours as h').groupBy('company_id').having(knex.raw('sum(hours) > ?', [30])).orderBy('company_id'));
  log('json agg', (await knex.raw("select p.company_id, json_agg(json_build_object('id', t.id, 's', t.state) order by t.id) as ts from projects p join tasks t on t.company_id = p.company_id and t.project_id = p.id where p.company_id = 4 and p.id = 1 group by p.company_id")).rows);
  // writes
  log('upsert', await knex('projects').insert([{ company_id: 1, id: 1, name: 'renamed', budget: 1 }, { company_id: 1, id: 9, name: 'new', budget: 9 }]).onConflict(['company_id', 'id']).merge(['name']).returning(['company_id', 'id', 'name', 'budget']));
  log('update subq', await knex('tasks').where('company_id', 2).whereIn('project_id', knex('projects').select('id').where('company_id', 2).where('budget', '>', 201)).update({ state: 'archived' }).returning('id').then(r => r.map(x => x.id).sort((a, b) => a - b)));
  log('update cross', await knex('tasks').where('hours', 0).update({ hours: 1 }));
  log('update join', (await knex.raw("update tasks t set hours = t.hours + 100 from projects p where p.company_id = t.company_id and p.id = t.project_id and p.budget = ? returning t.company_id, t.id", [503])).rows.sort((a, b) => a.id - b.id));
  log('delete using', (await knex.raw("delete from tasks t using companies c where c.id = t.company_id and c.name = ? and t.state = 'new' returning t.id", ['co7'])).rows.map(r => r.id).sort((a, b) => a - b));
  // transaction spanning tenants with savepoint
  await knex.transaction(async (trx) => {
    await trx('companies').where('id', 1).update({ name: 'one' });
    await trx('companies').where('id', 2).update({ name: 'two' });
    try { await trx.transaction(async (t2) => { await t2('projects').insert({ company_id: 3, id: 1, name: 'dup' }); }); } catch (e) { log('sp dup', e.code); }
    await trx('projects').insert({ company_id: 3, id: 99, name: 'after-sp' });
  });
  log('after tx', await knex('companies').whereIn('id', [1, 2]).orderBy('id').pluck('name'));
  log('after sp', await knex('projects').where({ company_id: 3 }).orderBy('id').pluck('name'));
  log('cascade', await knex('projects').where({ company_id: 4, id: 1 }).del());
  log('tasks c4', await knex('tasks').where('company_id', 4).count('* as n').first());
  log('totals', await knex('tasks').select(knex.raw('count(*)::int n, sum(hours)::int h, count(distinct state)::int s')).first());
  log('forUpdate', await knex.transaction(async (trx) => trx('projects').where({ company_id: 5 }).orderBy('id').forUpdate().pluck('id')));
  log('skipLocked', await knex.transaction(async (trx) => trx('tasks').where({ state: 'wip' }).orderBy(['company_id', 'id']).limit(2).forUpdate().skipLocked().select('company_id', 'id')));
  await knex.destroy();
  console.log(out.map((x) => JSON.stringify(x)).join('\n'));
})().catch(async (e) => { console.log(out.map((x) => JSON.stringify(x)).join('\n')); console.error('FAILED', e.message, e.code); await knex.destroy(); process.exit(1); });
