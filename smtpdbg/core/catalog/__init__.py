"""The explanation catalog: what replies, enhanced status codes and EHLO keywords mean.

Every frontend explains the protocol through this package (``explain 550``,
``explain 5.7.8``, ``explain SIZE``, the transcript's inline annotations, the
feature inspector), and the completion engine reads which MAIL/RCPT parameters
and verbs each advertised extension adds. It is pure data plus small lookup
functions, standard library only, and never raises on odd input: a debugger is
fed whatever a server sends.

- :mod:`.replies`: basic three-digit reply codes (RFC 5321 §4.2 and extensions).
- :mod:`.enhanced`: enhanced status codes (RFC 3463 and the IANA registry).
- :mod:`.extensions`: EHLO keywords (the IANA registry and common vendor ones).
- :mod:`.context`: a reply explained where it came (:func:`explain_exchange` for a
  ``Reply`` event, :func:`explain_in_context` from its parts), from :mod:`.situations`.
"""

from smtpdbg.core.catalog.context import Explanation, explain_exchange, explain_in_context, place_of, vendor_notes
from smtpdbg.core.catalog.enhanced import ENHANCED_CODES, EnhancedInfo, associated_with, explain_enhanced, parse_enhanced
from smtpdbg.core.catalog.extensions import EXTENSIONS, ExtensionInfo, explain_extension
from smtpdbg.core.catalog.replies import REPLY_CODES, ReplyInfo, explain_reply, reply_class_meaning

__all__ = [
    "Explanation",
    "explain_exchange",
    "explain_in_context",
    "place_of",
    "vendor_notes",
    "associated_with",
    "ReplyInfo",
    "EnhancedInfo",
    "ExtensionInfo",
    "explain_reply",
    "reply_class_meaning",
    "explain_enhanced",
    "parse_enhanced",
    "explain_extension",
    "REPLY_CODES",
    "ENHANCED_CODES",
    "EXTENSIONS",
]
