"""Build the other projects' regression corpora that bench/regress_replay.py replays.

    python bench/prepare_corpus.py citus GIT_DIR [--dest /tmp/corpus-citus]
    python bench/prepare_corpus.py xl GIT_DIR [--dest /tmp/corpus-xl]
    python bench/prepare_corpus.py opentenbase GIT_DIR [--dest /tmp/corpus-otb]

GIT_DIR is a clone (or bare mirror) of citusdata/citus, snaga/postgres-xl or
OpenTenBase/OpenTenBase; its HEAD's `src/test/regress` is read with `git archive`. Nothing
of these files enters the repository. Each command prints the replay command to run.

- **citus**: `sql/*.sql` and `data/` into DEST; `DEST/multi_schedule` is Citus's
  multi_1_schedule followed by the tests of its multi_schedule not already listed (the
  ordinary SQL suites live in both); `DEST/files-A.txt` the chosen files (`CITUS_FILES`
  below: the tables' setup files, then suites of ordinary SQL over distributed tables);
  `DEST/plain_setup.sql` PL/pgSQL no-op stand-ins returning void (as Citus's do) for the
  distribution functions gridpg answers, for plain PostgreSQL. The 15 files that load data
  through `:client_side_copy_command` (a psql variable holding a `\\copy` built by `\\set`
  from other variables) get the command written out in its place, with DEST's paths.
- **xl**: Postgres-XL 9.2's `xc_*.sql` (and `data/`) into DEST, replayed with `--xl`.
- **opentenbase**: OpenTenBase's Postgres-XL 10 suites (`xl_*.sql`) and its own
  distributed-SQL ones (`opentenbase_c*`, pull-up, custom-type redistribution), replayed
  with `--xl`; its Oracle-compatibility suites (`opentenbase_ora_*`) are left out:
  plain PostgreSQL refuses their syntax.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

# Setup files first (they create and load lineitem/orders/customer/part, users_table and
# events_table that later suites read), then suites of ordinary SQL: TPC-H and
# CH-benCHmark queries, INSERT ... SELECT, subqueries, CTEs, window functions, set
# operations, views, MERGE, data-modifying WITH, the Citus calls gridpg claims.
CITUS_FILES = """
multi_create_table multi_load_data multi_behavioral_analytics_create_table
multi_behavioral_analytics_basics multi_behavioral_analytics_single_shard_queries
multi_insert_select_non_pushable_queries multi_insert_select multi_shard_update_delete
window_functions multi_insert_select_window with_prepare with_nested with_basics
with_set_operations with_modifying with_dml cte_prepared_modify cte_nested_modification
multi_select_distinct multi_update_select multi_upsert multi_subtransactions
local_dist_join_mixed null_parameters subquery_basics subquery_local_tables subquery_and_cte
union_pushdown subqueries_deep subquery_in_targetlist subquery_in_where
subquery_complex_target_list subquery_prepared_statements non_colocated_subquery_joins
cte_inline recursive_view_local_table multi_level_recursive_queries multi_basic_queries
multi_complex_expressions multi_subquery_window_functions multi_view multi_sql_function
row_types materialized_view multi_subquery_in_where_reference_clause join_pushdown
multi_subquery_union multi_subquery_in_where_clause pg13_with_ties multi_limit_clause
multi_orderby_limit_pushdown bool_agg ch_bench_having chbenchmark_all_queries
multi_utility_statements set_operations merge alter_distributed_table undistribute_table
multi_tpch_query1 multi_tpch_query3 multi_tpch_query6 multi_tpch_query7
multi_tpch_query7_nested multi_tpch_query10 multi_tpch_query12 multi_tpch_query14
multi_tpch_query19
""".split()

CITUS_PLAIN_SETUP = """\
-- Stand-ins for plain PostgreSQL: Citus's distribution functions as no-ops returning
-- void, so that the statements after them compare rows (written by bench/prepare_corpus.py).
CREATE FUNCTION pg_catalog.create_distributed_table(table_name regclass, distribution_column text,
    distribution_type text DEFAULT 'hash', colocate_with text DEFAULT 'default',
    shard_count int DEFAULT NULL) RETURNS void LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE FUNCTION pg_catalog.create_reference_table(table_name regclass) RETURNS void
    LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE FUNCTION pg_catalog.undistribute_table(table_name regclass,
    cascade_via_foreign_keys boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE FUNCTION pg_catalog.alter_distributed_table(table_name regclass,
    distribution_column text DEFAULT NULL, shard_count int DEFAULT NULL,
    colocate_with text DEFAULT NULL, cascade_to_colocated boolean DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql AS $$ BEGIN END $$;
"""


def extract(git_dir: Path, path: str, into: Path, parts: tuple[str, ...] = ("",)) -> Path:
    """HEAD's `path` (only its subdirectories `parts`, when given: a mirror may lack the
    blobs of large files elsewhere) of the repository at git_dir, unpacked under `into`."""
    blob = subprocess.run(["git", f"--git-dir={git_dir}", "archive", "HEAD",
                           *(f"{path}/{p}".rstrip("/") for p in parts)],
                          check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return into / path


def git_dir_of(source: Path) -> Path:
    return source / ".git" if (source / ".git").exists() else source


# -- psql's \set, enough for Citus's client_side_copy_command -----------------------------


_SET = re.compile(r"^\\set\s+(\w+)\s*(.*)$")
_TOKEN = re.compile(r"'((?:[^'\\]|''|\\.)*)'|:'(\w+)'|:(\w+)|([^'\s:]+)")


def _psql_value(text: str, variables: dict[str, str]) -> str:
    """The value `\\set name <text>` gives: its parts concatenated, quoted parts unescaped
    as psql does ('' and \\x), :var and :'var' replaced by the variable's value."""
    out = []
    for quoted, qvar, var, bare in _TOKEN.findall(text):
        if qvar:
            out.append("'" + variables[qvar].replace("'", "''") + "'")
        elif var:
            out.append(variables[var])
        elif bare:
            out.append(bare)
        else:
            out.append(re.sub(r"''|\\(.)", lambda m: m.group(1) or "'", quoted))
    return "".join(out)


def write_out_copy_commands(text: str, abs_srcdir: str) -> str:
    """Every line that is only `:client_side_copy_command` replaced by the command the
    variable holds at that point."""
    variables = {"abs_srcdir": abs_srcdir}
    lines = []
    for line in text.splitlines(keepends=True):
        m = _SET.match(line.strip())
        if m:
            try:
                variables[m.group(1)] = _psql_value(m.group(2), variables)
            except KeyError:
                pass  # a \set over a variable we do not track: not one we replace
        if line.strip() == ":client_side_copy_command":
            line = variables["client_side_copy_command"] + "\n"
        lines.append(line)
    return "".join(lines)


def prepare_citus(git_dir: Path, dest: Path) -> str:
    tmp = dest.parent / (dest.name + ".src")
    shutil.rmtree(tmp, ignore_errors=True)
    regress = extract(git_dir, "src/test/regress", tmp)
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "sql").mkdir(parents=True)
    shutil.copytree(regress / "data", dest / "data")
    rewritten = 0
    for src in sorted((regress / "sql").glob("*.sql")):
        text = src.read_bytes().decode("utf-8", "surrogateescape")
        if ":client_side_copy_command" in text:
            text = write_out_copy_commands(text, str(dest))
            rewritten += 1
        (dest / "sql" / src.name).write_bytes(text.encode("utf-8", "surrogateescape"))
    names, seen = [], set()
    for sched in ("multi_1_schedule", "multi_schedule"):
        for line in (regress / sched).read_text().splitlines():
            if line.startswith("test:"):
                for n in line.split(":", 1)[1].split():
                    if n not in seen:
                        seen.add(n)
                        names.append(n)
    (dest / "multi_schedule").write_text("".join(f"test: {n}\n" for n in names))
    files = [f for f in CITUS_FILES if (dest / "sql" / f"{f}.sql").is_file()]
    (dest / "files-A.txt").write_text(",".join(files) + "\n")
    (dest / "plain_setup.sql").write_text(CITUS_PLAIN_SETUP)
    shutil.rmtree(tmp)
    print(f"{len(files)} files chosen, {rewritten} with :client_side_copy_command written out",
          file=sys.stderr)
    return (f"bench/regress_replay.py {dest} --schedule {dest}/multi_schedule "
            f"--plain-setup {dest}/plain_setup.sql --files $(cat {dest}/files-A.txt) "
            f"--budget 1900 --no-record")


