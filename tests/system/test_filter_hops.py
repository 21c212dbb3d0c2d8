"""Content-filter hops in the daemon's counters (issue 11, item 4).

mailmond follows a Postfix log written by this test in the shape of
Postfix's FILTER_README after-queue setup (amavis on 10024, re-injection
by a second smtpd on 10025 from 127.0.0.1): N_HOP messages pass through
the filter, N_PLAIN go straight out (their "queued as" names a remote
queue ID), and N_DECOY deliveries name a queue ID that an outside client
(not loopback) brought in. The test counts the hops itself from the text
it wrote: a sent delivery whose "queued as QID" is a loopback smtpd
arrival; mailmond's mailmon_messages_filter_hops_total must equal it.
"""
import os
import re
import urllib.request

import mmbin

N_HOP, N_PLAIN, N_DECOY = 7, 4, 3


def lines():
    out, t = [], 0

    def L(prog, text):
        nonlocal t
        t += 1
        out.append("Dec  7 10:%02d:%02d mx postfix/%s[%d]: %s" % (t // 60 % 60, t % 60, prog,
                                                               100 + t % 50, text))
    qn = 0

    def qid():
        nonlocal qn
        qn += 1
        return "%010X" % (0x4F2A1B0000 + qn)
    for i in range(N_HOP):
        a, b = qid(), qid()
        L("smtpd", "%s: client=ext.example.com[203.0.113.7]" % a)
        L("qmgr", "%s: from=<a@example.com>, size=1500, nrcpt=1 (queue active)" % a)
        L("10025/smtpd", "%s: client=localhost[127.0.0.1]" % b)
        L("qmgr", "%s: from=<a@example.com>, size=2100, nrcpt=1 (queue active)" % b)
        L("smtp", "%s: to=<b%d@example.org>, relay=127.0.0.1[127.0.0.1]:10024, delay=1.2, "
          "delays=0.1/0/0/1.1, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]"
          ":10025): 250 2.0.0 Ok: queued as %s)" % (a, i, b))
        L("qmgr", "%s: removed" % a)
        L("smtp", "%s: to=<b%d@example.org>, relay=mx.example.org[198.51.100.9]:25, delay=0.5,"
          " delays=0/0/0.2/0.3, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 9C8B7A6D%02X)"
          % (b, i, i))
        L("qmgr", "%s: removed" % b)
    for i in range(N_PLAIN + N_DECOY):
        a = qid()
        L("smtpd", "%s: client=ext.example.com[203.0.113.7]" % a)
        L("qmgr", "%s: from=<c@example.com>, size=900, nrcpt=1 (queue active)" % a)
        # a decoy names a queue ID that arrived from outside, not loopback
        named = a if i >= N_PLAIN else "77AA77AA%02X" % i
        L("smtp", "%s: to=<d%d@example.net>, relay=mx.example.net[198.51.100.10]:25, "
          "delay=0.3, delays=0/0/0.1/0.2, dsn=2.0.0, status=sent (250 Ok: queued as %s)"
          % (a, i, named))
        L("qmgr", "%s: removed" % a)
    return out


def independent_hops(text):
    loopback = set(re.findall(r"smtpd\[\d+\]: (\w+): client=[^\[]*\[127\.", text))
    named = re.findall(r"status=sent \(.*queued as (\w+)\)", text)
    return sum(1 for q in named if q in loopback)


def test_daemon_counts_filter_hops(tmp_path):
    text = "\n".join(lines()) + "\n"
    assert independent_hops(text) == N_HOP
    log = tmp_path / "maillog"
    log.write_text(text)
    port = mmbin.free_port()
    api = "127.0.0.1:%d" % port
    conf = tmp_path / "mailmon.conf"
    conf.write_text("[daemon]\nstate_directory = %s\nrun_directory = %s\npidfile = %s/pid\n"
                    "[http]\nlisten = %s\n[mta]\ntype = none\n"
                    "[log]\nsources = %s\nstart_at = beginning\nformat = postfix\n"
                    % (tmp_path, tmp_path, tmp_path, api, log))
    d = mmbin.Daemon(str(conf), str(tmp_path / "mailmond.log"))
    d.start(api=api)
    try:
        import time
        deadline = time.time() + 15
        got = None
        while time.time() < deadline:
            with urllib.request.urlopen("http://%s/metrics" % api, timeout=5) as r:
                m = re.search(r"^mailmon_messages_filter_hops_total (\S+)$", r.read().decode(),
                              re.M)
            got = float(m.group(1)) if m else None
            if got == independent_hops(text):
                break
            time.sleep(0.2)
        assert got == independent_hops(text), got
    finally:
        assert d.stop() == 0, d.log()
