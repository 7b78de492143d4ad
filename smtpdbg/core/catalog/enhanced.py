"""Enhanced mail system status codes (``5.1.1``): parsing and explanation.

Servers that advertise ENHANCEDSTATUSCODES (RFC 2034) start the text of their
2xx/4xx/5xx replies with a code ``class.subject.detail`` (RFC 3463): the class
says success (2), persistent transient failure (4) or permanent failure (5), the
subject says what area the problem is in, and the detail narrows it down.

The table holds every code of RFC 3463 and every later entry of the IANA "SMTP
Enhanced Status Codes" registry (RFC 5248 and the RFCs it points to), keyed
class-agnostically as ``X.subject.detail``. :func:`explain_enhanced` adds the
class: the same ``X.2.2`` means "retry later" as ``4.2.2`` and "give up" as
``5.2.2``. Unknown details fall back to what the class and subject say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Mapping

__all__ = ["EnhancedInfo", "ENHANCED_CODES", "associated_with", "explain_enhanced", "parse_enhanced"]


@dataclass(frozen=True, slots=True)
class EnhancedInfo:
    """The catalog entry for one enhanced status code."""

    code: str
    """The code looked up, e.g. ``5.1.1`` (``X.1.1`` in :data:`ENHANCED_CODES`)."""
    subject: str
    """The subject's name, e.g. ``Addressing status``."""
    detail: str
    """The registry's sample text for the detail, e.g. ``Bad destination mailbox address``."""
    meaning: str
    """What the server is telling you, in plain words."""
    client_action: str
    """What to do next; depends on the class (2 success, 4 retry later, 5 permanent)."""
    basic_codes: tuple[int, ...]
    """Basic reply codes the IANA registry associates with it (empty when it names none)."""
    rfc: str
    """Where the code is defined."""
    exact: bool
    """False when the detail is unknown and only class and subject were explained."""


# RFC 3463 §2 (class) and §3.1-§3.8 (subjects), and the registry's sub-code tables.
_CLASSES = {
    "2": ("Success", "The action was carried out; the detail may report a change made on the way."),
    "4": (
        "Persistent transient failure",
        "The message is valid but a temporary condition persists; sending it again later may succeed.",
    ),
    "5": (
        "Permanent failure",
        "Sending the same message again will fail; something about it or its destination must change.",
    ),
}
_SUBJECTS = {
    0: ("Other or undefined status", "No subject information is available beyond the class.",
        "read the reply text for the reason"),
    1: ("Addressing status", "The problem is a sender or recipient address: its syntax or validity; "
        "the sender can usually correct it.", "check the sender and recipient addresses"),
    2: ("Mailbox status", "The recipient's mailbox exists, but something about it is the problem.",
        "check the recipient's mailbox situation; the text should say more"),
    3: ("Mail system status", "The destination mail system, which normally accepts mail, is the problem.",
        "the fault is on the receiving system; read the text"),
    4: ("Network and routing status", "The problem lies in the network or in routing (DNS, connections, "
        "loops) between here and the destination.", "check DNS and connectivity"),
    5: ("Mail delivery protocol status", "The problem is in the SMTP dialogue itself: commands, their "
        "order or their arguments.", "check the command, its arguments and where it came in the dialogue"),
    6: ("Message content or media status", "The problem is the message content or its media type "
        "(conversions, encodings, character sets).", "check the message content and its encoding"),
    7: ("Security or policy status", "The problem is security or policy: authentication, authorisation, "
        "signatures or encryption.", "check authentication, TLS and the sender domain's SPF/DKIM/DMARC"),
}

from smtpdbg.core.catalog.enhanced_table import RFC as _R, TABLE as _TABLE  # noqa: E402 - the data, kept apart


def _class_action(cls: str, remedy: str, success: str, transient: str = "", permanent: str = "") -> str:
    if cls == "2":
        return success or "Success: nothing to do."
    if cls == "4" and transient:
        return transient
    if cls == "5" and permanent:
        return permanent
    if cls == "4":
        return (
            "Transient: keep the message and retry later; the same command may then succeed. "
            f"If it persists, {remedy}."
        )
    return f"Permanent: do not retry unchanged. {remedy[:1].upper()}{remedy[1:]}."


