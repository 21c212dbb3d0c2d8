"""The cluster outage of seeds/001, replayed on real components.

Three real Postfix nodes on loopback behind a real HAProxy (TCP mode,
agent-check to each node's mailmond), relaying to a loopback sink that
records every Message-ID (smtp_record.py).  Each node runs its own
mailmond with [cluster] agent_listen.

- Stall: node 2's qmgr is stopped (kill -STOP) while traffic flows.  Its
  verdict must become stalled naming qmgr within 60 s, HAProxy must show
  it DRAIN (read from its stats socket) within 65 s, nodes 1 and 3 stay
  healthy; after kill -CONT the backlog is delivered, the agent answers
  ready again, and every Message-ID sent reached the sink.
- Refused flood: 2,000 messages to a destination that refuses
  connections, while normal traffic flows: within 120 s the alarm
  floodeddestination names the destination with class refused, and the
  node is degraded, never stalled.
- Tarpit flood (scaled down: 500 messages, greeting timeout 10 s): the
  alarm names the destination with class timeout, normal mail still
  arrives. The latency figures come from bench/cluster_tarpit.py.

The test's stall window is 20 s (default 45 s) to keep CI time short.
"""
import json
import os
import re
import signal
import smtplib
import threading
import time
import urllib.request

import pytest

import mailmonlab
import mmbin
from clusternode import haproxy_status, node_config, qmgr_pid
from smtp_record import RecordingSink
from traffic import flood

NODES = 3
WINDOW_S = 20


class Traffic:
    """Normal mail through HAProxy, one connection per message so the
    balancer spreads it; remembers each Message-ID and when it was sent."""

    def __init__(self, port, rate=5.0, domain="rec.test", tag="n"):
        self.port, self.rate, self.domain, self.tag = port, rate, domain, tag
        self.sent, self.errors = {}, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        i = 0
        while not self._stop.is_set():
            mid = "<%s%d.%d@client.lab.test>" % (self.tag, i, os.getpid())
            msg = ("From: a@client.lab.test\r\nTo: u@%s\r\nSubject: normal %d\r\n"
                   "Message-ID: %s\r\n\r\nnormal mail\r\n" % (self.domain, i, mid))
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=30,
                                  local_hostname=mailmonlab.CLIENT_HELO) as s:
                    s.sendmail("a@client.lab.test", ["u%d@%s" % (i, self.domain)], msg)
                self.sent[mid] = time.time()
            except (smtplib.SMTPException, OSError) as e:
                self.errors.append(repr(e))
            i += 1
            self._stop.wait(1.0 / self.rate)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(60)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster")
    sink = RecordingSink().start()
    labs, daemons = [], []
    hap = None
    try:
        tmap = tmp / "transport"
        tmap.write_text("rec.test smtp:[127.0.0.1]:%d\n" % sink.port)
        for i in range(NODES):
            lab = mailmonlab.Lab(components=("postfix",),
                                 syslog_name="postfix-node%d" % (i + 1))
            labs.append(lab)
            lab.start()
            # Our route first, then the lab's (dead.test, slow.test, ...).
            lab.postconf({"transport_maps": "texthash:%s, texthash:%s"
                          % (tmap, lab.paths["transport"])})
        nodes = []
        for i, lab in enumerate(labs):
            state = tmp / ("node%d" % (i + 1))
            state.mkdir()
            http, agent = mmbin.free_port(), mmbin.free_port()
            conf = tmp / ("node%d.conf" % (i + 1))
            node_config(conf, lab, http, agent, state, WINDOW_S)
            d = mmbin.Daemon(str(conf), str(tmp / ("mailmond%d.log" % (i + 1))))
            daemons.append(d)
            d.start(api="127.0.0.1:%d" % http)
            nodes.append({"lab": lab, "api": "127.0.0.1:%d" % http, "agent": agent,
                          "daemon": d, "name": "node%d" % (i + 1)})
        hap = mailmonlab.Lab(components=("haproxy",), haproxy_servers=[
            {"name": n["name"], "port": n["lab"].ports["smtpd"], "agent_port": n["agent"]}
            for n in nodes])
        hap.start()
        yield {"nodes": nodes, "hap": hap, "sink": sink, "tmp": tmp}
    finally:
        if hap:
            hap.stop()
        rcs = [(d.stop(), d) for d in daemons]
        for lab in labs:
            lab.stop()
        sink.stop()
    # Every mailmond stopped cleanly (under ASan: no leak, no error).
    bad = [d.log()[-3000:] for rc, d in rcs if rc != 0]
    assert not bad, bad


