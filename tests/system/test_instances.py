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
- Log lines per instance: 3 messages to a and 5 to b;
  mailmon_log_instance_messages_total (submitted, delivered) and
  mailmon_log_instance_program_lines_total{program="qmgr"} must move by
  what each instance's own maillog shows (its smtpd client= lines,
  status=sent lines and qmgr lines, counted by the test), and the
  node-wide mailmon_messages_submitted_total by their sum.
- A verdict per instance ([instance.postfix-ia], [instance.postfix-ib],
  each with its own services) behind a real HAProxy 2.6 whose two
  servers use agent-check on the one mailmond with `agent-send
  "postfix-ia\n"` and `agent-send "postfix-ib\n"`; ~2 messages/s of
  normal mail to each instance. kill -STOP of instance b's qmgr: b's
  verdict must become stalled naming qmgr, the agent answer
  `drain #stalled: qmgr is stopped (process state T)` to agent-send
  postfix-ib and `up ready N%` to postfix-ia, HAProxy must show ib DRAIN
  and ia UP (its stats socket), instance a healthy throughout;
  `mailmon status` and `mailmon cluster` must print both instances (the
  latter exiting 1); an unknown name is answered `down #unknown
  instance NAME`, and an [instance.postfix-typo] that no queue carries
  `down #no scanned queue has syslog_name ...`; the built-in alarm
  instanceverdict fires for "postfix-ib,stalled" and not for
  postfix-ia. After kill -CONT both are healthy and UP again, the alarm
  clears, and every message reached its instance's sink.
- Reload: [instance.postfix-typo] removed and [instance.postfix-ic]
  added, SIGHUP: the instances are then ia, ib, ic, ia and ib keep their
  samples (not warming up again), and postfix-typo is an unknown name.
