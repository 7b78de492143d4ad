"""``smtpdbg trace -- COMMAND...``: a Python program's smtplib sessions, streamed to smtpdbg as they happen.

The parent (:mod:`.cli`) puts a ``sitecustomize`` first on the child's
``PYTHONPATH`` (chaining to the one it hides); in the child it replaces
smtplib's classes with smtpdbg's traced drop-ins (:mod:`.child`) whose events
travel as JSON Lines (:mod:`.stream`) over a unix socket to the parent, which
prints them in the text notation, each line marked with its session.
"""