def metrics_text(api):
    with urllib.request.urlopen("http://%s/metrics" % api, timeout=5) as r:
        return r.read().decode()


def verdict(node):
    return mmbin.Daemon.get(node["api"], "/api/status").get("verdict") or {}


def wait_all(cluster, pred, timeout, what):
    return mailmonlab.Lab.wait_for(pred, timeout=timeout, interval=1.0, what=what)


def test_stall_drain_and_recover(cluster):
    nodes, hap, sink = cluster["nodes"], cluster["hap"], cluster["sink"]
    # Everyone healthy and UP, past the first stall window. The waits
    # before the stall and after kill -CONT are preconditions and recovery,
    # not the bars (stalled 60 s, DRAIN 65 s): generous, for the
    # loaded shared machine.
    wait_all(cluster, lambda: all(haproxy_status(hap).get(n["name"]) == "UP" for n in nodes),
             60, "all nodes UP in HAProxy")
    traffic = Traffic(hap.ports["haproxy"]).start()
    try:
        wait_all(cluster, lambda: all(
            verdict(n).get("state") == "healthy" and not verdict(n).get("warming_up")
            for n in nodes), WINDOW_S + 60, "three healthy verdicts")
        node2 = nodes[1]
        qpid = qmgr_pid(node2["lab"])
        os.kill(qpid, signal.SIGSTOP)
        t0 = time.time()
        stalled_at = drained_at = None
        others = []
        try:
            while time.time() - t0 < 70 and not (stalled_at and drained_at):
                v = verdict(node2)
                if v.get("state") == "stalled" and stalled_at is None:
                    stalled_at = time.time() - t0
                    stalled = v
                if haproxy_status(hap).get("node2", "").startswith("DRAIN") and drained_at is None:
                    drained_at = time.time() - t0
                others += [(n["name"], verdict(n)) for n in (nodes[0], nodes[2])]
                time.sleep(1)
            print("stalled after %s s, DRAIN after %s s" % (stalled_at, drained_at))
            assert stalled_at is not None and stalled_at <= 60, verdict(node2)
            assert any("qmgr is stopped" in r for r in stalled["reasons"]), stalled
            assert drained_at is not None and drained_at <= 65, haproxy_status(hap)
            bad = [(n, v.get("line")) for n, v in others if v.get("state") != "healthy"]
            assert not bad, bad
            # mailmon cluster: the three nodes side by side, fetched at
            # once; node 2 holds the backlog, as postqueue -j counts it.
            urls = ["http://" + n["api"] for n in nodes]
            r = mmbin.mailmon("cluster", "--json", *urls)
            view = json.loads(r.stdout)
            assert r.returncode == 1, r.stderr  # one node is not healthy
            states = [x["state"] for x in view["nodes"]]
            assert states == ["healthy", "stalled", "healthy"], view
            counts = [len(n["lab"].postqueue_json()) for n in nodes]
            assert counts[1] == max(counts) and counts[1] > 0, counts
            assert view["backlog_holder"] == urls[1], (view, counts)
            assert view["nodes"][1]["verdict"]["cause"] == "qmgr is stopped (process state T)"
            r = mmbin.mailmon("cluster", *urls)
            assert "backlog: %s holds" % urls[1] in r.stdout, r.stdout
            # WHY: the named cause of the stalled node's drain.
            assert re.search(r"^%s +stalled .* qmgr is stopped \(process state T\)$"
                             % re.escape(urls[1]), r.stdout, re.M), r.stdout
            print(r.stdout)
        finally:
            os.kill(qpid, signal.SIGCONT)
        # Recovery: ready again in HAProxy, verdict healthy.
        wait_all(cluster, lambda: verdict(node2).get("state") == "healthy", 120,
                 "node2 healthy after SIGCONT")
        wait_all(cluster, lambda: haproxy_status(hap).get("node2") == "UP", 60,
                 "node2 UP in HAProxy (agent answered ready)")
    finally:
        traffic.stop()
    assert len(traffic.sent) > 100, traffic.errors[:5]
    wait_all(cluster, lambda: set(traffic.sent) <= set(sink.ids), 120,
             "every sent Message-ID at the sink")
    assert sink.duplicates == 0