def _build() -> tuple[dict[str, EnhancedInfo], dict[str, tuple[str, str, str, str]]]:
    infos: dict[str, EnhancedInfo] = {}
    advice: dict[str, tuple[str, str, str, str]] = {}
    for key, detail, meaning, remedy, basic, rfc, success, transient, permanent in _TABLE:
        subject = _SUBJECTS[int(key.split(".")[0])][0]
        generic = (
            "Depends on the class: 2 is success, 4 means retry later, 5 means do not retry unchanged. "
            + remedy[:1].upper() + remedy[1:] + "."
        )
        infos[f"X.{key}"] = EnhancedInfo(f"X.{key}", subject, detail, meaning, generic, basic, rfc, True)
        advice[f"X.{key}"] = (remedy, success, transient, permanent)
    return infos, advice


_INFOS, _ADVICE = _build()
ENHANCED_CODES: Mapping[str, EnhancedInfo] = MappingProxyType(_INFOS)
"""Every registered code, keyed class-agnostically as ``X.subject.detail``; read-only."""

_STATUS = re.compile(r"([245Xx])\.([0-9]{1,3})\.([0-9]{1,3})")
# RFC 2034 §4: a reply line starts with the basic code, then the enhanced code
# (whose class must agree with the basic code's first digit), then spaces.
_LEADING = re.compile(r"\s*(?:([2-5][0-9][0-9])[ -]\s*)?([245]\.[0-9]{1,3}\.[0-9]{1,3})(?=\s|$)")


def parse_enhanced(text: str) -> str | None:
    """Extract the enhanced status code that starts a reply's text.

    Accepts the text after the basic code (``"5.1.1 <x@y>: User unknown"``) or a
    whole reply line (``"550 5.1.1 User unknown"``, ``"250-2.0.0 OK"``). The code
    must come first, have class 2, 4 or 5, be followed by white space or the end,
    and agree with the basic code's class when one is present; so ``"250 OK"`` and
    ``"550 1.2.3.4 blocked"`` (an IP address) give None.

    Returns:
        The code as written, e.g. ``"5.1.1"``, or None. Never raises.
    """
    if not isinstance(text, str):
        return None
    match = _LEADING.match(text)
    if match is None:
        return None
    basic, status = match.groups()
    if basic is not None and basic[0] != status[0]:
        return None
    return status


def explain_enhanced(status: str) -> EnhancedInfo | None:
    """Explain an enhanced status code such as ``"5.7.8"``.

    Args:
        status: ``class.subject.detail``; the class may be ``X`` to get the
            class-agnostic entry of a registered code.

    Returns:
        The entry with a class-specific ``client_action``; for an unknown detail
        (or subject) an entry with ``exact=False`` built from the class and
        subject. None when the text is not an enhanced status code. Never raises.
    """
    if not isinstance(status, str):
        return None
    match = _STATUS.fullmatch(status.strip())
    if match is None:
        return None
    cls, subject, detail = match.group(1).upper(), int(match.group(2)), int(match.group(3))
    key = f"X.{subject}.{detail}"
    if cls == "X":
        return ENHANCED_CODES.get(key)
    code = f"{cls}.{subject}.{detail}"
    known = ENHANCED_CODES.get(key)
    if known is not None:
        return replace(known, code=code, client_action=_class_action(cls, *_ADVICE[key]))
    class_name, class_meaning = _CLASSES[cls]
    if subject in _SUBJECTS:
        name, description, remedy = _SUBJECTS[subject]
        return EnhancedInfo(
            code=code,
            subject=name,
            detail="Unlisted detail (not in RFC 3463 or the IANA registry)",
            meaning=f"{class_name}. {description}",
            client_action=_class_action(cls, remedy, ""),
            basic_codes=(),
            rfc=f"{_R} §3.{subject + 1}",
            exact=False,
        )
    return EnhancedInfo(
        code=code,
        subject=f"Unassigned subject {subject}",
        detail="",
        meaning=f"{class_name}. {class_meaning} The subject {subject} is not defined by RFC 3463.",
        client_action=_class_action(cls, "read the reply text for the reason", ""),
        basic_codes=(),
        rfc=f"{_R} §2",
        exact=False,
    )


def associated_with(code: int) -> tuple[EnhancedInfo, ...]:
    """Registered enhanced codes whose IANA entry lists ``code`` among its associated basic codes.

    That is all the registry says about codes such as 422, 430 or 523, which no RFC defines.
    """
    return tuple(info for info in ENHANCED_CODES.values() if code in info.basic_codes)
