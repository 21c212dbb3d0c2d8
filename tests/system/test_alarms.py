"""System tests for issue 9: alarms that reach people (mailmond's alarms).

Real components: the lab's Postfix takes the alarm mail and delivers it to
Dovecot, and the tests read it back over IMAP; the watched service is a
real TCP port (refused, then a listener); the storm comes from 50 real log
files that mailmond tails; the notice host that is down and comes back is
nothing listening, then socat forwarding to the lab's Postfix.
"""

import json
import re
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

import mmbin

LO = "127.0.0.1"


def free_ports(n):
    """n distinct free ports (bound together, so no two are the same)."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind((LO, 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def write_conf(tmp_path, lab, extra, rcpt="alice", noticeport=None, node="testnode",
               api_port=None):
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    api = api_port or free_ports(1)[0]
    empty = tmp_path / "empty.log"
    empty.touch()
    text = (
        "[daemon]\nstate_directory = %s\nrun_directory = %s\nheartbeat = 100ms\n"
        "[http]\nlisten = %s:%d\n[mta]\ntype = none\n[log]\nsources = %s\n"
        "[alarm]\nnoticehost = %s\nnoticeport = %d\nnoticesender = mailmon@lab.test\n"
        "noticercpt = %s@lab.test\nnode = %s\ndigest_window = 2s\nretry_min = 1s\n"
        "retry_max = 2s\nnoticetimeout = 5s\n"
        % (state, state, LO, api, empty, LO, noticeport or lab.ports["smtpd"], rcpt, node))
    conf = tmp_path / "mailmon.conf"
    conf.write_text(text + extra)
    return str(conf), "%s:%d" % (LO, api), state


def mails(lab, user, pred=lambda m: True):
    return [m for m in lab.imap_fetch(user, lab.users[user]) if pred(m)]


def wait_mails(lab, user, pred, n=1, timeout=30):
    deadline = time.time() + timeout
    got = []
    while time.time() < deadline:
        got = mails(lab, user, pred)
        if len(got) >= n:
            return got
        time.sleep(0.3)
    raise AssertionError("%d mails expected for %s, got %d" % (n, user, len(got)))


def body_fields(msg):
    """The 'Name: value' lines of a mail body."""
    out = {}
    for line in msg.get_content().splitlines():
        m = re.match(r"^([A-Z][A-Za-z ]+?)(?: \(([^)]*)\))?: (.*)$", line)
        if m:
            out[m.group(1)] = (m.group(3), m.group(2))
    return out


class Listener:
    """A real TCP listener that accepts and closes: the service comes up."""

    def __init__(self, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((LO, port))
        self.sock.listen(16)
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                c.close()
            except OSError:
                pass

    def close(self):
        self.stop = True
        self.t.join()
        self.sock.close()


def firing_metric(api, alarm, instance):
    with urllib.request.urlopen("http://%s/metrics" % api, timeout=5) as r:
        text = r.read().decode()
    m = re.search(r'^mailmon_alarm_firing\{alarm="%s",instance="%s"\} (\S+)$'
                  % (re.escape(alarm), re.escape(instance)), text, re.M)
    return float(m.group(1)) if m else None


def test_mail_raise_kill9_restart_clear(lab, tmp_path):
    """ALARM mail with every field, no second one after kill -9 and a
    restart while the alarm holds, then exactly one CLEARED mail."""
    port, api_port = free_ports(2)
    svc = "deadsvc%d" % port
    conf, api, state = write_conf(
        tmp_path, lab, api_port=api_port, extra=
        "[alarm.servicedown]\nstatinterval = 1s\n"
        "[service.%s]\nurl = tcp://%s:%d\ninterval = 1s\nconnect_timeout = 1s\n" % (svc, LO, port))
    d = mmbin.Daemon(conf, str(tmp_path / "d.log"))
    t0 = time.time()
    d.start(api=api)
    try:
        subj = 'ALARM: service availability (1 up, 0 down) of "%s" is 0' % svc
        got = wait_mails(lab, "alice", lambda m: m["Subject"] == subj)
        t1 = time.time()
        msg = got[0]
        f = body_fields(msg)
        assert f["Server instance"][0] == "testnode"
        assert f["Alarm id"][0] == "servicedown"
        assert f["Instance"][0] == svc
        assert f["Description"][0] == "service availability (1 up, 0 down)"
        value, when = f["Current measured value"]
        assert value == "0"
        ts = time.mktime(time.strptime(when, "%Y-%m-%d %H:%M:%S UTC")) - time.timezone
        assert t0 - 1 <= ts <= t1 + 1
        assert f["Lowest recorded value"][0] == "0"
        assert f["Highest recorded value"][0] == "0"
        assert f["Monitoring interval"][0] == "1 seconds"
        assert f["Threshold"][0] == "below 1"
        assert f["Number of times over threshold"][0] == "1"
        assert f["State"][0] == "raised"
        assert f["Severity"][0] == "critical"
        body = msg.get_content().replace("\r\n", "\n")
        assert "Likely cause:\nService %s does not answer" % svc in body
        assert "Next command:\nmailmon status" in body
        assert msg["From"].addresses[0].addr_spec == "mailmon@lab.test"
        assert msg["Auto-Submitted"] == "auto-generated"
        assert firing_metric(api, "servicedown", svc) == 1
        # the alarm object and the list agree with the mail
        out = mmbin.mailmon("alarms", "--json", "--api", api, check=True)
        inst = [a for a in json.loads(out.stdout)["alarms"]
                if a["alarm"] == "servicedown" and a["instance"] == svc][0]
        assert inst["state"] == "firing" and inst["countwarningsent"] == 1
        assert inst["last_notification"].startswith("mail sent")
        cu = mmbin.mailmon("counterutil", "-o", "alarm", "--api", api, check=True).stdout
        assert "servicedown.%s.warningstate = 1" % svc in cu
        assert "servicedown.%s.countwarningsent = 1" % svc in cu

        # crash while raised, restart: the alarm holds, nothing is sent again
        d.kill9()
        d.start(api=api)
        time.sleep(4)
        assert len(mails(lab, "alice", lambda m: m["Subject"] == subj)) == 1
        assert "CLEARED" not in d.log()

        # the service comes up: one CLEARED mail
        listener = Listener(port)
        try:
            csubj = 'CLEARED: service availability (1 up, 0 down) of "%s" is 1' % svc
            got = wait_mails(lab, "alice", lambda m: m["Subject"] == csubj)
            cf = body_fields(got[0])
            assert cf["State"][0] == "cleared"
            assert cf["Highest recorded value"][0] == "1"
            assert cf["Lowest recorded value"][0] == "0"
            time.sleep(2)
            assert len(mails(lab, "alice", lambda m: m["Subject"] == csubj)) == 1
            assert len(mails(lab, "alice", lambda m: m["Subject"] == subj)) == 1
            assert firing_metric(api, "servicedown", svc) == 0
        finally:
            listener.close()
    finally:
        d.stop()
    # independent count: Postfix logged exactly two deliveries from the sender
    # for this test's alarms to alice (one ALARM, one CLEARED)
    assert not list((state / "alarm-outbox").glob("0*"))


def test_storm_makes_one_digest(lab, tmp_path):
    """50 alarm instances raised in one sample go out as one digest."""
    logs = []
    for i in range(50):
        p = tmp_path / ("src%02d.log" % i)
        p.write_text("")
        logs.append(str(p))
    conf, api, state = write_conf(
        tmp_path, lab,
        "[alarm.storm]\nmetric = mailmon_log_lines_total{source=~\".*/src[0-9]+\\\\.log\"}\n"
        "threshold = 0\nstatinterval = 1s\ndescription = storm lines\n", rcpt="bob")
    text = open(conf).read().replace("sources = %s" % (tmp_path / "empty.log"),
                                     "sources = " + ",\n  ".join(logs))
    open(conf, "w").write(text)
    d = mmbin.Daemon(conf, str(tmp_path / "d.log"))
    d.start(api=api)
    try:
        time.sleep(1)  # mailmond opened every log (at its end)
        for p in logs:
            with open(p, "a") as f:
                f.write("Dec  7 10:00:00 host postfix/smtpd[1]: connect from x[127.0.0.9]\n")
        tag = str(tmp_path)
        got = wait_mails(lab, "bob", lambda m: tag in m.get_content()
                         and m["Subject"].startswith("ALARM DIGEST"))
        time.sleep(3)
        related = mails(lab, "bob", lambda m: tag in m.get_content())
        assert len(related) == 1, [m["Subject"] for m in related]
        msg = got[0]
        assert msg["Subject"] == ("ALARM DIGEST: 50 alarm changes on testnode "
                                  "(50 raised, 0 cleared)")
        body = msg.get_content().replace("\r\n", "\n")
        for p in logs:
            assert 'ALARM: storm lines of "%s" is 1\n' % p in body
        out = json.loads(mmbin.mailmon("alarms", "--json", "--api", api, check=True).stdout)
        firing = [a for a in out["alarms"] if a["alarm"] == "storm" and a["state"] == "firing"]
        assert len(firing) == 50
    finally:
        d.stop()


def test_notice_host_down_queued_then_delivered(lab, tmp_path):
    """Nothing listens at the notice port: the mail is queued in the state
    directory and retried; once a real path to Postfix opens, it is
    delivered exactly once."""
    port, nport, api_port = free_ports(3)
    svc = "downsvc%d" % port
    conf, api, state = write_conf(
        tmp_path, lab, api_port=api_port, extra=
        "[alarm.servicedown]\nstatinterval = 1s\n"
        "[service.%s]\nurl = tcp://%s:%d\ninterval = 1s\nconnect_timeout = 1s\n"
        % (svc, LO, port), noticeport=nport)
    d = mmbin.Daemon(conf, str(tmp_path / "d.log"))
    d.start(api=api)
    socat = None
    try:
        deadline = time.time() + 20
        doc = None
        while time.time() < deadline:
            doc = json.loads(mmbin.mailmon("alarms", "--json", "--api", api,
                                           check=True).stdout)
            if doc["outbox"]["failures"] >= 2:
                break
            time.sleep(0.3)
        assert doc["outbox"]["queued"] == 1
        assert "refused" in doc["outbox"]["last_error"]
        queued = list((state / "alarm-outbox").glob("0*.mail"))
        assert len(queued) == 1
        assert "Subject: ALARM: service availability" in queued[0].read_text()
        listing = mmbin.mailmon("alarms", "--api", api, check=True).stdout
        assert "1 queued" in listing and "refused" in listing
        subj = 'ALARM: service availability (1 up, 0 down) of "%s" is 0' % svc
        assert not mails(lab, "alice", lambda m: m["Subject"] == subj)
        # the notice host comes back
        socat = subprocess.Popen(["socat", "TCP-LISTEN:%d,bind=%s,reuseaddr,fork" % (nport, LO),
                                  "TCP:%s:%d" % (LO, lab.ports["smtpd"])])
        wait_mails(lab, "alice", lambda m: m["Subject"] == subj, timeout=20)
        time.sleep(3)
        assert len(mails(lab, "alice", lambda m: m["Subject"] == subj)) == 1
        assert not list((state / "alarm-outbox").glob("0*"))
        doc = json.loads(mmbin.mailmon("alarms", "--json", "--api", api, check=True).stdout)
        assert doc["outbox"]["queued"] == 0 and doc["outbox"]["delivered"] == 1
    finally:
        if socat:
            socat.terminate()
            socat.wait()
        d.stop()


@pytest.mark.parametrize("section,want", [
    ("[alarm.x]\nmetric = mailmon_nosuch_total\nthreshold = 1\n",
     r":\d+: \[alarm\.x\] metric: "),
    ("[alarm.x]\nmetric = mailmon_service_up{service=\"a\"\nthreshold = 1\n",
     r":\d+: \[alarm\.x\] metric: selector"),
    ("[alarm.x]\nmetric = mailmon_service_up\nthreshold = 5\n",
     r":\d+: \[alarm\.x\] threshold: above 5 can never fire"),
    ("[alarm]\nnoticetemplate = /nonexistent/template\n",
     r":\d+: \[alarm\] noticetemplate: cannot read /nonexistent/template"),
])
def test_bad_alarm_config_names_the_line(lab, tmp_path, section, want):
    conf, api, state = write_conf(tmp_path, lab, section)
    lines = open(conf).read().splitlines()
    key = re.search(r"\\\] (\w+):", want).group(1)
    lineno = [i + 1 for i, l in enumerate(lines) if l.startswith(key + " =")][-1]
    want_line = want.replace(r":\d+:", ":%d:" % lineno)
    # mailmond refuses to start, naming file and line
    r = subprocess.run([mmbin.binary("mailmond"), "-f", "-c", conf], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode != 0
    assert re.search(re.escape(conf) + want_line, r.stdout + r.stderr), r.stdout + r.stderr
    if "nosuch" not in section:  # needs the running registry
        r = mmbin.mailmon("config", "check", conf)
        assert r.returncode == 1
        assert re.search(re.escape(conf) + want_line, r.stderr), r.stderr


def wait_http_json(url, pred, timeout=20):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                last = json.loads(r.read())
            if pred(last):
                return last
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError("timed out waiting on %s; last answer %r" % (url, last))


def test_alertmanager_lists_the_alarm(lab, tmp_path):
    """A real prometheus-alertmanager on loopback receives the alarm with its
    labels and annotations, and the clear (endsAt) resolves it."""
    am_bin = mmbin.require("/usr/bin/prometheus-alertmanager")
    port, am_port, api_port = free_ports(3)
    svc = "amsvc%d" % port
    amdir = tmp_path / "am"
    amdir.mkdir()
    (amdir / "am.yml").write_text(
        "route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n")
    am = subprocess.Popen([am_bin, "--config.file=%s" % (amdir / "am.yml"),
                           "--storage.path=%s" % (amdir / "data"),
                           "--web.listen-address=%s:%d" % (LO, am_port),
                           "--cluster.listen-address="],
                          stdout=open(amdir / "am.log", "w"), stderr=subprocess.STDOUT)
    d = None
    try:
        base = "http://%s:%d" % (LO, am_port)
        wait_http_json(base + "/api/v2/status", lambda doc: "cluster" in doc)
        conf, api, state = write_conf(
            tmp_path, lab, api_port=api_port, extra=
            "[alarm]\nalertmanager_url = %s\nalertmanager_timeout = 3s\n"
            "[alarm.servicedown]\nstatinterval = 1s\n"
            "[service.%s]\nurl = tcp://%s:%d\ninterval = 1s\nconnect_timeout = 1s\n"
            % (base, svc, LO, port))
        # [alarm] twice is refused: fold the extra keys into the first section
        text = open(conf).read()
        text = text.replace("[alarm]\nalertmanager_url", "alertmanager_url", 1)
        open(conf, "w").write(text)
        d = mmbin.Daemon(conf, str(tmp_path / "d.log"))
        t0 = time.time()
        d.start(api=api)
        mine = lambda a: a["labels"].get("instance") == svc
        alerts = wait_http_json(base + "/api/v2/alerts",
                                lambda doc: any(mine(a) for a in doc))
        a = [a for a in alerts if mine(a)][0]
        assert a["labels"] == {"alertname": "servicedown", "instance": svc,
                               "severity": "critical", "node": "testnode"}
        assert a["annotations"]["description"] == "service availability (1 up, 0 down)"
        assert a["annotations"]["summary"] == \
            'ALARM: service availability (1 up, 0 down) of "%s" is 0' % svc
        assert "does not answer" in a["annotations"]["cause"]
        assert a["annotations"]["command"].startswith("mailmon status")
        assert a["status"]["state"] == "active"
        starts = time.mktime(time.strptime(a["startsAt"][:19], "%Y-%m-%dT%H:%M:%S")) \
            - time.timezone
        assert t0 - 2 <= starts <= time.time() + 1
        # the service comes up: the alert is resolved (endsAt in the past)
        listener = Listener(port)
        try:
            def resolved(doc):
                m = [x for x in doc if mine(x)]
                if not m:
                    return True
                ends = time.mktime(time.strptime(m[0]["endsAt"][:19],
                                                 "%Y-%m-%dT%H:%M:%S")) - time.timezone
                return ends <= time.time()
            wait_http_json(base + "/api/v2/alerts", resolved)
        finally:
            listener.close()
    finally:
        if d:
            d.stop()
        am.terminate()
        am.wait(10)


def test_exec_hook_and_template(lab, tmp_path):
    """[alarm] exec runs once per change with the alarm in MAILMON_*
    variables; noticetemplate replaces the mail body, fields filled in."""
    port, api_port = free_ports(2)
    svc = "tplsvc%d" % port
    out = tmp_path / "hook"
    tpl = tmp_path / "template.txt"
    tpl.write_text("Alarm ${alarm} on ${instance} is ${value} (${state}, ${severity}).\n"
                   "Threshold ${direction} ${threshold}; ${unknown} stays.\n")
    conf, api, state = write_conf(
        tmp_path, lab, api_port=api_port, rcpt="bob", extra=
        "exec = /bin/sh -c \"env | grep ^MAILMON_ | sort > %s.$MAILMON_STATE\"\n"
        "noticetemplate = %s\n"
        "[alarm.servicedown]\nstatinterval = 1s\n"
        "[service.%s]\nurl = tcp://%s:%d\ninterval = 1s\nconnect_timeout = 1s\n"
        % (out, tpl, svc, LO, port))
    d = mmbin.Daemon(conf, str(tmp_path / "d.log"))
    d.start(api=api)
    try:
        raised = tmp_path / "hook.raised"
        deadline = time.time() + 20
        while time.time() < deadline and not (raised.exists() and raised.read_text()):
            time.sleep(0.2)
        env = dict(l.split("=", 1) for l in raised.read_text().splitlines())
        assert env["MAILMON_ALARM"] == "servicedown"
        assert env["MAILMON_INSTANCE"] == svc
        assert env["MAILMON_STATE"] == "raised"
        assert env["MAILMON_VALUE"] == "0" and env["MAILMON_THRESHOLD"] == "1"
        assert env["MAILMON_DIRECTION"] == "below" and env["MAILMON_SEVERITY"] == "critical"
        assert env["MAILMON_NODE"] == "testnode"
        assert env["MAILMON_SUBJECT"] == \
            'ALARM: service availability (1 up, 0 down) of "%s" is 0' % svc
        subj = 'ALARM: service availability (1 up, 0 down) of "%s" is 0' % svc
        msg = wait_mails(lab, "bob", lambda m: m["Subject"] == subj)[0]
        body = msg.get_content().replace("\r\n", "\n")
        assert body == ("Alarm servicedown on %s is 0 (raised, critical).\n"
                        "Threshold below 1; ${unknown} stays.\n" % svc)
        listener = Listener(port)
        try:
            cleared = tmp_path / "hook.cleared"
            deadline = time.time() + 20
            while time.time() < deadline and not (cleared.exists() and cleared.read_text()):
                time.sleep(0.2)
            assert "MAILMON_STATE=cleared" in cleared.read_text()
        finally:
            listener.close()
    finally:
        d.stop()


def test_alarms_test_reports_each_channel(lab, tmp_path):
    """mailmon alarms test: the mail reaches the mailbox, the exec hook runs,
    an Alertmanager that is not there is reported as failed (exit 1)."""
    am_port, api_port = free_ports(2)
    hook = tmp_path / "hook"
    conf, api, state = write_conf(
        tmp_path, lab, api_port=api_port, rcpt="bob", node="testnode-%d" % am_port, extra=
        "exec = /bin/sh -c \"echo $MAILMON_ALARM > %s\"\n"
        "alertmanager_url = http://%s:%d\nalertmanager_timeout = 2s\n" % (hook, LO, am_port))
    r = mmbin.mailmon("-c", conf, "alarms", "test", timeout=30)
    assert r.returncode == 1, r.stdout + r.stderr
    lines = {l.split()[0]: l for l in r.stdout.splitlines()}
    assert lines["mail"].startswith("mail   ok: 250"), r.stdout
    assert "FAILED" in lines["alertmanager"], r.stdout
    assert lines["exec"].startswith("exec   ok"), r.stdout
    assert hook.read_text() == "test\n"
    subj = 'ALARM: mailmon test notice of "testnode-%d" is 1' % am_port
    wait_mails(lab, "bob", lambda m: m["Subject"] == subj)
