"""smtpdbg send: flows, stops, exit statuses, quiet levels, --from-swaks, local transports, imports."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys

import pytest

from smtpdbg.cli import main
from smtpdbg.send.args import SwaksError, from_swaks, stage
from smtpdbg.send.message import recipients
from tests.smtplib_wire import shown
from tests.conftest import capped_memory, repo_env


def send(capsys, endpoints, *words: str, server: bool = True) -> tuple[int, str, str]:
    argv = ["send", *words, "--helo", "client.smtpdbg.test", "--from", "alice@example.org", "--timeout", "10"]
    if server:
        argv.append("%s:%d" % endpoints.smtp)
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_message_is_delivered_with_date_and_message_id(capsys, sandbox, endpoints) -> None:
    code, out, _ = send(capsys, endpoints, "bob@example.org", "--body", "hello %TO_ADDRESS%")
    assert code == 0, out
    [message] = sandbox.wait_for_messages(1)
    assert message.rcpt_tos == ("bob@example.org",)
    assert b"Date: " in message.content and b"Message-Id: <" in message.content
    assert b"hello bob@example.org" in message.content
    assert "=== transaction 1" in out and "<bob@example.org>: accepted at end of data" in out
    assert " -> quit" in out


def test_quit_after_rcpt_sends_quit_and_no_data(capsys, sandbox, endpoints) -> None:
    code, out, _ = send(capsys, endpoints, "bob@example.org", "-q", "TO")
    assert code == 0, out
    assert f" -> {shown('rcpt', 'bob@example.org')}" in out and " -> quit" in out and " -> data" not in out
    assert sandbox.messages == []


def test_drop_after_mail_closes_without_quit(capsys, sandbox, endpoints) -> None:
    code, out, _ = send(capsys, endpoints, "bob@example.org", "--drop-after", "mail")
    assert code == 0, out
    assert f" -> {shown('mail', 'alice@example.org')}" in out
    assert " -> quit" not in out and " -> rcpt" not in out and "connection closed" in out


def test_every_recipient_refused_stops_with_quit_and_the_rcpt_status(capsys, sandbox, endpoints) -> None:
    code, out, _ = send(capsys, endpoints, "reject@example.org")
    assert code == 9
    assert " -> quit" in out and " -> data" not in out
    assert "*** FAILED at rcpt" in out
    code, out, _ = send(capsys, endpoints, "reject@example.org", "--exit-codes", "swaks")
    assert code == 24


def test_one_recipient_refused_is_swaks_success_and_smtpdbg_rcpt_failure(capsys, sandbox, endpoints) -> None:
    code, out, _ = send(capsys, endpoints, "bob,reject@example.org", "--exit-codes", "swaks")
    assert code == 0
    assert "<reject@example.org>: permanent failure at RCPT" in out
    assert sandbox.wait_for_messages(1)[0].rcpt_tos == ("bob@example.org",)
    code, _, _ = send(capsys, endpoints, "bob,reject@example.org")
    assert code == 9


def test_data_text_with_tokens_and_bdat(capsys, sandbox, endpoints) -> None:
    code, out, _ = send(capsys, endpoints, "bob@example.org", "--bdat", "-d", "Subject: %MESSAGEID%\\n\\nsent on %DATE%")
    assert code == 0, out
    assert "BDAT" in out
    content = sandbox.wait_for_messages(1)[0].content
    assert content.startswith(b"Subject: ") and b"%" not in content and b"sent on " in content


def test_data_file_is_sent_as_it_is(capsys, sandbox, endpoints, tmp_path) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(b"Subject: file\r\n\r\n.leading dot\r\nbody\r\n")
    code, out, _ = send(capsys, endpoints, "bob@example.org", "--data", f"@{path}")
    assert code == 0, out
    assert sandbox.wait_for_messages(1)[0].content == b"Subject: file\r\n\r\n.leading dot\r\nbody\r\n"


def test_a_lone_dot_line_in_the_message_does_not_end_it_early(capsys, sandbox, endpoints) -> None:
    code, out, _ = send(capsys, endpoints, "bob@example.org", "-d", "Subject: dot\\n\\n.\\nafter")
    assert code == 0, out
    assert sandbox.wait_for_messages(1)[0].content.endswith(b".\r\nafter\r\n")


def test_quiet_levels_and_hex(capsys, sandbox, endpoints) -> None:
    code, out, _ = send(capsys, endpoints, "bob,reject@example.org", "-S")
    assert code == 9
    assert "<** 550" in out and " -> " not in out and "=== transaction 1" in out
    code, out, _ = send(capsys, endpoints, "bob,reject@example.org", "-S", "-S")
    assert "<** 550" not in out and "*** FAILED at rcpt" in out
    code, out, _ = send(capsys, endpoints, "bob@example.org", "-S", "-S", "-S")
    assert code == 0 and out == ""
    code, out, _ = send(capsys, endpoints, "bob@example.org", "--hex", "-q", "banner")
    assert "<-  0000  32 32 30 20" in out  # "220 "


def test_auth_without_a_password_source_sends_nothing(capsys, sandbox, endpoints, monkeypatch) -> None:
    monkeypatch.delenv("SMTPDBG_PASSWORD", raising=False)
    code, out, _ = send(capsys, endpoints, "bob@example.org", "-a", "PLAIN", "-au", "alice", "--ca", endpoints.ca_path)
    assert code == 7
    assert "AUTH PLAIN" not in out and "a password is needed" in out
    assert " ~> quit" in out  # after STARTTLS (used since AUTH was asked for), then QUIT


def test_password_from_the_environment_is_never_shown(capsys, sandbox, endpoints, monkeypatch) -> None:
    monkeypatch.setenv("SMTPDBG_PASSWORD", endpoints.password)
    code, out, err = send(capsys, endpoints, "bob@example.org", "-a", "-au", "alice", "--ca", endpoints.ca_path)
    assert code == 0, out
    assert "STARTTLS" in out and "235" in out
    assert endpoints.password not in out + err


def test_lmtp_over_a_unix_socket(capsys, sandbox, endpoints) -> None:
    code, out, _ = send(capsys, endpoints, "bob@example.org", endpoints.lmtp, "--protocol", "LMTP", server=False)
    assert code == 0, out
    assert "connected to unix socket" in out and "(LMTP)" in out


def test_pipe_output_is_terminal_safe(capsys, sandbox, endpoints) -> None:
    command = (f"{sys.executable} -c \"import sys; sys.stdout.write('220 \\x1b]0;owned\\x07 hi\\r\\n'); "
               "sys.stdout.flush(); sys.stdin.readline()\"")
    code, out, _ = send(capsys, endpoints, "bob@example.org", "--pipe", command, server=False)
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;owned" in out
    assert code != 0


def test_a_pipe_command_that_does_not_exist(capsys, sandbox, endpoints) -> None:
    code, out, err = send(capsys, endpoints, "bob@example.org", "|/nonexistent/smtp-server -bs", server=False)
    assert code == 3
    assert "Traceback" not in out + err and "/nonexistent/smtp-server" in out


# -- what a built message takes from files and stdin is bounded ----------------------------------------------
def _pipe(data: bytes):
    """A pipe holding ``data``, read as standard input is (its size is not known in advance)."""
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    return os.fdopen(read, "r")


def test_an_attachment_over_max_body_is_refused_before_it_is_read(capsys, sandbox, endpoints, tmp_path) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as handle:
        handle.truncate(200 << 20)  # sparse: its size is known without reading it
    code, out, err = send(capsys, endpoints, "bob@example.org", "-A", str(big))
    assert code == 2 and out == "", out
    assert f"--attach {big} is 209,715,200 bytes, over --max-body 33,554,432" in err
    assert "--data @FILE, which streams it" in err and "Traceback" not in err
    code, _, err = send(capsys, endpoints, "bob@example.org", "-A", "/dev/zero")  # read no further than the bound
    assert code == 2 and "--attach /dev/zero gives more than 33,554,432 bytes" in err
    assert sandbox.messages == []


def test_a_body_from_stdin_over_max_body_is_refused(capsys, sandbox, endpoints, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(sys, "stdin", _pipe(b"x" * 5000))
    code, out, err = send(capsys, endpoints, "bob@example.org", "--body", "-", "--max-body", "4096")
    assert code == 2 and out == ""
    assert "--body - gives more than 4,096 bytes, over --max-body 4,096" in err
    part = tmp_path / "part.txt"
    part.write_bytes(b"y" * 3000)
    monkeypatch.setattr(sys, "stdin", _pipe(b"x" * 3000))
    code, _, err = send(capsys, endpoints, "bob@example.org", "--body", "-", "-A", str(part), "--max-body", "4096")
    assert code == 2 and f"--attach {part} is 3,000 bytes with the parts before it, over --max-body 4,096" in err
    assert sandbox.messages == []


def test_a_body_file_within_max_body_is_sent_with_its_lines(capsys, sandbox, endpoints, tmp_path) -> None:
    body = tmp_path / "body.txt"
    body.write_bytes(b"first line\r\nsecond line\n")
    code, out, _ = send(capsys, endpoints, "bob@example.org", "--body", f"@{body}", "--max-body", "1000")
    assert code == 0, out
    assert b"first line\r\nsecond line\r\n" in sandbox.wait_for_messages(1)[0].content


def test_data_from_a_device_is_streamed_up_to_max_body(capsys, sandbox, endpoints) -> None:
    code, out, err = send(capsys, endpoints, "bob@example.org", "-d", "@/dev/zero", "--max-body", "100000")
    assert "no such file" not in err and "Traceback" not in err
    assert code != 0 and "/dev/zero gave more than 100,000 bytes" in out, out + err
    assert sandbox.messages == []  # cut off before the final dot: the server discards it


def test_data_from_a_large_file_streams_with_bounded_memory(tmp_path) -> None:
    """``--data @FILE`` is sent as it is read: a 200 MB file grows the process by far less than the file."""
    from tests.core.test_body_stream import _sink_data as sink  # 354, every byte read up to the dot, 250
    from tests.servers import FakeServer, esmtp

    path = tmp_path / "big.eml"
    with open(path, "wb") as handle:
        handle.truncate(200 << 20)  # sparse zeros
    peak = ("import sys, smtpdbg.cli as cli, smtpdbg.send, smtpdbg.core.session\n"
            "def hwm():\n"
            "    return int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])\n"
            "before = hwm()\n"
            "status = cli.main(sys.argv[1:])\n"
            "sys.stderr.write(f'growth {(hwm() - before) // 1024}\\n')\n"
            "raise SystemExit(status)\n")
    with FakeServer(esmtp(EHLO=b"250-fake.test\r\n250 8BITMIME\r\n", DATA=sink)) as server:  # no SIZE limit
        done = subprocess.run([sys.executable, "-c", peak, "send", "bob@example.org", "--from", "alice@example.org",
                               "-d", f"@{path}", "--timeout", "120", server.target],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=repo_env(), timeout=300)
    assert done.returncode == 0, done.stderr
    assert int(done.stderr.rsplit("growth ", 1)[1].split()[0]) < 64, done.stderr


@pytest.mark.parametrize("argv, message", [
    (["send"], "nothing to send to"),
    (["send", "bob@example.org", "h1", "h2"], "the server is already"),
    (["send", "bob@example.org", "h1", "-A", "/nonexistent/file.pdf"], "--attach /nonexistent/file.pdf"),
    (["send", "bob@example.org", "h1", "-a"], "--auth needs --auth-user"),
    (["send", "h1", "-q", "data"], "a recipient is needed"),
    (["send", "bob@example.org", "h1", "-H", "no colon"], "write 'Name: value'"),
])
def test_bad_usage_exits_2_with_a_message(capsys, argv, message) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_stages_and_recipients() -> None:
    assert [stage(s) for s in ("RCPT", "to", "r", "FROM", "helo", "tls", "starttls", "da")] == [
        "rcpt", "rcpt", "rcpt", "mail", "ehlo", "tls", "tls", "data"]
    with pytest.raises(Exception):
        stage("x")
    assert recipients(["bob,carol@example.org", "dave@example.net"]) == [
        "bob@example.org", "carol@example.org", "dave@example.net"]
    assert recipients(["postmaster"]) == ["postmaster"]


def test_from_swaks_maps_what_it_supports() -> None:
    assert from_swaks("swaks -t bob@example.org -s mx:587 -tls -a LOGIN -au alice --h-Subject 'Hi there' "
                      "--pipeline -q RCPT") == [
        "--to", "bob@example.org", "--server", "mx:587", "--tls", "--auth", "LOGIN", "--auth-user", "alice",
        "--header", "Subject: Hi there", "--pipelining", "--quit-after", "RCPT"]
    assert from_swaks("swaks --to=a@b --auth --auth-user u") == ["--to", "a@b", "--auth", "--auth-user", "u"]


@pytest.mark.parametrize("line, message", [
    ("swaks -t a@b -ap secret", "no password on the command line"),
    ("swaks -t a@b --dump", "--dump: a swaks option"),
    ("swaks -t 'a@b", "cannot split"),
])
def test_from_swaks_refuses_clearly(line, message) -> None:
    with pytest.raises(SwaksError, match=message):
        from_swaks(line)


def test_from_swaks_runs_with_swaks_statuses(capsys, sandbox, endpoints) -> None:
    server = "%s:%d" % endpoints.smtp
    assert main(["send", "--from-swaks", f"swaks -t reject@example.org -s {server} --helo x.test"]) == 24
    out, _ = capsys.readouterr()
    assert " -> quit" in out
    assert main(["send", "--from-swaks", f"swaks -t bob@example.org -s {server} -ap secret"]) == 1
    assert "no password on the command line" in capsys.readouterr().err


@pytest.mark.parametrize("tls", [False, True], ids=["plaintext", "starttls-auth"])
def test_send_imports_no_ui_server_tls_parser_or_export(endpoints, tls) -> None:
    """A send loads what it uses: no UI toolkit, no sandbox, no certificate parser, no exports, no catalog.

    The STARTTLS + AUTH + message session verifies the certificate with the stdlib ``ssl`` alone.
    """
    argv = [sys.executable, "-X", "importtime", "-m", "smtpdbg", "send", "bob@example.org", "%s:%d" % endpoints.smtp,
            "--helo", "x.test", "--from", "a@example.org"]
    argv += (["--tls", "--ca", endpoints.ca_path, "-a", "PLAIN", "-au", "alice", "--body", "hi"] if tls
             else ["--data", "Subject: hi\\n\\nhi\\n"])
    env = dict(repo_env(), SMTPDBG_PASSWORD=endpoints.password)
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    names = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "smtpdbg.send" in names and "smtpdbg.core.session" in names  # the measurement saw the send
    if tls:
        assert "ssl" in names and "TLS established" in done.stdout and "verified" in done.stdout
    not_used = () if tls else ("smtpdbg.core.tls", "email.policy", "email.headerregistry")  # --data, no TLS
    # ssl decodes the verified peer's own certificate; from 3.13 on the whole verified chain is shown (the CA's
    # certificate too), which only cryptography parses
    parser = () if tls and hasattr(ssl.SSLSocket, "get_verified_chain") else ("cryptography",)
    for forbidden in ("textual", "prompt_toolkit", "rich", "aiosmtpd", "trustme", *parser,
                      "smtpdbg.core.export", "smtpdbg.runner", "smtpdbg.sandbox", "smtpdbg.core.catalog", *not_used):
        loaded = sorted(n for n in names if n == forbidden or n.startswith(forbidden + "."))
        assert not loaded, loaded


def test_tls_get_peer_cert_saves_the_chain_the_server_sent(capsys, sandbox, endpoints, tmp_path) -> None:
    """--tls-get-peer-cert FILE: the server's certificate as PEM, owner-only; the same as a plain ssl client sees."""
    path = tmp_path / "peer.pem"
    code, out, _ = send(capsys, endpoints, "bob@example.org", "--tls-on-connect", "--ca", endpoints.ca_path,
                        "--tls-get-peer-cert", str(path), server=False, *["%s:%d" % endpoints.smtps])
    assert code == 0, out
    assert f"saved to {path}" in out
    assert path.stat().st_mode & 0o777 == 0o600
    pem = path.read_text()
    first = pem.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    context = ssl.create_default_context(cafile=endpoints.ca_path)
    with context.wrap_socket(socket.create_connection(endpoints.smtps, timeout=10),
                             server_hostname=endpoints.smtps[0]) as client:
        assert ssl.PEM_cert_to_DER_cert(first) == client.getpeercert(binary_form=True)


