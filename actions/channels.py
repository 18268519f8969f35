"""Rasa's REST and Socket.IO channels with the message size limit of the web service (issue 19).

Sent straight to Rasa, a 100 KB message cost about 5 s of entity extraction; the web service cut at 1,000
characters but Rasa's own channels did not. These subclasses keep Rasa's names ("rest", "socketio"), so their
URLs (/webhooks/rest/webhook, /socket.io) stay the same, and answer an over-long message with one clear reply
without handing it to the NLU or the dialogue. credentials.yml names them.
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketIOInput

from actions import rasa_speedups
from bot.web.limits import MAX_TEXT_CHARS, TOO_LONG_REPLY

logger = logging.getLogger(__name__)

# Rasa imports this module for credentials.yml in every `rasa run`: the place to make its action-response check
# build its validator once (actions/rasa_speedups.py).
rasa_speedups.install()


def capped(on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Callable[[UserMessage], Awaitable[Any]]:
    async def guarded(message: UserMessage) -> Any:
        if message.text is not None and len(message.text) > MAX_TEXT_CHARS:
            logger.warning("message of %d characters from %s refused (limit %d)", len(message.text),
                           message.sender_id, MAX_TEXT_CHARS)
            await message.output_channel.send_text_message(message.sender_id, TOO_LONG_REPLY)
            return None
        return await on_new_message(message)
    return guarded


class CappedRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message):
        return super().blueprint(capped(on_new_message))


class CappedSocketIOInput(SocketIOInput):
    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message):
        return super().blueprint(capped(on_new_message))
