"""mailmond on a Dovecot-only host: [mta] type = none (issue 8).

Only the lab's real Dovecot runs; there is no Postfix at all. mailmond
must start, follow the Dovecot log, probe IMAP, publish the login counts
and say why there are no queue gauges. The login counts are checked
against the Dovecot log's own "Login:" lines, counted by the test.
"""
import imaplib
import os
import re
import sys

import pytest

import mmbin

LAB_DIR = os.path.join(mmbin.SOURCE_DIR, "lab")
sys.path.insert(0, LAB_DIR)
import mailmonlab  # noqa: E402

GOOD, BAD = 3, 2


@pytest.fixture(scope="module")
def lab():
    with mailmonlab.Lab(components=("dovecot",)) as running:
        yield running


def metric(text, name, **labels):
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if m and m.group(1) == name:
            got = ",".join(sorted((m.group(2) or "").split(","))) if m.group(2) else ""
            if got == want:
                return float(m.group(3))
    return None


def test_dovecot_only_host(lab, tmp_path):
    port = mmbin.free_port()
    api = "127.0.0.1:%d" % port
    conf = tmp_path / "mailmon.conf"
    conf.write_text(
        "[daemon]\nstate_directory = %s\nrun_directory = %s\npidfile = %s/pid\n"
        "[http]\nlisten = %s\n[mta]\ntype = none\n"
        "[log]\nsources = %s\nstart_at = beginning\nformat = dovecot\n"
        "[service.imap]\nurl = imap://127.0.0.1:%d\ninterval = 1s\n" % (
            tmp_path, tmp_path, tmp_path, api, lab.paths["dovecot_log"], lab.ports["imap"]))
    r = mmbin.mailmon("config", "check", str(conf))
    assert r.returncode == 0, r.stdout + r.stderr
    d = mmbin.Daemon(str(conf), str(tmp_path / "mailmond.log"))
    d.start(api=api)
    try:
        for _ in range(GOOD):
            c = imaplib.IMAP4("127.0.0.1", lab.ports["imap"])
            c.login("alice", lab.users["alice"])
            c.logout()
        for _ in range(BAD):
            c = imaplib.IMAP4("127.0.0.1", lab.ports["imap"])
            with pytest.raises(imaplib.IMAP4.error):
                c.login("alice", "wrong")
            c.shutdown()

        def logins_in_log():
            t = lab.dovecot_log_text()
            n = len(re.findall(r"imap-login: Info: Login: user=<alice>", t))
            return n >= GOOD and n

        good = lab.wait_for(logins_in_log, timeout=20, what="Dovecot logged the logins")

        def caught_up():
            text = _scrape(api)
            g = metric(text, "mailmon_logins_total", channel="imap", result="good")
            up = metric(text, "mailmon_service_up", service="imap")
            return g == good and up == 1 and text
        text = lab.wait_for(caught_up, timeout=20, what="mailmond's login count")
        assert metric(text, "mailmon_log_lines_total", source=lab.paths["dovecot_log"]) > 0
        assert "mailmon_queue_messages" not in text
        q = d.get(api, "/api/queue")
        assert q["mode"] == "off" and q["mta"] == "none" and "no queue reader" in q["reason"]
        st = d.get(api, "/api/status")
        assert all(m["ok"] for m in st["reload"]["modules"])
    finally:
        assert d.stop() == 0, d.log()


def _scrape(api):
    import urllib.request
    with urllib.request.urlopen("http://%s/metrics" % api, timeout=5) as r:
        return r.read().decode()
