"""Privilege separation: with [daemon] user, the process that holds the
HTTP socket (and parses, probes) runs as that user; a root runner still
runs the services' restart commands and the disk lock/unlock commands,
taken from its own read of the root-owned config, and a root opener
hands over read-only descriptors of the Postfix queue files, so direct
queue reads still work (checked against `postqueue -j`). Forged and
malformed requests to the helpers are tested in tests/unit/ps_helper_test.c
(the same helper code, forked on a socketpair)."""
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import mmbin
from traffic import reason_class

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


def used_percent(path):
    st = os.statvfs(path)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    return 100.0 * used / (used + avail)


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
        acts = os.path.join(rootonly, "actions")
        part = os.path.join(top, "part")
        os.mkdir(part)
        port = mmbin.free_port()
        conf = os.path.join(top, "mailmon.conf")
        disk = (f"[disk]\npaths = {part}\ninterval_min = 1s\ninterval_max = 2s\n"
                f"lock_threshold = {max(used_percent(part) - 0.5, 0.01):.2f}\n"
                f"lock_hysteresis = 0\n"
                f"lock_command = /bin/sh -c \"echo lock $MAILMON_DISK_PATH $(id -u) >> {acts}\"\n"
                f"unlock_command = /bin/sh -c \"echo unlock $MAILMON_DISK_PATH $(id -u) >> {acts}\"\n")
        with open(conf, "w") as f:
            f.write(f"[daemon]\nuser = mailmon\nheartbeat = 100ms\n"
                    f"state_directory = {state}\nrun_directory = {run}\n"
                    f"[http]\nlisten = {LO}:{port}\n[queue]\nenable = no\n[log]\nsources =\n"
                    f"[service.dead]\nurl = tcp://{LO}:{mmbin.free_port()}\ninterval = 1s\n"
                    f"failures = 1\ncycles = 1\nverify_delay = 0\n"
                    f"restart = /usr/bin/touch {mark}\n" + disk)
        d = mmbin.Daemon(conf, os.path.join(top, "mailmond.log"))
        api = f"{LO}:{port}"
        st = d.start(api=api)
        try:
            priv = st["privileges"]
            assert priv["separated"] is True, priv
            main, runner, opener = priv["processes"]
            assert [p["name"] for p in priv["processes"]] == ["mailmond", "runner", "opener"]
            assert main["pid"] == d.proc.pid
            assert uids(d.proc.pid) == [mailmon_user.pw_uid] * 4, uids(d.proc.pid)
            assert uids(runner["pid"])[1] == 0 and uids(opener["pid"])[1] == 0
            assert runner["alive"] and opener["alive"]
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
            # The partition is over its lock threshold: the lock command
            # runs as root through the runner; after a reload that raises
            # the threshold, the unlock command.
            deadline = time.time() + 15
            while not (os.path.exists(acts) and "lock" in open(acts).read()):
                assert time.time() < deadline, d.log()[-3000:]
                time.sleep(0.1)
            with open(conf) as f:
                text = f.read()
            text = re.sub(r"lock_threshold = \S+", "lock_threshold = 99.99", text)
            with open(conf, "w") as f:
                f.write(text)
            d.signal(signal.SIGHUP)
            deadline = time.time() + 15
            while len(open(acts).read().splitlines()) < 2:
                assert time.time() < deadline, d.log()[-3000:]
                time.sleep(0.1)
            time.sleep(1)
            assert open(acts).read().splitlines() == [f"lock {part} 0", f"unlock {part} 0"]
            r = mmbin.mailmon("status", "--api", api)
            assert "runs as uid %d" % mailmon_user.pw_uid in r.stdout, r.stdout
            assert re.search(r"runner: pid %d, root" % runner["pid"], r.stdout), r.stdout
            assert re.search(r"opener: pid %d, root" % opener["pid"], r.stdout), r.stdout
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


def test_separated_direct_queue_reads_through_the_helper(lab, mailmon_user):
    """Postfix's queue directories are 0700 postfix (group membership is
    not enough), so after the drop mailmond reads them through the root
    opener: mode auto stays direct, and its figures (per queue messages,
    recipients and bytes, delay reasons from the defer logs) agree with
    `postqueue -j`."""
    qdir = subprocess.run(["postconf", "-c", lab.paths["postfix_config_dir"], "-h",
                           "queue_directory"], capture_output=True, text=True,
                          check=True).stdout.strip()
    for q in ("incoming", "active", "deferred", "hold", "defer"):
        assert os.stat(os.path.join(qdir, q)).st_mode & 0o077 == 0, q
    ids = [lab.send("alice@sender.test", ["u%d@dead.test" % i, "v%d@dead.test" % i])
           for i in range(4)]
    ids.append(lab.send("bob@sender.test", "w@dead.test"))

    def deferred_with_reasons():
        mine = [m for m in lab.postqueue_json() if m["queue_id"] in ids]
        return len(mine) == len(ids) and all(
            m["queue_name"] == "deferred" and all(r.get("delay_reason") for r in m["recipients"])
            for m in mine)
    lab.wait_for(deferred_with_reasons, timeout=60, what="test mail deferred with reasons")
    # Held mail is not retried: the queue holds still while both count it.
    for qid in ids:
        subprocess.run(["postsuper", "-c", lab.paths["postfix_config_dir"], "-h", qid],
                       check=True, capture_output=True)
    lab.wait_for(lambda: sum(m["queue_name"] == "hold" for m in lab.postqueue_json()) == len(ids),
                 timeout=10, what="held test mail")
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
        st = d.start(api=api)
        try:
            assert uids(d.proc.pid) == [mailmon_user.pw_uid] * 4
            deadline = time.time() + 20
            while True:
                q = d.get(api, "/api/queue")
                if q.get("scans", 0) >= 1 and q.get("queues") is not None:
                    break
                assert time.time() < deadline, (q, d.log()[-2000:])
                time.sleep(0.2)
            assert q["mode"] == "direct", q
            assert not q.get("error"), q
            assert q["scan"]["unreadable"] == 0 and q["scan"]["malformed"] == 0, q["scan"]
            pq = lab.postqueue_json()
            for name in ("hold", "deferred", "active", "incoming"):
                mine = [m for m in pq if m["queue_name"] == name]
                got = q["queues"][name]
                assert got["messages"] == len(mine), (name, got)
                assert got["recipients"] == sum(len(m["recipients"]) for m in mine), (name, got)
                assert got["bytes"] == sum(m["message_size"] for m in mine), (name, got)
            dest = q["queues"]["hold"]["destinations"][0]
            assert dest["destination"] == "dead.test"
            # the delay reasons come from the defer logs, opened by the helper
            # too: one class per recipient, as postqueue's texts say
            want = {}
            for m in pq:
                if m["queue_name"] == "hold":
                    for r in m["recipients"]:
                        c = reason_class(r.get("delay_reason"))
                        want[c] = want.get(c, 0) + 1
            assert sum(want.values()) == 9 and "none" not in want, want
            assert dest["reasons"] == want, (dest, want)
            priv = d.get(api, "/api/status")["privileges"]
            opener = [p for p in priv["processes"] if p["name"] == "opener"][0]
            assert opener["requests"] > len(ids) and opener["alive"], opener
        finally:
            assert d.stop() == 0, d.log()[-2000:]
    finally:
        shutil.rmtree(top, ignore_errors=True)
