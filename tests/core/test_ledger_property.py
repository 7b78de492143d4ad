"""The session's ledger against the sandbox's own record, for random command sequences (real sockets).

Hypothesis builds sequences of ``mail``, ``rcpt``, ``data``, ``bdat``, ``bdat
--no-last`` (a chunk that leaves the message open: a DATA after it is refused
with 503 and the transaction goes on, so a later BDAT LAST delivers), ``rset``,
``pipeline`` and ``sendmail`` over the sandbox's fault recipients (accepted,
``reject@`` 550, ``greylist@`` 451, ``full@`` 452 or LMTP's 452 after the
message, ``drop@`` no reply, ``delay@`` a reply later than the client waits)
and runs them through :class:`smtpdbg.core.Session`. After each sequence, every
recipient's fate in the session's ledger must be what the sandbox decided
(``Connection.decisions``) and delivered (``Sandbox.messages``): the same
code, decided at the same place; *unknown* exactly when the sandbox got the
whole message and the client got no reply; *not sent* exactly when the
sandbox decided nothing.

``SMTPDBG_FUZZ=N`` multiplies the number of examples (tests/fuzz.py); the
examples are derandomized, so CI always runs the same ones. A failing scenario
is shrunk by replaying it over the sockets (minutes); ``SMTPDBG_NO_SHRINK=1``
reports it unshrunk.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from smtpdbg.core import Session, SessionOptions, Target
from smtpdbg.core.events import LedgerChange
from smtpdbg.core.export import Recording
from smtpdbg.core.protocol import Stage
from smtpdbg.core.verdict import Fate
from smtpdbg.sandbox import Sandbox, SandboxConfig
from tests.fuzz import fuzz

TIMEOUT = 10.0
"""The session's command timeout (nothing the sandbox answers at once comes near it)."""
SHORT = 1.5
"""The timeout of a command that ends a message for ``delay@``: the sandbox answers after REPLY_DELAY."""
REPLY_DELAY = 6.0
DOMAIN = "example.com"
PHASES = [Phase.explicit, Phase.generate] if os.environ.get("SMTPDBG_NO_SHRINK") else list(Phase)
"""Shrinking a failing scenario replays it over real sockets many times: ``SMTPDBG_NO_SHRINK=1`` skips it."""

_LOCAL_PARTS = st.sampled_from(["a"] * 5 + ["b"] * 5 + ["reject", "greylist", "full", "full", "drop", "delay"])
"""Two ordinary mailboxes (mostly) and the sandbox's fault recipients."""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    config = SandboxConfig(reply_delay=REPLY_DELAY, extra_extensions=("PIPELINING", "ENHANCEDSTATUSCODES"))
    with Sandbox(config) as sb:
        yield sb


# -- the strategy ------------------------------------------------------------------------------
recipients = _LOCAL_PARTS.map(lambda local: f"{local}@{DOMAIN}")
senders = st.sampled_from(["s@example.com", "t@example.org", ""])
bodies = st.builds(
    lambda reject, words: (b"X-Sandbox-Reject: yes\r\n" if reject else b"") + b"Subject: p\r\n\r\n" + words.encode() + b"\r\n",
    st.sampled_from([False, False, False, True]),
    st.text(alphabet="ab .\r\n", max_size=40).map(lambda t: t.replace("\r", "").replace("\n", "\r\n")),
)
_BODY = b"Subject: p\r\n\r\n.\r\nhello\r\n"
_REFUSED = b"X-Sandbox-Reject: yes\r\n" + _BODY
steps = st.one_of(
    st.tuples(st.just("mail"), senders),
    st.tuples(st.just("rcpt"), recipients),
    st.tuples(st.just("data"), bodies),
    st.tuples(st.just("bdat"), bodies, st.integers(1, 64)),
    st.tuples(st.just("open-bdat"), bodies, st.integers(1, 64)),
    st.tuples(st.just("rset")),
    st.tuples(st.just("pipeline"), st.one_of(st.none(), senders), st.lists(recipients, max_size=3), st.booleans()),
    st.tuples(st.just("sendmail"), senders, st.lists(recipients, min_size=1, max_size=3), bodies),
)
scenarios = st.tuples(st.sampled_from(["smtp", "smtp", "lmtp"]), st.lists(steps, min_size=1, max_size=8))


# -- running a scenario ------------------------------------------------------------------------
def _pending(session: Session) -> list[str]:
    transaction = session.state.transaction
    return [r.address for r in transaction.recipients if r.fate is Fate.PENDING] if transaction else []


def _timeout(session: Session, addresses: list[str]) -> float:
    """A short timeout for a command that may end a message for delay@ (the sandbox answers late)."""
    return SHORT if any(a.startswith("delay@") for a in _pending(session) + addresses) else TIMEOUT