"""
import os
import re
import signal
import smtplib
import time

import pytest

import mailmonlab
import mmbin
from clusternode import agent_answer, haproxy_status, node_config, qmgr_pid
from test_stall_causes import Traffic, sink_rcpts

WINDOW_S = 10
NAMES = ("postfix-ia", "postfix-ib")
# One verdict per instance, each with the services node_config wrote for it.
INSTANCES = """\
[instance.postfix-ia]
master_service = smtp
smtpd_service = smtp
qmgr_service = qmgr
[instance.postfix-ib]
master_service = smtp1
smtpd_service = smtp1
qmgr_service = qmgr1
[instance.postfix-typo]
"""


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
        node_config(conf, labs[0], http, agent, tmp, WINDOW_S, interval_s=1, others=labs[1:],
                    extra=INSTANCES)
        d = mmbin.Daemon(str(conf), str(tmp / "mailmond.log"))
        d.start(api="127.0.0.1:%d" % http)
        yield {"labs": labs, "api": "127.0.0.1:%d" % http, "agent": agent, "daemon": d,
               "rewrite": lambda extra: node_config(conf, labs[0], http, agent, tmp, WINDOW_S,
                                                    interval_s=1, others=labs[1:],
                                                    extra=extra)}
    finally:
        rc = d.stop() if d else 0
        for lab in labs:
            lab.stop()
    assert rc == 0, d.log()[-3000:]


def inst_queue(mx, name, queue):
    return mmbin.metric(mx, "mailmon_queue_instance_messages", postfix_instance=name,
                        queue=queue)


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
            mx = mmbin.metrics(host["api"])
            got_b = sum(inst_queue(mx, NAMES[1], q) or 0
                        for q in ("incoming", "active", "deferred", "maildrop"))
            got_a = sum(inst_queue(mx, NAMES[0], q) or 0
                        for q in ("incoming", "active", "deferred", "maildrop"))
            total = sum(mmbin.metric(mx, "mailmon_queue_messages", queue=q) or 0
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


def log_counts(lab, name, offset):
    """From the instance's maillog past offset: smtpd client= lines,
    status=sent lines and qmgr lines (the independent count)."""
    with open(lab.paths["maillog"], errors="replace") as f:
        f.seek(offset)
        text = f.read()
    tag = re.escape(name)
    return {
        "submitted": len(re.findall(r" %s/smtpd\[\d+\]: \w+: client=" % tag, text)),
        "delivered": len(re.findall(r" %s/\w+\[\d+\]: \w+: to=<.*status=sent" % tag, text)),
        "qmgr": len(re.findall(r" %s/qmgr\[\d+\]: " % tag, text)),
    }


def inst_logs(mx, name):
    m = lambda o: mmbin.metric(mx, "mailmon_log_instance_messages_total", outcome=o,
                               postfix_instance=name) or 0
    q = mmbin.metric(mx, "mailmon_log_instance_program_lines_total", postfix_instance=name,
                     program="qmgr") or 0
    return {"submitted": m("submitted"), "delivered": m("delivered"), "qmgr": q}


def node_submitted(mx):
    return sum(v for (n, _), v in mx.items() if n == "mailmon_messages_submitted_total")


def test_log_lines_per_instance(host):
    labs = host["labs"]
    # Settled: everything read so far (the counts stop moving).
    mailmonlab.Lab.wait_for(lambda: all(postqueue_count(lab) == 0 for lab in labs), timeout=60,
                            what="queues empty")
    # Quiet: no counted line (the smtpd probes' connect lines go on) was
    # added across 2 s and the metrics read in between, so mailmond has
    # read every counted line before the offsets taken at the start.
    def quiet():
        offsets = [os.path.getsize(lab.paths["maillog"]) for lab in labs]
        before = [log_counts(lab, n, 0) for lab, n in zip(labs, NAMES)]
        time.sleep(2)
        mx = mmbin.metrics(host["api"])
        after = [log_counts(lab, n, 0) for lab, n in zip(labs, NAMES)]
        return (offsets, mx) if after == before else None
    offsets, mx0 = mailmonlab.Lab.wait_for(quiet, timeout=60, interval=0.1,
                                           what="no counted log line for 2 s")
    base = [inst_logs(mx0, n) for n in NAMES]
    send(labs[0], 3, "la")
    send(labs[1], 5, "lb")

    def agrees():
        mx = mmbin.metrics(host["api"])
        got = [{k: v - b[k] for k, v in inst_logs(mx, n).items()} for n, b in zip(NAMES, base)]
        want = [log_counts(lab, n, off) for lab, n, off in zip(labs, NAMES, offsets)]
        ok = (got == want and [w["delivered"] for w in want] == [3, 5]
              and node_submitted(mx) - node_submitted(mx0) == 8)
        return (got, want) if ok else None
    got, want = mailmonlab.Lab.wait_for(agrees, timeout=30, interval=0.5,
                                        what="per-instance log counts as each maillog")
    print("per instance, from mailmond: %s; from the maillogs: %s" % (got, want))


def inst_verdicts(host):
    doc = mmbin.Daemon.get(host["api"], "/api/status")
    return {v["instance"]: v for v in doc.get("instance_verdicts", [])}


def ask(host, name):
    return agent_answer(host["agent"], send=name + "\n")


def test_stall_of_one_instance(host):
    labs = host["labs"]
    hap = mailmonlab.Lab(components=("haproxy",), haproxy_servers=[
        {"name": "ia", "port": labs[0].ports["smtpd"], "agent_port": host["agent"],
         "agent_send": NAMES[0]},
        {"name": "ib", "port": labs[1].ports["smtpd"], "agent_port": host["agent"],
         "agent_send": NAMES[1]}])
    try:
        hap.start()
        with Traffic(labs[0].ports["smtpd"], "sa", rate=2.0) as ta, \
                Traffic(labs[1].ports["smtpd"], "sb", rate=2.0) as tb:
            check_stall(host, hap, labs)
    finally:
        hap.stop()
    assert len(ta.sent) > 20 and len(tb.sent) > 20, (ta.errors[:5], tb.errors[:5])
    for lab, t in ((labs[0], ta), (labs[1], tb)):
        mailmonlab.Lab.wait_for(lambda: set(t.sent) <= sink_rcpts(lab), timeout=60,
                                what="every message at its instance's sink")


def both_healthy(host, hap, what):
    def ok():
        v = inst_verdicts(host)
        answers = [ask(host, n) for n in NAMES]
        st = haproxy_status(hap)
        good = (all(v.get(n, {}).get("state") == "healthy" and not v[n].get("warming_up")
                    for n in NAMES)
                and all(a.startswith("up ready ") for a in answers)
                and st.get("ia") == "UP" and st.get("ib") == "UP")
        return (v, answers, st) if good else None
    return mailmonlab.Lab.wait_for(ok, timeout=WINDOW_S + 60, interval=0.5, what=what)


def check_stall(host, hap, labs):
    v, answers, st = both_healthy(host, hap, "both instances healthy, ready and UP")
    print("before: %s / %s / %s" % ([v[n]["line"] for n in NAMES], answers, st))
    pid = qmgr_pid(labs[1])
    t0 = time.time()
    states_a = []
    os.kill(pid, signal.SIGSTOP)
    try:
        cause = "qmgr is stopped (process state T)"

        def stalled():
            v = inst_verdicts(host)
            states_a.append(v[NAMES[0]]["state"])
            b = v[NAMES[1]]
            if b["state"] == "stalled" and b.get("cause") == cause:
                return v
            return None
        v = mailmonlab.Lab.wait_for(stalled, timeout=WINDOW_S + 40, interval=0.5,
                                    what="instance b stalled naming qmgr")
        print("instance b stalled after %.1f s: %s" % (time.time() - t0, v[NAMES[1]]["line"]))
        assert ask(host, NAMES[1]) == "drain #stalled: %s\n" % cause
        a = ask(host, NAMES[0])
        assert re.fullmatch(r"up ready \d+%\n", a), a
        assert ask(host, "nosuch") == "down #unknown instance nosuch\n"
        # A section naming no scanned queue is down, saying which names exist.
        typo = ask(host, "postfix-typo")
        assert typo.startswith("down #no scanned queue has syslog_name postfix-typo (they have: ")
        assert NAMES[0] in typo and NAMES[1] in typo, typo

        def drained():
            st = haproxy_status(hap)
            return st if st.get("ib", "").startswith("DRAIN") and st.get("ia") == "UP" else None
        st = mailmonlab.Lab.wait_for(drained, timeout=10, interval=0.5,
                                     what="HAProxy: ib DRAIN, ia UP")
        print("HAProxy after %.1f s: %s" % (time.time() - t0, st))
        mx = mmbin.metrics(host["api"])
        assert mmbin.metric(mx, "mailmon_instance_verdict", postfix_instance=NAMES[1],
                            state="stalled") == 1
        assert mmbin.metric(mx, "mailmon_instance_verdict", postfix_instance=NAMES[0],
                            state="healthy") == 1
        out = mmbin.mailmon("status", "--api", host["api"]).stdout
        lines = out.splitlines()
        assert lines[0].startswith("verdict: "), out[:300]
        assert lines[1].startswith("instance %s: healthy (" % NAMES[0]), out[:600]
        assert lines[2].startswith("instance %s: stalled (" % NAMES[1]), out[:600]
        assert cause in lines[2], lines[2]
        alarm = mailmonlab.Lab.wait_for(
            lambda: firing(host, "instanceverdict", "%s,stalled" % NAMES[1]), timeout=45,
            interval=0.5, what="alarm instanceverdict for %s,stalled" % NAMES[1])
        print("alarm after %.1f s: %s" % (time.time() - t0, alarm["instance"]))
        assert not [x for x in alarms(host) if x["alarm"] == "instanceverdict"
                    and x["state"] == "firing" and x["instance"].startswith(NAMES[0])]
        r = mmbin.mailmon("cluster", host["api"])
        assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)  # an instance is stalled
        assert re.search(r"^  %s\s+healthy " % NAMES[0], r.stdout, re.M), r.stdout
        assert re.search(r"^  %s\s+stalled .*  %s$" % (NAMES[1], re.escape(cause)),
                         r.stdout, re.M), r.stdout
        node = mmbin.Daemon.get(host["api"], "/api/status")["verdict"]
        print("node verdict meanwhile: %s; node agent answer %r"
              % (node["line"], agent_answer(host["agent"])))
    finally:
        os.kill(pid, signal.SIGCONT)
    assert set(states_a) == {"healthy"}, states_a
    v, answers, st = both_healthy(host, hap, "both healthy, ready and UP after SIGCONT")
    print("after SIGCONT (%.1f s): %s / %s" % (time.time() - t0, answers, st))
    mailmonlab.Lab.wait_for(
        lambda: not firing(host, "instanceverdict", "%s,stalled" % NAMES[1]), timeout=45,
        interval=0.5, what="alarm instanceverdict cleared")


def alarms(host):
    return mmbin.Daemon.get(host["api"], "/api/alarms")["alarms"]


def firing(host, alarm, instance):
    for a in alarms(host):
        if a["alarm"] == alarm and a["state"] == "firing" and a["instance"] == instance:
            return a
    return None


def test_reload_adds_and_removes_instances(host):
    before = inst_verdicts(host)
    assert not before[NAMES[0]]["warming_up"], before[NAMES[0]]
    host["rewrite"](INSTANCES.replace("[instance.postfix-typo]", "[instance.postfix-ic]"))
    host["daemon"].signal(signal.SIGHUP)

    def reloaded():
        doc = mmbin.Daemon.get(host["api"], "/api/status")
        names = [v["instance"] for v in doc["instance_verdicts"]]
        return doc if doc["reload"]["count"] >= 1 and names == list(NAMES) + ["postfix-ic"] \
            else None
    doc = mailmonlab.Lab.wait_for(reloaded, timeout=15, interval=0.5, what="the reload")
    assert doc["reload"]["ok"], doc["reload"]
    v = {x["instance"]: x for x in doc["instance_verdicts"]}
    # Kept: the same verdict since the same time, not a fresh engine warming up.
    for n in NAMES:
        assert not v[n]["warming_up"] and v[n]["since"] == before[n]["since"], (v[n], before[n])
    assert ask(host, "postfix-typo") == "down #unknown instance postfix-typo\n"
    assert ask(host, NAMES[0]).startswith("up ready ")
