"""The helpers at the top of every Python export (see :mod:`smtpdbg.core.export.python`).

A ``str.format`` template: the recorded server, socket, client name and
timeout are filled in; doubled braces are the script's own.
"""

PRELUDE = '''
import os
import smtplib
import ssl
import sys

HOST = os.environ.get("SMTP_HOST", {host!r})
PORT = int(os.environ.get("SMTP_PORT", "{port}"))
SOCKET = os.environ.get("SMTP_SOCKET", {socket!r})
LOCAL_HOSTNAME = os.environ.get("SMTP_LOCAL_HOSTNAME") or {local!r}
TIMEOUT = float(os.environ.get("SMTP_TIMEOUT", "{timeout:g}"))
CONTEXT = ssl.create_default_context(cafile=os.environ.get("SMTP_CA") or None)
{insecure}
mismatches = 0
unknown = 0
last_code = None
held = False
settled = None
"""The reply that settled the message came already: a server without PRDR answered the final dot at once."""


def safe(line):
    """A line of server text with every character a terminal would act on escaped (ESC, BEL, U+202E...)."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in line)


def show(code, text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = "\\n    ".join(safe(line) for line in text.split("\\n"))
    return f"{{code}} {{text}}" if code is not None else text


def step(expected, label, call, *args, after_dot=False, **kwargs):
    """Run one smtplib call, print its reply, report a reply other than the recorded one.

    ``expected`` is the recorded code, or None when the recorded session got no reply;
    ``after_dot``: the reply that says what became of a message (after the final dot, to BDAT LAST).
    """
    global mismatches, unknown, last_code, settled
    if after_dot and held:
        print(f"{{label}}\\n  (not read: the message was not sent)")
        return None, ""
    if after_dot and settled is not None:
        print(f"{{label}}\\n  (not read: the server answered the message already: {{settled}})")
        return None, ""
    if call == getattr(smtp, "getreply", None) and smtp.sock is None:  # smtplib would fail with AttributeError
        print(f"{{label}}\\n  (not read: the connection is closed)")
        if expected is not None:
            mismatches += 1
            print(f"MISMATCH at {{label}}: the recorded session got {{expected}}, this run's connection is closed",
                  file=sys.stderr)
        return None, ""
    try:
        result = call(*args, **kwargs)
        code, text = result if isinstance(result, tuple) else (None, "")
    except smtplib.SMTPResponseException as exc:
        code, text = exc.smtp_code, exc.smtp_error
    except (smtplib.SMTPException, OSError) as exc:
        code, text = None, f"no reply: {{type(exc).__name__}}: {{exc}}"
    last_code = code
    print(f"{{label}}\\n  <- {{show(code, text)}}")
    if after_dot and code is None:
        unknown += 1
        print(f"UNKNOWN after {{label}}: the message was sent but no reply came ({{show(code, text)}}); "
              "it may have been delivered, and a retry may deliver a duplicate", file=sys.stderr)
    if after_dot and expected == 353 and code not in (353, None):
        settled = code  # no per-recipient replies follow (PRDR): this was the message's one reply
    if code != expected:
        mismatches += 1
        recorded = "no reply" if expected is None else expected
        got = "no reply" if code is None else code
        print(f"MISMATCH at {{label}}: the recorded session got {{recorded}}, this run got {{got}}", file=sys.stderr)
    return code, text


def send(label, data):
    """Send bytes exactly as recorded (what smtplib's high-level calls would change)."""
    print(f"{{label}}")
    try:
        smtp.send(data)
    except (smtplib.SMTPException, OSError) as exc:
        print(f"  send failed: {{type(exc).__name__}}: {{exc}}", file=sys.stderr)


def message(label, data, after_data=True):
    """Send a message (or a BDAT chunk); after DATA only if the server said 354 (else its lines would be commands)."""
    global held, settled
    held = after_data and last_code != 354
    settled = None
    if held:
        print(f"{{label}}\\n  (not sent: DATA got {{'no reply' if last_code is None else last_code}}, not 354)")
    else:
        send(label, data)


def secret(name):
    value = os.environ.get(name)
    if value is None:
        sys.exit(f"set the environment variable {{name}} (secrets are never stored in this script)")
    return value

'''
