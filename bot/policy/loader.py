"""Load a rule pack directory (every *.yml in it) into a validated, immutable `PolicyPack`.

All or nothing: any problem raises `PolicyPackError` naming the file, the rule id and the field, and no
partly built pack escapes. Loaded packs are cached per directory and per (file name, mtime, size), so a
shop that edits its table is picked up without a restart: by `load_pack` on its next call, by a running
service (`load_pack_in_service`) within AFTERSALES_PACK_RECHECK_S seconds (default 1).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import yaml
from pydantic import ValidationError

from bot.policy.errors import PolicyPackError, format_pydantic_errors
from bot.policy.schema import FAMILIES, MULTI_FAMILIES, REQUIRED_FAMILIES, RuleBase, ShopSettings

logger = logging.getLogger(__name__)
from bot.settings import policy_dir

# Not "rules": Rasa reads every YAML file under data/ whose lines start with "rules:" as dialogue rules.
TOP_LEVEL_KEYS = ("version", "description", "settings", "policy_rules")
SUPPORTED_VERSION = 1


@dataclass(frozen=True)
class PolicyPack:
    """The validated rules of one pack directory, by id and by family."""
    directory: str
    settings: ShopSettings
    rules: Dict[str, RuleBase]          # id -> rule, in file order
    files: Tuple[str, ...]
    _by_family: Dict[str, Tuple[RuleBase, ...]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The engine asks for families many times per case: index them once.
        by_family: Dict[str, List[RuleBase]] = {}
        for rule in self.rules.values():
            by_family.setdefault(rule.family, []).append(rule)
        object.__setattr__(self, "_by_family", {k: tuple(v) for k, v in by_family.items()})

    def rule(self, rule_id: str) -> RuleBase:
        return self.rules[rule_id]

    def family(self, family: str) -> List[RuleBase]:
        return list(self._by_family.get(family, ()))

    def single(self, family: str) -> Optional[RuleBase]:
        """The one rule of a singleton family, or None for an optional family the pack leaves out."""
        found = self.family(family)
        return found[0] if found else None

    def for_intent(self, family: str, intent: str) -> List[RuleBase]:
        return [rule for rule in self.family(family) if intent in getattr(rule, "intents", ())]


# libyaml's parser when present (about 10x faster); the constructor is the same safe Python one.
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeBase):  # type: ignore[misc, valid-type]
    """A safe loader that refuses a key written twice in one mapping (PyYAML silently keeps the last)."""

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        seen: Dict[object, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def display_path(path: Path) -> str:
    """Relative to the working directory when inside it (data/policy/shop.yml), else absolute."""
    try:
        return os.path.relpath(path) if Path(os.path.abspath(path)).is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


def _read_yaml(path: Path) -> object:
    name = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyPackError(f"{name}: cannot read: {exc}") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyPackError(f"{where}: YAML syntax error: {problem}") from None


def _pack_files(directory: Path) -> List[Path]:
    if not directory.is_dir():
        raise PolicyPackError(f"{display_path(directory)}: rule pack directory not found")
    files = sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])
    if not files:
        raise PolicyPackError(f"{display_path(directory)}: no rule pack files (*.yml) in it")
    return files


def _check_top_level(name: str, doc: object) -> dict:
    if not isinstance(doc, dict):
        raise PolicyPackError(f"{name}: a pack file must be a mapping with version and policy_rules")
    for key in doc:
        if key not in TOP_LEVEL_KEYS and not str(key).startswith("x-"):
            raise PolicyPackError(f"{name}: unknown top-level key {key!r} (expected {', '.join(TOP_LEVEL_KEYS)}, "
                                  f"or x-... for YAML anchors)")
    if doc.get("version") != SUPPORTED_VERSION:
        raise PolicyPackError(f"{name}: version: must be {SUPPORTED_VERSION}, got {doc.get('version')!r}")
    if not isinstance(doc.get("policy_rules", []), list):
        raise PolicyPackError(f"{name}: policy_rules: must be a list of rules")
    return doc


def _parse_rule(name: str, index: int, raw: object) -> RuleBase:
    if not isinstance(raw, dict):
        raise PolicyPackError(f"{name}: policy_rules.{index}: a rule must be a mapping")
    rule_id = raw.get("id")
    label = f"rule {rule_id}" if isinstance(rule_id, str) and rule_id else f"policy_rules.{index}"
    if not isinstance(rule_id, str) or not rule_id:
        raise PolicyPackError(f"{name}: {label}: id: field required")
    family = raw.get("family")
    model = FAMILIES.get(family) if isinstance(family, str) else None
    if model is None:
        raise PolicyPackError(f"{name}: {label}: family: unknown family {family!r} "
                              f"(known: {', '.join(sorted(FAMILIES))})")
    try:
        return model.parse_obj(raw)
    except ValidationError as exc:
        raise PolicyPackError(format_pydantic_errors(f"{name}: {label}", exc.errors())) from None


def _parse_files(files: Iterable[Path]) -> Tuple[Dict[str, RuleBase], ShopSettings]:
    rules: Dict[str, RuleBase] = {}
    origin: Dict[str, str] = {}
    settings_raw: Optional[Tuple[str, object]] = None
    for path in files:
        name = display_path(path)
        doc = _check_top_level(name, _read_yaml(path))
        if "settings" in doc:
            if settings_raw is not None:
                raise PolicyPackError(f"{name}: settings: already given in {settings_raw[0]} (one settings block "
                                      f"per pack)")
            settings_raw = (name, doc["settings"])
        for index, raw in enumerate(doc.get("policy_rules") or []):
            rule = _parse_rule(name, index, raw)
            if rule.id in rules:
                raise PolicyPackError(f"{name}: rule {rule.id}: duplicate rule id (first defined in {origin[rule.id]})")
            rules[rule.id] = rule
            origin[rule.id] = name
    if settings_raw is None:
        raise PolicyPackError("pack: settings: no file of the pack has a settings block")
    try:
        settings = ShopSettings.parse_obj(settings_raw[1])
    except ValidationError as exc:
        raise PolicyPackError(format_pydantic_errors(f"{settings_raw[0]}: settings", exc.errors())) from None
    _check_families(rules, origin)
    return rules, settings


def _check_families(rules: Dict[str, RuleBase], origin: Dict[str, str]) -> None:
    by_family: Dict[str, List[str]] = {}
    for rule in rules.values():
        by_family.setdefault(rule.family, []).append(rule.id)
    missing = [family for family in REQUIRED_FAMILIES if family not in by_family]
    if missing:
        raise PolicyPackError(f"pack: no rule of family {', '.join(missing)} (the engine needs one)")
    for family, ids in by_family.items():
        if family not in MULTI_FAMILIES and len(ids) > 1:
            raise PolicyPackError(f"{origin[ids[1]]}: rule {ids[1]}: family: {family} is already given by rule "
                                  f"{ids[0]} (one rule of this family per pack)")
    for rule in rules.values():
        follows = getattr(rule, "follows", None)
        if follows is not None and follows not in rules:
            raise PolicyPackError(f"{origin[rule.id]}: rule {rule.id}: follows: no rule with id {follows!r}")


def _fingerprint(files: List[Path]) -> Tuple[Tuple[str, int, int], ...]:
    out = []
    for path in files:
        stat = path.stat()
        out.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(out)


_cache: Dict[str, Tuple[tuple, PolicyPack]] = {}
_cache_lock = threading.Lock()


def load_pack(directory: str | os.PathLike | None = None, *, use_cache: bool = True) -> PolicyPack:
    """Load and validate the pack in `directory` (default: settings.policy_dir()). Raises PolicyPackError."""
    root = Path(directory) if directory is not None else policy_dir()
    files = _pack_files(root)
    key = str(root.resolve())
    fingerprint = _fingerprint(files)
    if use_cache:
        with _cache_lock:
            cached = _cache.get(key)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
    rules, settings = _parse_files(files)
    pack = PolicyPack(directory=display_path(root), settings=settings, rules=rules,
                      files=tuple(display_path(f) for f in files))
    if use_cache:
        with _cache_lock:
            _cache[key] = (fingerprint, pack)
    return pack


# ---------------------------------------------------------------------- serving: keep the last good pack

_last_good: Dict[str, PolicyPack] = {}
_rejected: Dict[str, Tuple[tuple, str]] = {}  # root -> (fingerprint of the rejected files, loader's message)


# A service asks for the pack several times a turn; looking at the files (two globs, a stat per file, ~0.1 ms)
# once a second is enough to pick up a shop's edit. 0 looks every time.
PACK_RECHECK_ENV = "AFTERSALES_PACK_RECHECK_S"
DEFAULT_PACK_RECHECK_S = 1.0
_clock = time.monotonic
_in_service: Dict[str, Tuple[float, PolicyPack]] = {}  # directory as given -> (when the files were looked at, pack)


def pack_recheck_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get(PACK_RECHECK_ENV) or DEFAULT_PACK_RECHECK_S))
    except ValueError:
        return DEFAULT_PACK_RECHECK_S


def load_pack_in_service(directory: str | os.PathLike | None = None, *,
                         max_age_s: Optional[float] = None) -> PolicyPack:
    """What a running service uses: the pack as it is on disk, or, when the shop's edit broke it, the last pack
    that loaded (the bot keeps answering by the old table). The rejection is logged once per edit and kept for
    the console (`rejected_pack_message`). Without any good pack yet the PolicyPackError propagates.
    The files are looked at again when the last look is older than `max_age_s` (default
    pack_recheck_seconds(); 0 = now)."""
    root = Path(directory) if directory is not None else policy_dir()
    given = str(root)
    now = _clock()
    limit = pack_recheck_seconds() if max_age_s is None else max_age_s
    with _cache_lock:
        recent = _in_service.get(given)
    if recent is not None and now - recent[0] < limit:
        return recent[1]
    pack = _load_in_service(root)
    with _cache_lock:
        _in_service[given] = (now, pack)
    return pack


def _load_in_service(root: Path) -> PolicyPack:
    key = str(root.resolve())
    try:
        pack = load_pack(root)
    except PolicyPackError as exc:
        with _cache_lock:
            good = _last_good.get(key)
            try:
                fingerprint = _fingerprint(_pack_files(root))
            except PolicyPackError:
                fingerprint = ()
            first_time = _rejected.get(key, ((), ""))[0] != fingerprint
            _rejected[key] = (fingerprint, str(exc))
        if first_time:
            logger.error("rule pack in %s rejected, %s: %s", display_path(root),
                         "still serving the last good pack" if good else "no good pack to fall back on", exc)
        if good is None:
            raise
        return good
    with _cache_lock:
        _last_good[key] = pack
        _rejected.pop(key, None)
    return pack


def rejected_pack_message(directory: str | os.PathLike | None = None) -> str:
    """The loader's message for an edit that was rejected and is still on disk ("" when the pack is fine).
    Looks at the files now (not at the service's last look, which may be a second old)."""
    root = Path(directory) if directory is not None else policy_dir()
    try:
        load_pack_in_service(root, max_age_s=0)
    except PolicyPackError:
        pass  # no good pack at all: the rejection is recorded all the same
    return _recorded_rejection(root)


def _recorded_rejection(root: Path) -> str:
    with _cache_lock:
        return _rejected.get(str(root.resolve()), ((), ""))[1]


def pack_rejection(directory: str | os.PathLike | None = None) -> str:
    """For a banner: why the rule pack on disk is not the one in service ("" when it is). Loads it first
    (cached per file fingerprint, so a poll costs a few stat calls): a process that has not needed the pack
    since the shop's edit still notices the rejection."""
    root = Path(directory) if directory is not None else policy_dir()
    try:
        load_pack_in_service(root, max_age_s=0)
    except PolicyPackError as exc:  # broken before any pack loaded: nothing serves
        return f"没有可用的规则包：{exc}"
    return _recorded_rejection(root)
