"""The named causes of a stalled node, on a real Postfix (issue 15 item 1),
read through mailmond's verdict and its HAProxy agent answer.

One lab Postfix relaying to the lab's smtp-sink (sink.test, which dumps
every transaction it accepts: the independent count), ~4 messages/s of
normal mail straight to its smtpd, and one mailmond with a 10 s stall
window and [cluster] agent_listen.  test_cluster.py already shows HAProxy
draining on that answer; here the answer is read off the agent port.

- A transport with no process: the `smtp` service is commented out of
  master.cf (`postconf -M# smtp/unix`, postfix reload).  Postfix 3.7 then
  logs "qmgr: warning: connect to transport private/smtp: ..." and defers
  every message at once with "mail transport unavailable", without an
  attempt.  The verdict must be stalled naming the transport, the agent
  must answer drain; with the line back, healthy and ready again, and
  every message reaches the sink.
- qmgr not logging: qmgr is frozen by the cgroup freezer, so it is
  present and in state D (not T, not gone) and writes nothing while
  smtpd keeps accepting.  The verdict must be stalled naming "qmgr is not
  logging"; thawed, healthy again.
"""
import os
import re
import smtplib
import threading
import time

import pytest

import mailmonlab
import mmbin
from clusternode import agent_answer, node_config, qmgr_pid

WINDOW_S = 10
FREEZER = "/sys/fs/cgroup/freezer"


def verdict(node):
    return mmbin.Daemon.get(node["api"], "/api/status").get("verdict") or {}


class Traffic:
    """Normal mail to sink.test, one session per message, each with its own
    recipient so the sink's dump can be checked against what was sent."""

    def __init__(self, port, tag, rate=4.0):
        self.port, self.tag, self.rate = port, tag, rate
        self.sent, self.errors = [], []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        i = 0
        while not self._stop.is_set():
            rcpt = "%s%d@sink.test" % (self.tag, i)
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=30,
                                  local_hostname=mailmonlab.CLIENT_HELO) as s:
                    s.sendmail("a@client.lab.test", [rcpt],
                               "Subject: normal %d\r\n\r\nnormal mail\r\n" % i)
                self.sent.append(rcpt)
            except (smtplib.SMTPException, OSError) as e:
                self.errors.append(repr(e))
            i += 1
            self._stop.wait(1.0 / self.rate)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(60)
        return False


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stallcause")
    lab = mailmonlab.Lab(components=("postfix",), syslog_name="postfix-cause")
    d = None
    try:
        lab.start()
        http, agent = mmbin.free_port(), mmbin.free_port()
        conf = tmp / "mailmon.conf"
        node_config(conf, lab, http, agent, tmp, WINDOW_S, interval_s=1)
        d = mmbin.Daemon(str(conf), str(tmp / "mailmond.log"))
        d.start(api="127.0.0.1:%d" % http)
        yield {"lab": lab, "api": "127.0.0.1:%d" % http, "agent": agent, "daemon": d}
    finally:
        rc = d.stop() if d else 0
        lab.stop()
    assert rc == 0, d.log()[-3000:]


def healthy_and_ready(node, what):
    def ok():
        v = verdict(node)
        a = agent_answer(node["agent"])
        return (v, a) if (v.get("state") == "healthy" and not v.get("warming_up")
                          and a.startswith("up ready ")) else None
    return mailmonlab.Lab.wait_for(ok, timeout=WINDOW_S + 40, interval=0.5, what=what)


def wait_stalled(node, cause, timeout):
    """Polls until the verdict is stalled with cause as its last reason;
    returns (seconds, verdict, agent answer read at that moment)."""
    t0 = time.time()
    seen = []

    def stalled():
        v = verdict(node)
        seen.append(v.get("line"))
        if (v.get("state") == "stalled" and v["reasons"] and v["reasons"][-1] == cause
                and v.get("cause") == cause):
            return v, agent_answer(node["agent"])
        return None
    try:
        v, a = mailmonlab.Lab.wait_for(stalled, timeout=timeout, interval=0.5,
                                       what="stalled: " + cause)
    except TimeoutError:
        raise AssertionError("never stalled naming %r; verdicts seen: %s"
                             % (cause, sorted(set(map(str, seen)))))
    return time.time() - t0, v, a


def sink_rcpts(lab):
    return {r for m in lab.sink_messages() for r in m["rcpts"]}


