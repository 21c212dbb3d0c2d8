"""mailmond's HTTP listener against a hostile client, on the lab.

mailmond watches the lab's IMAP (with a restart command that only leaves a
mark) and runs under `ulimit -n 1024`, as systemd starts it. Every byte
value in the path and in a header, oversized and malformed requests,
slowloris, and 2,000 idle connections: through all of it a normal client
polling /api/status is answered within 100 ms, the service is never
restarted, and the log stays small."""
import os
import resource
import json
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

import mmbin

LO = "127.0.0.1"
TIMEOUT_S = 2  # [http] timeout of the daemon under test


@pytest.fixture(scope="module")
def target(lab, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    port = mmbin.free_port()
    cred = tmp / "alice.cred"
    cred.write_text("user = alice\npassword = %s\n" % lab.users["alice"])
    cred.chmod(0o600)
    mark = tmp / "restarted"
    conf = tmp / "mailmon.conf"
    conf.write_text(
        "[daemon]\nheartbeat = 100ms\nlog_level = info\n"
        f"state_directory = {tmp}\nrun_directory = {tmp}\n"
        f"[http]\nlisten = {LO}:{port}\ntimeout = {TIMEOUT_S}s\n"
        "[queue]\nenable = no\n[log]\nsources = %s\n" % lab.paths["maillog"] +
        f"[service.imap]\nurl = imap://{LO}:{lab.ports['imap']}\n"
        f"credentials_file = {cred}\ninterval = 1s\nfailures = 1\ncycles = 1\n"
        f"restart = /usr/bin/touch {mark}\n")
    conf.chmod(0o600)
    d = mmbin.Daemon(str(conf), str(tmp / "mailmond.log"), nofile=1024)
    d.api = f"{LO}:{port}"
    d.port = port
    d.mark = mark
    d.start(api=d.api)
    # The client side needs more than 2,000 fds of its own.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    yield d
    d.stop()
    assert d.proc.returncode == 0, d.log()[-3000:]


WATCHER = r"""
import json, sys, time, urllib.request
api, times, failures = sys.argv[1], [], []
while True:
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen("http://%s/api/status" % api, timeout=2) as r:
            r.read()
    except OSError as e:
        failures.append(repr(e))
    times.append(time.monotonic() - t0)
    print(json.dumps({"times": times, "failures": failures[:5]}), flush=True)
    if sys.stdin.readline().strip() == "stop":
        break
"""


class Watcher:
    """A normal client in its own process (no GIL shared with the flood):
    GET /api/status every 50 ms, keeps the worst time."""

    def __init__(self, api):
        self.proc = subprocess.Popen(["/usr/bin/python3", "-c", WATCHER, api],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        self.last = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._pace, daemon=True)
        self.thread.start()

    def _pace(self):
        while True:
            line = self.proc.stdout.readline()
            if not line:
                return
            self.last = json.loads(line)
            self.proc.stdin.write("stop\n" if self.stopping.is_set() else "go\n")
            self.proc.stdin.flush()
            time.sleep(0.05)

    def stop(self):
        self.stopping.set()
        self.thread.join(10)
        self.proc.wait(10)
        return self.last


@pytest.fixture
def watcher(target):
    w = Watcher(target.api)
    time.sleep(0.1)
    yield w
    res = w.stop()
    times = sorted(res["times"])
    slow = [t for t in times if t >= 0.100]
    print(f"\nnormal client: {len(times)} requests, median {times[len(times) // 2] * 1000:.1f} ms, "
          f"worst {times[-1] * 1000:.1f} ms, {len(slow)} at 100 ms or more")
    assert not res["failures"], res["failures"]
    # 100 ms for every answer; on a loaded 2-core box the flood's own
    # client can delay one packet by a retransmit (200 ms), so one answer
    # in twenty may be late, none by a second.
    assert len(slow) <= len(times) // 20, f"{len(slow)} of {len(times)} took 100 ms or more"
    assert times[-1] < 1.0, f"normal client waited {times[-1] * 1000:.0f} ms"
    assert target.proc.poll() is None, target.log()[-3000:]


def exchange(port, data, timeout=5):
    """Sends data, half-closes, returns (status code or None, raw answer)."""
    with socket.create_connection((LO, port), timeout=timeout) as s:
        s.sendall(data)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        except (ConnectionResetError, socket.timeout):
            pass
    raw = b"".join(chunks)
    if raw.startswith(b"HTTP/1."):
        return int(raw.split(b" ", 2)[1]), raw
    return None, raw


def must_reject(b):
    """Bytes that a clean target or header value may not hold."""
    return b < 0x20 or b == 0x7F or b >= 0x80


def test_every_byte_in_path_query_and_header(target, watcher):
    for b in range(256):
        raw = bytes([b])
        code, ans = exchange(target.port, b"GET /api/st" + raw + b"atus?x=1 HTTP/1.0\r\n\r\n")
        if b in (0x20, 0x0A, 0x0D):
            pass  # splits the request line: evhttp's own 400 or a close
        elif must_reject(b):
            assert code == 400, (b, ans[:200])
        else:
            assert code in (200, 404), (b, ans[:200])
        enc = b"%%%02X" % b
        code, ans = exchange(target.port, b"GET /api/status?q=" + enc + b" HTTP/1.0\r\n\r\n")
        assert code == (400 if must_reject(b) else 200), (b, ans[:200])
        code, ans = exchange(target.port,
                             b"GET /api/status HTTP/1.0\r\nX-Test: a" + raw + b"b\r\n\r\n")
        if b in (0x0A, 0x0D):
            assert code in (400, None), (b, ans[:200])
        elif must_reject(b) and b != 0x09:
            assert code == 400, (b, ans[:200])
        else:
            assert code == 200, (b, ans[:200])
        code, ans = exchange(target.port,
                             b"GET /api/status HTTP/1.0\r\nX-T" + raw + b"t: v\r\n\r\n")
        assert code in (400, None) or raw.isalnum() or raw in b"!#$%&'*+-.^_`|~:", (b, ans)
    assert target.get(target.api, "/api/status")["http"]["rejected"] >= 3 * 128


MALFORMED = [
    b"GET /" + b"a" * 100000 + b" HTTP/1.0\r\n\r\n",
    b"GET / HTTP/1.0\r\n" + b"X-A: b\r\n" * 2000 + b"\r\n",
    b"GET / HTTP/1.0\r\nX: " + b"v" * 20000 + b"\r\n\r\n",
    b"GARBAGE\r\n\r\n",
    b"GET\r\n\r\n",
    b"\r\n\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"GET http://evil.example/api/status HTTP/1.1\r\nHost: evil.example\r\n\r\n",
    b"POST /api/status HTTP/1.1\r\nContent-Length: 100000000\r\n\r\nxxxx",
    b"GET /api/status HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffff\r\n",
    b"GET /%zz%%%/../../etc/passwd HTTP/1.0\r\n\r\n",
    bytes(range(256)) * 16,
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(500),
]


def test_oversized_and_malformed(target, watcher):
    for req in MALFORMED:
        code, ans = exchange(target.port, req)
        assert code is None or 400 <= code < 600, (req[:60], ans[:200])
    assert target.get(target.api, "/api/status")["program"] == "mailmond"


def test_slowloris_hits_an_absolute_deadline(target, watcher):
    socks = []
    for _ in range(50):
        s = socket.create_connection((LO, target.port))
        s.sendall(b"GET /api/status HTTP/1.1\r\n")
        socks.append(s)
    t0 = time.monotonic()
    closed_at = {}
    while len(closed_at) < len(socks) and time.monotonic() - t0 < TIMEOUT_S + 4:
        for i, s in enumerate(socks):
            if i in closed_at:
                continue
            try:
                s.sendall(b"X-Slow: 1\r\n")  # one header line every 200 ms
            except OSError:
                closed_at[i] = time.monotonic() - t0
        time.sleep(0.2)
    for s in socks:
        s.close()
    # Each byte came well inside the idle timeout; only an absolute
    # deadline closes them (a write fails once the peer is gone).
    assert len(closed_at) == len(socks), f"{len(closed_at)} of {len(socks)} closed"
    assert max(closed_at.values()) < TIMEOUT_S + 2.5, closed_at
    assert target.get(target.api, "/api/status")["http"]["expired"] >= 50


def test_two_thousand_idle_connections(target, watcher):
    socks = []
    try:
        for _ in range(2000):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect((LO, target.port))
            except BlockingIOError:
                pass
            socks.append(s)
        time.sleep(1.0)
        st = target.get(target.api, "/api/status")["http"]
        assert st["open"] <= st["max_connections"] <= 512, st
        assert st["evicted"] > 0, st
    finally:
        for s in socks:
            s.close()
    fds = len(os.listdir(f"/proc/{target.proc.pid}/fd"))
    assert fds < 600, fds


def test_no_restart_and_bounded_log(target):
    # Runs last in this module: after every attack above.
    svc = [s for s in target.get(target.api, "/api/services")["services"]
           if s["name"] == "imap"][0]
    assert svc["restarts_total"] == 0, svc
    assert not target.mark.exists()
    size = os.path.getsize(target.logfile)
    print(f"\nlog after every attack: {size} bytes")
    assert size < 64 * 1024, f"log grew to {size} bytes"


def test_accept_emfile_pauses_and_logs_once(tmp_path):
    """With so few fds that accept() itself fails (EMFILE), mailmond pauses
    accepting instead of spinning, logs the error once with a count, and
    still answers a normal client."""
    port = mmbin.free_port()
    conf = tmp_path / "mailmon.conf"
    conf.write_text(f"[daemon]\nstate_directory = {tmp_path}\nrun_directory = {tmp_path}\n"
                    f"[http]\nlisten = {LO}:{port}\nmax_connections = 1000\n"
                    "[queue]\nenable = no\n[log]\nsources =\n")
    conf.chmod(0o600)
    d = mmbin.Daemon(str(conf), str(tmp_path / "mailmond.log"), nofile=16)
    api = f"{LO}:{port}"
    d.start(api=api)
    try:
        base = len(os.listdir(f"/proc/{d.proc.pid}/fd"))
        # max_connections is bounded by half the limit (8): with what the
        # daemon holds already, accept() runs out of fds before the cap.
        assert base + 8 > 16, base
        socks = []
        for _ in range(300):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect((LO, port))
            except BlockingIOError:
                pass
            socks.append(s)
        time.sleep(1.5)
        t0 = time.monotonic()
        st = d.get(api, "/api/status")["http"]
        took = time.monotonic() - t0
        for s in socks:
            s.close()
        assert st["accept_errors"] > 0, st
        assert took < 1.0, took
        log = d.log()
        assert log.count("accept: Too many open files") == 1, log[-2000:]
        assert os.path.getsize(d.logfile) < 8192
    finally:
        d.stop()
