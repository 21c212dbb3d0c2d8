"""Privilege separation: with [daemon] user, the process that holds the
HTTP socket (and parses, probes) runs as that user; a root runner still
runs the services' restart commands and the disk lock/unlock commands,
taken from its own read of the root-owned config, and a root opener
hands over read-only descriptors of the Postfix queue files, so direct
queue reads still work (checked against `postqueue -j`). Forged and
malformed requests to the helpers are tested in tests/unit/ps_helper_test.c
(the same helper code, forked on a socketpair)."""
import ctypes
import grp
import errno
import json
import os
import pathlib
import pwd
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time

import pytest

import mmbin
from traffic import reason_class

sys.path.insert(0, os.path.join(mmbin.SOURCE_DIR, "lab"))
import mailmonlab  # noqa: E402

LO = "127.0.0.1"


@pytest.fixture(scope="module")
def lab():
    """Only Postfix: the queue tests need no other server (fewer ports to
    race other tests for)."""
    with mailmonlab.Lab(components=("postfix",)) as running:
        yield running


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


def separated_queue_conf(lab, scan_interval):
    """A temp dir with a config for a separated mailmond watching the lab's
    Postfix queue: (dir, config path, config text, api address). The
    config lies in the state directory, which mailmond hands to its user:
    the config must stay root's, or the helpers would refuse it."""
    top = tempfile.mkdtemp(prefix="mm-privsep-")
    os.chmod(top, 0o711)
    state = os.path.join(top, "state")
    os.mkdir(state)
    port = mmbin.free_port()
    conf = os.path.join(state, "mailmon.conf")
    text = (f"[daemon]\nuser = mailmon\nstate_directory = {state}\n"
            f"run_directory = {state}\n[http]\nlisten = {LO}:{port}\n"
            f"[mta]\nconfig_directory = {lab.paths['postfix_config_dir']}\n"
            f"[queue]\nscan_interval = {scan_interval}\n[log]\nsources =\n")
    with open(conf, "w") as f:
        f.write(text)
    return top, conf, text, f"{LO}:{port}"


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
    top, conf, _, api = separated_queue_conf(lab, "1s")
    try:
        d = mmbin.Daemon(conf, os.path.join(top, "mailmond.log"))
        d.start(api=api)
        try:
            assert uids(d.proc.pid) == [mailmon_user.pw_uid] * 4
            assert os.stat(conf).st_uid == 0
            assert os.stat(os.path.dirname(conf)).st_uid == mailmon_user.pw_uid
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


def pidfd_getfd(pid, fd):
    """A copy of another process's descriptor (pidfd_getfd(2); root)."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        got = libc.syscall(438, pidfd, fd, 0)  # SYS_pidfd_getfd on every Linux arch
        if got < 0:
            raise OSError(ctypes.get_errno(), "pidfd_getfd")
        return got
    finally:
        os.close(pidfd)


def socket_to(pid, peer_pid):
    """mailmond's (pid) end of its socketpair with peer_pid, from ss."""
    out = subprocess.run(["ss", "-Hxp"], capture_output=True, text=True, check=True).stdout
    inode_of = {}  # socket inode -> (pid, fd)
    peers = {}     # socket inode -> peer inode
    for line in out.splitlines():
        f = line.split()
        if len(f) < 8 or not f[5].isdigit() or not f[7].isdigit():
            continue
        peers[int(f[5])] = int(f[7])
        for p, fd in re.findall(r"pid=(\d+),fd=(\d+)", line):
            inode_of.setdefault(int(f[5]), []).append((int(p), int(fd)))
    for ino, owners in inode_of.items():
        for p, fd in owners:
            if p == pid and any(q == peer_pid for q, _ in inode_of.get(peers.get(ino), [])):
                return fd
    raise AssertionError("no socket of %d to %d in ss -xp:\n%s" % (pid, peer_pid, out))