def test_transport_without_process(node):
    lab = node["lab"]
    confdir = lab.paths["postfix_config_dir"]
    master_cf = os.path.join(confdir, "master.cf")
    original = open(master_cf).read()
    with Traffic(lab.ports["smtpd"], "tr") as traffic:
        healthy_and_ready(node, "healthy and ready before the break")
        mailmonlab.run(["postconf", "-c", confdir, "-M#", "smtp/unix"])
        assert not re.search(r"^smtp\s+unix", open(master_cf).read(), re.M)
        lab.postfix_cmd("reload")
        try:
            secs, v, answer = wait_stalled(
                node, "transport smtp has no process (qmgr cannot connect to private/smtp)",
                WINDOW_S + 30)
            print("stalled after %.1f s: %s" % (secs, v["line"]))
            assert any("deferred without an attempt (mail transport unavailable)" in r
                       for r in v["reasons"]), v
            assert answer == ("drain #stalled: transport smtp has no process "
                              "(qmgr cannot connect to private/smtp)\n"), answer
            # Postfix's own account: the mail waits, deferred for that reason.
            q = lab.postqueue_json()
            reasons = {r.get("delay_reason") for m in q for r in m["recipients"]}
            assert q and "mail transport unavailable" in reasons, q[:3]
            log = open(lab.paths["maillog"]).read()
            assert "warning: connect to transport private/smtp" in log
        finally:
            with open(master_cf, "w") as f:
                f.write(original)
            lab.postfix_cmd("reload")
        lab.postfix_cmd("flush")
        v, answer = healthy_and_ready(node, "healthy and ready after the fix")
        print("after the fix: %s / %s" % (v["line"], answer.strip()))
    assert len(traffic.sent) > 40, traffic.errors[:5]
    mailmonlab.Lab.wait_for(lambda: set(traffic.sent) <= sink_rcpts(lab), timeout=60,
                            what="every message at the sink")


def freeze(pid, group):
    """Moves pid into a new freezer cgroup and freezes it; the process
    stays present, in state D."""
    if not os.path.isdir(FREEZER) or not os.access(FREEZER, os.W_OK):
        if os.environ.get("CI") == "true":
            pytest.fail("no writable cgroup v1 freezer at %s" % FREEZER)
        pytest.skip("no writable cgroup freezer")
    os.makedirs(group, exist_ok=True)
    with open(os.path.join(group, "tasks"), "w") as f:
        f.write(str(pid))
    with open(os.path.join(group, "freezer.state"), "w") as f:
        f.write("FROZEN")


def thaw(pid, group):
    with open(os.path.join(group, "freezer.state"), "w") as f:
        f.write("THAWED")
    try:
        with open(os.path.join(FREEZER, "tasks"), "w") as f:
            f.write(str(pid))
    except OSError:
        pass  # exited meanwhile
    os.rmdir(group)


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_qmgr_not_logging(node):
    lab = node["lab"]
    with Traffic(lab.ports["smtpd"], "ql") as traffic:
        healthy_and_ready(node, "healthy and ready before the freeze")
        pid = qmgr_pid(lab)
        group = os.path.join(FREEZER, "mailmon-test-%d" % os.getpid())
        freeze(pid, group)
        try:
            time.sleep(1)  # a qmgr line already on its way to postlogd
            offset = os.path.getsize(lab.paths["maillog"])
            secs, v, answer = wait_stalled(
                node, "qmgr is not logging (no log line in %d s)" % WINDOW_S, WINDOW_S + 30)
            print("stalled after %.1f s: %s" % (secs, v["line"]))
            assert proc_state(pid) not in "TtZX", proc_state(pid)  # present, not stopped
            assert answer == "drain #stalled: qmgr is not logging (no log line in %d s)\n" \
                % WINDOW_S, answer
            # Independent: the maillog has no qmgr line since the freeze,
            # while smtpd went on logging.
            with open(lab.paths["maillog"]) as f:
                f.seek(offset)
                tail = f.read().splitlines()
            assert not [ln for ln in tail if "/qmgr[" in ln], tail[-5:]
            assert [ln for ln in tail if "/smtpd[" in ln]
        finally:
            thaw(pid, group)
        v, answer = healthy_and_ready(node, "healthy and ready after the thaw")
        print("after the thaw: %s / %s" % (v["line"], answer.strip()))
    assert len(traffic.sent) > 40, traffic.errors[:5]
    mailmonlab.Lab.wait_for(lambda: set(traffic.sent) <= sink_rcpts(lab), timeout=60,
                            what="every message at the sink")
