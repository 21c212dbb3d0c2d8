"""pytest fixtures for mailmon's system tests: a real lab on loopback.

The `lab` fixture starts Postfix, Dovecot and slapd once per test module
(see lab/mailmonlab.py) and always stops them, also when a test fails.  If
pytest itself is killed, the lab's guardian process stops the servers.

Set MAILMON_LAB_KEEP=1 to keep the lab directory (logs, queue) after the run.
Run with Debian's interpreter: `pytest-3 tests/system` or
`/usr/bin/python3 -m pytest tests/system`.
"""

import os
import sys

import pytest

LAB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       os.pardir, os.pardir, "lab")
sys.path.insert(0, os.path.abspath(LAB_DIR))

import mailmonlab  # noqa: E402  (needs the sys.path entry above)


@pytest.fixture(scope="module")
def lab():
    """A started mailmonlab.Lab with the default components."""
    with mailmonlab.Lab() as running:
        yield running
