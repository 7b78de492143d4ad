"""``explain`` knows the MAIL and RCPT parameters: what they do, where they come from, what their values mean."""

from __future__ import annotations

import pytest

from smtpdbg.core.catalog.parameters import PARAMETERS, explain_parameter
from smtpdbg.core.describe import explain_topic
from smtpdbg.core.catalog import EXTENSIONS

DSN = {"NOTIFY": ("RCPT", "RFC 3461 §4.1"), "ORCPT": ("RCPT", "RFC 3461 §4.2"),
       "RET": ("MAIL", "RFC 3461 §4.3"), "ENVID": ("MAIL", "RFC 3461 §4.4")}


@pytest.mark.parametrize("name", sorted(DSN))
def test_the_dsn_parameters_are_where_rfc_3461_puts_them(name):
    info = PARAMETERS[name]
    assert (info.command, info.rfc, info.extension) == (*DSN[name], "DSN")
    assert explain_topic(name)[0] == f"{name}: a {info.command} parameter of the DSN extension ({info.rfc})"


def test_each_value_is_explained_and_an_unknown_one_said_so():
    lines = explain_topic("notify=success,delay,sometimes")
    assert lines[2].startswith("  SUCCESS: report when the message is delivered")
    assert lines[3].startswith("  DELAY: report when delivery is delayed")
    assert lines[4] == "  SOMETIMES: not a value RFC 3461 §4.1 defines"
    assert explain_topic("RET=HDRS")[-1] == "  HDRS: only the message's header"


def test_a_keyword_that_is_also_a_parameter_gets_both_and_unknown_names_nothing():
    lines = explain_topic("SIZE")
    assert lines[0].startswith("SIZE: Message size declaration") and "SIZE: a MAIL parameter of the SIZE extension" in " ".join(lines)
    assert explain_parameter("COLOUR=red") == []
    assert explain_topic("COLOUR")[0].startswith("nothing known about 'COLOUR'")


def test_every_parameter_names_an_extension_the_catalog_knows():
    for name, info in PARAMETERS.items():
        assert info.extension in EXTENSIONS, name
