"""logstat's postscreen verdict table against counts this test takes from
the log lines with its own pattern: the verdict lines of postscreen(8)
(tests/parsers/golden/postfix-postscreen.log) and a real lab run with
postscreen in front of smtpd (postfix-lab2.log)."""
import collections
import json
import os
import re
import subprocess

import pytest

import mmbin

GOLDEN = os.path.join(mmbin.SOURCE_DIR, "tests", "parsers", "golden")
VERDICT = re.compile(r"postscreen\[\d+\]: (PASS NEW|PASS OLD|PREGREET|HANGUP|DNSBL rank|"
                     r"COMMAND [A-Z ]+?(?= from)|BARE NEWLINE|NON-SMTP COMMAND|WHITELISTED|"
                     r"ALLOWLISTED|BLACKLISTED|DENYLISTED|WHITELIST VETO|ALLOWLIST VETO) ")


@pytest.mark.parametrize("name", ["postfix-postscreen.log", "postfix-lab2.log"])
def test_postscreen_verdicts(name):
    path = os.path.join(GOLDEN, name)
    want = collections.Counter(m.group(1) for m in VERDICT.finditer(open(path).read()))
    assert want
    r = subprocess.run([mmbin.binary("mailmon"), "logstat", "--json", path],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    got = {v["key"]: v["count"] for v in doc["postscreen_verdicts"]}
    assert got == dict(want)
    assert doc["totals"]["unparsed_lines"] == 0
