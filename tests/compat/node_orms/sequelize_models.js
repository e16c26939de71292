// Run by tests/compat/test_node_orms.py with (dsn, schema) against gridpg and against plain
// PostgreSQL; prints one JSON line per check, and the two outputs must be equal.
const { Sequelize, DataTypes, Op, QueryTypes } = require('sequelize');
const [dsn, schema] = process.argv.slice(2);
const out = [];
const log = (k, v) => out.push([k, v]);
// Every pooled connection starts in the test's schema: a SET on one of them would leave
// the others (which raw queries may take) on the default search_path.
const sql = new Sequelize(dsn, { logging: process.env.SQLLOG ? console.error : false, define: { schema }, pool: { max: 3 },
  dialectOptions: { options: `-c search_path=${schema}` } });
const plain = (xs) => JSON.parse(JSON.stringify(xs));
const User = sql.define('User', {
  email: { type: DataTypes.STRING, unique: true, allowNull: false },
  name: DataTypes.STRING,
  role: { type: DataTypes.ENUM('admin', 'member'), defaultValue: 'member' },
  prefs: DataTypes.JSONB,
  meta: DataTypes.JSON,
  balance: { type: DataTypes.DECIMAL(10, 2), defaultValue: 0 },
  tags: DataTypes.ARRAY(DataTypes.STRING),
  uid: { type: DataTypes.UUID, defaultValue: DataTypes.UUIDV4 },
}, { tableName: 'users' });
const Project = sql.define('Project', { title: DataTypes.STRING, stars: DataTypes.INTEGER }, { tableName: 'projects', paranoid: true });
const Task = sql.define('Task', { title: DataTypes.STRING, done: { type: DataTypes.BOOLEAN, defaultValue: false } }, { tableName: 'tasks' });
const Label = sql.define('Label', { name: { type: DataTypes.STRING, unique: true } }, { tableName: 'labels' });
User.hasMany(Project, { foreignKey: 'ownerId', as: 'projects', onDelete: 'CASCADE' });
Project.belongsTo(User, { foreignKey: 'ownerId', as: 'owner' });
Project.hasMany(Task, { as: 'tasks' });
Task.belongsTo(Project);
Project.belongsToMany(Label, { through: 'project_labels', as: 'labels' });
Label.belongsToMany(Project, { through: 'project_labels' });
(async () => {
  await sql.sync({ force: true });
  await sql.sync({ alter: true });
  log('tables', (await sql.getQueryInterface().showAllTables()).map(t => t.tableName || t).sort());
  const desc = await sql.getQueryInterface().describeTable({ tableName: 'users', schema });
  log('describe', Object.fromEntries(Object.entries(desc).map(([k, v]) => [k, [v.type, v.allowNull, v.defaultValue, v.primaryKey, v.special]])));
  const idx = await sql.getQueryInterface().showIndex({ tableName: 'users', schema });
  log('indexes', idx.map(i => [i.name, i.unique, i.primary, i.fields.map(f => f.attribute)]).sort());
  const fks = await sql.getQueryInterface().getForeignKeyReferencesForTable({ tableName: 'projects', schema });
  log('fks', fks.map(f => [f.columnName, f.referencedTableName, f.referencedColumnName]).sort());
  // migrations via queryInterface
  const qi = sql.getQueryInterface();
  await qi.addColumn({ tableName: 'tasks', schema }, 'priority', { type: DataTypes.INTEGER, defaultValue: 3, allowNull: false });
  await qi.changeColumn({ tableName: 'tasks', schema }, 'title', { type: DataTypes.TEXT, allowNull: true });
  await qi.addIndex({ tableName: 'tasks', schema }, ['priority', 'done'], { name: 'tasks_prio_done' });
  await qi.addColumn({ tableName: 'tasks', schema }, 'state', { type: DataTypes.ENUM('new', 'wip', 'closed'), defaultValue: 'new' });
  await qi.changeColumn({ tableName: 'tasks', schema }, 'state', { type: DataTypes.ENUM('new', 'wip', 'closed', 'archived'), defaultValue: 'new' });
  await qi.renameColumn({ tableName: 'tasks', schema }, 'priority', 'prio');
  await qi.addConstraint({ tableName: 'tasks', schema }, { fields: ['prio'], type: 'check', where: { prio: { [Op.between]: [0, 9] } }, name: 'prio_range' });
  log('tasks cols', Object.keys(await qi.describeTable({ tableName: 'tasks', schema })).sort());
  // CRUD
  const users = await User.bulkCreate([
    { email: 'a@x', name: 'Ann', prefs: { theme: 'dark', n: 1 }, tags: ['x', 'y'], meta: { a: [1] } },
    { email: 'b@x', name: 'Bob', role: 'admin', balance: 10.5 },
    { email: 'c@x', name: 'Cy', prefs: { theme: 'light', n: 2 } },
  ], { returning: true });
  log('bulk', users.map(u => [u.id, u.email, u.role, u.balance]));
  for (const u of users) {
    for (let i = 0; i < 3; i++) {
      const p = await Project.create({ title: `${u.name}-p${i}`, stars: i * 10 + u.id, ownerId: u.id });
      for (let j = 0; j < 2; j++) await Task.create({ title: `t${i}${j}`, ProjectId: p.id, done: j === 1, prio: j });
    }
  }
  const labels = await Label.bulkCreate([{ name: 'red' }, { name: 'blue' }]);
  const p1 = await Project.findByPk(1);
  await p1.addLabels(labels);
  await (await Project.findByPk(4)).addLabel(labels[0]);
  try { await User.create({ email: 'a@x' }); log('dup', 'ok'); } catch (e) { log('dup', [e.name, e.parent && e.parent.code, Object.keys(e.fields || {})]); }
  try { await Task.create({ title: 'bad', prio: 42 }); log('check', 'ok'); } catch (e) { log('check', [e.name, e.parent && e.parent.code]); }
  try { await Project.create({ title: 'orphan', ownerId: 999 }); log('fk', 'ok'); } catch (e) { log('fk', [e.name, e.parent && e.parent.code]); }
  // eager loading
  const withProjects = await User.findAll({ include: [{ model: Project, as: 'projects', include: [{ model: Task, as: 'tasks' }, { model: Label, as: 'labels' }] }], order: [['id'], [{ model: Project, as: 'projects' }, 'id'], [{ model: Project, as: 'projects' }, { model: Task, as: 'tasks' }, 'id'], [{ model: Project, as: 'projects' }, { model: Label, as: 'labels' }, 'id']] });
  log('eager', withProjects.map(u => [u.email, u.projects.map(p => [p.title, p.tasks.map(t => t.title), p.labels.map(l => l.name)])]));
  const page = await User.findAndCountAll({ include: [{ model: Project, as: 'projects', where: { stars: { [Op.gte]: 10 } } }], limit: 2, offset: 0, order: [['id', 'DESC']], distinct: true });
  log('findAndCountAll', [page.count, page.rows.map(u => [u.email, u.projects.map(p => p.title).sort()])]);
  const sepr = await User.findAll({ include: [{ model: Project, as: 'projects', separate: true, order: [['stars', 'DESC']] }], order: [['email']] });
  log('separate', sepr.map(u => [u.email, u.projects.map(p => p.stars)]));
  const lim = await Project.findAll({ include: [{ model: Task, as: 'tasks', required: true, where: { done: true } }], limit: 3, order: [['id']] });
  log('limit include', lim.map(p => [p.id, p.tasks.length]));
  // aggregates
  log('count', await Task.count({ where: { done: true } }));
  log('countGroup', plain(await Task.count({ group: ['done'] })).sort((a, b) => (a.done > b.done ? 1 : -1)));
  log('sum', await Project.sum('stars'));
  log('max', await Project.max('stars', { where: { ownerId: 2 } }));
  log('group', plain(await Project.findAll({ attributes: ['ownerId', [sql.fn('COUNT', sql.col('id')), 'n'], [sql.fn('AVG', sql.col('stars')), 'avg']], group: ['ownerId'], order: [['ownerId']], raw: true })));
  log('having', plain(await Task.findAll({ attributes: ['ProjectId', [sql.fn('COUNT', '*'), 'n']], group: ['ProjectId'], having: sql.where(sql.fn('SUM', sql.literal('CASE WHEN done THEN 1 ELSE 0 END')), '>=', 1), order: [['ProjectId']], raw: true })).length);
  // json
  log('jsonq', (await User.findAll({ where: { prefs: { theme: 'dark' } } })).map(u => u.email));
  log('jsonpath', (await User.findAll({ where: { 'prefs.n': { [Op.gt]: 1 } } })).map(u => u.email));
  log('array', (await User.findAll({ where: { tags: { [Op.contains]: ['x'] } } })).map(u => u.email));
  // upsert, increment, update, destroy (paranoid)
  const [up, created] = await User.upsert({ email: 'a@x', name: 'Ann2' }, { returning: true });
  log('upsert', [up.name, created]);
  const [up2, created2] = await User.upsert({ email: 'd@x', name: 'Dee' }, { returning: true, conflictFields: ['email'] });
  log('upsert2', [up2.email, created2]);
  await User.bulkCreate([{ email: 'b@x', name: 'Bobby' }, { email: 'e@x', name: 'Eve' }], { updateOnDuplicate: ['name'] });
  log('after bulk upsert', (await User.findAll({ order: [['email']] })).map(u => [u.email, u.name]));
  await User.increment({ balance: 2.5 }, { where: { role: 'admin' } });
  const bob = await User.findOne({ where: { email: 'b@x' } });
  await bob.increment('balance', { by: 1 });
  await bob.reload();
  log('balance', bob.balance);
  log('update', await Task.update({ done: true }, { where: { title: 't00' } }));
  log('destroy paranoid', await Project.destroy({ where: { stars: { [Op.lt]: 5 } } }));
  log('after paranoid', [await Project.count(), await Project.count({ paranoid: false })]);
  await Project.restore({ where: { stars: 1 } });
  log('restored', await Project.count());
  // transactions
  try {
    await sql.transaction(async (t) => {
      await Label.create({ name: 'green' }, { transaction: t });
      try {
        await sql.transaction({ transaction: t }, async (t2) => { await Label.create({ name: 'red' }, { transaction: t2 }); });
      } catch (e) { log('savepoint err', e.name); }
      await Label.create({ name: 'yellow' }, { transaction: t });
      log('in tx', await Label.count({ transaction: t }));
    });
  } catch (e) { log('tx err', e.message); }
  log('labels', (await Label.findAll({ order: [['id']] })).map(l => l.name));
  const t = await sql.transaction();
  await Label.create({ name: 'gone' }, { transaction: t });
  await t.rollback();
  log('after rollback', await Label.count());
  const t2 = await sql.transaction({ isolationLevel: Sequelize.Transaction.ISOLATION_LEVELS.REPEATABLE_READ });
  const l = await Label.findOne({ where: { name: 'blue' }, lock: t2.LOCK.UPDATE, transaction: t2 });
  l.name = 'navy'; await l.save({ transaction: t2 });
  await t2.commit();
  log('locked update', (await Label.findByPk(l.id)).name);
  // raw
  log('raw', await sql.query('SELECT u.email, count(p.id)::int AS n FROM users u LEFT JOIN projects p ON p."ownerId" = u.id GROUP BY u.email ORDER BY u.email', { type: QueryTypes.SELECT }));
  log('raw repl', await sql.query('SELECT title FROM projects WHERE "ownerId" = :o ORDER BY stars LIMIT 2', { replacements: { o: 3 }, type: QueryTypes.SELECT }));
  log('raw bind', await sql.query('SELECT count(*)::int AS n FROM tasks WHERE done = $1', { bind: [true], type: QueryTypes.SELECT }));
  await User.destroy({ where: { email: 'c@x' } });
  log('cascade', await Project.count({ paranoid: false }));
  await qi.removeColumn({ tableName: 'tasks', schema }, 'state');
  await qi.removeIndex({ tableName: 'tasks', schema }, 'tasks_prio_done');
  await qi.dropTable({ tableName: 'project_labels', schema });
  log('final tables', (await qi.showAllTables()).map(t => t.tableName || t).sort());
  await sql.close();
  console.log(out.map((x) => JSON.stringify(x)).join('\n'));
})().catch(async (e) => { console.log(out.map((x) => JSON.stringify(x)).join('\n')); console.error('FAILED', e.message, e.sql || '', e.parent ? e.parent.code : ''); await sql.close(); process.exit(1); });
