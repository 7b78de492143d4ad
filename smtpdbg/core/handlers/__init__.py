"""Command handlers: what each command of the language does to the smtplib session.

Split by what they touch: :mod:`~smtpdbg.core.handlers.connection`,
:mod:`~smtpdbg.core.handlers.greeting`, :mod:`~smtpdbg.core.handlers.auth`,
:mod:`~smtpdbg.core.handlers.envelope`, :mod:`~smtpdbg.core.handlers.raw` and
:mod:`~smtpdbg.core.handlers.tool`, with what they share in
:mod:`~smtpdbg.core.handlers.common`. Each command's spec names its handler
(:mod:`smtpdbg.core.commands`); :mod:`smtpdbg.core.registry` binds the two.
"""

from __future__ import annotations

from smtpdbg.core.handlers.common import AUTH_AFTER_TLS, Reply, auth_after_tls, needs

__all__ = ["AUTH_AFTER_TLS", "Reply", "auth_after_tls", "needs"]