def queue_open(sock, instance, queue, file):
    """One MM_PS_QUEUE_OPEN (psmsg.h layout); (errno, fd or None), or
    None when the helper closed the channel instead of answering."""
    payload = struct.pack("<I", instance) + queue.ljust(64, b"\0") + file.ljust(64, b"\0")
    sock.sendall(struct.pack("<HHI", 5, 0, len(payload)) + payload)
    data, anc, _, _ = sock.recvmsg(64, socket.CMSG_SPACE(4 * 4))
    fds = []
    for level, kind, blob in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += list(struct.unpack("%di" % (len(blob) // 4), blob[:len(blob) // 4 * 4]))
    if not data:
        return None
    while len(data) < 12:
        data += sock.recv(12 - len(data))
    typ, _, length, err = struct.unpack("<HHII", data[:12])
    assert typ == 6 and length == 4, data
    return err, (fds[0] if fds else None)


def test_opener_refuses_forged_requests(lab, mailmon_user):
    """A compromised mailmond writing its own requests to the root opener:
    a queue directory outside the backend's layout and an instance the
    root-owned config does not have are refused with an errno, and bytes
    going up the tree end the helper; mailmond then reports the queue as
    unreadable through the helper, and the helper as gone."""
    top, conf, text, api = separated_queue_conf(lab, "1h")
    try:
        d = mmbin.Daemon(conf, os.path.join(top, "mailmond.log"))
        st = d.start(api=api)
        sock = None
        try:
            opener = [p for p in st["privileges"]["processes"] if p["name"] == "opener"][0]
            deadline = time.time() + 20
            while d.get(api, "/api/queue").get("scans", 0) < 1:
                assert time.time() < deadline, d.log()[-2000:]
                time.sleep(0.2)
            # The queue thread is idle now (next scan in an hour): the
            # channel is ours.
            fd = pidfd_getfd(d.proc.pid, socket_to(d.proc.pid, opener["pid"]))
            sock = socket.socket(fileno=fd)
            sock.settimeout(5)
            err, qfd = queue_open(sock, 0, b"deferred", b"")
            assert err == 0 and qfd is not None and stat.S_ISDIR(os.fstat(qfd).st_mode)
            os.close(qfd)
            assert queue_open(sock, 0, b"bounce", b"") == (errno.EPERM, None)
            assert queue_open(sock, 0, b"private", b"") == (errno.EPERM, None)
            assert queue_open(sock, 7, b"deferred", b"") == (errno.ENXIO, None)
            assert queue_open(sock, 0, b"deferred", b"../../../etc/shadow") is None
            deadline = time.time() + 5
            while mailmonlab.is_alive(opener["pid"]):
                assert time.time() < deadline, "the opener lives on"
                time.sleep(0.05)
            # The next scan finds the helper gone and says so.
            with open(conf, "w") as f:
                f.write(text.replace("scan_interval = 1h", "scan_interval = 1s"))
            d.signal(signal.SIGHUP)
            deadline = time.time() + 15
            while "privileged helper" not in (d.get(api, "/api/queue").get("error") or ""):
                assert time.time() < deadline, (d.get(api, "/api/queue"), d.log()[-2000:])
                time.sleep(0.2)
            priv = d.get(api, "/api/status")["privileges"]
            gone = [p for p in priv["processes"] if p["name"] == "opener"][0]
            assert gone["alive"] is False, priv
            r = mmbin.mailmon("status", "--api", api)
            assert "opener: pid %d, root (GONE)" % opener["pid"] in r.stdout, r.stdout
        finally:
            if sock:
                sock.close()
            assert d.stop() == 0, d.log()[-2000:]
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_separated_log_file_reopens_after_logrotate(mailmon_user):
    """[daemon] log_file is opened as root before the drop; mailmond hands it
    to its user, and the file logrotate creates (packaging/logrotate's
    `create` line) is one the user can reopen on SIGUSR1."""
    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix="mm-privsep-"))  # reachable by mailmon
    os.chmod(tmp_path, 0o711)
    logdir = tmp_path / "log"
    logdir.mkdir(mode=0o750)
    log = logdir / "mailmond.log"
    port = mmbin.free_port()
    conf = tmp_path / "mailmon.conf"
    conf.write_text(f"[daemon]\nuser = mailmon\nstate_directory = {tmp_path}\n"
                    f"run_directory = {tmp_path}\nlog_file = {log}\n"
                    f"[http]\nlisten = {LO}:{port}\n[queue]\nenable = no\n[log]\nsources =\n")
    d = mmbin.Daemon(str(conf), str(tmp_path / "stderr.log"))
    d.start(api=f"{LO}:{port}")
    try:
        assert os.stat(log).st_uid == mailmon_user.pw_uid
        create = re.search(r"^\s*create\s+(\d+)\s+(\S+)\s+(\S+)$",
                           open(os.path.join(mmbin.SOURCE_DIR, "packaging", "logrotate")).read(),
                           re.M)
        mode, owner, group = int(create.group(1), 8), create.group(2), create.group(3)
        # what logrotate does: move the file away, create the new one, signal
        os.rename(log, str(log) + ".1")
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        os.fchown(fd, pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid)
        os.close(fd)
        d.signal(signal.SIGUSR1)
        deadline = time.time() + 10
        while "log file reopened" not in log.read_text():
            assert time.time() < deadline, (str(log) + ".1: " + open(str(log) + ".1").read()[-1500:])
            time.sleep(0.1)
    finally:
        assert d.stop() == 0
        shutil.rmtree(tmp_path, ignore_errors=True)
