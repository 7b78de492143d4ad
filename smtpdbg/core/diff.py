"""Comparing two runs: where two JSONL exports differ.

``smtpdbg diff A.jsonl B.jsonl`` (and ``smtpdbg run --compare A.jsonl``)
line up the replies of both runs by the command each answered (a sequence
alignment, so an extra EHLO or a missing RCPT shows as such rather than
shifting everything after it) and report what differs: reply codes and
enhanced codes, the banner, advertised extensions, the TLS certificate and
parameters, each recipient's outcome, and timings that changed a lot.
Timings are reported but do not make the runs "different" on their own.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from itertools import zip_longest

from smtpdbg.core.export.jsonl import read_jsonl_file
from smtpdbg.core.render import safe_text

SLOW_RATIO = 2.0
"""A latency is reported when one run took this many times as long as the other..."""
SLOW_DELTA = 0.2
"""...and the difference is at least this many seconds."""


@dataclass
class DiffResult:
    """What :func:`diff_records` found."""

    lines: list[str] = field(default_factory=list)
    """Each difference in codes, extensions, certificates or outcomes."""
    timing: list[str] = field(default_factory=list)
    """Latencies that changed a lot (reported, not counted)."""

    @property
    def differences(self) -> int:
        return len(self.lines)

    @property
    def same(self) -> bool:
        return not self.lines


_NONE = type(None)
_FIELDS = {
    # record type -> field -> the JSON types the schema allows there (what the comparison relies on)
    "reply": {"code": (int, _NONE), "enhanced": (str, _NONE), "answers": (str, _NONE), "argument": (str, _NONE),
              "text": (str, _NONE), "latency": (int, float, _NONE), "extensions": (dict, _NONE)},
    "tls": {"chain": (list, _NONE)},
    "summary": {"recipients": (list,)},
}
_RECIPIENT = {"transaction": (int,), "address": (str,), "outcome": (str,), "final_code": (int, _NONE)}


def load(path: str) -> list[dict]:
    """An export read for comparing (:func:`~smtpdbg.core.export.jsonl.read_jsonl_file`), its records checked
    where the comparison reads them: a hand-edited file with a wrong type is refused, not a crash.

    Raises:
        OSError: it cannot be read.
        ValueError: it is not an smtpdbg JSONL export.
    """
    records = read_jsonl_file(path)
    for number, record in enumerate(records, 1):
        kind = record.get("type")
        _check(record, _FIELDS.get(kind, {}), f"record {number} ({kind})")
        items = record.get("chain") if kind == "tls" else record.get("recipients") if kind == "summary" else None
        for item in items or ():
            if not isinstance(item, dict):
                raise ValueError(f"record {number} ({kind}): a list item is not an object: not an smtpdbg JSONL export")
            if kind == "summary":
                _check(item, _RECIPIENT, f"record {number} (summary recipient)", required=True)
    return records


def _check(record: dict, fields: dict, where: str, *, required: bool = False) -> None:
    for name, types in fields.items():
        if required and name not in record:
            raise ValueError(f"{where}: {name} is missing: not an smtpdbg JSONL export")
        if name in record and type(record[name]) not in types:
            raise ValueError(f"{where}: {name} is {json_type(record[name])}, not what the schema says: "
                             "not an smtpdbg JSONL export")


def json_type(value) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", _NONE: "null"}.get(type(value), type(value).__name__)


def _replies(records: list[dict]) -> list[dict]:
    return [r for r in records if r.get("type") == "reply"]


def _key(reply: dict) -> str:
    answers = reply.get("answers") or "(unsolicited)"
    argument = reply.get("argument") or ""
    if answers in ("EHLO", "HELO", "LHLO"):
        argument = ""  # the client name may differ between machines
    elif answers in ("MAIL", "RCPT"):
        # FROM:/TO: are case-insensitive, and smtplib's spelling changed (3.13 sends "mail from:")
        keyword, colon, rest = argument.partition(":")
        if colon and keyword.upper() in ("FROM", "TO"):
            argument = f"{keyword.upper()}:{rest}"
    return f"{answers} {argument}".strip()


def _summary(records: list[dict]) -> dict:
    for record in reversed(records):
        if record.get("type") == "summary":
            return record
    return {"recipients": []}


def _reply_text(reply: dict) -> str:
    text = (reply.get("text") or "").split("\n", 1)[0]
    return f"{reply.get('code')} {text}".strip()


class _Differ:
    def __init__(self, a: list[dict], b: list[dict], names: tuple[str, str]) -> None:
        self.a, self.b = a, b
        self.na, self.nb = names
        self.result = DiffResult()

    def add(self, line: str) -> None:
        self.result.lines.append(line)

    def run(self) -> DiffResult:
        self.replies()
        self.extensions()
        self.certificates()
        self.recipients()
        return self.result

    def replies(self) -> None:
        ra, rb = _replies(self.a), _replies(self.b)
        matcher = difflib.SequenceMatcher(a=[_key(r) for r in ra], b=[_key(r) for r in rb], autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                for x, y in zip(ra[i1:i2], rb[j1:j2]):
                    self.pair(x, y)
                continue
            for x in ra[i1:i2]:
                self.add(f"only in {self.na}: {_key(x)} -> {_reply_text(x)}")
            for y in rb[j1:j2]:
                self.add(f"only in {self.nb}: {_key(y)} -> {_reply_text(y)}")

    def pair(self, x: dict, y: dict) -> None:
        key = _key(x)
        if x.get("code") != y.get("code") or x.get("enhanced") != y.get("enhanced"):
            self.add(f"{key}: {self.na} {_reply_text(x)} | {self.nb} {_reply_text(y)}")
        la, lb = x.get("latency"), y.get("latency")
        if la is not None and lb is not None:
            slow, fast = max(la, lb), min(la, lb)
            if slow - fast >= SLOW_DELTA and slow >= SLOW_RATIO * max(fast, 1e-6):
                self.result.timing.append(f"{key}: {self.na} {la * 1000:.0f} ms, {self.nb} {lb * 1000:.0f} ms")

    def extensions(self) -> None:
        ea = [r["extensions"] for r in _replies(self.a) if r.get("extensions")]
        eb = [r["extensions"] for r in _replies(self.b) if r.get("extensions")]
        for index, (x, y) in enumerate(zip_longest(ea, eb)):
            label = f"EHLO #{index + 1} extensions"
            if x is None or y is None:
                self.add(f"{label}: only in {self.na if y is None else self.nb}")
                continue
            for keyword in sorted(set(x) | set(y)):
                if keyword not in y:
                    self.add(f"{label}: {keyword} advertised by {self.na} only")
                elif keyword not in x:
                    self.add(f"{label}: {keyword} advertised by {self.nb} only")
                elif x[keyword] != y[keyword]:
                    self.add(f"{label}: {keyword} {self.na} {x[keyword]!r} | {self.nb} {y[keyword]!r}")

    def certificates(self) -> None:
        ta = [r for r in self.a if r.get("type") == "tls"]
        tb = [r for r in self.b if r.get("type") == "tls"]
        for index, (x, y) in enumerate(zip_longest(ta, tb)):
            label = f"TLS #{index + 1}"
            if x is None or y is None:
                self.add(f"{label}: only in {self.na if y is None else self.nb}")
                continue
            for name in ("version", "cipher", "verified", "server_name", "name_matches"):
                if x.get(name) != y.get(name):
                    self.add(f"{label} {name}: {self.na} {x.get(name)} | {self.nb} {y.get(name)}")
            cx = (x.get("chain") or [{}])[0]
            cy = (y.get("chain") or [{}])[0]
            for name in ("subject", "issuer", "san", "not_after", "key", "fingerprint_sha256"):
                if cx.get(name) != cy.get(name):
                    self.add(f"{label} certificate {name}: {self.na} {cx.get(name)} | {self.nb} {cy.get(name)}")

    def recipients(self) -> None:
        def table(records):
            return {(r["transaction"], r["address"]): r for r in _summary(records).get("recipients", [])}

        xa, xb = table(self.a), table(self.b)
        for key in sorted(set(xa) | set(xb), key=lambda k: (k[0], k[1])):
            x, y = xa.get(key), xb.get(key)
            label = f"recipient <{key[1]}> (transaction {key[0]})"
            if x is None or y is None:
                self.add(f"{label}: only in {self.na if y is None else self.nb}")
            elif x["outcome"] != y["outcome"] or x["final_code"] != y["final_code"]:
                self.add(f"{label}: {self.na} {_outcome(x)} | {self.nb} {_outcome(y)}")


def _outcome(recipient: dict) -> str:
    code = recipient.get("final_code")
    return recipient["outcome"] + (f" ({code})" if code is not None else "")


def diff_records(a: list[dict], b: list[dict], *, names: tuple[str, str] = ("A", "B")) -> DiffResult:
    """Compare two parsed exports (see :func:`smtpdbg.core.export.jsonl.read_jsonl_file`)."""
    return _Differ(a, b, names).run()


def diff_files(path_a: str, path_b: str) -> DiffResult:
    """Compare two JSONL files.

    Raises:
        OSError: a file cannot be read.
        ValueError: a file is not an smtpdbg JSONL export.
    """
    return diff_records(load(path_a), load(path_b), names=("A", "B"))


def report(result: DiffResult, path_a: str, path_b: str) -> list[str]:
    """Printable lines: a legend, the differences, a verdict.

    Each line is terminal-safe: the differences quote what the servers said
    (reply texts, extension parameters, certificate names), escaped here as the
    transcript escapes them, one line each.
    """
    lines = [f"A = {path_a}", f"B = {path_b}"]
    lines += result.lines
    if result.timing:
        lines.append("timings (not counted as differences):")
        lines += ["  " + line for line in result.timing]
    lines.append("no differences in codes, extensions, certificates or outcomes" if result.same
                 else f"{result.differences} difference(s)")
    return [safe_text(line, strip_eol=False) for line in lines]