def test_refused_flood_alarm_degraded(cluster):
    nodes, hap = cluster["nodes"], cluster["hap"]
    node1 = nodes[0]
    traffic = Traffic(hap.ports["haproxy"], tag="r").start()
    states = []
    try:
        t0 = time.time()
        flood(node1["lab"].ports["smtpd"], 2000, "dead.test")
        print("2,000 messages queued in %.1f s" % (time.time() - t0))

        def alarm():
            states.append(verdict(node1).get("state"))
            doc = mmbin.Daemon.get(node1["api"], "/api/alarms")
            for a in doc.get("alarms", doc.get("instances", [])):
                if (a.get("alarm", a.get("name")) == "floodeddestination"
                        and a.get("instance") == "dead.test,refused"
                        and a.get("state") == "firing"):
                    return a
            return None
        a = wait_all(cluster, alarm, 120 - (time.time() - t0), "floodeddestination alarm")
        print("alarm after %.1f s: %s" % (time.time() - t0, a))

        # The alarm's figure against postqueue -j. When the alarm first
        # fires the scanner may have seen only part of the flood (the
        # queue was still filling, or a scan on the loaded machine was
        # behind), so the test waits, within the rest of the 120 s (at
        # least 30 s), for the alarm's value to agree with postqueue's
        # count: messages with a pending dead.test recipient in incoming,
        # active or deferred (the alarm counts messages, not recipients).
        # Tolerance 1%: the alarm reads a scan a few seconds old, and a
        # message moving between queue directories during a scan can be
        # missed or seen twice by either program.
        # postqueue lists a message moved between directories during its
        # walk twice (2,003 and 2,019 seen for 2,000): counted by queue id.
        def dead_messages():
            return len({m["queue_id"] for m in node1["lab"].postqueue_json()
                        if m["queue_name"] in ("incoming", "active", "deferred")
                        and any(r["address"].lower().endswith("@dead.test")
                                for r in m["recipients"])})
        seen = []

        def figure_agrees():
            cur, n = alarm(), dead_messages()
            seen.append((cur and cur["value"], n))
            return cur if cur and n >= 1980 and abs(cur["value"] - n) <= 0.01 * n else None
        try:
            a = wait_all(cluster, figure_agrees, max(30, 120 - (time.time() - t0)),
                         "the alarm's value agreeing with postqueue -j's dead.test count")
        except TimeoutError as e:
            raise AssertionError("%s; last (alarm value, postqueue count): %s"
                                 % (e, seen[-5:])) from None
        print("alarm value %d against postqueue -j %d after %.1f s (first seen: %s)"
              % (a["value"], seen[-1][1], time.time() - t0, seen[:1]))
        v = verdict(node1)
        assert v["state"] == "degraded", v
        assert any("dead.test" in r and "refused" in r for r in v["reasons"]), v
        assert "stalled" not in states, states

        # mailmon status: the verdict first, then the queues in words; the
        # deferred backlog against postqueue's own count.
        def status_matches():
            out = mmbin.mailmon("status", "--api", node1["api"]).stdout
            m = re.search(r"deferred: backlog of ([0-9,]+) messages, (draining at|not draining)",
                          out)
            pq = [x for x in node1["lab"].postqueue_json() if x["queue_name"] == "deferred"]
            return out if (out.startswith("verdict: degraded (")
                           and m and int(m.group(1).replace(",", "")) == len(pq)) else None
        # dead.test's mail moves between deferred and active every few
        # seconds (the lab's 5-10 s backoff), so the two counts agree only
        # between moves: 60 s to catch one.
        out = wait_all(cluster, status_matches, 60, "mailmon status matching postqueue -j")
        print(out.splitlines()[0][:200])

        # The cause behind "delivery temporarily suspended" per destination
        # (mailmon_queue_destination_suspended_recipients) against postqueue
        # -j's own delay reasons for dead.test: all refused, and as many.
        # The scan is a few seconds older than postqueue's answer, so 5%.
        def suspended_split():
            got = {}
            for m in re.finditer(r"^mailmon_queue_destination_suspended_recipients\{(.*)\} (\S+)$",
                                 metrics_text(node1["api"]), re.M):
                lab = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
                if lab.get("destination") == "dead.test":
                    got[lab["cause"]] = got.get(lab["cause"], 0) + float(m.group(2))
            why = {(m["queue_id"], r["address"]): r.get("delay_reason", "")
                   for m in node1["lab"].postqueue_json()
                   for r in m["recipients"] if r["address"].endswith("@dead.test")}
            susp = sum(w.startswith("delivery temporarily suspended: ")
                       and w.endswith("Connection refused") for w in why.values())
            split.append((got, susp))
            return (set(got) == {"refused"} and susp > 0
                    and abs(got["refused"] - susp) <= 0.05 * susp)
        split = []
        try:
            wait_all(cluster, suspended_split, 60, "suspended causes matching postqueue -j")
        except TimeoutError as e:
            raise AssertionError("%s; last (mailmon causes, postqueue suspended-refused): %s"
                                 % (e, split[-5:])) from None
        print("dead.test suspended by cause: %s, postqueue -j: %d" % split[-1])
    finally:
        traffic.stop()


