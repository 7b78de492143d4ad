"""A minimal SMTP server on stdin/stdout, for `smtpdbg send --pipe` tests (as `exim -bh` or `smtpd -S` would be).

Run as a script; importing it does nothing. RCPT to a reject@ local part is refused with 550.
"""

import sys


def main() -> None:
    read, write = sys.stdin.buffer, sys.stdout.buffer

    def say(line: str) -> None:
        write.write(line.encode() + b"\r\n")
        write.flush()

    say("220 pipe.smtpdbg.test ESMTP ready")
    while True:
        line = read.readline()
        if not line:
            return
        verb = line.strip().split(b" ", 1)[0].upper()
        if verb in (b"EHLO", b"LHLO"):
            say("250-pipe.smtpdbg.test")
            say("250-PIPELINING")
            say("250 8BITMIME")
        elif verb == b"HELO":
            say("250 pipe.smtpdbg.test")
        elif verb == b"MAIL":
            say("250 2.1.0 OK")
        elif verb == b"RCPT":
            say("550 5.1.1 unknown user" if b"<reject@" in line.lower() else "250 2.1.5 OK")
        elif verb == b"DATA":
            say("354 go ahead")
            while read.readline() not in (b".\r\n", b".\n", b""):
                pass
            say("250 2.0.0 queued")
        elif verb == b"QUIT":
            say("221 2.0.0 bye")
            return
        else:
            say("502 5.5.2 not implemented")


if __name__ == "__main__":
    main()
