"""Reading Rasa 3 YAML NLU training data with PyYAML only, so the baselines learn from exactly the
examples the model learns from without importing Rasa.

Handles what ``rasa.shared.nlu.training_data.formats.rasa_yaml`` accepts for intents: ``examples`` as a
``|`` block of ``- text`` lines or as a list of ``{text: ..., metadata: ...}``; other ``nlu`` items
(synonym, regex, lookup) are skipped. Entity markup is replaced by its surface text, as Rasa does:
``[顺丰](courier)``, ``[13元](amount:1300)``, ``[13元]{"entity": "amount"}``, ``[x][{...}, {...}]``.
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

# Same pattern as rasa.shared.nlu.training_data.entities_parser.ENTITY_REGEX:
# [entity_text] followed by (type[:value]) or {entity dict} or [list of entity dicts].
_ENTITY_MARKUP = re.compile(
    r"\[(?P<entity_text>[^\]]+?)\]"
    r"(\((?P<entity>[^:)]+?)(?:\:(?P<value>[^)]+))?\)|\{(?P<entity_dict>[^}]+?)\}|\[(?P<list_entity_dicts>.*?)\])"
)
# Rasa strips exactly these around each example.
_STRIP_SYMBOLS = "\n\r "


@dataclass(frozen=True)
class TrainingExample:
    """One training message (entity markup already removed) and its intent."""

    text: str
    intent: str


def strip_entity_markup(example: str) -> str:
    """Replace each annotated entity with its plain text: ``寄[顺丰](courier)`` -> ``寄顺丰``."""
    return _ENTITY_MARKUP.sub(lambda match: match.group("entity_text"), example)


def _multiline_examples(block: str) -> Iterator[str]:
    """The ``- text`` lines of an ``examples: |`` block; like Rasa, lines without ``-`` are skipped."""
    for line in block.splitlines():
        if line.startswith("-"):
            yield line[1:].strip(_STRIP_SYMBOLS)


def _raw_examples(examples: Any) -> Iterator[str]:
    if isinstance(examples, str):
        yield from _multiline_examples(examples)
    elif isinstance(examples, list):
        for item in examples:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                yield item["text"].strip(_STRIP_SYMBOLS)


def _examples_of_document(document: Any) -> Iterator[TrainingExample]:
    if not isinstance(document, dict) or not isinstance(document.get("nlu"), list):
        return
    for item in document["nlu"]:
        if not isinstance(item, dict) or not item.get("intent"):
            continue  # synonym / regex / lookup blocks, or junk
        intent = str(item["intent"]).strip()
        for raw in _raw_examples(item.get("examples", "")):
            text = strip_entity_markup(raw).strip()
            if text:
                yield TrainingExample(text=text, intent=intent)


def training_files(path: str | Path) -> list[Path]:
    """The YAML files under ``path`` (or ``path`` itself), sorted so runs are reproducible."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"training data not found: {path}")
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml"))


def read_training_data(path: str | Path) -> list[TrainingExample]:
    """All intent examples of the Rasa YAML file(s) at ``path`` (a file or a directory, recursively)."""
    examples: list[TrainingExample] = []
    for file in training_files(path):
        with file.open(encoding="utf-8") as handle:
            try:
                document = yaml.safe_load(handle)
            except yaml.YAMLError as error:
                raise ValueError(f"{file}: invalid YAML: {error}") from None
        examples.extend(_examples_of_document(document))
    return examples


def training_data_fingerprint(path: str | Path) -> str:
    """sha256 over the training files' names and bytes: ties a report to the data the baselines saw."""
    digest = hashlib.sha256()
    root = Path(path)
    for file in training_files(root):
        digest.update(str(file.relative_to(root) if root.is_dir() else file.name).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def training_intent_counts(examples: list[TrainingExample]) -> dict[str, int]:
    """Training examples per intent, sorted by name."""
    return dict(sorted(Counter(example.intent for example in examples).items()))
