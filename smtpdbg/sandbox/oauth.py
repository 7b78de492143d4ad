"""OAuth 2.0 bearer-token login for the sandbox: AUTH XOAUTH2 and OAUTHBEARER (RFC 7628).

aiosmtpd has neither; :class:`OAuthMixin` adds both to the ``SMTP`` subclass as
``auth_*`` methods, and the credential check stays in
:class:`~smtpdbg.sandbox.auth.DemoAuthenticator` (one demo token for the demo
user, ``SandboxConfig.oauth_token``). The client messages are:

* XOAUTH2 (Google's): ``user=<user>^Aauth=Bearer <token>^A^A``;
* OAUTHBEARER (RFC 7628 §3.1): a GS2 header, then key=value pairs, e.g.
  ``n,a=<user>,^Ahost=mx.example^Aport=587^Aauth=Bearer <token>^A^A``
  (``a=`` and ``host``/``port`` are optional; channel binding ``p=`` is refused).

The user must be the demo login (or ``login@hostname``). Both mechanisms take
the message as an initial response or after an empty ``334 `` challenge.

=================================  ====================================================
Situation                          Reply
=================================  ====================================================
right user and token               ``235 2.7.0 Authentication successful``
wrong user or token                ``334 <base64 JSON error>`` (RFC 7628 §3.2.2); the
                                   client sends a dummy response (``AQ==``, i.e. ^A,
                                   for OAUTHBEARER; an empty line for XOAUTH2), then
                                   ``535 5.7.8 Authentication credentials invalid``
a message that does not parse      ``501 5.5.2 Malformed <MECHANISM> response``
bad base64, or ``*``               aiosmtpd's ``501 5.5.2 Can't decode base64`` /
                                   ``501 5.7.0 Auth aborted``
=================================  ====================================================

The JSON errors are Google's for XOAUTH2 and RFC 7628's for OAUTHBEARER, with
the scope ``https://mail.<hostname>/``::

    {"status":"401","schemes":"Bearer","scope":"https://mail.sandbox.smtpdbg.test/"}
    {"status":"invalid_token","schemes":"bearer","scope":"https://mail.sandbox.smtpdbg.test/"}
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, NamedTuple

from aiosmtpd.smtp import MISSING, AuthResult

OAUTH_MECHANISMS = ("XOAUTH2", "OAUTHBEARER")
"""The mechanisms this module adds, in the order they are advertised."""

_KEY = re.compile(r"[A-Za-z]+")
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] ([\x21-\x7e]+)")  # RFC 6750 §2.1, scheme case-insensitive


class BearerCredentials(NamedTuple):
    """What an XOAUTH2 or OAUTHBEARER client presented."""

    mechanism: str
    """``"XOAUTH2"`` or ``"OAUTHBEARER"``."""
    user: str | None
    """The user it claims to be (OAUTHBEARER's authzid may be absent: None)."""
    token: str
    """The bearer token."""


def _kvpairs(parts: list[str]) -> dict[str, str] | None:
    pairs: dict[str, str] = {}
    for part in parts:
        key, eq, value = part.partition("=")
        if not eq or not _KEY.fullmatch(key):
            return None
        pairs[key.lower()] = value
    return pairs


def _token(pairs: dict[str, str]) -> str | None:
    match = _BEARER.fullmatch(pairs.get("auth", ""))
    return match.group(1) if match else None


def parse_xoauth2(data: bytes) -> BearerCredentials | None:
    """Decode ``user=...^Aauth=Bearer ...^A^A``; None when malformed."""
    text = data.decode("utf-8", "replace")
    parts = text.split("\x01")
    if len(parts) < 3 or parts[-2:] != ["", ""]:
        return None
    pairs = _kvpairs(parts[:-2])
    token = _token(pairs) if pairs is not None else None
    if pairs is None or token is None or not pairs.get("user"):
        return None
    return BearerCredentials("XOAUTH2", pairs["user"], token)


def parse_oauthbearer(data: bytes) -> BearerCredentials | None:
    """Decode an RFC 7628 §3.1 client response; None when malformed or channel-bound."""
    text = data.decode("utf-8", "replace")
    parts = text.split("\x01")
    if len(parts) < 3 or parts[-2:] != ["", ""]:
        return None
    fields = parts[0].split(",")
    # gs2-header = gs2-cb-flag "," [gs2-authzid] "," (RFC 5801 §4); "p=" would need channel binding.
    if len(fields) != 3 or fields[0] not in ("n", "y") or fields[2] != "":
        return None
    user = None
    if fields[1]:
        if not fields[1].startswith("a="):
            return None
        user = fields[1][2:].replace("=2C", ",").replace("=3D", "=")
    pairs = _kvpairs(parts[1:-2])
    token = _token(pairs) if pairs is not None else None
    if token is None:
        return None
    return BearerCredentials("OAUTHBEARER", user, token)


def error_challenge(mechanism: str, hostname: str) -> bytes:
    """The JSON error sent (base64-encoded, in a 334) after a failed attempt."""
    scope = f"https://mail.{hostname}/"
    if mechanism == "XOAUTH2":
        error = {"status": "401", "schemes": "Bearer", "scope": scope}
    else:
        error = {"status": "invalid_token", "schemes": "bearer", "scope": scope}
    return json.dumps(error, separators=(",", ":")).encode("ascii")


_PARSERS = {"XOAUTH2": parse_xoauth2, "OAUTHBEARER": parse_oauthbearer}


class OAuthMixin:
    """Adds ``AUTH XOAUTH2`` and ``AUTH OAUTHBEARER`` to an aiosmtpd ``SMTP`` subclass."""

    hostname: str

    async def auth_XOAUTH2(self, _: Any, args: list[str]) -> AuthResult:
        """Google's XOAUTH2 (see the module docstring)."""
        return await self._bearer_auth("XOAUTH2", args)

    async def auth_OAUTHBEARER(self, _: Any, args: list[str]) -> AuthResult:
        """RFC 7628 OAUTHBEARER (see the module docstring)."""
        return await self._bearer_auth("OAUTHBEARER", args)

    async def _bearer_auth(self, mechanism: str, args: list[str]) -> AuthResult:
        if len(args) > 1:
            message = await self._initial_response(args[1])
        else:
            message = await self.challenge_auth(b"")  # type: ignore[attr-defined]
        if message is MISSING:  # the reply is already sent
            return AuthResult(success=False, handled=True)
        credentials = _PARSERS[mechanism](message)
        if credentials is None:
            await self.push(f"501 5.5.2 Malformed {mechanism} response")  # type: ignore[attr-defined]
            return AuthResult(success=False, handled=True)
        result: AuthResult = self._authenticate(mechanism, credentials)  # type: ignore[attr-defined]
        if result.success:
            return result
        # RFC 7628 §3.2.2: the error comes as a challenge; the client must answer it
        # (§3.2.3: with ^A) before the server sends the final failure.
        answer = await self.challenge_auth(error_challenge(mechanism, self.hostname))  # type: ignore[attr-defined]
        if answer is MISSING:
            return AuthResult(success=False, handled=True)
        return AuthResult(success=False, handled=False)

    async def _initial_response(self, text: str) -> bytes | Any:
        """Decode an initial response (``=`` is the empty one, RFC 4954 §4)."""
        if text == "=":
            return b""
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error:
            await self.push("501 5.5.2 Can't decode base64")  # type: ignore[attr-defined]
            return MISSING