def _run(session: Session, step: tuple) -> None:
    kind = step[0]
    if not session.state.connected:
        session.execute("reconnect")
        session.execute("ehlo")
    if kind == "mail":
        session.execute(f"mail <{step[1]}>")
    elif kind == "rcpt":
        session.execute(f"rcpt {step[1]}")
    elif kind == "data":
        session.execute("data", body=step[1], timeout=_timeout(session, []))
    elif kind == "bdat":
        session.execute(f"bdat --chunk {step[2]}", body=step[1], timeout=_timeout(session, []))
    elif kind == "open-bdat":
        session.execute(f"bdat --no-last --chunk {step[2]}", body=step[1])
    elif kind == "rset":
        session.execute("rset")
    elif kind == "pipeline":
        _, sender, addresses, with_data = step
        commands = ([f"MAIL FROM:<{sender}>"] if sender is not None else []) + [f"RCPT TO:<{a}>" for a in addresses]
        commands += ["DATA"] if with_data or not commands else []
        session.execute("pipeline " + "; ".join(commands))
    elif kind == "sendmail":
        _, sender, addresses, body = step
        session.execute(f"sendmail <{sender}> {','.join(addresses)}", body=body, timeout=_timeout(session, addresses))
    # After a pipelined DATA answered 354 everything sent is message text: end the message.
    if session.state.connected and session.state.stage is Stage.DATA:
        session.execute("data", body=b"Subject: p\r\n\r\npipelined\r\n", timeout=_timeout(session, []))


def _ledger(session: Session) -> list:
    """The session's transactions, read twice: from the LedgerChange events and from the dialogue."""
    latest = {}
    for event in session.transcript.snapshot():
        if isinstance(event, LedgerChange):
            latest[event.transaction.index] = event.transaction
    dialogue = Recording.from_session(session).dialogue
    assert [t for t in dialogue.transactions] == [latest[i] for i in sorted(latest)]
    return dialogue.transactions


# -- the comparison --------------------------------------------------------------------------------
_STAGES = {"RCPT": "RCPT", "DATA": "DATA", "end of data": "end of data", "end of data (LMTP)": "end of data",
           "BDAT": "BDAT", "BDAT LAST": "BDAT LAST", "BDAT LAST (LMTP)": "BDAT LAST"}