def _copy_regress(git_dir: Path, dest: Path, keep) -> int:
    tmp = dest.parent / (dest.name + ".src")
    shutil.rmtree(tmp, ignore_errors=True)
    regress = extract(git_dir, "src/test/regress", tmp, ("sql", "data"))
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    if (regress / "data").is_dir():
        shutil.copytree(regress / "data", dest / "data")
    n = 0
    for src in sorted((regress / "sql").glob("*.sql")):
        if keep(src.stem):
            shutil.copy(src, dest / src.name)
            n += 1
    shutil.rmtree(tmp)
    return n


def prepare_xl(git_dir: Path, dest: Path) -> str:
    n = _copy_regress(git_dir, dest, lambda name: name.startswith("xc_"))
    print(f"{n} xc_*.sql files", file=sys.stderr)
    return f"bench/regress_replay.py {dest} --xl --budget 1200 --no-record"


_OTB = re.compile(r"^(xl_|opentenbase_c|pullup|distinct_pullup|redistribute_custom_types)")


def prepare_opentenbase(git_dir: Path, dest: Path) -> str:
    n = _copy_regress(git_dir, dest, lambda name: bool(_OTB.match(name)))
    print(f"{n} files", file=sys.stderr)
    return f"bench/regress_replay.py {dest} --xl --budget 1200 --no-record"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", choices=["citus", "xl", "opentenbase"])
    ap.add_argument("git_dir", type=Path, help="a clone or bare mirror of the project")
    ap.add_argument("--dest", type=Path)
    args = ap.parse_args()
    git_dir = git_dir_of(args.git_dir.resolve())
    if args.corpus == "citus":
        cmd = prepare_citus(git_dir, (args.dest or Path("/tmp/corpus-citus")).resolve())
    elif args.corpus == "xl":
        cmd = prepare_xl(git_dir, (args.dest or Path("/tmp/corpus-xl")).resolve())
    else:
        cmd = prepare_opentenbase(git_dir, (args.dest or Path("/tmp/corpus-otb")).resolve())
    print(cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
