"""``smtpdbg listen``: a debugging SMTP/LMTP server that shows every incoming session.

The server (:mod:`.server`, :mod:`.conversation`) records each connection as a
core :class:`~smtpdbg.core.transcript.Transcript` (client lines as ``SEND``,
its own replies as ``RECV`` with a judged :class:`~smtpdbg.core.events.Reply`),
answers from rules (:mod:`.rules`), by hand (:mod:`.answers`, play the server)
or as a normal server would, and keeps what is delivered (:mod:`.mailbox`).
"""
