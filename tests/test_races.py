"""Compare-and-swap under real concurrency: 32 writers with the same If-Match, spread over
two server processes, give exactly one 200 and 31 409s, on SQLite and on PostgreSQL."""

import threading

import pytest
import requests

from openintent_project.testing import LiveServer

pytestmark = pytest.mark.live

WRITERS = 32
HEADERS = {"X-API-Key": "dev-user-key", "Content-Type": "application/json"}


def race_same_version(base_url: str) -> tuple[list[int], set[str], dict]:
    intent = requests.post(f"{base_url}/api/v1/intents", json={"title": "race"}, headers=HEADERS, timeout=10).json()
    barrier = threading.Barrier(WRITERS)
    statuses: list[int] = []
    served_by: set[str] = set()
    lock = threading.Lock()

    def writer(n: int) -> None:
        with requests.Session() as session:  # one connection per writer: the kernel spreads them
            barrier.wait()
            response = session.post(
                f"{base_url}/api/v1/intents/{intent['id']}/state",
                json={"patches": [{"op": "set", "path": f"writer_{n}", "value": n}]},
                headers={**HEADERS, "If-Match": "1"}, timeout=60,
            )
            with lock:
                statuses.append(response.status_code)
                served_by.add(response.headers.get("X-Served-By", "?"))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = requests.get(f"{base_url}/api/v1/intents/{intent['id']}", headers=HEADERS, timeout=10).json()
    return statuses, served_by, final


def assert_one_winner(statuses, served_by, final):
    assert sorted(statuses) == [200] + [409] * (WRITERS - 1)
    assert final["version"] == 2
    assert len([k for k in final["state"] if k.startswith("writer_")]) == 1
    assert len(served_by) >= 2, f"requests were not spread over two processes: {served_by}"


def test_same_if_match_race_on_sqlite():
    with LiveServer(web_processes=2, env={"OPENINTENT_EXPOSE_PROCESS_ID": "1"}) as server:
        assert_one_winner(*race_same_version(server.url))


@pytest.mark.production
def test_same_if_match_race_on_postgresql(production_database):
    with LiveServer(web_processes=2, database_url=production_database.url, env={"OPENINTENT_EXPOSE_PROCESS_ID": "1"}) as server:
        assert_one_winner(*race_same_version(server.url))
