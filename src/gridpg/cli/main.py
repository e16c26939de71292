"""The `gridpg` command: the only place where objects of the layers are wired together.

Subcommands that act on a cluster take `--dir` so several clusters can live side by side.
User errors end with a one-line message and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from gridpg.cluster.control import Cluster, ClusterError
from gridpg.cluster.pgserver import ServerError, find_pg_bin
from gridpg.cluster.topology import build_default

DEFAULT_DIR = os.environ.get("GRIDPG_DIR", "~/.gridpg/default")

# soft_wrap: a message must not be broken at the terminal width (ports, paths, log lines).
console = Console(stderr=True, soft_wrap=True)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and getattr(args, "func", None) is cmd_psql:
        args.psql_args = [*unknown, *args.psql_args]  # `gridpg psql -c 'SELECT 1'`: psql's own options
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ClusterError, ServerError, ValueError) as exc:
        console.print(f"[red]gridpg: {exc}[/red]", highlight=False)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gridpg", description="distributed PostgreSQL")
    sub = parser.add_subparsers(metavar="COMMAND")

    def command(name: str, func: object, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--dir", default=DEFAULT_DIR, help="cluster directory (default %(default)s)")
        p.add_argument("--pg-bin", default=None, help="PostgreSQL bin directory to use")
        p.add_argument("--member", default=None, help=argparse.SUPPRESS)
        p.set_defaults(func=func)
        return p

    up = command("up", cmd_up, "create (first run) and start a cluster")
    up.add_argument("--datanodes", type=int, default=2)
    up.add_argument("--coordinators", type=int, default=2)
    up.add_argument("--standbys", type=int, default=0)
    up.add_argument("--read-only-coordinators", type=int, default=0,
                    help="coordinators that serve reads from the standbys and refuse writes")
    up.add_argument("--port", type=int, default=None, help="first coordinator's port")
    up.add_argument("--trust", action="store_true", help="no password for local clients")
    up.add_argument("--gtm-standby", action="store_true",
                    help="a second GTM fed synchronously, promoted by the monitor")
    up.add_argument("--archive", default=None, metavar="DIR",
                    help="archive every server's WAL into DIR (for gridpg backup / restore --barrier)")
    up.add_argument("--foreground", action="store_true", help="stay attached; Ctrl-C stops all")
    command("down", cmd_down, "stop every member of the cluster")
    status = command("status", cmd_status, "show members, roles, addresses and state")
    status.add_argument("--json", action="store_true")
    status.add_argument("--shards", action="store_true", help="rows and bytes of each table per group")
    psql = command("psql", cmd_psql, "open psql on a coordinator")
    psql.add_argument("--coordinator", type=int, default=1)
    psql.add_argument("psql_args", nargs=argparse.REMAINDER)
    logs = command("logs", cmd_logs, "print a member's log")
    logs.add_argument("name", nargs="?", default=None)
    logs.add_argument("-n", "--lines", type=int, default=40)
    gtm = command("gtm", cmd_gtm, "run the GTM in the foreground")
    gtm.add_argument("--host", default="127.0.0.1")
    gtm.add_argument("--port", type=int, default=6666)
    gtm.add_argument("--peer", default=None, help="HOST:PORT of the other GTM of a pair")
    gtm.add_argument("--role", default="primary", choices=["primary", "standby"])
    gtm.add_argument("--metrics-port", type=int, default=0, help="serve Prometheus metrics here (0: none)")
    gtm_ctl = command("gtm-ctl", cmd_gtm_ctl, "promote or detach a GTM of a pair by hand")
    gtm_ctl.add_argument("action", choices=["promote", "detach"])
    gtm_ctl.add_argument("name", help="the GTM to act on: promote this standby / detach this "
                                      "primary's standby (gtm or gtm2)")
    gtm_ctl.add_argument("--force", action="store_true",
                         help="skip the GTM's own safety checks (the operator knows the other "
                              "GTM is gone for good and has handed out nothing it lacks)")
    command("coordinator", cmd_coordinator, "run a coordinator in the foreground")
    command("monitor", cmd_monitor, "run a monitor in the foreground (leader by GTM lease)")
    recover = command("recover", cmd_recover, "resolve in-doubt two-phase transactions now")
    recover.add_argument("--older-than", type=float, default=None,
                         help="seconds a running coordinator's transaction must be prepared "
                              "before it counts as in doubt (default 10)")
    node = command("node", cmd_node, "add, drain or remove a datanode group")
    node.add_argument("action", choices=["add", "remove", "drain"])
    node.add_argument("address", nargs="?", default=None,
                      help="add: HOST:PORT of an existing server (none: a new local datanode); "
                           "remove/drain: the group name")
    node.add_argument("--name", default=None, help="node name (default: dn<N>)")
    node.add_argument("--dry-run", action="store_true", help="drain: show the plan only")
    rebalance = command("rebalance", cmd_rebalance, "move shards online so rows per group even out")
    rebalance.add_argument("--dry-run", action="store_true", help="show the plan only")
    failover = command("failover", cmd_failover, "make a standby the primary of a datanode group")
    failover.add_argument("group", help="datanode group, e.g. dn1")
    failover.add_argument("--to", default=None, help="the standby to promote (default: most advanced)")
    failover.add_argument("--force", action="store_true", help="the primary is down: fail over anyway")
    standby = command("standby", cmd_standby, "add a streaming standby to a datanode group")
    standby.add_argument("action", choices=["add"])
    standby.add_argument("group", help="datanode group, e.g. dn1")
    catalog = command("catalog", cmd_catalog, "rebuild a coordinator's catalog server from another's")
    catalog.add_argument("action", choices=["rebuild"])
    catalog.add_argument("coordinator", help="the coordinator whose catalog server is rebuilt, e.g. coord2")
    catalog.add_argument("--from", dest="source", default=None,
                         help="the coordinator to copy from (default: any other running one)")
    dump = command("dump", cmd_dump, "pg_dump through a coordinator, each table's distribution kept")
    dump.add_argument("-f", "--file", default=None, help="write the script here (default: stdout)")
    dump.add_argument("--plain", action="store_true",
                      help="no DISTRIBUTE BY clauses: a script for plain PostgreSQL")
    dump.add_argument("pg_dump_args", nargs=argparse.REMAINDER, help="more pg_dump options, after --")
    command("backup", cmd_backup, "base backup of every server into the cluster's WAL archive")
    restore = command("restore", cmd_restore,
                      "run a dump script through a coordinator (psql); or, with --barrier, "
                      "bring up a new cluster in --dir at a barrier of the cluster in --from")
    restore.add_argument("file", nargs="?", help="a script written by gridpg dump (or pg_dump)")
    restore.add_argument("--barrier", default=None, help="restore to this CREATE BARRIER name")
    restore.add_argument("--from", dest="source", default=None,
                         help=f"the cluster directory the barrier was created in (default {DEFAULT_DIR})")
    restore.add_argument("--port", type=int, default=None, help="first port of the new cluster")
    return parser


# -- commands --------------------------------------------------------------------------


def cmd_up(args: argparse.Namespace) -> int:
    cluster = Cluster(Path(args.dir), args.pg_bin)
    if not args.foreground:
        bring_up(cluster, args)
        return 0
    # Ctrl-C (or SIGTERM) at any moment from here on stops the whole cluster, even when
    # SIGINT came in ignored (a shell starts background jobs so).
    previous = signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        bring_up(cluster, args)
        console.print("running in the foreground; press Ctrl-C to stop the cluster")
        while True:
            time.sleep(1)
            if cluster.start_monitor():  # supervised: a monitor that died is started again
                console.print("monitor restarted")
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut `down` short
        try:
            if cluster.exists():
                cluster.down(lambda _msg: None)
                console.print("cluster stopped")
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    return 0


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def bring_up(cluster: Cluster, args: argparse.Namespace) -> None:
    started = time.monotonic()
    with console.status("gridpg up") as spinner:
        progress = spinner.update
        if not cluster.exists():
            find_pg_bin(args.pg_bin)
            topo = build_default(
                datanodes=args.datanodes, coordinators=args.coordinators,
                standbys=args.standbys, port=args.port, trust=args.trust,
                read_only_coordinators=args.read_only_coordinators,
                gtm_standby=args.gtm_standby,
            )
            if args.archive:
                topo.archive = str(Path(args.archive).expanduser().absolute())
            cluster.create(topo, progress)
        elif args.archive and Path(args.archive).expanduser().absolute() != Path(cluster.topology.archive or "/-"):
            raise ClusterError("--archive is set when a cluster is created; this cluster's archive is "
                               f"{cluster.topology.archive or 'none'}")
        changed = cluster.up(progress)
    elapsed = time.monotonic() - started
    if not changed:
        console.print(f"cluster in {cluster.dir} is already running; nothing changed")
    else:
        console.print(f"cluster in {cluster.dir} is up ({elapsed:.1f} s)")
    print_connect_help(cluster)


def print_connect_help(cluster: Cluster) -> None:
    bin_dir = find_pg_bin(cluster.pg_bin)
    print(f"connect with:  psql \"{cluster.dsn()}\"")
    coords = cluster.topology.coordinators
    if sum(not c.read_only for c in coords) > 1:
        print(f"any coordinator:  psql \"{cluster.dsn_all()}\"")
    if any(c.read_only for c in coords):
        print(f"read-only coordinators (reads from standbys):  psql \"{cluster.dsn_all(read_only=True)}\"")
    print(f"   (psql is at {bin_dir / 'psql'}; or run: gridpg psql --dir {cluster.dir})", flush=True)


def cmd_down(args: argparse.Namespace) -> int:
    cluster = Cluster(Path(args.dir), args.pg_bin)
    with console.status("gridpg down") as spinner:
        stopped = cluster.down(spinner.update)
    if stopped:
        console.print(f"stopped: {', '.join(stopped)}")
    else:
        console.print("nothing was running")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    cluster = Cluster(Path(args.dir), args.pg_bin)
    if args.shards:
        return _print_shards(cluster, args.json)
    rows = cluster.status()
    if args.json:
        print(json.dumps([row.__dict__ for row in rows], indent=2))
        return 0
    table = Table(title=f"gridpg cluster {cluster.dir}")
    for column in ("member", "kind", "role", "address", "pid", "state", "lag", "metrics"):
        table.add_column(column)
    for row in rows:
        color = "green" if row.state == "running" else "red"
        table.add_row(
            row.name, row.kind, row.role, row.address, str(row.pid or "-"),
            f"[{color}]{row.state}[/{color}]", row.lag, row.metrics,
        )
    Console().print(table)
    return 0 if all(row.state == "running" for row in rows) else 3


def _print_shards(cluster: Cluster, as_json: bool) -> int:
    from gridpg.errors import PgError

    try:
        usage = cluster.shard_usage()
    except (PgError, OSError) as exc:
        raise ClusterError(f"cannot read the datanodes: {exc}") from None
    if as_json:
        print(json.dumps([u.__dict__ for u in usage], indent=2))
        return 0
    table = Table(title=f"gridpg shards {cluster.dir}")
    for column in ("group", "table", "shards", "rows", "bytes"):
        table.add_column(column, justify="right" if column != "table" else "left")
    for u in usage:
        table.add_row(u.group, u.table, str(u.shards), f"{u.rows:,}", f"{u.bytes:,}")
    total = sum(u.bytes for u in usage) or 1
    for group in dict.fromkeys(u.group for u in usage):
        mine = [u for u in usage if u.group == group]
        size = sum(u.bytes for u in mine)
        table.add_row(f"[bold]{group}[/bold]", f"[bold]all tables ({100 * size / total:.0f}% of bytes)[/bold]",
                      str(sum(u.shards for u in mine)), f"{sum(u.rows for u in mine):,}", f"{size:,}")
    Console().print(table)
    return 0


def cmd_psql(args: argparse.Namespace) -> int:
    cluster = Cluster(Path(args.dir), args.pg_bin)
    psql = str(find_pg_bin(args.pg_bin) / "psql")
    extra = [a for a in args.psql_args if a != "--"]
    os.execv(psql, [psql, cluster.dsn(args.coordinator - 1), *extra])
    return 0  # pragma: no cover


def cmd_logs(args: argparse.Namespace) -> int:
    cluster = Cluster(Path(args.dir), args.pg_bin)
    log_dir = cluster.dir / "log"
    files = sorted(log_dir.glob("*.log"))
    if args.name:
        files = [f for f in files if f.stem == args.name]
        if not files:
            raise ClusterError(f"no log for member {args.name!r} in {log_dir}")
    for path in files:
        lines = path.read_text(errors="replace").splitlines()[-args.lines:]
        print(f"==> {path.name} <==")
        print("\n".join(lines))
    return 0


def cmd_failover(args: argparse.Namespace) -> int:
    from gridpg.cluster.failover import FailoverError, failover

    cluster = Cluster(Path(args.dir), args.pg_bin)
    started = time.monotonic()
    try:
        with console.status(f"gridpg failover {args.group}") as spinner:
            result = failover(cluster, args.group, args.to, args.force, spinner.update)
    except FailoverError as exc:
        raise ClusterError(str(exc)) from None
    console.print(f"{result.group}: {result.new_primary} is the primary "
                  f"({time.monotonic() - started:.1f} s); {result.old_primary} {result.rejoined}")
    return 0


def cmd_standby(args: argparse.Namespace) -> int:
    from gridpg.cluster.failover import FailoverError, add_standby

    cluster = Cluster(Path(args.dir), args.pg_bin)
    try:
        with console.status(f"gridpg standby add {args.group}") as spinner:
            spec = add_standby(cluster, args.group, spinner.update)
    except FailoverError as exc:
        raise ClusterError(str(exc)) from None
    console.print(f"{spec.name} streams from the primary of {args.group} ({spec.host}:{spec.port})")
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    from gridpg.cluster.catalog_rebuild import rebuild_catalog

    cluster = Cluster(Path(args.dir), args.pg_bin)
    with console.status("gridpg catalog rebuild") as spinner:
        kept = rebuild_catalog(cluster, args.coordinator, args.source, spinner.update)
    console.print(f"catalog server of {args.coordinator} rebuilt; coordinator {args.coordinator} is up")
    if kept is not None:
        console.print(f"the old data directory is kept in {kept}")
    return 0


def cmd_dump(args: argparse.Namespace) -> int:
    from gridpg.cluster import dump

    cluster = Cluster(Path(args.dir), args.pg_bin)
    out = Path(args.file) if args.file else None
    extra = [a for a in args.pg_dump_args if a != "--"]
    script = dump.dump(cluster, out, args.plain, extra)
    if out is None:
        sys.stdout.write(script)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from gridpg.cluster.archive import ArchiveError, backup

    cluster = Cluster(Path(args.dir), args.pg_bin)
    try:
        with console.status("gridpg backup") as spinner:
            done = backup(cluster, spinner.update)
    except ArchiveError as exc:
        raise ClusterError(str(exc)) from None
    console.print(f"base backup {done.label} of {len(done.servers)} servers in {done.path}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from gridpg.cluster import dump

    if args.barrier is not None:
        return _restore_barrier(args)
    if args.file is None:
        raise ClusterError("name a dump script to restore, or a barrier with --barrier")
    dump.restore(Cluster(Path(args.dir), args.pg_bin), Path(args.file))
    console.print(f"restored {args.file}")
    return 0


def _restore_barrier(args: argparse.Namespace) -> int:
    from gridpg.cluster.archive import ArchiveError, restore_barrier

    source = Cluster(Path(args.source or DEFAULT_DIR), args.pg_bin)
    if source.dir == Cluster(Path(args.dir)).dir:
        raise ClusterError("--dir names the new cluster; --from the cluster the barrier was "
                           f"created in (default {DEFAULT_DIR})")
    started = time.monotonic()
    try:
        with console.status(f"gridpg restore --barrier {args.barrier}") as spinner:
            cluster = restore_barrier(source, Path(args.dir), args.barrier, args.port, spinner.update)
    except ArchiveError as exc:
        raise ClusterError(str(exc)) from None
    console.print(f"cluster in {cluster.dir} restored to barrier {args.barrier!r} "
                  f"({time.monotonic() - started:.1f} s)")
    print_connect_help(cluster)
    return 0


def cmd_gtm(args: argparse.Namespace) -> int:
    from gridpg.gtm.server import main as gtm_main

    extra = ["--peer", args.peer, "--role", args.role] if args.peer else []
    if args.metrics_port:
        extra += ["--metrics-port", str(args.metrics_port)]
    return gtm_main(["--dir", args.dir, "--host", args.host, "--port", str(args.port), *extra])


def cmd_gtm_ctl(args: argparse.Namespace) -> int:
    """`gridpg gtm-ctl promote|detach NAME [--force]`: what the monitor does, by hand."""
    from gridpg.cluster.gtm_ha import promote
    from gridpg.gtm.client import gtm_call_sync
    from gridpg.gtm.protocol import GtmError, GtmUnavailable

    cluster = Cluster(Path(args.dir), args.pg_bin)
    spec = next((g for g in cluster.topology.gtm_members() if g.name == args.name), None)
    if spec is None:
        raise ClusterError(f"no GTM named {args.name!r} in the topology")
    try:
        term = int(gtm_call_sync(spec.host, spec.port, "gtm_role", 2.0)["term"])
        if args.action == "promote":
            answer = promote(cluster, spec.name, term, force=args.force)
            done, what = bool(answer.get("promoted")), f"{spec.name} is the primary (term {answer.get('term')})"
        else:
            answer = gtm_call_sync(spec.host, spec.port, "gtm_detach", 2.0, term=term, force=args.force)
            done, what = bool(answer.get("detached")), f"{spec.name} goes on without its standby"
    except (GtmUnavailable, GtmError) as exc:
        raise ClusterError(f"{spec.name}: {exc}") from None
    if not done:
        raise ClusterError(f"{spec.name} refused: {answer.get('reason')}")
    console.print(what)
    return 0


def cmd_node(args: argparse.Namespace) -> int:
    """`gridpg node add [HOST:PORT]`, `node drain GROUP`, `node remove GROUP`."""
    cluster = Cluster(Path(args.dir), args.pg_bin)
    if args.action == "add" and args.address is None:
        return _add_local_node(cluster, args.name)
    if args.address is None:
        raise ClusterError(f"gridpg node {args.action} needs the group name")
    if args.action == "drain":
        return _run_rebalance(cluster, drain={args.address}, dry_run=args.dry_run)
    return _node_statement(cluster, args)


def _node_statement(cluster: Cluster, args: argparse.Namespace) -> int:
    """CREATE NODE (an existing server) or DROP NODE through coordinator 1."""
    import asyncio

    from gridpg.cluster.pgserver import SUPERUSER
    from gridpg.datanode.connection import BackendConnection, NodeAddress
    from gridpg.errors import PgError
    from gridpg.sql.quote import quote_ident, quote_literal

    coord = cluster.topology.coordinators[0]
    if args.action == "add":
        host, _, port = args.address.rpartition(":")
        if not host or not port.isdigit():
            raise ClusterError(f"expected HOST:PORT, got {args.address!r}")
        name = args.name or f"dn{len(cluster.topology.groups) + 1}"
        statements = [(f"CREATE NODE {quote_ident(name)} WITH (TYPE = 'datanode', "
                       f"HOST = {quote_literal(host)}, PORT = {int(port)})")]
    else:  # a local group's standbys first: the group goes with its last node
        group = next((g for g in cluster.topology.groups if g.name == args.address), None)
        names = [m.name for m in group.standbys] if group is not None else []
        statements = [f"DROP NODE {quote_ident(n)}" for n in [*names, args.address]]

    async def run() -> None:
        address = NodeAddress(coord.name, coord.host, coord.port, SUPERUSER, cluster.password())
        conn = await BackendConnection.connect(address)
        try:
            for statement in statements:
                await conn.simple_query(statement)
        finally:
            conn.close()

    try:
        asyncio.run(run())
    except PgError as exc:
        raise ClusterError(f"{exc.message} (SQLSTATE {exc.sqlstate})") from None
    if args.action == "remove":
        _forget_local_group(cluster, args.address)
    console.print(f"{'; '.join(statements)}: done")
    return 0


def _forget_local_group(cluster: Cluster, name: str) -> None:
    """A removed group this cluster directory runs: stopped and taken out of the topology."""
    from gridpg.cluster.topology import save

    cluster.reload()
    topo = cluster.topology
    group = next((g for g in topo.groups if g.name == name), None)
    if group is None:
        return
    for member in group.members:
        cluster.server(member).stop("fast")
    topo.groups.remove(group)
    save(topo, cluster.topology_path)


def _add_local_node(cluster: Cluster, name: str | None) -> int:
    from gridpg.cluster.failover import FailoverError
    from gridpg.cluster.node_add import add_local_group
    from gridpg.cluster.rebalance import RebalanceError, copy_references
    from gridpg.errors import PgError

    try:
        with console.status("gridpg node add") as spinner:
            group = add_local_group(cluster, spinner.update, name)
        primary = group.primary
        console.print(f"{group.name} is up at {primary.host}:{primary.port} and registered on every catalog server")
        copies = copy_references(cluster, RichReporter())
    except (FailoverError, RebalanceError) as exc:
        raise ClusterError(str(exc)) from None
    except PgError as exc:
        raise ClusterError(f"{exc.message} (SQLSTATE {exc.sqlstate})") from None
    if copies:
        console.print("reference tables copied")
    console.print(f"move shards onto it with: gridpg rebalance --dir {cluster.dir}")
    return 0


def cmd_rebalance(args: argparse.Namespace) -> int:
    return _run_rebalance(Cluster(Path(args.dir), args.pg_bin), drain=set(), dry_run=args.dry_run)


def _run_rebalance(cluster: Cluster, drain: set[str], dry_run: bool) -> int:
    from gridpg.cluster.rebalance import RebalanceError, rebalance
    from gridpg.errors import PgError

    started = time.monotonic()
    reporter = RichReporter()
    try:
        rebalance(cluster, reporter, drain, dry_run, show_plan=_print_plan)
    except RebalanceError as exc:
        raise ClusterError(str(exc)) from None
    except PgError as exc:
        raise ClusterError(f"{exc.message} (SQLSTATE {exc.sqlstate})") from None
    finally:
        reporter.close()
    if not dry_run:
        held = f"; writes held at most {reporter.max_held:.2f} s per switch" if reporter.switches else ""
        console.print(f"done: {reporter.switches} copies in {time.monotonic() - started:.1f} s{held}")
    return 0


def _print_plan(plan: object) -> None:
    moves, refs = plan.moves, plan.references  # type: ignore[attr-defined]
    if not moves and not refs:
        console.print("the shards are balanced; nothing to move")
        return
    table = Table(title="rebalance plan")
    for column in ("#", "what", "from", "to", "rows", "bytes"):
        table.add_column(column, justify="right" if column in ("#", "rows", "bytes") else "left")
    for i, spec in enumerate(refs, start=1):
        names = ", ".join(f"{s}.{t}" for s, t in spec.tables)
        table.add_row(str(i), f"reference tables {names}", spec.source, spec.target, "-", "-")
    for i, move in enumerate(moves, start=len(refs) + 1):
        unit = move.unit
        table.add_row(str(i), f"shard {unit.remainder} of {', '.join(unit.tables)}", move.source, move.target,
                      f"{unit.rows:,}", f"{unit.bytes:,}")
    Console(stderr=True).print(table)
    before, after = plan.before, plan.after  # type: ignore[attr-defined]
    console.print("rows per group: " + ", ".join(f"{g} {before.get(g, 0):,} -> {after.get(g, 0):,}"
                                                 for g in sorted(set(before) | set(after))))


class RichReporter:
    """The rebalance's progress on the terminal: one bar per copy, bytes copied."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                 TimeElapsedColumn(), console=console, transient=False)
        self.task: object = None
        self.max_held = 0.0
        self.switches = 0
        self.started = False

    def note(self, text: str) -> None:
        self.progress.console.print(text)

    def copy_started(self, spec: object, total_bytes: int, index: int, count: int) -> None:
        if not self.started:
            self.progress.start()
            self.started = True
        what = f"shard {spec.remainder} {spec.source}->{spec.target}" if spec.kind == "move" \
            else f"reference tables {spec.source}->{spec.target}"  # type: ignore[attr-defined]
        self.task = self.progress.add_task(f"[{index + 1}/{count}] {what}", total=max(total_bytes, 1))

    def copy_progress(self, done: int, total: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=min(done, max(total, 1)), total=max(total, 1))  # type: ignore[arg-type]

    def copy_finished(self, spec: object, held_seconds: float) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[-1].total)  # type: ignore[arg-type]
        self.switches += 1
        self.max_held = max(self.max_held, held_seconds)

    def close(self) -> None:
        if self.started:
            self.progress.stop()


