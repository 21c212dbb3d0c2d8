"""SMTP AUTH failures on a real lab Postfix (SASL through the lab Dovecot's
auth socket): `mailmon logstat` counts each failed AUTH once, per client,
and mailmond's counters give them to the smtpd channel's logins_failed
(counterutil's numFailedLogins); the expected numbers are the attempts
this test made, and the client addresses it made them from."""
import json
import os
import smtplib
import subprocess
import sys
import time

import pytest

import mmbin

sys.path.insert(0, os.path.join(mmbin.SOURCE_DIR, "lab"))
import mailmonlab  # noqa: E402

BAD = {"127.0.0.1": 3, "127.0.0.7": 2}


@pytest.fixture(scope="module")
def lab():
    with mailmonlab.Lab(components=("postfix", "dovecot")) as running:
        running.postconf({
            "smtpd_sasl_auth_enable": "yes",
            "smtpd_sasl_type": "dovecot",
            "smtpd_sasl_path": os.path.join(running.paths["dovecot_base_dir"],
                                            "auth-postfix"),
        })
        time.sleep(1.0)  # the reload reaches the smtpd processes
        yield running


def attempt(lab, src, password):
    with smtplib.SMTP("127.0.0.1", lab.ports["smtpd"], local_hostname="client.lab.test",
                      source_address=(src, 0), timeout=30) as s:
        s.ehlo()
        # one AUTH command (login() would try PLAIN, then LOGIN)
        s.user, s.password = "alice", password
        try:
            s.auth("PLAIN", s.auth_plain)
            return True
        except smtplib.SMTPAuthenticationError:
            return False


def test_auth_failures_counted_once(lab, tmp_path):
    for src, n in BAD.items():
        for i in range(n):
            assert not attempt(lab, src, "wrong-%d" % i)
    assert attempt(lab, "127.0.0.1", lab.users["alice"])
    want = sum(BAD.values())
    deadline = time.time() + 20
    while time.time() < deadline and \
            lab.maillog_text().count("authentication failed") < want:
        time.sleep(0.2)
    path = tmp_path / "maillog"
    path.write_text(lab.maillog_text())
    r = subprocess.run([mmbin.binary("mailmon"), "logstat", "--json", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["totals"]["auth_failures"] == want
    assert doc["totals"]["unparsed_lines"] == 0
    by_ip = {}
    for row in doc["auth_failures_by_client"]:
        ip = row["key"].rsplit("[", 1)[1].rstrip("]")
        by_ip[ip] = by_ip.get(ip, 0) + row["count"]
    assert by_ip == BAD
    smtpd = [c for c in doc["channels"] if c["name"] == "smtpd"]
    assert smtpd and smtpd[0]["logins_failed"] == want
