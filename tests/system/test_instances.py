"""Two Postfix instances on one host, one mailmond watching both (issue 15:
"agent-send is supported, so one agent can answer for several Postfix
instances on a host").

Two real lab Postfix instances, each with its own syslog_name
(postfix-ia, postfix-ib), config directory, queue, maillog and
smtp-sink; one mailmond with [mta] config_directory = instance a and
[queue] instances = instance b, reading both maillogs, with a
[service.*] pair (smtpd probe with the master's pidfile, qmgr under the
master) per instance (clusternode.node_config).

- Queues per instance: instance b's qmgr is stopped (kill -STOP) and
  mail sent to b waits in its incoming queue;
  mailmon_queue_instance_messages must show it under
  postfix_instance="postfix-ib" and none under postfix-ia, matching
  each instance's own `postqueue -j` (the independent count), and
  mailmon_queue_messages stays their sum.
"""
import os
import re
import signal
import smtplib
import urllib.request

import pytest

import mailmonlab
import mmbin
from clusternode import node_config, qmgr_pid

WINDOW_S = 10
NAMES = ("postfix-ia", "postfix-ib")


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("instances")
    labs = [mailmonlab.Lab(components=("postfix",), syslog_name=n) for n in NAMES]
    d = None
    try:
        for lab in labs:
            lab.start()
        http, agent = mmbin.free_port(), mmbin.free_port()
        conf = tmp / "mailmon.conf"
        node_config(conf, labs[0], http, agent, tmp, WINDOW_S, interval_s=1, others=labs[1:])
        d = mmbin.Daemon(str(conf), str(tmp / "mailmond.log"))
        d.start(api="127.0.0.1:%d" % http)
        yield {"labs": labs, "api": "127.0.0.1:%d" % http, "agent": agent, "daemon": d}
    finally:
        rc = d.stop() if d else 0
        for lab in labs:
            lab.stop()
    assert rc == 0, d.log()[-3000:]


def metrics(api):
    with urllib.request.urlopen("http://%s/metrics" % api, timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if m:
            labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', m.group(2) or "")))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def inst_queue(mx, name, queue):
    return mx.get(("mailmon_queue_instance_messages",
                   (("postfix_instance", name), ("queue", queue))))


def send(lab, n, tag):
    for i in range(n):
        with smtplib.SMTP("127.0.0.1", lab.ports["smtpd"], timeout=30,
                          local_hostname=mailmonlab.CLIENT_HELO) as s:
            s.sendmail("a@client.lab.test", ["%s%d@sink.test" % (tag, i)],
                       "Subject: %s %d\r\n\r\nmail\r\n" % (tag, i))


def postqueue_count(lab):
    return len(lab.postqueue_json())


def test_queue_per_instance(host):
    a, b = host["labs"]
    pid = qmgr_pid(b)
    os.kill(pid, signal.SIGSTOP)
    try:
        send(b, 6, "q")
        mailmonlab.Lab.wait_for(lambda: postqueue_count(b) == 6, timeout=30,
                                what="6 messages waiting in instance b")

        def agrees():
            mx = metrics(host["api"])
            got_b = sum(inst_queue(mx, NAMES[1], q) or 0
                        for q in ("incoming", "active", "deferred", "maildrop"))
            got_a = sum(inst_queue(mx, NAMES[0], q) or 0
                        for q in ("incoming", "active", "deferred", "maildrop"))
            total = sum(mx.get(("mailmon_queue_messages", (("queue", q),)), 0)
                        for q in ("incoming", "active", "deferred", "maildrop"))
            seen = inst_queue(mx, NAMES[0], "incoming") is not None
            want_b, want_a = postqueue_count(b), postqueue_count(a)
            return ((got_a, got_b, total) if seen and got_b == want_b == 6
                    and got_a == want_a and total == got_a + got_b else None)
        got = mailmonlab.Lab.wait_for(agrees, timeout=30, interval=0.5,
                                      what="per-instance queue sizes as postqueue -j")
        print("instance a %d, b %d, sum %d" % got)
    finally:
        os.kill(pid, signal.SIGCONT)
    mailmonlab.Lab.wait_for(lambda: postqueue_count(b) == 0, timeout=60,
                            what="instance b's queue empty after SIGCONT")
