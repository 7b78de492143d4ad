"""Demo authentication for the sandbox: one user, five SASL mechanisms.

aiosmtpd implements AUTH PLAIN and LOGIN itself and hands the decoded login and
password to an *authenticator*; this module supplies that authenticator
(:class:`DemoAuthenticator`) and adds CRAM-MD5 (RFC 2195), which aiosmtpd lacks,
as :class:`CramMD5Mixin` for the server's ``SMTP`` subclass. XOAUTH2 and
OAUTHBEARER (bearer tokens) come from :mod:`.oauth`.

All mechanisms end in :meth:`DemoAuthenticator.__call__`, so the credential
check lives in one place. Failures return ``AuthResult(handled=False)`` so that
aiosmtpd sends ``535 5.7.8 Authentication credentials invalid``; with
``handled=True`` it would send nothing and the client would hang.
"""

from __future__ import annotations

import hmac
import os
import time
from typing import Any, NamedTuple

from aiosmtpd.smtp import MISSING, AuthResult, LoginPassword

from smtpdbg.sandbox.oauth import BearerCredentials


class CramMD5Response(NamedTuple):
    """What a CRAM-MD5 client proved: its login and HMAC over our challenge."""

    login: bytes
    digest: bytes
    challenge: bytes


class DemoAuthenticator:
    """Accepts one login/password pair (PLAIN, LOGIN, CRAM-MD5) and one bearer token.

    A bearer token (XOAUTH2, OAUTHBEARER) is accepted for the login itself or
    for ``login@hostname``; OAUTHBEARER may leave the user out. An empty
    ``oauth_token`` accepts no token at all.
    """

    def __init__(self, user: str, password: str, oauth_token: str = "", hostname: str = "") -> None:
        self._user = user.encode("utf-8")
        self._password = password.encode("utf-8")
        self._token = oauth_token.encode("utf-8")
        self._token_users = {user.lower(), f"{user}@{hostname}".lower()}

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        """The aiosmtpd ``authenticator`` callback.

        Returns:
            Success with the login (a ``str``) as ``auth_data``, or an unhandled
            failure so that aiosmtpd answers 535.
        """
        if isinstance(auth_data, LoginPassword):
            ok = self._same(auth_data.login, self._user) and self._same(
                auth_data.password, self._password
            )
        elif isinstance(auth_data, BearerCredentials):
            user_ok = auth_data.user is None or auth_data.user.lower() in self._token_users
            ok = bool(self._token) and self._same(auth_data.token.encode("utf-8"), self._token)
            ok = ok and user_ok
        elif isinstance(auth_data, CramMD5Response):
            expected = cram_md5_digest(self._password, auth_data.challenge)
            ok = self._same(auth_data.login, self._user) and self._same(
                auth_data.digest.lower(), expected
            )
        else:
            ok = False
        if not ok:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=self._user.decode("utf-8"))

    @staticmethod
    def _same(given: bytes, expected: bytes) -> bool:
        return hmac.compare_digest(given, expected)


def cram_md5_digest(password: bytes, challenge: bytes) -> bytes:
    """Lower-case hex HMAC-MD5 of ``challenge`` keyed with ``password`` (RFC 2195 §2)."""
    return hmac.new(password, challenge, "md5").hexdigest().encode("ascii")


def cram_md5_challenge(hostname: str) -> bytes:
    """A fresh challenge in the RFC 2195 msg-id form ``<random.timestamp@host>``."""
    nonce = int.from_bytes(os.urandom(8), "big")
    return f"<{nonce}.{int(time.time())}@{hostname}>".encode("ascii")


class CramMD5Mixin:
    """Adds ``AUTH CRAM-MD5`` to an aiosmtpd ``SMTP`` subclass.

    aiosmtpd collects ``auth_*`` methods by name when the protocol object is
    created; ``auth_CRAM__MD5`` becomes mechanism ``CRAM-MD5`` (``__`` → ``-``).
    """

    async def auth_CRAM__MD5(self, _: Any, args: list[str]) -> AuthResult:
        """Send a challenge, read ``base64(login SP hexdigest)`` and check it."""
        if len(args) > 1:
            # CRAM-MD5 has no initial response: the server must speak first.
            await self.push("501 5.5.2 CRAM-MD5 takes no initial response")
            return AuthResult(success=False, handled=True)
        challenge = cram_md5_challenge(self.hostname)
        answer = await self.challenge_auth(challenge)
        if answer is MISSING:
            # challenge_auth() already replied (client sent "*" or bad base64).
            return AuthResult(success=False, handled=True)
        login, _, digest = answer.rpartition(b" ")
        if not login:
            return AuthResult(success=False, handled=False)
        return self._authenticate("CRAM-MD5", CramMD5Response(login, digest, challenge))

