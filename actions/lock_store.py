"""Rasa's RedisLockStore with its ticket changes made atomic, for more than one Rasa process.

Rasa Open Source 3.6's RedisLockStore issues a ticket by GET (the lock as JSON), adding a ticket in Python,
SET: two Rasa instances taking a message of the same conversation at the same moment both read "no
ticket", both write ticket 0, and both process the conversation at once — the second save then drops the
first message's events (seen in tests/test_scaled_faults.py: two tabs, one 好的 lost from the tracker).
Rasa fixed this only in its commercial edition (ConcurrentRedisLockStore). Here every change to a lock
(issue, expire, finish, clean up) runs as a Redis optimistic transaction (WATCH / MULTI / EXEC, retried when
another process changed the lock in between); reading and waiting stay Rasa's own code.

endpoints.scaled.yml: `lock_store: {type: actions.lock_store.AtomicRedisLockStore, url: …, port: …}`.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Optional, Text

from rasa.core.lock import TicketLock
from rasa.core.lock_store import DEFAULT_LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

MAX_ATTEMPTS = 100  # optimistic retries per change; contention is two or three processes, not a hundred


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        """Rasa builds a lock store named by module path with `endpoint_config=`; tests may pass kwargs."""
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    def _change(self, conversation_id: Text, change: Callable[[TicketLock], Any], *, create: bool = False) -> Any:
        """Apply `change` to the stored lock atomically; a lock left without tickets is deleted."""
        import redis

        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            for _ in range(MAX_ATTEMPTS):
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None and not create:
                        pipe.unwatch()
                        return None
                    lock = TicketLock.from_dict(json.loads(raw)) if raw else TicketLock(conversation_id)
                    result = change(lock)
                    pipe.multi()
                    if lock.tickets:
                        pipe.set(key, lock.dumps())
                    else:
                        pipe.delete(key)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue
        raise LockError(f"the lock of conversation '{conversation_id}' kept changing under us")

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = DEFAULT_LOCK_LIFETIME) -> int:
        try:
            return self._change(conversation_id, lambda lock: lock.issue_ticket(lock_lifetime), create=True)
        except LockError:
            raise
        except Exception as exc:  # as Rasa's own: any Redis failure is a LockError for the caller
            raise LockError(f"Error while acquiring lock. Error:\n{exc}")

    def update_lock(self, conversation_id: Text) -> None:
        self._change(conversation_id, lambda lock: lock.remove_expired_tickets())

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        self._change(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number))

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        # removing the last ticket deletes the lock in the same transaction (Rasa: two separate steps)
        self.finish_serving(conversation_id, ticket_number)
