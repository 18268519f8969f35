"""Reading suite files: YAML with line numbers, validated per conversation.

A broken file (bad YAML, a key written twice) is one error with its line; a broken conversation (unknown
key, an order without items ...) is an error with the line of the offending key, and the file's other
conversations still run. Nothing here talks to a server.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, List, Optional, Sequence

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from bot.convtest.schema import Conversation

SUITE_KEYS = ("description", "conversations")
# Top-level keys starting with "x-" hold YAML anchors for reuse (`x-bottle: &bottle {...}`), as in the rule packs.


@dataclass(frozen=True)
class SuiteError:
    path: str
    line: Optional[int]  # 1-based
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class LoadedConversation:
    path: str
    line: int
    index: int  # position in its file
    conversation: Conversation

    @property
    def id(self) -> str:
        return f"{self.path}::{self.conversation.name}"


@dataclass
class Loaded:
    conversations: List[LoadedConversation] = field(default_factory=list)
    errors: List[SuiteError] = field(default_factory=list)

    def extend(self, other: "Loaded") -> None:
        self.conversations += other.conversations
        self.errors += other.errors


def suite_files(paths: Sequence[str | Path]) -> tuple[list[Path], list[SuiteError]]:
    """Files as given, folders searched for *.yml / *.yaml (sorted, so runs are repeatable)."""
    files: list[Path] = []
    errors: list[SuiteError] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            errors.append(SuiteError(str(path), None, "no such file or folder"))
    return files, errors


def load_paths(paths: Sequence[str | Path]) -> Loaded:
    files, errors = suite_files(paths)
    loaded = Loaded(errors=list(errors))
    for path in files:
        loaded.extend(load_file(path))
    return loaded


def load_file(path: str | Path) -> Loaded:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return Loaded(errors=[SuiteError(str(path), None, f"cannot read: {exc}")])
    return load_text(text, str(path))


def load_text(text: str, path: str = "<suite>") -> Loaded:
    yaml = YAML(typ="rt")
    try:
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        return Loaded(errors=[SuiteError(path, line, f"YAML: {exc.problem or exc.context}")])
    except Exception as exc:  # ruamel raises a few unmarked errors (e.g. duplicate keys without marks)
        return Loaded(errors=[SuiteError(path, None, f"YAML: {exc}")])
    return _load_document(document, path)


def _load_document(document: Any, path: str) -> Loaded:
    if not isinstance(document, CommentedMap):
        return Loaded(errors=[SuiteError(path, 1, "a suite file is a mapping with a `conversations:` list")])
    loaded = Loaded()
    for key in document:
        if key not in SUITE_KEYS and not str(key).startswith("x-"):
            loaded.errors.append(SuiteError(path, _key_line(document, key),
                                            f"unknown key {key!r} (a suite has: {', '.join(SUITE_KEYS)})"))
    conversations = document.get("conversations")
    if not isinstance(conversations, CommentedSeq) or not conversations:
        loaded.errors.append(SuiteError(path, _key_line(document, "conversations") or 1,
                                        "`conversations:` must be a non-empty list"))
        return loaded
    seen: dict[str, int] = {}
    for index, raw in enumerate(conversations):
        line = _item_line(conversations, index)
        result = _load_conversation(raw, path, line, index)
        if isinstance(result, list):
            loaded.errors += result
            continue
        name = result.conversation.name
        if name in seen:
            loaded.errors.append(SuiteError(path, line, f"conversation name {name!r} already used on line {seen[name]}"))
            continue
        seen[name] = line
        loaded.conversations.append(result)
    return loaded


def _load_conversation(raw: Any, path: str, line: int, index: int) -> LoadedConversation | list[SuiteError]:
    if not isinstance(raw, CommentedMap):
        return [SuiteError(path, line, "a conversation is a mapping (name, buyer, orders, turns, expect)")]
    try:
        conversation = Conversation.parse_obj(_plain(raw))
    except ValidationError as exc:
        label = raw.get("name", f"#{index + 1}")
        return [SuiteError(path, _line_of(raw, error["loc"]) or line,
                           f"conversation {label!r}: {_loc_text(error['loc'])}: {_message(error)}")
                for error in exc.errors()]
    return LoadedConversation(path, line, index, conversation)


def _message(error: dict) -> str:
    if error["type"] == "value_error.extra":
        return "unknown key (see docs/convtest.md for the keys)"
    if error["type"] == "value_error.missing":
        return "missing"
    return error["msg"]


def _loc_text(loc: Iterable[Any]) -> str:
    text = ""
    for part in loc:
        if part == "__root__":
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "conversation"


def _line_of(node: Any, loc: Iterable[Any]) -> Optional[int]:
    """The line of the deepest YAML node on the error's path (1-based)."""
    line = None
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = _key_line(node, part)
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = _item_line(node, part)
            node = node[part]
        else:
            break
    return line


def _key_line(node: CommentedMap, key: Any) -> Optional[int]:
    try:
        return node.lc.key(key)[0] + 1
    except (KeyError, TypeError, AttributeError):
        return None


def _item_line(node: CommentedSeq, index: int) -> int:
    try:
        return node.lc.item(index)[0] + 1
    except (KeyError, TypeError, AttributeError, IndexError):
        return node.lc.line + 1


def _plain(node: Any) -> Any:
    """ruamel's round-trip types -> plain dicts, lists and scalars (pydantic sees ordinary values)."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if hasattr(node, "isoformat"):  # an unquoted YAML timestamp
        return node.isoformat()
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node