def test_tls_get_peer_cert_without_tls_says_there_is_nothing_to_save(capsys, sandbox, endpoints, tmp_path) -> None:
    path = tmp_path / "peer.pem"
    code, out, _ = send(capsys, endpoints, "bob@example.org", "--tls-get-peer-cert", str(path), "-q", "ehlo")
    assert code == 0, out
    assert "no TLS session, no certificate to save" in out and not path.exists()


def test_starttls_with_an_untrusted_certificate_shows_the_chain(capsys, sandbox, endpoints, tmp_path) -> None:
    """No --ca: verification fails, and the sandbox's certificate is shown and saved without a rerun."""
    path = tmp_path / "peer.pem"
    code, out, _ = send(capsys, endpoints, "bob@example.org", "--tls", "--tls-get-peer-cert", str(path))
    assert code != 0
    assert "certificate verification failed" in out and "NOT trusted" in out and "#1 subject" in out
    assert "saved to" in out and path.read_text().startswith("-----BEGIN CERTIFICATE-----")


@pytest.mark.parametrize(("implicit", "codes", "expected"), [
    (False, "smtpdbg", 6), (True, "smtpdbg", 6), (False, "swaks", 29), (True, "swaks", 29),
])
def test_a_certificate_that_fails_verification_exits_as_a_tls_failure(capsys, sandbox, endpoints, implicit, codes,
                                                                      expected) -> None:
    """STARTTLS or implicit TLS: the handshake failed, not the connection (README: 6, swaks 29)."""
    host, port = endpoints.smtps if implicit else endpoints.smtp
    flags = ["--tls-on-connect"] if implicit else ["--tls"]
    code, out, _ = send(capsys, endpoints, "bob@example.org", f"{host}:{port}", *flags, "--exit-codes", codes,
                        server=False)
    assert code == expected, out



@pytest.mark.parametrize("words, said", [
    (["--body", "-"], "--body - gives more than 33,554,432 bytes"),
    (["-A", "/dev/zero"], "--attach /dev/zero gives more than 33,554,432 bytes"),
], ids=["body-stdin", "attach-device"])
def test_endless_input_for_the_message_is_refused_with_exit_2(endpoints, words, said) -> None:
    argv = [sys.executable, "-m", "smtpdbg", "send", "-s", "%s:%d" % endpoints.smtp, "-t", "b@example.org",
            "-f", "a@example.org", *words]
    with open("/dev/zero", "rb") as zeros:
        done = subprocess.run(argv, stdin=zeros, env=repo_env(), capture_output=True, text=True, timeout=60,
                              preexec_fn=capped_memory)
    assert done.returncode == 2, done.stderr
    assert said in done.stderr and "internal error" not in done.stderr
