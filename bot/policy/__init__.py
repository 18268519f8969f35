"""The compensation policy: rule packs (data/policy/*.yml) -> validated pack -> resolve(case, pack).

    from bot.policy import load_pack, resolve
    resolution = resolve(case_dict, load_pack())
    resolution.current_offer      # the option to present now (refusals picks the ladder step)

Nothing here imports Rasa or the database: the caller builds the case dict.
"""
from bot.policy.case import Case, parse_case
from bot.policy.engine import resolve
from bot.policy.errors import CaseError, PolicyError, PolicyPackError
from bot.policy.loader import PolicyPack, load_pack
from bot.policy.resolution import Note, Option, Part, Resolution

__all__ = ["Case", "CaseError", "Note", "Option", "Part", "PolicyError", "PolicyPack", "PolicyPackError",
           "Resolution", "load_pack", "parse_case", "resolve"]
