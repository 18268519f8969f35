"""Rasa's own entry points, started the way `make run` starts them (issue 19): the HTTP API needs the token and
listens on 127.0.0.1 only; a 100 KB message on the REST channel gets the too-long reply at once. Needs a model."""
from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request

import pytest

from bot.convtest.stack import StackError, demo_shop_database, newest_model, start_stack
from bot.web.limits import TOO_LONG_REPLY

pytestmark = [pytest.mark.slow, pytest.mark.model]
TOKEN = "test-rasa-token-0123456789"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    model = newest_model()
    if model is None or not model.exists():
        pytest.skip("no trained model (run scripts/train_if_stale.sh)")
    tmp = tmp_path_factory.mktemp("rasa-entry")
    db_url = demo_shop_database(tmp / "db.sqlite")
    try:
        servers = start_stack(model, tmp, db_url, auth_token=TOKEN, interface="127.0.0.1")
    except StackError as exc:
        pytest.fail(str(exc))
    yield servers
    servers.stop()


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_api_without_the_token_is_refused(stack):
    assert get(f"{stack.rasa_url}/conversations/b_demo_1/tracker") == 401
    assert get(f"{stack.rasa_url}/conversations/b_demo_1/tracker?token=wrong") == 401
    assert get(f"{stack.rasa_url}/conversations/b_demo_1/tracker?token={TOKEN}") == 200


def outside_address() -> str | None:
    """An address of this machine that is not loopback (None when it has none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_rasa_does_not_listen_beyond_this_machine(stack):
    address = outside_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address")
    port = int(stack.rasa_url.rsplit(":", 1)[1])
    with pytest.raises(OSError):
        socket.create_connection((address, port), timeout=3).close()


def test_a_100_kb_message_on_the_rest_channel_gets_the_too_long_reply(stack):
    body = json.dumps({"sender": "b_demo_1", "message": "碎" * 100_000}).encode()
    request = urllib.request.Request(stack.webhook_url, data=body, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        replies = json.loads(response.read())
    elapsed = time.perf_counter() - started
    print(f"\n100 KB on /webhooks/rest/webhook: {elapsed * 1000:.0f} ms", flush=True)
    assert [r.get("text") for r in replies] == [TOO_LONG_REPLY]
