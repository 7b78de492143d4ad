"""A ``listen`` server in the test process, on free ports, with rules from a string."""

from __future__ import annotations

import pytest

from smtpdbg.listen.mailbox import Mailbox
from smtpdbg.listen.rules import RuleBook
from smtpdbg.listen.server import ListenConfig, ListenServer


@pytest.fixture
def start_listen(tmp_path):
    servers: list[ListenServer] = []

    def start(rules: str | None = None, *, on_connection=None, **config) -> ListenServer:
        config.setdefault("port", 0)
        path = None
        if rules is not None:
            path = tmp_path / "rules.toml"
            path.write_text(rules)
        server = ListenServer(ListenConfig(**config), rules=RuleBook(str(path)) if path else None,
                              mailbox=Mailbox(maildir=str(tmp_path / "Maildir"), mbox=str(tmp_path / "mbox")),
                              on_connection=on_connection)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def address(server: ListenServer) -> tuple[str, int]:
    host, _, port = server.endpoints["smtp"].rpartition(":")
    return host, int(port)
