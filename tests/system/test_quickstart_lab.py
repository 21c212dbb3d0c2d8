"""The quick start's pieces on a real lab: lab traffic is bounded and
reaches Postfix, lab/mailmon_conf.py writes a config mailmon accepts, and
mailmond runs on it and answers `mailmon status`."""
import os
import re
import subprocess
import sys

import pytest

import mmbin

LAB = os.path.join(mmbin.SOURCE_DIR, "lab")


def test_traffic_is_bounded_and_accepted(lab):
    before = len(re.findall(r"postfix/smtpd\[\d+\]: \w+: client=", lab.maillog_text()))
    r = subprocess.run([sys.executable, os.path.join(LAB, "mailmon-lab"), "traffic",
                        "--dir", lab.dir, "--rate", "600", "--duration", "2",
                        "--mix", "sink=1,dead=1", "--seed", "7"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    m = re.search(r"sent sink=(\d+), dead=(\d+), refused (\d+)", r.stdout)
    assert m, r.stdout
    sink, dead, refused = map(int, m.groups())
    assert refused == 0
    assert 5 <= sink + dead <= 25  # 600/min for 2 s, bounded by the duration
    lab.wait_for(lambda: len(re.findall(r"postfix/smtpd\[\d+\]: \w+: client=",
                                        lab.maillog_text())) - before == sink + dead,
                 timeout=30, what="smtpd accepted every traffic message")


def test_generated_config_runs_mailmond(lab, tmp_path):
    port = mmbin.free_port()
    conf = tmp_path / "mailmon.conf"
    r = subprocess.run([sys.executable, os.path.join(LAB, "mailmon_conf.py"),
                        os.path.join(lab.dir, "lab.json"), "--http", f"127.0.0.1:{port}"],
                       capture_output=True, text=True, timeout=30, check=True)
    conf.write_text(r.stdout)
    assert lab.paths["postfix_config_dir"] in r.stdout
    check = mmbin.mailmon("config", "check", str(conf))
    assert check.returncode == 0, check.stderr
    d = mmbin.Daemon(str(conf), str(tmp_path / "d.log"))
    try:
        st = d.start(api=f"127.0.0.1:{port}")
        assert st["config"] == str(conf)
        s = mmbin.mailmon("status", config=str(conf))
        assert s.returncode == 0, s.stderr
    finally:
        assert d.stop() == 0


def test_counterutil_logins_from_dovecot_log(lab, tmp_path):
    """counterutil imapstat/popstat login figures come from Dovecot's log
    through the channel counters: they equal the Login: lines and the failed
    attempts the log holds (probes log in too, so the log is read before and
    after the counters and the figure must lie between)."""
    import imaplib
    import poplib
    port = mmbin.free_port()
    conf = tmp_path / "mailmon.conf"
    r = subprocess.run([sys.executable, os.path.join(LAB, "mailmon_conf.py"),
                        os.path.join(lab.dir, "lab.json"), "--http", f"127.0.0.1:{port}"],
                       capture_output=True, text=True, timeout=30, check=True)
    conf.write_text(r.stdout.replace("[log]\n", "[log]\nstart_at = beginning\n", 1))
    lab.send("sender@sink.test", "alice@lab.test")  # at least one smtpd connection
    user, pw = "bob", lab.users["bob"]
    for _ in range(2):
        lab.imap_fetch(user, pw)
    with pytest.raises(imaplib.IMAP4.error):
        lab.imap_fetch(user, "wrong-password")
    lab.pop_fetch(user, pw)
    with pytest.raises(poplib.error_proto):
        lab.pop_fetch(user, "wrong-password")

    def figures(text, proto):
        good = len(re.findall(r"%s-login: Info: Login: " % proto, text))
        failed = sum(int(n) for n in re.findall(
            r"%s-login: Info: Disconnected.*\(auth failed, (\d+) attempts" % proto, text))
        return good, failed

    d = mmbin.Daemon(str(conf), str(tmp_path / "d.log"))
    try:
        d.start(api=f"127.0.0.1:{port}")
        api = f"127.0.0.1:{port}"
        log = lab.paths["dovecot_log"]
        # Failed logins reach the log after Dovecot's auth delay: wait for them.
        lab.wait_for(lambda: figures(open(log).read(), "pop3")[1] >= 1, timeout=20,
                     what="pop3 auth failure in the Dovecot log")
        for proto, obj in (("imap", "imapstat"), ("pop3", "popstat")):
            def settled():
                before = figures(open(log).read(), proto)
                got = d.get(api, "/api/counterutil")[obj]
                after = figures(open(log).read(), proto)
                g, f = got["global.numGoodLogins"], got["global.numFailedLogins"]
                if g is None or not (before[0] <= g <= after[0]) or f != after[1]:
                    return None
                return got
            got = lab.wait_for(settled, timeout=30, what=f"{obj} equal to the Dovecot log")
            assert got["global.numGoodLogins"] >= (2 if proto == "imap" else 1)
            assert got["global.numFailedLogins"] >= 1
            assert got["global.numConnections"] >= got["global.numGoodLogins"] + 1
        shown = mmbin.mailmon("counters", "-show", config=str(conf)).stdout
        imap_block = shown.split("Channel imap", 1)[1].split("Channel ", 1)[0]
        assert re.search(r"Failed login attempts\s+[1-9]", imap_block), imap_block
        smtp = lab.wait_for(lambda: (lambda o: o if o["global.numConnections"] else None)(
            d.get(api, "/api/counterutil")["smtpstat"]), timeout=30, what="smtpstat connections")
        connects = len(re.findall(r"postfix/smtpd\[\d+\]: connect from", lab.maillog_text()))
        assert 1 <= smtp["global.numConnections"] <= connects
        assert smtp["global.numGoodLogins"] is None  # SMTP AUTH is not counted yet
    finally:
        assert d.stop() == 0


def test_lab_stops_when_watched_pid_dies(tmp_path):
    """`mailmon-lab start --watch-pid PID` (what the quick start passes with
    its own pid): when that process dies, even by SIGKILL, every server the
    lab started is stopped."""
    import json
    import signal
    import time
    sys.path.insert(0, LAB)
    import mailmonlab
    owner = subprocess.Popen(["sleep", "300"])
    import pathlib
    import shutil
    import tempfile
    # Not under tmp_path: pytest makes it 0700, which Postfix cannot enter.
    labdir = pathlib.Path(tempfile.mkdtemp(prefix="mailmon-lab-watch-"))
    os.chmod(labdir, 0o711)
    try:
        r = subprocess.run([sys.executable, os.path.join(LAB, "mailmon-lab"), "start",
                            "--dir", str(labdir), "--components", "postfix",
                            "--watch-pid", str(owner.pid)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        info = json.loads((labdir / "lab.json").read_text())
        pids = [p for p in info["pids"].values() if p]
        assert pids and all(mailmonlab.is_alive(p) for p in pids)
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        deadline = time.time() + 20
        while time.time() < deadline and any(mailmonlab.is_alive(p) for p in pids):
            time.sleep(0.2)
        assert not any(mailmonlab.is_alive(p) for p in pids), info["pids"]
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        subprocess.run([sys.executable, os.path.join(LAB, "mailmon-lab"), "stop",
                        "--dir", str(labdir)], capture_output=True, timeout=60)
        shutil.rmtree(labdir, ignore_errors=True)
