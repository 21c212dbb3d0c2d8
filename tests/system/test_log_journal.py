"""System test: mailmond reads the systemd journal as a log source.

Real journal files are written by systemd-journal-remote from export
format (see LAB-NOTES) into a directory that mailmond reads through
[log] journal_directory. Checked: only postfix/dovecot identifiers are
taken, the lines reach the counters, the cursor survives a kill -9 and a
clean restart without loss or double count, and a journal file that
appears while mailmond runs is picked up.

Binaries come from MAILMON_BIN (default: build). Loopback only.
"""

import json
import os
import shutil
import subprocess
import time

import pytest

import mmbin

BIN = os.environ.get("MAILMON_BIN", "build")
REMOTE = "/lib/systemd/systemd-journal-remote"



@pytest.fixture(autouse=True)
def journal_remote():
    """Every test here writes journal files with systemd-journal-remote:
    without it they skip, except under CI=true, where they fail."""
    return mmbin.require(REMOTE, "scripts/install-deps installs systemd-journal-remote")


def write_journal(path, first, count, t0_usec):
    """count postfix/smtpd entries numbered from first, plus one sshd entry
    per 10 that the default match must skip."""
    entries = []
    for i in range(first, first + count):
        usec = t0_usec + i * 1000
        entries.append("__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n"
                       "_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=mx1\n"
                       "SYSLOG_IDENTIFIER=postfix/smtpd\nSYSLOG_PID=77\n"
                       "MESSAGE=connect from host%d.lab.test[127.0.0.5]\n" % (usec, i, i))
        if i % 10 == 0:
            entries.append("__REALTIME_TIMESTAMP=%d\n_BOOT_ID=0123456789abcdef0123456789abcdef\n"
                           "_HOSTNAME=mx1\nSYSLOG_IDENTIFIER=sshd\nMESSAGE=noise %d\n"
                           % (usec + 1, i))
    subprocess.run([REMOTE, "--output=" + path, "-"], input="\n".join(entries) + "\n",
                   text=True, check=True, capture_output=True, timeout=60)


class Daemon(mmbin.Daemon):
    """mailmond -f with its API on port; start() and api() answer /api/logs."""

    def __init__(self, conf, port, logpath):
        super().__init__(conf, logpath)
        self.port = port

    def start(self):
        super().start(api="127.0.0.1:%d" % self.port)
        return self.api()

    def api(self):
        return self.get("127.0.0.1:%d" % self.port, "/api/logs")

    def wait_lines(self, want, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.api()["lines"]
            if got >= want:
                break
            time.sleep(0.1)
        time.sleep(0.5)
        return self.api()["lines"]



def connects(conf):
    out = subprocess.run([os.path.join(BIN, "mailmon"), "-c", conf, "counters", "-show",
                          "--json"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return sum(c["inbound_associations_total"] for c in json.loads(out.stdout)["channels"]
               if c["name"] == "smtpd")


def test_journal_source(tmp_path):
    d = str(tmp_path)
    jdir = os.path.join(d, "journal")
    os.mkdir(jdir)
    os.mkdir(os.path.join(d, "run"))
    port = mmbin.free_port()
    conf = os.path.join(d, "mailmon.conf")
    with open(conf, "w") as f:
        f.write("""[daemon]
state_directory = {d}/state
run_directory = {d}/run
heartbeat = 200ms
[http]
listen = 127.0.0.1:{port}
[mta]
type = none
[queue]
enable = no
[log]
sources = journal
journal_directory = {jdir}
start_at = beginning
poll_interval = 200ms
position_save_interval = 200ms
[counters]
file = {d}/run/counters
""".format(d=d, port=port, jdir=jdir))
    t0 = 1763700000 * 1000000
    write_journal(os.path.join(jdir, "a.journal"), 0, 3000, t0)
    daemon = Daemon(conf, port, os.path.join(d, "mailmond.out"))
    try:
        daemon.start()
        assert daemon.wait_lines(3000) == 3000
        src = daemon.api()["sources"][0]
        assert src["kind"] == "journal" and src["skipped"] == 300
        assert src["cursor"]
        assert connects(conf) == 3000

        # kill -9, restart: the cursor (saved with the counters' state)
        # resumes after the last consumed entry.
        time.sleep(0.6)
        daemon.kill9()
        daemon.start()
        time.sleep(1.0)
        assert daemon.api()["lines"] == 3000

        # A new journal file while running (a journald rotation).
        write_journal(os.path.join(jdir, "b.journal"), 3000, 2000, t0)
        assert daemon.wait_lines(5000) == 5000

        daemon.stop()
        daemon.start()
        time.sleep(1.0)
        assert daemon.api()["lines"] == 5000
        assert connects(conf) == 5000
    finally:
        daemon.stop()
    if not os.environ.get("MAILMON_KEEP"):
        shutil.rmtree(d, ignore_errors=True)
