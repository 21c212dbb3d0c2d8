"""mailmon logstat on Dovecot-only logs prints a login section, not an
all-zero mail report, and its figures equal counts this test takes from
the log lines with its own patterns: the real lab Dovecot 2.3.19 log
(tests/parsers/golden/dovecot-lab.log) and the 2.4 forms
(dovecot-24.log)."""
import json
import os
import re
import subprocess

import pytest

import mmbin

GOLDEN = os.path.join(mmbin.SOURCE_DIR, "tests", "parsers", "golden")


def expected(text):
    fails = re.findall(r"-login: (?:Info: )?.*\(auth failed, (\d+) attempts", text)
    return {
        "logins": len(re.findall(r"-login: (?:Info: )?Login: user=", text)),
        "failed_connections": len(fails),
        "failed_attempts": sum(int(n) for n in fails),
        "lmtp_saved": len(re.findall(r"(saved mail to|stored mail into mailbox)", text)),
        "lmtp_failed": len(re.findall(r": save failed to ", text)),
    }


@pytest.mark.parametrize("name", ["dovecot-lab.log", "dovecot-24.log"])
def test_login_section(name):
    path = os.path.join(GOLDEN, name)
    text = open(path).read()
    want = expected(text)
    assert want["logins"] > 0 and want["failed_connections"] > 0
    r = subprocess.run([mmbin.binary("mailmon"), "logstat", "--json", path],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    got = {k: doc["logins"][k] for k in want}
    assert got == want
    assert doc["totals"]["unparsed_lines"] == 0
    protos = {p["key"]: p["count"] for p in doc["logins"]["by_protocol"]}
    for proto, n in protos.items():
        assert n == len(re.findall(r"%s-login: (?:Info: )?Login: user=" % proto, text))
    out = subprocess.run([mmbin.binary("mailmon"), "logstat", path], capture_output=True,
                         text=True, timeout=30).stdout
    assert out.startswith("Logins (Dovecot login processes)")
    assert "Grand Totals" not in out
    assert re.search(r"^\s+%d\s+successful logins$" % want["logins"], out, re.M)
