// Run by tests/compat/test_node_orms.py with (dsn, schema) against gridpg and against plain
// PostgreSQL; prints one JSON line per check, and the two outputs must be equal.
const { Pool } = require('pg');
const fs = require('fs'); const os = require('os'); const path = require('path');
const { drizzle } = require('drizzle-orm/node-postgres');
const { migrate } = require('drizzle-orm/node-postgres/migrator');
const { pgTable, pgEnum, serial, integer, text, varchar, jsonb, boolean, timestamp, numeric, primaryKey, uuid } = require('drizzle-orm/pg-core');
const { eq, and, or, gt, inArray, sql, desc, asc, count, sum, avg, exists, relations } = require('drizzle-orm');
const [dsn, schema] = process.argv.slice(2);
const out = [];
const log = (k, v) => out.push([k, v]);
const mood = pgEnum('mood', ['happy', 'sad']);
const users = pgTable('users', { id: serial('id').primaryKey(), name: text('name').notNull(), email: varchar('email', { length: 100 }).unique(),
  mood: mood('mood').default('happy'), meta: jsonb('meta'), active: boolean('active').default(true), createdAt: timestamp('created_at', { withTimezone: true }).defaultNow() });
const posts = pgTable('posts', { id: serial('id').primaryKey(), authorId: integer('author_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  title: text('title').notNull(), price: numeric('price', { precision: 8, scale: 2 }) });
const comments = pgTable('comments', { id: serial('id').primaryKey(), postId: integer('post_id').notNull().references(() => posts.id), body: text('body'), authorId: integer('author_id').references(() => users.id) });
const groups = pgTable('groups', { id: serial('id').primaryKey(), name: text('name') });
const usersToGroups = pgTable('users_to_groups', { userId: integer('user_id').notNull().references(() => users.id), groupId: integer('group_id').notNull().references(() => groups.id) }, (t) => [primaryKey({ columns: [t.userId, t.groupId] })]);
const usersRel = relations(users, ({ many }) => ({ posts: many(posts), groups: many(usersToGroups) }));
const postsRel = relations(posts, ({ one, many }) => ({ author: one(users, { fields: [posts.authorId], references: [users.id] }), comments: many(comments) }));
const commentsRel = relations(comments, ({ one }) => ({ post: one(posts, { fields: [comments.postId], references: [posts.id] }), author: one(users, { fields: [comments.authorId], references: [users.id] }) }));
const utgRel = relations(usersToGroups, ({ one }) => ({ user: one(users, { fields: [usersToGroups.userId], references: [users.id] }), group: one(groups, { fields: [usersToGroups.groupId], references: [groups.id] }) }));
const groupsRel = relations(groups, ({ many }) => ({ members: many(usersToGroups) }));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drz-'));
fs.mkdirSync(path.join(dir, 'meta'));
const migs = [
  ['0000_init', `CREATE TYPE "mood" AS ENUM('happy', 'sad');
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "users" ("id" serial PRIMARY KEY NOT NULL, "name" text NOT NULL, "email" varchar(100), "mood" "mood" DEFAULT 'happy', "meta" jsonb, "active" boolean DEFAULT true, "created_at" timestamp with time zone DEFAULT now(), CONSTRAINT "users_email_unique" UNIQUE("email"));
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "posts" ("id" serial PRIMARY KEY NOT NULL, "author_id" integer NOT NULL, "title" text NOT NULL, "price" numeric(8, 2));
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "comments" ("id" serial PRIMARY KEY NOT NULL, "post_id" integer NOT NULL, "body" text, "author_id" integer);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "groups" ("id" serial PRIMARY KEY NOT NULL, "name" text);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "users_to_groups" ("user_id" integer NOT NULL, "group_id" integer NOT NULL, CONSTRAINT "users_to_groups_user_id_group_id_pk" PRIMARY KEY("user_id","group_id"));
--> statement-breakpoint
DO $$ BEGIN
 ALTER TABLE "posts" ADD CONSTRAINT "posts_author_id_users_id_fk" FOREIGN KEY ("author_id") REFERENCES "users"("id") ON DELETE cascade ON UPDATE no action;
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;
--> statement-breakpoint
DO $$ BEGIN
 ALTER TABLE "comments" ADD CONSTRAINT "comments_post_id_posts_id_fk" FOREIGN KEY ("post_id") REFERENCES "posts"("id") ON DELETE no action ON UPDATE no action;
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;
--> statement-breakpoint
ALTER TABLE "comments" ADD CONSTRAINT "comments_author_id_users_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "users_to_groups" ADD CONSTRAINT "utg_user_fk" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "users_to_groups" ADD CONSTRAINT "utg_group_fk" FOREIGN KEY ("group_id") REFERENCES "groups"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "posts_author_idx" ON "posts" USING btree ("author_id");`],
  ['0001_alter', `ALTER TYPE "mood" ADD VALUE 'ok';
--> statement-breakpoint
ALTER TABLE "posts" ADD COLUMN "tags" text[] DEFAULT '{}'::text[] NOT NULL;
--> statement-breakpoint
ALTER TABLE "posts" ALTER COLUMN "price" SET DATA TYPE numeric(10, 2);
--> statement-breakpoint
ALTER TABLE "users" ALTER COLUMN "name" SET DEFAULT 'anon';`],
];
fs.writeFileSync(path.join(dir, 'meta', '_journal.json'), JSON.stringify({ version: '7', dialect: 'postgresql', entries: migs.map(([tag], i) => ({ idx: i, version: '7', when: 1700000000000 + i, tag, breakpoints: true })) }));
for (const [tag, body] of migs) fs.writeFileSync(path.join(dir, tag + '.sql'), body.replace('"public"."users"', `"${schema}"."users"`));
const pool = new Pool({ connectionString: dsn, max: 3, options: `-c search_path=${schema}` });
const db = drizzle(pool, { schema: { users, posts, comments, groups, usersToGroups, usersRel, postsRel, commentsRel, utgRel, groupsRel }, logger: !!process.env.SQLLOG });
(async () => {
  await migrate(db, { migrationsFolder: dir, migrationsSchema: schema });
  await migrate(db, { migrationsFolder: dir, migrationsSchema: schema });
  log('migrations', (await pool.query(`SELECT hash IS NOT NULL AS h, created_at FROM "${schema}"."__drizzle_migrations" ORDER BY id`)).rows);
  const us = await db.insert(users).values([{ name: 'Ann', email: 'a@x', meta: { k: 1 } }, { name: 'Bob', email: 'b@x', mood: 'sad' }, { name: 'Cy', email: 'c@x', mood: 'ok' }]).returning();
  log('users', us.map(u => [u.id, u.name, u.mood, u.active, u.meta]));
  const ps = await db.insert(posts).values(us.flatMap(u => [1, 2, 3].map(i => ({ authorId: u.id, title: `${u.name} ${i}`, price: `${i}.5`, tags: [`t${i}`] })))).returning({ id: posts.id, authorId: posts.authorId });
  log('posts', ps.length);
  await db.insert(comments).values(ps.slice(0, 5).flatMap(p => [{ postId: p.id, body: `c${p.id}a`, authorId: 1 }, { postId: p.id, body: `c${p.id}b`, authorId: 2 }]));
  const gs = await db.insert(groups).values([{ name: 'g1' }, { name: 'g2' }]).returning();
  await db.insert(usersToGroups).values([{ userId: 1, groupId: gs[0].id }, { userId: 2, groupId: gs[0].id }, { userId: 2, groupId: gs[1].id }]);
  // relational queries (lateral json_agg)
  const rq = await db.query.users.findMany({ with: { posts: { with: { comments: { with: { author: true }, orderBy: [asc(comments.id)] } }, orderBy: [asc(posts.id)], limit: 2 }, groups: { with: { group: true } } }, orderBy: [asc(users.id)] });
  log('rq', rq.map(u => [u.name, u.posts.map(p => [p.title, p.tags, p.comments.map(c => [c.body, c.author && c.author.name])]), u.groups.map(g => g.group.name).sort()]));
  const one = await db.query.posts.findFirst({ where: eq(posts.id, 4), with: { author: { columns: { name: true } } }, extras: { n: sql`length(${posts.title})`.as('n') } });
  log('findFirst', one);
  const rq2 = await db.query.users.findMany({ columns: { id: true, name: true }, with: { posts: { where: gt(posts.price, '2'), columns: { title: true } } }, where: inArray(users.id, [1, 2]), orderBy: [desc(users.id)], limit: 5, offset: 0 });
  log('rq2', rq2);
  // core queries
  log('join', await db.select({ name: users.name, n: count(posts.id), s: sum(posts.price), a: avg(posts.price) }).from(users).leftJoin(posts, eq(posts.authorId, users.id)).groupBy(users.name).orderBy(users.name));
  log('sub', await db.select({ t: posts.title }).from(posts).where(inArray(posts.authorId, db.select({ id: users.id }).from(users).where(eq(users.mood, 'sad')))).orderBy(posts.title));
  log('exists', await db.select({ n: users.name }).from(users).where(exists(db.select().from(comments).where(eq(comments.authorId, users.id)))).orderBy(users.name));
  const sq = db.select({ authorId: posts.authorId, cnt: count().as('cnt') }).from(posts).groupBy(posts.authorId).as('sq');
  log('with', await db.with(db.$with('top').as(db.select().from(users).where(eq(users.active, true)))).select().from(users).innerJoin(sq, eq(sq.authorId, users.id)).orderBy(users.id).then(r => r.map(x => [x.users.name, x.sq.cnt])));
  log('page', await db.select({ id: posts.id }).from(posts).orderBy(desc(posts.price), asc(posts.id)).limit(4).offset(2));
  log('json', await db.select({ k: sql`${users.meta}->>'k'` }).from(users).where(sql`${users.meta} ? 'k'`));
  log('upsert', await db.insert(users).values({ name: 'Ann2', email: 'a@x' }).onConflictDoUpdate({ target: users.email, set: { name: sql`excluded.name || '!'` } }).returning({ id: users.id, name: users.name }));
  log('nothing', await db.insert(users).values({ name: 'Bob2', email: 'b@x' }).onConflictDoNothing().returning());
  log('update', (await db.update(posts).set({ price: sql`${posts.price} * 2` }).where(and(eq(posts.authorId, 3), gt(posts.price, '1'))).returning({ id: posts.id, price: posts.price })).sort((a, b) => a.id - b.id));
  log('update from', await db.update(comments).set({ body: sql`'x' || ${comments.body}` }).from(posts).where(and(eq(comments.postId, posts.id), eq(posts.authorId, 1))).returning({ id: comments.id }).then(r => r.map(x => x.id).sort((a, b) => a - b)));
  log('delete', (await db.delete(comments).where(or(eq(comments.authorId, 2), eq(comments.postId, 5))).returning({ id: comments.id })).length);
  // transactions with nested savepoints
  try {
    await db.transaction(async (tx) => {
      await tx.insert(groups).values({ name: 'g3' });
      try { await tx.transaction(async (t2) => { await t2.insert(groups).values({ name: 'g4' }); t2.rollback(); }); } catch (e) { log('inner rollback', e.constructor.name); }
      await tx.transaction(async (t2) => { await t2.insert(groups).values({ name: 'g5' }); });
    });
  } catch (e) { log('tx err', e.message); }
  log('groups', (await db.select({ name: groups.name }).from(groups).orderBy(groups.id)).map(g => g.name));
  try { await db.insert(comments).values({ postId: 999, body: 'x' }); } catch (e) { log('fk', e.code); }
  log('count', await db.$count(posts, gt(posts.price, '2')));
  log('delete cascade', (await db.delete(users).where(eq(users.email, 'c@x')).returning({ id: users.id })).length);
  log('posts after', await db.$count(posts));
  await pool.end();
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(out.map((x) => JSON.stringify(x)).join('\n'));
})().catch(async (e) => { console.log(out.map((x) => JSON.stringify(x)).join('\n')); console.error('FAILED', e.message, e.code, e.query); await pool.end(); process.exit(1); });
