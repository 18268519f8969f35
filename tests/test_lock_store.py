"""actions/lock_store.py against a real Redis server (started here on a free port; skipped without
redis-server unless REQUIRE_SCALED=1): tickets issued at the same moment by two stores are all different."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.convtest.stack import free_port


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory):
    if shutil.which("redis-server") is None:
        if os.environ.get("REQUIRE_SCALED") == "1":
            pytest.fail("REQUIRE_SCALED=1 but redis-server is not installed", pytrace=False)
        pytest.skip("redis-server not installed")
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--dir", str(tmp_path_factory.mktemp("redis"))], stdout=subprocess.DEVNULL)
    import redis

    client = redis.StrictRedis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield port
    server.terminate()
    server.wait(timeout=10)


def test_tickets_issued_at_once_by_two_processes_stores_are_all_different(redis_port):
    from actions.lock_store import AtomicRedisLockStore

    stores = [AtomicRedisLockStore(host="127.0.0.1", port=redis_port, key_prefix="t") for _ in range(2)]
    with ThreadPoolExecutor(16) as pool:
        tickets = list(pool.map(lambda n: stores[n % 2].issue_ticket("same-sender", 30), range(64)))
    assert sorted(tickets) == list(range(64))  # each ticket once: one message at a time per conversation
    lock = stores[0].get_lock("same-sender")
    assert lock.now_serving == 0 and lock.is_someone_waiting()
    for number in range(64):
        stores[number % 2].cleanup("same-sender", number)
    assert stores[1].get_lock("same-sender") is None  # the last ticket's clean-up deletes the lock


def test_rasa_finds_it_by_module_path_and_waits_its_turn(redis_port):
    import asyncio

    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    store = LockStore.create(EndpointConfig(url="127.0.0.1", type="actions.lock_store.AtomicRedisLockStore",
                                            port=str(redis_port), key_prefix="r"))
    order = []

    async def turn(name: str, hold_s: float) -> None:
        async with store.lock("tab-sender", lock_lifetime=10, wait_time_in_seconds=0.05):
            order.append(f"{name} in")
            await asyncio.sleep(hold_s)
            order.append(f"{name} out")

    async def both() -> None:
        await asyncio.gather(turn("first", 0.3), turn("second", 0.0))

    asyncio.run(both())
    assert order == ["first in", "first out", "second in", "second out"]
