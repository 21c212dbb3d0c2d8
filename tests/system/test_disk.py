"""System tests for the disk monitor (issue 9): a real filesystem crossing a
real threshold. A small tmpfs is mounted when the machine allows it;
otherwise the lock threshold is set just under the real use of the test's
own filesystem and lifted by a reload.  While the partition is locked the
node verdict names it and the HAProxy agent answers drain: a real HAProxy
with agent-check on mailmond shows the server DRAIN (agent), and UP again
after the unlock (issue 15)."""

import json
import os
import re
import signal
import subprocess
import time
import urllib.request

import pytest

import mailmonlab
import mmbin
from clusternode import agent_answer, haproxy_status

LO = "127.0.0.1"


def api_get(api, path):
    with urllib.request.urlopen("http://%s%s" % (api, path), timeout=5) as r:
        return json.loads(r.read())


def wait(pred, timeout=20, what=""):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("timed out: " + what)


def used_percent(path):
    st = os.statvfs(path)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    return 100.0 * used / (used + avail)


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        yield None
        return
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def conf_text(tmp_path, api_port, path, threshold, extra=""):
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    actions = tmp_path / "actions"
    return (
        "[daemon]\nstate_directory = %s\nrun_directory = %s\nheartbeat = 100ms\n"
        "[http]\nlisten = %s:%d\n[mta]\ntype = none\n[log]\nsources = %s/none.log\n"
        "[alarm]\nmail = no\n[alarm.disklocked]\nstatinterval = 1s\n"
        "[disk]\npaths = %s\ninterval_min = 1s\ninterval_max = 2s\n"
        "lock_threshold = %s\nlock_hysteresis = 10\n"
        "lock_command = /bin/sh -c \"echo lock $MAILMON_DISK_PATH >> %s\"\n"
        "unlock_command = /bin/sh -c \"echo unlock $MAILMON_DISK_PATH >> %s\"\n%s"
        % (state, state, LO, api_port, tmp_path, path, threshold, actions, actions, extra))


def actions(tmp_path):
    p = tmp_path / "actions"
    return p.read_text().split("\n")[:-1] if p.exists() else []


def test_partition_lock_and_unlock_once_each(tmp_path, small_fs):
    api_port, agent_port = mmbin.free_port(), mmbin.free_port()
    api = "%s:%d" % (LO, api_port)
    agent = ("[cluster]\ninterval = 1s\nstall_window = 10s\nagent_listen = %s:%d\n"
             % (LO, agent_port))
    conf = tmp_path / "mailmon.conf"
    if small_fs is not None:
        path = str(small_fs)
        conf.write_text(conf_text(tmp_path, api_port, path, 50, agent))
    else:
        if os.environ.get("CI") == "true" and os.geteuid() == 0:
            pytest.fail("cannot mount a tmpfs as root under CI")
        path = str(tmp_path)
        conf.write_text(conf_text(tmp_path, api_port, path,
                                  "%.2f" % max(used_percent(path) - 0.5, 0.01), agent))
    d = mmbin.Daemon(str(conf), str(tmp_path / "d.log"))
    d.start(api=api)
    hap = None
    try:
        # HAProxy's health check connects to the API port; its agent-check
        # asks mailmond's agent.
        mmbin.require("haproxy", "scripts/install-deps installs it")
        hap = mailmonlab.Lab(components=("haproxy",), haproxy_servers=[
            {"name": "node", "port": api_port, "agent_port": agent_port}]).start()
        # values agree with statvfs taken here
        doc = wait(lambda: [p for p in api_get(api, "/api/disk")["diskusage"]
                            if "availSpace" in p], what="first stat")
        st = os.statvfs(path)
        assert doc[0]["mailPartitionPath"] == path
        assert doc[0]["totalSpace"] == st.f_blocks * st.f_frsize // 1024
        cu = mmbin.mailmon("counterutil", "-o", "diskusage", "--api", api, check=True).stdout
        assert "%s.totalSpace = %d" % (path, st.f_blocks * st.f_frsize // 1024) in cu
        wait(lambda: agent_answer(agent_port) == "up ready 100%\n", what="agent ready")
        wait(lambda: haproxy_status(hap).get("node") == "UP", what="HAProxy UP")
        if small_fs is not None:
            assert actions(tmp_path) == []
            big = small_fs / "fill"
            with open(big, "wb") as f:
                f.write(b"x" * (5 << 20))  # 62.5 % used
        wait(lambda: actions(tmp_path), what="lock command")
        assert actions(tmp_path) == ["lock " + path]
        wait(lambda: [a for a in api_get(api, "/api/alarms")["alarms"]
                      if a["alarm"] == "disklocked" and a["instance"] == path
                      and a["state"] == "firing"], what="disklocked alarm")
        with urllib.request.urlopen("http://%s/metrics" % api, timeout=5) as r:
            text = r.read().decode()
        assert re.search(r'^mailmon_disk_locked\{path="%s"\} 1$' % re.escape(path), text, re.M)
        # The agent drains the node, naming the partition; the verdict too.
        answer = wait(lambda: (lambda a: a if a.startswith("drain #") else None)(
            agent_answer(agent_port)), what="agent drain")
        m = re.match(r"drain #partition %s is locked \(([0-9.]+)%% available\)\n$"
                     % re.escape(path), answer)
        assert m, answer
        assert abs(float(m.group(1)) - (100 - used_percent(path))) < 2, (answer,
                                                                        used_percent(path))
        st_out = mmbin.mailmon("-c", str(conf), "status").stdout
        assert re.search(r"%s: [0-9.]+%% available, LOCKED" % re.escape(path), st_out), st_out
        assert re.match(r"verdict: degraded \(partition %s is locked \(" % re.escape(path),
                        st_out), st_out
        v = api_get(api, "/api/status")["verdict"]
        assert v["cause"] == answer[len("drain #"):-1], (v, answer)
        wait(lambda: haproxy_status(hap).get("node") == "DRAIN (agent)",
             what="HAProxy DRAIN (agent) while locked")
        assert re.search(r'^mailmon_disk_lock_actions_total\{path="%s",action="lock",'
                         r'result="ok"\} 1$' % re.escape(path), text, re.M)
        if small_fs is not None:
            # inside the hysteresis band (45 %, threshold 50 - 10): stays locked
            os.truncate(big, int(3.6 * (1 << 20)))
            time.sleep(4)
            assert actions(tmp_path) == ["lock " + path]
            os.unlink(big)
        else:
            text = conf.read_text()
            text = re.sub(r"lock_threshold = \S+", "lock_threshold = 99.99", text)
            text = text.replace("lock_hysteresis = 10", "lock_hysteresis = 0")
            conf.write_text(text)
            d.signal(signal.SIGHUP)
        wait(lambda: len(actions(tmp_path)) >= 2, what="unlock command")
        time.sleep(3)
        assert actions(tmp_path) == ["lock " + path, "unlock " + path]
        assert (tmp_path / "state" / "disk-locks").read_text() == "mailmon-disk-locks 1\n"
        st_out = mmbin.mailmon("-c", str(conf), "status").stdout
        assert path + ":" in st_out and "LOCKED" not in st_out, st_out
        wait(lambda: agent_answer(agent_port) == "up ready 100%\n", what="agent ready again")
        wait(lambda: haproxy_status(hap).get("node") == "UP",
             what="HAProxy UP again (the agent answered ready)")
        st_out = mmbin.mailmon("-c", str(conf), "status").stdout
        assert st_out.startswith("verdict: healthy"), st_out
    finally:
        if hap:
            hap.stop()
        d.stop()
