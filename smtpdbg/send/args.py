"""``smtpdbg send``'s command line: swaks-familiar flags, and ``--from-swaks`` to read a swaks command line."""

from __future__ import annotations

import argparse
import shlex

from smtpdbg.send.codes import EXIT_TABLE

STAGES = ("connect", "banner", "ehlo", "tls", "auth", "mail", "rcpt", "data")
"""Where ``--quit-after``/``--drop-after`` stop, in session order."""
STAGE_ALIASES = {"helo": "ehlo", "lhlo": "ehlo", "first-helo": "ehlo", "first-ehlo": "ehlo", "starttls": "tls",
                 "from": "mail", "to": "rcpt", "greeting": "banner"}
PROTOCOLS = ("SMTP", "ESMTP", "ESMTPA", "ESMTPS", "ESMTPSA", "SMTPS", "SSMTP", "SSMTPA", "LMTP", "LMTPA")
_PROTOCOL_ALIASES = {"SMTPSA": "SSMTPA"}


def stage(text: str) -> str:
    """A stage name, case-insensitive, swaks's names too (``TO``, ``FROM``, ``HELO``), or a unique prefix."""
    word = text.strip().lower()
    word = STAGE_ALIASES.get(word, word)
    if word in STAGES:
        return word
    matches = [name for name in STAGES if name.startswith(word)] if word else []
    if len(matches) == 1:
        return matches[0]
    raise argparse.ArgumentTypeError(f"{text!r} is not a stage: use one of {', '.join(STAGES)} (or a unique prefix)")


