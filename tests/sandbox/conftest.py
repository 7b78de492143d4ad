"""Fixtures for the sandbox tests: real servers on loopback, clients that trust their CA."""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from smtpdbg.sandbox import Endpoints, Sandbox, SandboxConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 5.0

SANDBOX_CONFIG = SandboxConfig(
    reject=frozenset({"blocked@example.com"}),
    greylist=frozenset({"slow@example.com"}),
    extra_extensions=("DSN", "ENHANCEDSTATUSCODES"),
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox per test module, in the default (teaching) configuration plus extras."""
    with Sandbox(SANDBOX_CONFIG) as sb:
        yield sb


@pytest.fixture
def ep(sandbox: Sandbox) -> Endpoints:
    """The module sandbox's endpoints, with its message list emptied for this test."""
    sandbox.clear_messages()
    return sandbox.endpoints


@pytest.fixture
def ca_context(ep: Endpoints) -> ssl.SSLContext:
    """A verifying client context trusting only the sandbox CA."""
    return ssl.create_default_context(cafile=ep.ca_path)


@pytest.fixture
def client(ep: Endpoints) -> Iterator[smtplib.SMTP]:
    """A plain smtplib client on the SMTP listener, EHLO already sent."""
    with smtplib.SMTP(*ep.smtp, local_hostname="client.example", timeout=TIMEOUT) as smtp:
        smtp.ehlo()
        yield smtp


@pytest.fixture
def child_env() -> dict[str, str]:
    """Environment for child Pythons (``sys.executable``) that import smtpdbg from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.pop("PYTHONWARNINGS", None)
    return env