def cmd_monitor(args: argparse.Namespace) -> int:
    from gridpg.cluster.monitor import run_monitor

    cluster = Cluster(Path(args.dir), args.pg_bin)
    return run_monitor(cluster, args.member or "monitor")


def cmd_recover(args: argparse.Namespace) -> int:
    """`gridpg recover`: one in-doubt recovery pass, as the monitor runs it."""
    import asyncio

    from gridpg.cluster.monitor import MonitorContext, recover_once
    from gridpg.errors import PgError
    from gridpg.gtm.client import GtmClient
    from gridpg.gtm.protocol import GtmError, GtmUnavailable

    cluster = Cluster(Path(args.dir), args.pg_bin)
    first, *others = cluster.topology.gtm_addresses()

    async def run() -> dict[str, int]:
        gtm = GtmClient(*first, alternates=others)
        ctx = MonitorContext(cluster, gtm, "gridpg recover")
        try:
            await ctx.refresh_members()
            outcome = await recover_once(gtm, ctx.nodes, ctx.coordinators,
                                         in_doubt_after=args.older_than)
        finally:
            ctx.close()
            await gtm.close()
        if outcome.unreachable:
            console.print(f"nodes not reached: {', '.join(outcome.unreachable)}")
        return outcome.as_dict()

    try:
        outcome = asyncio.run(run())
    except (GtmUnavailable, GtmError, PgError, OSError) as exc:
        raise ClusterError(f"recovery failed: {exc}") from None
    console.print(", ".join(f"{value} {key}" for key, value in outcome.items()))
    return 0


def cmd_coordinator(args: argparse.Namespace) -> int:
    cluster = Cluster(Path(args.dir), args.pg_bin)
    name = args.member or "coord1"
    # Before anything imports prometheus_client: its workers share one metrics directory.
    metrics_dir = cluster.run_dir / f"metrics-{name}"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    from gridpg.frontend.coordinator import run_coordinator

    return run_coordinator(cluster, name)


if __name__ == "__main__":
    sys.exit(main())