def _size(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of bytes (a whole number, 1 or more)")
    return int(text)


def protocol(text: str) -> str:
    word = _PROTOCOL_ALIASES.get(text.strip().upper(), text.strip().upper())
    if word not in PROTOCOLS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a protocol: use one of {', '.join(PROTOCOLS)}")
    return word


class _Attach(argparse.Action):
    """``--attach FILE``: the MIME type is the last ``--attach-type`` given before it (as in swaks)."""

    def __call__(self, parser, namespace, value, option_string=None):
        items = list(getattr(namespace, "attach", None) or [])
        items.append((value, getattr(namespace, "attach_type", None)))
        namespace.attach = items


EPILOG = """\
positional words: an address (has @) is a recipient; '|CMD' a command to talk SMTP to over its
stdin/stdout (as --pipe); '/PATH' a unix socket (as --socket); anything else the server (HOST[:PORT]).
  smtpdbg send bob@example.org mx.example.org -A report.pdf -H 'Subject: Report'
  smtpdbg send bob,carol@example.org mail.example.org:587 -a LOGIN -au alice

The server: --server HOST[:PORT]; port 465 means TLS on connect (as --tls-on-connect); with --auth and no
TLS option, STARTTLS is used when offered (credentials are never sent without TLS unless
--allow-plaintext-auth). Passwords come from --password-env NAME, else $SMTPDBG_PASSWORD, else a
masked prompt: never from the command line.

Stages for --quit-after/--drop-after (-q): connect, banner, ehlo, tls, auth, mail, rcpt, data, or a
unique prefix (-q r), or swaks's names (TO, FROM, HELO). --quit-after sends QUIT when the connection is
still usable; --drop-after closes without it. A failure also ends the run with QUIT, as swaks does.

Message: --data @FILE (streamed as it is) or --data TEXT (\\n for a line break), else one built with
Python's email package: Date, Message-ID, From, To, Subject (--header / --h-NAME VALUE replace,
--add-header adds), --body TEXT|@FILE|-, --attach FILE [--attach-type TYPE] (MIME multipart).
A built message is made in memory: its --body, --attach and --data - take at most 32 MiB together
(--max-body BYTES for more; a regular file's size is checked before it is read). --data @FILE streams:
a regular file of any size, a pipe or device up to 256 MiB (--max-body sets the limit).
Tokens in --data TEXT, --body and headers: %DATE%, %MESSAGEID%, %FROM_ADDRESS%, %TO_ADDRESS%.

exit status (smtpdbg's own, as `smtpdbg run`; --exit-codes swaks for swaks's; --from-swaks uses swaks's):
""" + "\n".join(f"  {ours:<4} {swaks:<4} {meaning}" for ours, swaks, meaning in EXIT_TABLE)


def build_parser(add_connection_options) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smtpdbg send", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Send one message (or stop at a stage), swaks-style, and print the transcript with the "
                    "result for each recipient.")
    parser.add_argument("words", nargs="*", metavar="TO|SERVER", help="recipients and the server (see below)")
    parser.add_argument("--from-swaks", metavar="'swaks ...'", help="run this swaks command line instead")
    env = parser.add_argument_group("envelope and server")
    env.add_argument("-t", "--to", action="append", default=[], metavar="ADDR[,ADDR]", help="recipient(s)")
    env.add_argument("-f", "--from", dest="sender", metavar="ADDR", help="envelope sender (default: USER@this host)")
    env.add_argument("-s", "--server", metavar="HOST[:PORT]", help="server (default: the recipient domain's MX)")
    env.add_argument("-p", "--port", type=int, metavar="PORT", help="port (default 25; 465 with TLS on connect)")
    env.add_argument("--socket", metavar="PATH", help="SMTP over this unix socket")
    env.add_argument("--pipe", metavar="'CMD'", help="SMTP with this command over its stdin/stdout")
    env.add_argument("--protocol", type=protocol, metavar="NAME", help=", ".join(PROTOCOLS))
    env.add_argument("--helo", "--ehlo", dest="local_hostname", metavar="NAME", help="name for HELO/EHLO")
    tls = parser.add_argument_group("TLS and AUTH")
    mode = tls.add_mutually_exclusive_group()
    mode.add_argument("--tls", "-tls", dest="tls", action="store_const", const="starttls", help="STARTTLS, required")
    mode.add_argument("--tls-optional", "-tlso", dest="tls", action="store_const", const="optional",
                      help="STARTTLS when offered")
    mode.add_argument("--tls-on-connect", "-tlsc", dest="tls", action="store_const", const="implicit",
                      help="TLS from the start (SMTPS)")
    tls.add_argument("-a", "--auth", nargs="?", const="", metavar="MECH",
                     help="authenticate (PLAIN, LOGIN, CRAM-MD5; without MECH: the best offered)")
    tls.add_argument("-au", "--auth-user", metavar="USER", help="user name for --auth")
    tls.add_argument("--tls-get-peer-cert", metavar="FILE", help="save the certificate chain the server sent (PEM)")
    msg = parser.add_argument_group("message")
    msg.add_argument("-d", "--data", metavar="@FILE|TEXT", help="the whole message: a file sent as it is, or text")
    msg.add_argument("--body", metavar="TEXT|@FILE|-", help="body of the built message")
    msg.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'",
                     help="set a header (replaces one of the same name); also --h-NAME VALUE")
    msg.add_argument("--add-header", "--ah", action="append", default=[], metavar="'NAME: VALUE'", help="add a header")
    msg.add_argument("-A", "--attach", action=_Attach, metavar="FILE", help="attach a file (repeatable)")
    msg.add_argument("--attach-type", metavar="TYPE", help="MIME type of the --attach after it (default: guessed)")
    msg.add_argument("--max-body", type=_size, metavar="BYTES",
                     help="most bytes a built message's parts take (default 32 MiB), or --data @FILE sends")
    flow = parser.add_argument_group("flow")
    flow.add_argument("-q", "--quit-after", type=stage, metavar="STAGE", help="stop after STAGE, with QUIT")
    flow.add_argument("--drop-after", type=stage, metavar="STAGE", help="stop after STAGE, closing without QUIT")
    flow.add_argument("-P", "--pipelining", "--pipeline", action="store_true",
                      help="send MAIL, RCPT and DATA in one write (RFC 2920)")
    flow.add_argument("--bdat", action="store_true", help="send the message with BDAT (RFC 3030 CHUNKING)")
    out = parser.add_argument_group("output")
    out.add_argument("-S", "--silent", action="count", default=0,
                     help="-S: only failures and the result; -S -S: only failures; -S -S -S: nothing")
    out.add_argument("--hide-send", action="store_true", help="hide what the client sends")
    out.add_argument("--hide-receive", action="store_true", help="hide what the server sends")
    out.add_argument("--hide-informational", action="store_true", help="hide === lines")
    out.add_argument("--hide-all", action="store_true", help="hide the whole transcript (the result is printed)")
    out.add_argument("-n", "--suppress-data", action="store_true", help="summarise the message instead of showing it")
    out.add_argument("--hex", action="store_true", help="show the raw bytes of each wire line in hex")
    out.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour the transcript")
    out.add_argument("--exit-codes", choices=("smtpdbg", "swaks"), help="exit statuses (see below)")
    add_connection_options(parser)
    return parser


def expand_header_flags(argv: list[str]) -> list[str]:
    """swaks's ``--h-NAME VALUE`` (and ``--h-NAME=VALUE``) as ``--header 'NAME: VALUE'``."""
    out: list[str] = []
    index = 0
    while index < len(argv):
        word = argv[index]
        if word.startswith("--h-") and len(word) > 4:
            name, eq, value = word[4:].partition("=")
            if not eq:
                index += 1
                value = argv[index] if index < len(argv) else ""
            out += ["--header", f"{name}: {value}"]
        else:
            out.append(word)
        index += 1
    return out


