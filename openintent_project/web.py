"""A web process: daphne's own command line, serving plain HTTP through a leaner protocol.

    python -m openintent_project.web [--cpu N] [daphne's options] openintent_project.asgi:application

takes daphne's options, plus ``--cpu`` (``openintent-server`` starts its web processes this
way). What it changes, and why:

- **Plain requests go through ``openintent_project.lean_http``.** Daphne's server listens
  with the factory ``http_factory`` builds: for this project's application, the lean
  protocol, which parses with httptools and hands each request straight to the request
  threads (``ThreadedWSGIApplication``); it cut the CPU a read of one intent costs the web
  process from 830-990 µs to about 560 µs here. Stream requests (SSE) and WebSocket upgrades are
  handed, with their connection, to daphne's own protocol. For any other application the
  factory is daphne's own.
- **Daphne's own protocol does no form parsing in Twisted.** ``twisted.web`` parses every
  POST's ``Content-Type`` with the standard library's ``email`` package (0.1-0.2 ms a request
  here) to find form and multipart bodies, and then parses those bodies into
  ``request.args``, which daphne never reads. (``parsePOSTFormSubmission`` is Twisted's own
  switch for this.)
- **No Twisted access-log line.** ``HTTPFactory.log`` formats a combined-log line for every
  request and hands it to Twisted's legacy log, which daphne sends nowhere. Daphne's own
  access log (``--access-log``) is separate and still works, for both protocols.

- **``--cpu N`` pins the process, all its threads, to CPU N.** Every request crosses from the
  event loop's thread to a request thread and back: two thread wake-ups. Between threads on
  different CPUs each wake-up is an interrupt to the other CPU, 40-50 µs on this project's
  (virtual) machine; on one CPU it is a switch, about 10 µs: a bare round trip took 100 µs
  unpinned and 25 µs pinned. A process gains nothing from a second CPU for its Python code
  (the GIL lets one thread run it at a time), so pinning costs it only the overlap of
  SQLite's own C code with Python, and the chance to move to an idle CPU while another
  process is busy on its own; in return the other CPUs are left to the other processes.
  ``openintent-server`` gives each web process a CPU of its own while there are enough.

Daphne creates its HTTP factory inside ``Server.run`` and offers no hook, so the name
``HTTPFactory`` is replaced in ``daphne.server`` (``install``) before the server starts.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys

# Importing daphne.server installs Twisted's asyncio reactor, which must happen before
# anything else imports twisted.internet.reactor: first, as daphne's own entry point does.
import daphne.server  # isort:skip
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest


class LeanWebRequest(WebRequest):
    """A request that leaves its body to the application (see the module docstring)."""

    def __init__(self, channel, *args, **kwargs):
        super().__init__(channel, *args, parsePOSTFormSubmission=False, **kwargs)


class DaphneHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = LeanWebRequest
        return protocol

    def log(self, request) -> None:
        """Twisted's per-request access line: daphne discards it, so it is not built."""


def http_factory(server):
    """The factory daphne's server listens with: for our application, the lean protocol
    (``openintent_project.lean_http``) with daphne's own for streams and WebSockets; for any
    other application, daphne's own."""
    daphne_factory = DaphneHTTPFactory(server)
    asgi = sys.modules.get("openintent_project.asgi")  # loaded by daphne if it is ours
    if asgi is None or server.application is not asgi.application:
        return daphne_factory
    from django.conf import settings

    from openintent_project.lean_http import LeanHTTPFactory
    from openintent_project.routing import is_stream_path

    return LeanHTTPFactory(server, daphne_factory, asgi.django_asgi_app, is_stream_path,
                           idle_seconds=settings.OPENINTENT_HTTP_IDLE_SECONDS)


def install() -> None:
    daphne.server.HTTPFactory = http_factory


def pin_to_cpu(cpu: int) -> None:
    """Keep this process, and every thread it starts from now on, on ``cpu``. Called before
    daphne starts, so that no thread predates it (a thread keeps the CPUs it started with)."""
    allowed = sorted(os.sched_getaffinity(0))
    if cpu not in allowed:
        raise SystemExit(f"--cpu {cpu}: this process may only use CPU {', '.join(map(str, allowed))}")
    os.sched_setaffinity(0, {cpu})


class Server(daphne.server.Server):
    def run(self) -> None:
        # Everything loaded so far (Django, the apps, Twisted) lives as long as the process:
        # moved out of the garbage collector's sight, a full collection no longer walks its
        # 150,000 objects. Reading one intent in a tight loop in one process went from 255
        # to 219 µs; over HTTP the gain is within this machine's noise.
        gc.collect()
        gc.freeze()
        super().run()


class WebCommandLine(CommandLineInterface):
    server_class = Server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--cpu", type=int, default=None)
    options, daphne_argv = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if options.cpu is not None:
        pin_to_cpu(options.cpu)
    install()
    WebCommandLine().run(daphne_argv)


if __name__ == "__main__":
    main()
