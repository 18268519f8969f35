"""Printing results and writing JUnit XML (one <testsuite> per suite file, one <testcase> per conversation)."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Iterable

from bot.convtest.loader import SuiteError
from bot.convtest.runner import ConversationResult


def result_lines(result: ConversationResult, verbose: bool = False) -> list[str]:
    where = f"{result.loaded.path}:{result.loaded.line}"
    status = result.status
    if status == "PASS":
        return [f"PASS  {result.name}  ({where}, {result.seconds:.1f} s)"]
    if status == "XPASS":
        return [f"XPASS {result.name}  ({where}): passes now; remove its xfail ({result.loaded.conversation.xfail})"]
    if status == "XFAIL":
        return [f"XFAIL {result.name}  ({where}): {result.loaded.conversation.xfail}",
                f"    {result.difference}"]
    lines = [f"FAIL  {result.name}  ({where})"]
    lines.append(f"    {result.difference}" if result.difference else f"    error: {result.error}")
    if verbose:
        for buyer, bot in result.transcript:
            lines.append(f"      buyer: {buyer}")
            lines.append(f"      bot:   {bot.replace(chr(10), ' / ') or '(no reply)'}")
    return lines


def summary_line(results: Iterable[ConversationResult], errors: list[SuiteError]) -> str:
    results = list(results)
    statuses = [r.status for r in results]
    line = f"{statuses.count('PASS') + statuses.count('XPASS')} passed, {statuses.count('FAIL')} failed"
    if "XFAIL" in statuses:
        line += f", {statuses.count('XFAIL')} xfailed (known problems)"
    if "XPASS" in statuses:
        line += f", {statuses.count('XPASS')} xpassed"
    if errors:
        line += f", {len(errors)} suite error{'s' if len(errors) != 1 else ''}"
    return line


def failure_text(result: ConversationResult) -> str:
    return str(result.difference) if result.difference else f"error: {result.error}"


def write_junit(path: str | Path, results: list[ConversationResult], errors: list[SuiteError]) -> None:
    by_file: dict[str, list] = defaultdict(list)
    for result in results:
        by_file[result.loaded.path].append(result)
    for error in errors:
        by_file[error.path].append(error)
    root = ET.Element("testsuites", name="conversations")
    for file_path, entries in sorted(by_file.items()):
        suite = ET.SubElement(root, "testsuite", name=file_path)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        total_time = 0.0
        for entry in entries:
            counts["tests"] += 1
            if isinstance(entry, SuiteError):
                case = ET.SubElement(suite, "testcase", classname=file_path, name=f"line {entry.line or 0}", time="0")
                ET.SubElement(case, "error", message=entry.message, type="SuiteError").text = str(entry)
                counts["errors"] += 1
                continue
            total_time += entry.seconds
            case = ET.SubElement(suite, "testcase", classname=file_path, name=entry.name, time=f"{entry.seconds:.3f}")
            if entry.status == "XFAIL":
                counts["skipped"] = counts.get("skipped", 0) + 1
                ET.SubElement(case, "skipped", message=f"known problem: {entry.loaded.conversation.xfail}").text = \
                    transcript_text(entry)
            elif entry.difference is not None:
                counts["failures"] += 1
                ET.SubElement(case, "failure", message=failure_text(entry).splitlines()[0],
                              type="ConversationMismatch").text = transcript_text(entry)
            elif entry.error is not None:
                counts["errors"] += 1
                ET.SubElement(case, "error", message=entry.error, type="RunError").text = transcript_text(entry)
        suite.attrib.update({k: str(v) for k, v in counts.items()}, time=f"{total_time:.3f}")
    root.attrib.update({k: str(sum(int(s.get(k)) for s in root)) for k in ("tests", "failures", "errors", "skipped")})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def transcript_text(result: ConversationResult) -> str:
    lines = [failure_text(result), ""]
    for buyer, bot in result.transcript:
        lines += [f"buyer: {buyer}", f"bot:   {bot}"]
    return "\n".join(lines)
