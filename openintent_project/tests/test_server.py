"""``openintent-server`` pins each web process to a CPU (``openintent_project.web --cpu``)."""

import os
from pathlib import Path

import pytest
import requests

from openintent_project import server, web
from openintent_project.testing import LiveServer

needs_two_cpus = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2, reason="needs Linux and 2 CPUs"
)


def test_web_processes_take_the_usable_cpus_in_turn(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {6, 2, 4}, raising=False)
    assert server.web_process_cpus(5) == [2, 4, 6, 2, 4]


def test_nothing_is_pinned_with_one_cpu_or_without_affinity(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert server.web_process_cpus(2) == [None, None]
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    assert server.web_process_cpus(2) == [None, None]


def test_web_takes_cpu_and_hands_every_other_option_to_daphne(monkeypatch):
    pinned, handed = [], []
    monkeypatch.setattr(web, "pin_to_cpu", pinned.append)
    monkeypatch.setattr(web, "install", lambda: None)
    monkeypatch.setattr(web.CommandLineInterface, "run", lambda self, argv: handed.append(argv))
    web.main(["--cpu", "1", "-v", "0", "--fd", "5", "openintent_project.asgi:application"])
    web.main(["-p", "8001", "openintent_project.asgi:application"])
    assert pinned == [1]
    assert handed == [["-v", "0", "--fd", "5", "openintent_project.asgi:application"],
                      ["-p", "8001", "openintent_project.asgi:application"]]


@needs_two_cpus
def test_a_cpu_the_process_may_not_use_is_refused_clearly(monkeypatch):
    refused = max(os.sched_getaffinity(0)) + 1
    monkeypatch.setattr(os, "sched_setaffinity", lambda pid, cpus: pytest.fail("must not be called"))
    with pytest.raises(SystemExit, match=f"--cpu {refused}: this process may only use CPU"):
        web.pin_to_cpu(refused)


def _web_process_ids(supervisor_pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # it ended while we looked
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == supervisor_pid and b"openintent_project.web" in command:
            found.append(int(entry.name))
    return sorted(found)


@needs_two_cpus
def test_each_web_process_and_its_request_threads_keep_to_their_cpu():
    with LiveServer(web_processes=3) as live:
        # Enough writes on several connections that every process has started its request
        # threads (an idle process may serve a read on its loop's thread).
        for _ in range(6):
            with requests.Session() as session:
                for _ in range(5):
                    assert session.post(f"{live.url}/api/v1/intents", json={"title": "pinned"},
                                        headers={"X-API-Key": "dev-user-key"}).ok
        processes = _web_process_ids(live.process.pid)
        assert len(processes) == 3
        expected = [{cpu} for cpu in server.web_process_cpus(3)]
        pinned = sorted((os.sched_getaffinity(pid) for pid in processes), key=min)
        assert pinned == sorted(expected, key=min)
        # Threads started after the pin (the request threads) inherit it.
        threads = {pid: [int(tid) for tid in os.listdir(f"/proc/{pid}/task")] for pid in processes}
        assert sum(len(tids) for tids in threads.values()) > len(processes)
        for pid, tids in threads.items():
            assert {frozenset(os.sched_getaffinity(tid)) for tid in tids} == {frozenset(os.sched_getaffinity(pid))}


@needs_two_cpus
def test_no_cpu_pinning_leaves_web_processes_free():
    with LiveServer(web_processes=1) as live:
        live_pinned = os.sched_getaffinity(_web_process_ids(live.process.pid)[0])
    free = LiveServer(web_processes=1)
    free.args.append("--no-cpu-pinning")
    with free:
        unpinned = os.sched_getaffinity(_web_process_ids(free.process.pid)[0])
    assert len(live_pinned) == 1
    assert unpinned == os.sched_getaffinity(0)


def test_our_application_is_served_by_the_lean_protocol_and_others_by_daphne():
    from types import SimpleNamespace

    from openintent_project import asgi
    from openintent_project.lean_http import LeanHTTPFactory

    ours = web.http_factory(SimpleNamespace(application=asgi.application))
    assert isinstance(ours, LeanHTTPFactory) and isinstance(ours.daphne, web.DaphneHTTPFactory)
    assert ours.application is asgi.django_asgi_app
    assert isinstance(web.http_factory(SimpleNamespace(application=object())), web.DaphneHTTPFactory)
