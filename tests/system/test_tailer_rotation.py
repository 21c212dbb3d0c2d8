"""System test: the real mailmond tails a log that a writer appends to at a
high rate, through rename-and-create rotation, copytruncate, two kill -9
restarts (one with a rotation while mailmond is down) and a clean restart.
Every line must be consumed exactly once: /api/logs `lines` (saved with
the positions) and the channel counters (parser -> lifecycle -> counters,
saved through the consumer checkpoint) must both equal what was written.

Binaries come from MAILMON_BIN (default: build). Loopback only.
"""

import gzip
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import mmbin

BIN = os.environ.get("MAILMON_BIN", "build")
MAILMOND = os.path.join(BIN, "mailmond")
MAILMON = os.path.join(BIN, "mailmon")


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


@pytest.fixture
def env():
    d = tempfile.mkdtemp(prefix="mm-tailrot-")
    port = mmbin.free_port()
    conf = os.path.join(d, "mailmon.conf")
    with open(conf, "w") as f:
        f.write("""[daemon]
state_directory = {d}/state
run_directory = {d}/run
heartbeat = 200ms
[http]
listen = 127.0.0.1:{port}
[log]
sources = {d}/mail.log
start_at = beginning
poll_interval = 200ms
position_save_interval = 500ms
[counters]
file = {d}/run/counters
""".format(d=d, port=port))
    os.mkdir(os.path.join(d, "run"))
    daemon = Daemon(conf, port, os.path.join(d, "mailmond.out"))
    yield d, conf, daemon
    daemon.stop()
    if os.environ.get("MAILMON_KEEP"):
        print("kept", d)
    else:
        shutil.rmtree(d, ignore_errors=True)


class Writer:
    """Appends numbered Postfix smtpd lines, like syslog: one fd, O_APPEND."""

    def __init__(self, path):
        self.path = path
        self.n = 0
        self.f = open(path, "ab", buffering=0)

    def write(self, count, rate=20000):
        batch = 100
        t0 = time.time()
        done = 0
        while done < count:
            k = min(batch, count - done)
            chunk = b"".join(
                b"Nov 21 06:00:00 mx1 postfix/smtpd[4242]: connect from host%d.lab.test[127.0.0.5]\n"
                % (self.n + i) for i in range(k))
            self.f.write(chunk)
            self.n += k
            done += k
            ahead = done / rate - (time.time() - t0)
            if ahead > 0:
                time.sleep(ahead)

    def rotate_rename(self):
        """logrotate `create`: shift .1 to .2, rename, new file, reopen."""
        if os.path.exists(self.path + ".1"):
            os.rename(self.path + ".1", self.path + ".2")
        os.rename(self.path, self.path + ".1")
        self.f.close()
        self.f = open(self.path, "ab", buffering=0)

    def rotate_copytruncate(self):
        """logrotate `copytruncate`: the writer keeps its fd."""
        if os.path.exists(self.path + ".1"):
            os.rename(self.path + ".1", self.path + ".2")
        shutil.copyfile(self.path, self.path + ".1")
        os.truncate(self.path, 0)


def wait_lines(daemon, want, timeout=60):
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = daemon.api()["lines"]
        if got >= want:
            return got
        time.sleep(0.2)
    return got