# -- swaks command lines --------------------------------------------------------------------------
_SWAKS_SAME = {
    "-t": "--to", "--to": "--to", "-f": "--from", "--from": "--from", "-s": "--server", "--server": "--server",
    "-p": "--port", "--port": "--port", "--socket": "--socket", "--pipe": "--pipe", "--protocol": "--protocol",
    "-h": "--helo", "--helo": "--helo", "--ehlo": "--helo", "--lhlo": "--helo",
    "-tls": "--tls", "--tls": "--tls", "-tlso": "--tls-optional", "--tls-optional": "--tls-optional",
    "-tlsc": "--tls-on-connect", "--tls-on-connect": "--tls-on-connect",
    "-au": "--auth-user", "--auth-user": "--auth-user", "-d": "--data", "--data": "--data", "--body": "--body",
    "--header": "--header", "--add-header": "--add-header", "--ah": "--add-header", "--attach": "--attach",
    "--attach-type": "--attach-type", "-q": "--quit-after", "--quit-after": "--quit-after",
    "-da": "--drop-after", "--drop-after": "--drop-after", "--pipeline": "--pipelining", "-S": "--silent",
    "--silent": "--silent", "-n": "--suppress-data", "--suppress-data": "--suppress-data",
    "-nsf": "--hide-send", "--hide-send": "--hide-send", "-nrf": "--hide-receive", "--hide-receive": "--hide-receive",
    "-ni": "--hide-informational", "--hide-informational": "--hide-informational", "-stl": None,
    "--hide-all": "--hide-all", "-ha": "--hide-all", "-to": "--timeout", "--timeout": "--timeout",
    "--tls-ca-path": "--ca", "--tls-cert": "--tls-cert", "--tls-key": "--tls-key", "-4": "-4", "-6": "-6",
    "--tls-sni": "--tls-sni", "--tls-verify": None, "--show-time-lapse": None, "-l": None,
}
"""swaks flags and what they are here (None: accepted and ignored, as smtpdbg does it anyway)."""
_FLAGS = {"-tls", "--tls", "-tlso", "--tls-optional", "-tlsc", "--tls-on-connect", "--pipeline", "-S", "--silent",
          "-n", "--suppress-data", "-nsf", "--hide-send", "-nrf", "--hide-receive", "-ni", "--hide-informational",
          "--hide-all", "-ha", "-4", "-6", "--tls-verify", "-stl", "--show-time-lapse", "-l"}
_OPTIONAL_VALUE = {"-a", "--auth"}
_PASSWORD = {"-ap", "--auth-password", "--password", "--pass"}


class SwaksError(ValueError):
    """A swaks command line this cannot run; the message says why."""


def from_swaks(text: str) -> list[str]:
    """The ``smtpdbg send`` arguments for a swaks command line.

    Raises:
        SwaksError: an unsupported flag, a password on the command line, or text that does not split.
    """
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise SwaksError(f"cannot split the swaks command line: {exc}") from None
    if words and words[0].rsplit("/", 1)[-1] == "swaks":
        words = words[1:]
    out: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        name, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        index += 1
        if name.startswith("--h-"):
            value = inline if eq else (words[index] if index < len(words) else "")
            index += 0 if eq else 1
            out += ["--header", f"{name[4:]}: {value}"]
            continue
        if name in _PASSWORD:
            raise SwaksError(f"{name}: smtpdbg takes no password on the command line (other users can read it in "
                             "the process list); set SMTPDBG_PASSWORD or use --password-env NAME, or type it at "
                             "the prompt")
        if name in _OPTIONAL_VALUE:
            out.append("--auth")
            if eq:
                out.append(inline)
            elif index < len(words) and not words[index].startswith("-"):
                out.append(words[index].split(",")[0])
                index += 1
            continue
        if name not in _SWAKS_SAME:
            raise SwaksError(f"{name}: a swaks option `smtpdbg send` does not support")
        mapped = _SWAKS_SAME[name]
        if name in _FLAGS:
            if mapped:
                out.append(mapped)
            continue
        if eq:
            value = inline
        elif index < len(words):
            value, index = words[index], index + 1
        else:
            raise SwaksError(f"{name} needs a value")
        if mapped:
            if name == "--attach" and value.startswith("@"):
                value = value[1:]  # swaks 2024: @FILE names a file
            elif name in ("-d", "--data") and not value.startswith("@") and not value.startswith("-") \
                    and "\\n" not in value and "\n" not in value and _is_file(value):
                value = "@" + value  # swaks reads a file it is given by name
            out += [mapped, value]
    return out


def _is_file(path: str) -> bool:
    import os

    return os.path.isfile(path)
