"""Helpers for system tests: where the built binaries are, free ports, and a
mailmond run as a child process that is always stopped."""
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request

SOURCE_DIR = os.environ.get(
    "MAILMON_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
# Absolute: some tests run programs from another working directory.
BIN_DIR = os.path.abspath(os.environ.get("MAILMON_BIN", os.path.join(SOURCE_DIR, "build")))


def binary(name):
    path = os.path.join(BIN_DIR, name)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{path} not built (set MAILMON_BIN to the build dir)")
    return path


def require(tool, why="scripts/install-deps installs it"):
    """The path of tool (a name looked up in PATH, or an absolute path).
    Missing: the test is skipped on a developer's machine, but fails under
    CI=true, where a skip would hide that the test never ran."""
    import shutil
    import pytest
    path = tool if os.path.isabs(tool) else shutil.which(tool)
    if path and os.access(path, os.X_OK):
        return path
    if os.environ.get("CI") == "true":
        pytest.fail("%s is not installed (%s)" % (tool, why))
    pytest.skip("%s is not installed" % tool)


def free_port():
    """A port free right now, bound without SO_REUSEPORT (see LAB-NOTES)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mailmon(*args, config=None, check=False, timeout=60):
    cmd = [binary("mailmon")]
    if config:
        cmd += ["-c", config]
    cmd += list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          check=check)


class Daemon:
    """mailmond -f as a child; stop() always reaps it."""

    def __init__(self, config, logfile, extra=(), nofile=None, own_session=False):
        self.config = config
        self.logfile = logfile
        self.extra = list(extra)
        self.nofile = nofile  # soft open-files limit, as `ulimit -n`
        # Its own session, so its own scheduling group (autogroup), as a
        # service in its own cgroup under systemd: then the CPU the test's
        # own load takes is not taken from mailmond's share.
        self.own_session = own_session
        self.proc = None

    def _limits(self):
        if self.nofile:
            import resource
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, hard))

    def start(self, api=None, timeout=10):
        if getattr(self, "_log", None):
            self._log.close()
        self._log = open(self.logfile, "ab")
        self.proc = subprocess.Popen(
            [binary("mailmond"), "-f", "-c", self.config] + self.extra,
            stdout=self._log, stderr=subprocess.STDOUT,
            preexec_fn=self._limits if self.nofile else None,
            start_new_session=self.own_session)
        if api:
            deadline = time.time() + timeout
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError("mailmond exited: " + self.log())
                try:
                    return self.get(api, "/api/status")
                except OSError:
                    time.sleep(0.05)
            raise RuntimeError("mailmond API not up: " + self.log())
        return None

    @staticmethod
    def get(api, path, timeout=5):
        with urllib.request.urlopen(f"http://{api}{path}", timeout=timeout) as r:
            return json.loads(r.read())

    def signal(self, sig):
        self.proc.send_signal(sig)

    def kill9(self):
        """A crash: SIGKILL and reap, nothing flushed."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def log(self):
        with open(self.logfile, "r", errors="replace") as f:
            return f.read()

    def stop(self, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None
        return self.proc.returncode if self.proc else None


def metrics(api):
    """mailmond's /metrics as {(name, frozenset of (label, value)): value}."""
    with urllib.request.urlopen("http://%s/metrics" % api, timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if m:
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric(mx, name, **labels):
    """One sample of metrics() by name and labels; None when absent."""
    return mx.get((name, frozenset(labels.items())))