def channel_connects(conf):
    out = subprocess.run([MAILMON, "-c", conf, "counters", "-show", "--json"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    return sum(c["inbound_associations_total"] for c in doc["channels"]
               if c["name"] == "smtpd")


def test_rotation_and_kill9_exact(env):
    d, conf, daemon = env
    log = os.path.join(d, "mail.log")
    w = Writer(log)
    w.write(5000)
    daemon.start()
    w.write(25000)
    w.rotate_rename()                 # rename-and-create while running
    w.write(20000)
    daemon.kill9()                    # crash mid-traffic
    w.write(5000)                     # written while down
    daemon.start()
    w.write(20000)
    w.rotate_copytruncate()           # copytruncate while running
    w.write(20000)
    daemon.kill9()
    w.write(3000)
    w.rotate_rename()                 # rotated while down: old one is .1
    w.write(3000)
    daemon.start()
    w.write(15000)
    w.rotate_rename()
    w.write(10000)

    got = wait_lines(daemon, w.n)
    assert got == w.n, "consumed %s lines, wrote %d" % (got, w.n)
    time.sleep(1.5)                   # and nothing more trickles in
    doc = daemon.api()
    assert doc["lines"] == w.n
    src = doc["sources"][0]
    assert src["rotations"] >= 2      # counted per run; this run saw two
    assert src["replaced"] == 0
    assert doc["consumer"] == "counters"
    # Each scenario really happened (the daemon logs what it saw).
    out = daemon.log()
    assert "truncated (copytruncate): finishing the copy" in out
    assert "rotated while stopped: finishing" in out
    assert "rotated: finished the old file" in out
    assert "lost" not in out
    assert channel_connects(conf) == w.n

    # A clean restart re-reads nothing.
    assert daemon.stop() == 0
    daemon.start()
    time.sleep(1.5)
    assert daemon.api()["lines"] == w.n
    assert channel_connects(conf) == w.n
    assert daemon.stop() == 0
    state = open(os.path.join(d, "state", "log-positions")).read()
    assert state.startswith("mailmon-positions 2\n")
    assert "lines %d\n" % w.n in state


def test_corrupt_state_is_reported_and_safe(env):
    """A damaged state file: a clear error in /api/logs, the file is set
    aside, and the source starts as on a first run (here: beginning)."""
    d, conf, daemon = env
    log = os.path.join(d, "mail.log")
    os.makedirs(os.path.join(d, "state"))
    with open(os.path.join(d, "state", "log-positions"), "w") as f:
        f.write("mailmon-positions 2\nsource file %s\ndev 1\n" % log)
    w = Writer(log)
    w.write(1000)
    doc = daemon.start()
    assert "log-positions" in doc["last_error"]
    assert os.path.exists(os.path.join(d, "state", "log-positions.corrupt"))
    assert wait_lines(daemon, 1000, timeout=20) == 1000


def test_reload_adds_a_source_without_rereading(env):
    """SIGHUP with a changed [log] sources: the kept source resumes where it
    was (nothing read twice), the new one is read."""
    d, conf, daemon = env
    log = os.path.join(d, "mail.log")
    other = os.path.join(d, "other.log")
    w = Writer(log)
    w.write(2000)
    daemon.start()
    assert wait_lines(daemon, 2000, timeout=20) == 2000
    w2 = Writer(other)
    w2.write(500)
    text = open(conf).read().replace("sources = %s\n" % log,
                                     "sources = %s, %s\n" % (log, other))
    with open(conf, "w") as f:
        f.write(text)
    daemon.proc.send_signal(signal.SIGHUP)
    w.write(1000)
    assert wait_lines(daemon, 3500, timeout=20) == 3500
    time.sleep(1.0)
    doc = daemon.api()
    assert doc["lines"] == 3500
    assert [s["name"] for s in doc["sources"]] == [log, other]
    assert [s["lines"] for s in doc["sources"]] == [3000, 500]


def test_start_at_end_survives_a_crash(env):
    """start_at = end skips what the log held at the first start, but lines
    written after it are never skipped, even after a kill -9 before any
    line came in."""
    d, conf, daemon = env
    text = open(conf).read().replace("start_at = beginning", "start_at = end")
    with open(conf, "w") as f:
        f.write(text)
    w = Writer(os.path.join(d, "mail.log"))
    w.write(700)                      # history: skipped
    daemon.start()
    time.sleep(1.5)                   # the starting position is saved
    assert daemon.api()["lines"] == 0
    daemon.kill9()
    w.write(300)                      # written while down
    daemon.start()
    assert wait_lines(daemon, 300, timeout=20) == 300
    time.sleep(1.0)
    assert daemon.api()["lines"] == 300


def gzip_file(path):
    """logrotate `compress`: PATH -> PATH.gz (a new inode), PATH removed."""
    with open(path, "rb") as src, gzip.open(path + ".gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.unlink(path)


@pytest.mark.parametrize("scheme", ["numbered", "delaycompress", "compress", "dateext"])
def test_rotated_twice_while_down(env, scheme):
    """mailmond stopped; the log rotated twice (the second time with the
    scheme's names and compression); on start it resumes in the rotated
    file that holds its position, reads the newer one, then PATH: every
    line once (/api/logs and the channel counters against the writer's
    own count)."""
    d, conf, daemon = env
    log = os.path.join(d, "mail.log")
    w = Writer(log)
    w.write(4000)
    daemon.start()
    assert wait_lines(daemon, w.n) == w.n
    assert daemon.stop() == 0         # positions saved at stop
    w.write(3000)                     # still in the saved file, after its offset

    def rotate(day):
        if scheme == "dateext":
            os.rename(log, "%s-2026120%d" % (log, day))
            w.f.close()
            w.f = open(log, "ab", buffering=0)
        else:
            w.rotate_rename()

    rotate(6)
    w.write(2500)
    rotate(7)
    if scheme == "delaycompress":     # mail.log.2.gz, mail.log.1
        gzip_file(log + ".2")
    elif scheme == "compress":        # mail.log.2.gz, mail.log.1.gz
        gzip_file(log + ".2")
        gzip_file(log + ".1")
    elif scheme == "dateext":         # mail.log-20261206.gz, mail.log-20261207
        gzip_file(log + "-20261206")
    w.write(1500)
    daemon.start()
    got = wait_lines(daemon, w.n)
    assert got == w.n, "consumed %s lines, wrote %d" % (got, w.n)
    w.write(500)                      # and PATH goes on being followed
    assert wait_lines(daemon, w.n) == w.n
    time.sleep(1.0)
    assert daemon.api()["lines"] == w.n
    out = daemon.log()
    assert "rotated while stopped: " in out and "resuming in" in out
    assert "lost" not in out
    assert channel_connects(conf) == w.n
    # a clean restart after the catch-up reads nothing again
    assert daemon.stop() == 0
    daemon.start()
    time.sleep(1.0)
    assert daemon.api()["lines"] == w.n
    assert channel_connects(conf) == w.n