def _expected_fate(code: int) -> Fate:
    return {2: Fate.ACCEPTED, 4: Fate.TEMPORARY, 5: Fate.PERMANENT}[code // 100]


def _check(transactions: list, connections: list, messages: list) -> None:
    """Every recipient of the ledger against what the sandbox decided, and every delivery against the ledger."""
    assert all(t.closed for t in transactions), [t.lines() for t in transactions if not t.closed]
    assert max((t.connection for t in transactions), default=0) <= len(connections)
    delivered = {(m.connection_id, m.transaction): m for m in messages}
    for number, connection in enumerate(connections, 1):
        decisions = defaultdict(list)  # (transaction, address) -> the sandbox's decisions, in order
        for decision in connection.decisions:
            decisions[(decision.transaction, decision.address)].append(decision)
        used: set[int] = set()
        mine = [t for t in transactions if t.connection == number]
        # The sandbox numbers the MAIL FROMs it accepted on a connection; RCPTs outside one are transaction 0.
        numbered = list(enumerate([t for t in mine if t.mail_accepted], 1)) + [(0, t) for t in mine if t.mail_from is None]
        for sandbox_number, transaction in numbered:
            where = f"connection {number}, " + "; ".join(transaction.lines())
            took = []
            occurrences: dict[str, int] = defaultdict(int)
            accepted = [r.address for r in transaction.recipients if r.accepted_at_rcpt]
            for recipient in transaction.recipients:
                told = decisions[(sandbox_number, recipient.address)]
                if not recipient.accepted_at_rcpt:
                    refusals = [d for d in told if d.stage == "RCPT" and id(d) not in used]
                    assert refusals, f"refused at RCPT, but the sandbox logged no refusal: {where}"
                    used.add(id(refusals[0]))
                    assert refusals[0].code == recipient.rcpt_code, where
                    assert recipient.fate is _expected_fate(recipient.rcpt_code) and recipient.decided_at == "RCPT", where
                    continue
                # Each later reply decides for every accepted RCPT of the address (duplicates too), in order.
                later = [d for d in told if d.stage != "RCPT"]
                index, count = occurrences[recipient.address], accepted.count(recipient.address)
                occurrences[recipient.address] += 1
                mine_later = later[index::count]
                used.update(id(d) for d in mine_later)
                if recipient.fate is Fate.NOT_SENT:
                    assert not mine_later, f"not sent, but the sandbox decided {mine_later}: {where}"
                    continue
                assert mine_later, f"{recipient.fate.value}, but the sandbox decided nothing: {where}"
                decision = mine_later[-1]
                if decision.code // 100 == 2:  # what the sandbox delivered (also when the client never heard)
                    took.append(recipient.address)
                if recipient.fate is Fate.UNKNOWN:
                    # The sandbox got the whole message, and no reply to it reached the client.
                    assert decision.fault is not None and decision.stage in ("end of data", "BDAT LAST"), (decision, where)
                    assert transaction.body_sent and not transaction.final, where
                    continue
                assert decision.fault is None, (decision, where)
                assert recipient.fate is _expected_fate(decision.code), (decision, where)
                assert (recipient.code, _STAGES[recipient.decided_at]) == (decision.code, decision.stage), (decision, where)
            if sandbox_number:
                message = delivered.pop((connection.id, sandbox_number), None)
                if message is None:
                    assert not took, f"the ledger has {took} taken, but the sandbox delivered nothing: {where}"
                else:
                    assert (message.mail_from, list(message.rcpt_tos)) == (transaction.mail_from, took), where
        leftover = [d for d in connection.decisions if id(d) not in used]
        assert not leftover, f"the sandbox decided about recipients the ledger does not show: {leftover}"
    assert not delivered, f"delivered, but not in the ledger: {list(delivered.values())}"


@settings(max_examples=fuzz(30), deadline=None, derandomize=True, database=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(scenario=scenarios)
# Always run (whatever the generator finds): every way a recipient's fate is decided.
@example(scenario=("smtp", [("mail", "s@example.com"), ("rcpt", "a@example.com"), ("rcpt", "reject@example.com"),
                            ("bdat", _BODY, 3), ("sendmail", "s@example.com", ["b@example.com", "greylist@example.com"], _BODY)]))
@example(scenario=("smtp", [("mail", "s@example.com"), ("data", _BODY), ("rcpt", "a@example.com"), ("mail", "t@example.org"),
                            ("data", _REFUSED), ("pipeline", "s@example.com", ["a@example.com", "full@example.com"], True),
                            ("mail", "s@example.com"), ("rcpt", "b@example.com"), ("rset",)]))
@example(scenario=("smtp", [("sendmail", "s@example.com", ["a@example.com", "drop@example.com"], _BODY),
                            ("mail", "s@example.com"), ("rcpt", "drop@example.com"), ("bdat", _BODY, 5),
                            ("sendmail", "s@example.com", ["delay@example.com"], _BODY), ("rcpt", "b@example.com")]))
@example(scenario=("lmtp", [("mail", "s@example.com"), ("rcpt", "full@example.com"), ("rcpt", "a@example.com"), ("data", _BODY),
                            ("mail", "s@example.com"), ("rcpt", "full@example.com"), ("rcpt", "b@example.com"), ("bdat", _BODY, 4),
                            ("sendmail", "s@example.com", ["a@example.com", "drop@example.com"], _BODY)]))
# A DATA refused while recipients wait (503 after an open BDAT): the transaction goes on; BDAT LAST delivers it,
# and RSET (or QUIT) without another message makes the refusal the recipients' fate.
@example(scenario=("smtp", [("mail", "s@example.com"), ("rcpt", "a@example.com"), ("open-bdat", _BODY, 5),
                            ("data", _BODY), ("bdat", _BODY, 7), ("mail", "t@example.org"), ("rcpt", "b@example.com"),
                            ("open-bdat", _BODY, 64), ("data", _BODY), ("rset",)]))
@example(scenario=("lmtp", [("mail", "s@example.com"), ("rcpt", "a@example.com"), ("rcpt", "full@example.com"),
                            ("open-bdat", _BODY, 3), ("data", _BODY), ("bdat", _BODY, 9)]))
def test_the_ledger_is_what_the_sandbox_decided(sandbox: Sandbox, scenario) -> None:
    transport, sequence = scenario
    sandbox.clear_messages()
    sandbox.clear_connections()
    endpoints = sandbox.endpoints
    if transport == "lmtp":
        target = Target("lmtp", endpoints.lmtp, None, sandbox=True)
    else:
        target = Target("smtp", *endpoints.smtp, sandbox=True)
    session = Session(target, SessionOptions(timeout=TIMEOUT, local_hostname="client.smtpdbg.test", ca=endpoints.ca_path))
    try:
        assert session.execute("connect").ok
        session.execute("ehlo")
        for step in sequence:
            _run(session, step)
        if session.state.connected:
            session.execute("quit")
    finally:
        session.shutdown()
    count = session.smtp.tracker.connection
    connections = sorted(sandbox.wait_for_connections(count, where=lambda c: c.closed), key=lambda c: c.id)
    assert len(connections) == count
    transactions = _ledger(session)
    for fate in {(r.fate.value, r.decided_at.split(" (")[0]) for t in transactions for r in t.recipients}:
        event(f"{transport}: {fate[0]} at {fate[1] or '-'}")
    _check(transactions, connections, sandbox.messages)
