"""Privilege separation: with [daemon] user, the process that holds the
HTTP socket (and parses, probes) runs as that user, and a root helper
still runs the services' restart commands, taken from its own read of the
root-owned config."""
import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time

import pytest

import mmbin

LO = "127.0.0.1"


@pytest.fixture
def mailmon_user():
    try:
        return pwd.getpwnam("mailmon")
    except KeyError:
        # scripts/install-deps makes it; a bare machine gets it here.
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                        "--shell", "/usr/sbin/nologin", "mailmon"], check=True)
        return pwd.getpwnam("mailmon")


def uids(pid):
    with open(f"/proc/{pid}/status") as f:
        line = [ln for ln in f if ln.startswith("Uid:")][0]
    return [int(x) for x in line.split()[1:]]


def test_http_runs_unprivileged_restarts_through_the_helper(mailmon_user):
    top = tempfile.mkdtemp(prefix="mm-privsep-")
    try:
        os.chmod(top, 0o711)  # the user must reach its state and run dirs
        state, run = os.path.join(top, "state"), os.path.join(top, "run")
        os.mkdir(state)
        os.mkdir(run)
        rootonly = os.path.join(top, "rootonly")
        os.mkdir(rootonly, 0o700)
        mark = os.path.join(rootonly, "restarted")
        port = mmbin.free_port()
        conf = os.path.join(top, "mailmon.conf")
        with open(conf, "w") as f:
            f.write(f"[daemon]\nuser = mailmon\nheartbeat = 100ms\n"
                    f"state_directory = {state}\nrun_directory = {run}\n"
                    f"[http]\nlisten = {LO}:{port}\n[queue]\nenable = no\n[log]\nsources =\n"
                    f"[service.dead]\nurl = tcp://{LO}:{mmbin.free_port()}\ninterval = 1s\n"
                    f"failures = 1\ncycles = 1\nverify_delay = 0\n"
                    f"restart = /usr/bin/touch {mark}\n")
        d = mmbin.Daemon(conf, os.path.join(top, "mailmond.log"))
        api = f"{LO}:{port}"
        st = d.start(api=api)
        try:
            priv = st["privileges"]
            assert priv["separated"] is True, priv
            main, helper = priv["processes"]
            assert main["pid"] == d.proc.pid
            assert uids(d.proc.pid) == [mailmon_user.pw_uid] * 4, uids(d.proc.pid)
            assert uids(helper["pid"])[1] == 0
            # The listening socket belongs to the unprivileged process.
            out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True,
                                 text=True).stdout
            pids = {int(p) for p in re.findall(r"pid=(\d+)", out)}
            assert pids == {d.proc.pid}, out
            # The probe fails; the restart command runs as root (only root
            # can write in rootonly/) through the helper.
            deadline = time.time() + 15
            while not os.path.exists(mark):
                assert time.time() < deadline, d.log()[-3000:]
                time.sleep(0.1)
            assert os.stat(mark).st_uid == 0
            r = mmbin.mailmon("status", "--api", api)
            assert "runs as uid %d" % mailmon_user.pw_uid in r.stdout, r.stdout
            log = d.log()
            assert "privsep: running as mailmon" in log
            assert 'restart command done service=dead result="exit 0' in log, log[-2000:]
            # State written after the drop still lands (the dirs were handed over).
            assert os.stat(state).st_uid == mailmon_user.pw_uid
        finally:
            d.stop()
        assert d.proc.returncode == 0, d.log()[-2000:]
    finally:
        if not os.environ.get("MAILMON_KEEP"):
            shutil.rmtree(top, ignore_errors=True)


def test_helper_refuses_without_a_config_user(tmp_path):
    port = mmbin.free_port()
    conf = tmp_path / "mailmon.conf"
    conf.write_text(f"[daemon]\nuser = no-such-user-xyz\nstate_directory = {tmp_path}\n"
                    f"run_directory = {tmp_path}\n[http]\nlisten = {LO}:{port}\n"
                    "[queue]\nenable = no\n[log]\nsources =\n")
    d = mmbin.Daemon(str(conf), str(tmp_path / "d.log"))
    d.start()
    assert d.proc.wait(10) == 1
    assert "daemon.user = no-such-user-xyz: no such user" in d.log(), d.log()


def test_separated_queue_scan_uses_postqueue(lab, mailmon_user):
    """After the drop the Postfix queue directories are out of reach, so
    mode auto scans with postqueue, which any user may run."""
    top = tempfile.mkdtemp(prefix="mm-privsep-")
    try:
        os.chmod(top, 0o711)
        state = os.path.join(top, "state")
        os.mkdir(state)
        port = mmbin.free_port()
        conf = os.path.join(top, "mailmon.conf")
        with open(conf, "w") as f:
            f.write(f"[daemon]\nuser = mailmon\nstate_directory = {state}\n"
                    f"run_directory = {state}\n[http]\nlisten = {LO}:{port}\n"
                    f"[mta]\nconfig_directory = {lab.paths['postfix_config_dir']}\n"
                    "[queue]\nscan_interval = 1s\n[log]\nsources =\n")
        d = mmbin.Daemon(conf, os.path.join(top, "mailmond.log"))
        api = f"{LO}:{port}"
        d.start(api=api)
        try:
            deadline = time.time() + 20
            while True:
                q = d.get(api, "/api/queue")
                if q.get("scans", 0) >= 1 and q.get("queues") is not None:
                    break
                assert time.time() < deadline, (q, d.log()[-2000:])
                time.sleep(0.2)
            assert q["mode"] == "postqueue", q
            assert not q.get("error"), q
        finally:
            d.stop()
    finally:
        shutil.rmtree(top, ignore_errors=True)
