"""The two errors a caller of the policy package has to handle; both carry a message fit for a human."""
from __future__ import annotations


class PolicyError(ValueError):
    """Base class: a message that names what is wrong and where, never a stack trace."""


class PolicyPackError(PolicyError):
    """A rule pack that cannot be used: YAML syntax, unknown keys, bad figures, inconsistent rules."""


class CaseError(PolicyError):
    """A case the engine cannot resolve: bad JSON shape, unknown intent, a missing or malformed field."""


def format_pydantic_errors(prefix: str, errors: list[dict]) -> str:
    """pydantic's error list -> 'prefix: a.b.0: message' lines (the __root__ marker is dropped)."""
    lines = []
    for err in errors:
        loc = ".".join(str(part) for part in err.get("loc", ()) if part != "__root__")
        lines.append(f"{prefix}: {loc}: {err['msg']}" if loc else f"{prefix}: {err['msg']}")
    return "\n".join(lines)