def test_tarpit_flood_alarm_timeout(cluster):
    """A destination that accepts TCP and never answers (the lab's
    slow.test). Scaled down for CI: 500 messages (the issue says 20,000)
    and smtp_helo_timeout 10 s (Postfix: 300 s); bench/cluster_tarpit.py
    runs the larger version and measures normal mail's latency."""
    nodes, hap, sink = cluster["nodes"], cluster["hap"], cluster["sink"]
    node3 = nodes[2]
    node3["lab"].postconf({"smtp_helo_timeout": "10s", "smtp_connect_timeout": "5s"})
    traffic = Traffic(hap.ports["haproxy"], tag="t").start()
    states = []
    try:
        t0 = time.time()
        flood(node3["lab"].ports["smtpd"], 500, "slow.test")

        def alarm():
            states.append(verdict(node3).get("state"))
            for a in mmbin.Daemon.get(node3["api"], "/api/alarms")["alarms"]:
                if (a["alarm"] == "floodeddestination" and a["state"] == "firing"
                        and a["instance"].startswith("slow.test,")):
                    return a
            return None
        # The issue sets no time for this alarm; 180 s leaves room for a
        # loaded machine (it came after 40-60 s there).
        a = wait_all(cluster, alarm, 180, "floodeddestination alarm for slow.test")
        print("tarpit alarm after %.1f s: %s" % (time.time() - t0, a["instance"]))
        assert a["instance"] == "slow.test,timeout", a
        # Postfix's own words: slow.test's delay reasons are timeouts, most
        # of them "delivery temporarily suspended: conversation with
        # 127.0.0.1[127.0.0.1] timed out while receiving the initial server
        # greeting" once qmgr marked it dead. While a retry has them all
        # in the active queue none has a reason: wait for the next deferral.
        def reasons():
            return [r["delay_reason"] for m in node3["lab"].postqueue_json()
                    for r in m["recipients"]
                    if r["address"].endswith("@slow.test") and r.get("delay_reason")]
        why = wait_all(cluster, reasons, 60, "slow.test delay reasons in postqueue -j")
        print("slow.test delay reasons: %d, e.g. %s" % (len(why), sorted(set(why))[:3]))
        assert why and sum("timed out" in w for w in why) >= 0.6 * len(why), why[:5]
        assert "stalled" not in states, states
    finally:
        traffic.stop()
    wait_all(cluster, lambda: set(traffic.sent) <= set(sink.ids), 120,
             "normal mail delivered during the tarpit flood")
