"""``openintent-server``: run the whole server.

Migrates, then starts the ASGI web server (daphne, through ``openintent_project.web``; with
``--web-processes`` > 1 one process per SO_REUSEPORT socket on the same port), a Celery worker
and Celery beat, restarts a process that dies, and stops them all on Ctrl-C or SIGTERM. With
no ``--database-url``/``DATABASE_URL`` it is the embedded default:
SQLite, a file-based broker, no other service. In production run the same three roles as
separate processes (see README), with exactly one beat.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time

DEFAULT_SETTINGS = "openintent_project.settings.dev"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openintent-server", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--database-url", default=None, help="e.g. postgres://user@host/db (default: SQLite)")
    parser.add_argument("--redis-url", default=None, help="Celery broker and channel layer (default: none needed)")
    parser.add_argument("--web-processes", type=int, default=int(os.environ.get("WEB_PROCESSES", "1")))
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--no-worker", action="store_true", help="do not start a Celery worker")
    parser.add_argument("--no-beat", action="store_true", help="do not start Celery beat")
    parser.add_argument("--no-migrate", action="store_true")
    parser.add_argument("--access-log", default=None, help="write an HTTP access log here ('-' for stdout)")
    parser.add_argument("--no-cpu-pinning", action="store_true",
                        help="let the OS move web processes between CPUs (default: each keeps to one)")
    return parser


def _listening_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def _web_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """One listening socket per web process. With SO_REUSEPORT (Linux) each process gets its
    own socket on the same port and the kernel spreads new connections across them evenly;
    a single shared socket lets whichever process is idle first take a whole burst."""
    if count > 1 and hasattr(socket, "SO_REUSEPORT"):
        try:
            return [_listening_socket(host, port, reuse_port=True) for _ in range(count)]
        except OSError:
            pass
    shared = _listening_socket(host, port)
    return [shared] * count


def web_process_cpus(count: int) -> list[int | None]:
    """The CPU each of ``count`` web processes keeps to (``openintent_project.web --cpu``, see
    there why): the CPUs this server may use, in turn, so that processes share a CPU only when
    there are more of them than CPUs. None (not pinned) where there is one CPU or no affinity
    call (not Linux)."""
    if not hasattr(os, "sched_getaffinity"):
        return [None] * count
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return [None] * count
    return [cpus[index % len(cpus)] for index in range(count)]


def _pinning_text(cpus: list[int | None]) -> str:
    pinned = [str(cpu) for cpu in cpus if cpu is not None]
    return f" (on CPU {', '.join(pinned)})" if pinned else ""


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", DEFAULT_SETTINGS)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    if args.redis_url:
        os.environ["REDIS_URL"] = args.redis_url
    python = sys.executable
    env = dict(os.environ)

    import django

    django.setup()
    from django.conf import settings

    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    if not args.no_migrate:
        subprocess.run([python, "-m", "django", "migrate", "--noinput", "-v", "0"], check=True, env=env)

    # Each role is a command line; the supervisor starts them and restarts one that dies.
    # The parent keeps the listening sockets so that a web process can be started again.
    access_log = ["--access-log", args.access_log] if args.access_log else []
    roles: list[tuple[list[str], tuple[int, ...]]] = []
    web_sockets = _web_sockets(args.host, args.port, max(1, args.web_processes))  # kept open (and alive) here
    cpus = [None] * len(web_sockets) if args.no_cpu_pinning else web_process_cpus(len(web_sockets))
    for sock, cpu in zip(web_sockets, cpus):
        pinning = [] if cpu is None else ["--cpu", str(cpu)]
        # Verbosity 0 keeps daphne from writing an access line per request unless asked;
        # errors are logged by Django either way.
        roles.append(([python, "-m", "openintent_project.web", *pinning, "--fd", str(sock.fileno()), "--proxy-headers",
                       "-v", "0", *access_log, "openintent_project.asgi:application"], (sock.fileno(),)))
    if not args.no_worker:
        roles.append(([python, "-m", "celery", "-A", "openintent_project", "worker", "--loglevel", "INFO",
                       "--concurrency", str(args.worker_concurrency), "--without-gossip", "--without-mingle"], ()))
    if not args.no_beat:
        roles.append(([python, "-m", "celery", "-A", "openintent_project", "beat", "--loglevel", "INFO",
                       "--pidfile", ""], ()))

    base = f"http://{args.host}:{args.port}"
    keys = settings.OPENINTENT_API_KEYS or (settings.OPENINTENT_DEV_API_KEYS if getattr(settings, "OPENINTENT_DEV_MODE", False) else [])
    print(f"OpenIntent server on {base}  (docs: {base}/docs, admin: {base}/admin/)", flush=True)
    if keys:
        print(f"API key: {keys[0]}  (send it as X-API-Key)", flush=True)
    print(f"Database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}; "
          f"web processes: {args.web_processes}{_pinning_text(cpus)}; worker: {not args.no_worker}; beat: {not args.no_beat}. "
          "Ctrl-C stops everything.", flush=True)
    if args.web_processes > 1 and not settings.REDIS_URL:
        print("Note: several web processes without REDIS_URL: stored events reach every stream, "
              "but live-only frames (portfolio membership) stay in the process that made them.",
              flush=True)
    return _supervise(roles, env)


# A role that keeps dying is not restarted for ever: past this many restarts in a minute the
# whole server stops, so a broken deployment fails loudly instead of spinning.
MAX_RESTARTS_PER_MINUTE = 5


def _supervise(roles: list[tuple[list[str], tuple[int, ...]]], env: dict) -> int:
    stopping = False

    def stop(signum, frame):  # noqa: ARG001
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    def spawn(command: list[str], fds: tuple[int, ...]) -> subprocess.Popen:
        return subprocess.Popen(command, pass_fds=fds, env=env)

    children = [spawn(command, fds) for command, fds in roles]
    restarts: list[float] = []
    exit_code = 0
    while not stopping:
        for index, child in enumerate(children):
            if child.poll() is None:
                continue
            now = time.monotonic()
            restarts = [t for t in restarts if now - t < 60] + [now]
            name = "web process" if "openintent_project.web" in child.args else f"celery {child.args[5]}"
            if len(restarts) > MAX_RESTARTS_PER_MINUTE:
                print(f"{name} exited with {child.returncode}; too many restarts, stopping", file=sys.stderr, flush=True)
                exit_code = child.returncode or 1
                stopping = True
                break
            print(f"{name} exited with {child.returncode}; restarting it", file=sys.stderr, flush=True)
            children[index] = spawn(*roles[index])
        time.sleep(0.2)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
