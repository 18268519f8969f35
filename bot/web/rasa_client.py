"""The few calls the web service makes to the Rasa server's HTTP API (rasa run --enable-api), over aiohttp.

The web service is the buyer's only way in: it sets the REST channel's `sender` from the verified buyer
token, so a buyer can never speak as someone else. Agents' messages and take-overs are tracker events.
"""
from __future__ import annotations

import os
from typing import Any, Optional
from urllib.parse import quote

import aiohttp


class RasaUnavailable(RuntimeError):
    """The Rasa server did not answer (down, restarting, timed out)."""


def rasa_token() -> str:
    """Rasa's --auth-token (scripts/run.sh starts Rasa with one); sent as ?token= on its HTTP API calls."""
    return os.environ.get("AFTERSALES_RASA_TOKEN", "")


def rasa_url() -> str:
    return os.environ.get("AFTERSALES_RASA_URL", "http://localhost:5005").rstrip("/")


class RasaClient:
    def __init__(self, base_url: Optional[str] = None, timeout_s: float = 60.0, token: Optional[str] = None):
        self.base_url = (base_url or rasa_url()).rstrip("/")
        self.token = rasa_token() if token is None else token
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: Optional[aiohttp.ClientSession] = None

    async def _http(self) -> aiohttp.ClientSession:
        # One pooled session per process (a new one per call costs a TCP handshake each time).
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        session = await self._http()
        try:
            params = {"token": self.token} if self.token else None
            async with session.request(method, self.base_url + path, json=body, params=params) as response:
                if response.status >= 400:
                    raise RasaUnavailable(f"{method} {path}: HTTP {response.status} {await response.text()}")
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(f"{method} {path}: {exc}") from exc

    @staticmethod
    def _conversation(conversation_id: str) -> str:
        return "/conversations/" + quote(conversation_id, safe="")

    async def send(self, sender: str, text: str, metadata: Optional[dict] = None) -> list[dict]:
        """A buyer message through the REST channel; returns the bot's replies."""
        body: dict[str, Any] = {"sender": sender, "message": text}
        if metadata:
            body["metadata"] = metadata
        return await self._call("POST", "/webhooks/rest/webhook", body) or []

    async def tracker(self, conversation_id: str) -> dict:
        return await self._call("GET", self._conversation(conversation_id) + "/tracker?include_events=ALL")

    async def append_events(self, conversation_id: str, events: list[dict]) -> dict:
        return await self._call("POST", self._conversation(conversation_id) + "/tracker/events?include_events=NONE",
                                events)

    async def parse(self, text: str) -> dict:
        return await self._call("POST", "/model/parse", {"text": text})
