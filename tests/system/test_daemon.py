"""mailmond's lifecycle against the real binary: start, status API, SIGHUP
reload with a bad file (keeps the last good config), SIGTERM, pid file."""
import os
import signal
import time

import pytest

import mmbin


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


@pytest.fixture
def daemon(tmp_path):
    port = mmbin.free_port()
    api = f"127.0.0.1:{port}"
    conf = tmp_path / "mailmon.conf"
    write(conf, f"[http]\nlisten = {api}\n[daemon]\nlog_level = debug\n"
                f"state_directory = {tmp_path}\nrun_directory = {tmp_path}\n"
                "[alarm.diskavail]\nthreshold = 20\n")
    d = mmbin.Daemon(str(conf), str(tmp_path / "mailmond.log"),
                     extra=["--pidfile", str(tmp_path / "mailmond.pid")])
    d.api = api
    d.start(api=api)
    yield d
    d.stop()


def test_status_api_and_cli(daemon):
    st = daemon.get(daemon.api, "/api/status")
    assert st["program"] == "mailmond"
    assert st["pid"] == daemon.proc.pid
    assert st["config"] == daemon.config
    r = mmbin.mailmon("status", "--api", daemon.api)
    assert r.returncode == 0, r.stderr
    assert f"pid {daemon.proc.pid}" in r.stdout
    assert "reload:  none since start" in r.stdout
    r = mmbin.mailmon("status", config=daemon.config)
    assert r.returncode == 0, r.stderr


def test_unknown_endpoint_is_404(daemon):
    import urllib.error
    with pytest.raises(urllib.error.HTTPError) as e:
        daemon.get(daemon.api, "/api/nosuch")
    assert e.value.code == 404


def test_sighup_bad_config_keeps_running(daemon):
    good = open(daemon.config).read()
    write(daemon.config, good.replace("threshold = 20", "threshhold = 20"))
    daemon.signal(signal.SIGHUP)
    deadline = time.time() + 5
    while time.time() < deadline:
        st = daemon.get(daemon.api, "/api/status")
        if st["reload"]["count"] >= 1:
            break
        time.sleep(0.05)
    assert st["reload"]["ok"] is False
    assert st["reload"]["failures"] == 1
    assert "did you mean threshold" in st["reload"]["message"]
    assert daemon.proc.poll() is None
    log = daemon.log()
    assert f"{daemon.config}:8: [alarm.diskavail] threshhold: unknown key; did you mean threshold?" in log
    assert "kept the last good config" in log
    r = mmbin.mailmon("status", "--api", daemon.api)
    assert r.returncode == 1
    assert "FAILED" in r.stdout

    # Fixing the file and reloading again succeeds; the daemon never stopped.
    write(daemon.config, good.replace("threshold = 20", "threshold = 30"))
    daemon.signal(signal.SIGHUP)
    deadline = time.time() + 5
    while time.time() < deadline:
        st = daemon.get(daemon.api, "/api/status")
        if st["reload"]["count"] >= 2:
            break
        time.sleep(0.05)
    assert st["reload"]["ok"] is True
    assert st["pid"] == daemon.proc.pid


def test_sighup_restart_only_key_is_named(daemon):
    conf = open(daemon.config).read()
    write(daemon.config, conf + "[mta]\ntype = none\n")
    daemon.signal(signal.SIGHUP)
    deadline = time.time() + 5
    while "need a restart" not in daemon.log() and time.time() < deadline:
        time.sleep(0.05)
    assert "changed settings need a restart to apply: mta.type" in daemon.log()


def test_sigterm_stops_cleanly_and_removes_pidfile(daemon, tmp_path):
    pidfile = tmp_path / "mailmond.pid"
    assert int(pidfile.read_text()) == daemon.proc.pid
    assert daemon.stop() == 0
    assert not pidfile.exists()
    assert "mailmond stopped" in daemon.log()


def test_second_instance_refused_by_pidfile(daemon, tmp_path):
    other = mmbin.Daemon(daemon.config, str(tmp_path / "second.log"),
                         extra=["--pidfile", str(tmp_path / "mailmond.pid")])
    other.start()
    assert other.proc.wait(10) == 1
    assert "already runs as pid" in other.log()


def test_bad_config_at_start_exits_with_diagnostics(tmp_path):
    conf = tmp_path / "bad.conf"
    write(conf, "[alarm.diskavail]\nthreshhold = 20\n[http]\nlisten = nowhere\n")
    d = mmbin.Daemon(str(conf), str(tmp_path / "d.log"))
    d.start()
    assert d.proc.wait(10) == 1
    log = d.log()
    assert "bad.conf:2: [alarm.diskavail] threshhold: unknown key; did you mean threshold?" in log
    assert "bad.conf:4: [http] listen: expected host:port" in log


def test_port_in_use_is_a_clear_error(tmp_path):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    conf = tmp_path / "m.conf"
    write(conf, f"[http]\nlisten = 127.0.0.1:{port}\n")
    d = mmbin.Daemon(str(conf), str(tmp_path / "d.log"))
    d.start()
    try:
        assert d.proc.wait(10) == 1
        assert f"cannot listen on 127.0.0.1:{port}" in d.log()
    finally:
        s.close()
        d.stop()


def test_systemd_notify_ready_reload_watchdog(tmp_path):
    """Type=notify: READY=1 at start, RELOADING=1/READY=1 on SIGHUP,
    WATCHDOG=1 keep-alives at half the watchdog interval, STOPPING=1."""
    import socket
    import subprocess
    sock_path = str(tmp_path / "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    s.settimeout(5)
    port = mmbin.free_port()
    conf = tmp_path / "m.conf"
    write(conf, f"[http]\nlisten = 127.0.0.1:{port}\n")
    env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="400000")
    log = open(tmp_path / "d.log", "wb")
    # WATCHDOG_PID must be the daemon's own pid: exec through a shell that
    # sets it to $$ and then becomes mailmond.
    proc = subprocess.Popen(
        ["/bin/sh", "-c", f'WATCHDOG_PID=$$ exec "$0" -f -c "$1"',
         mmbin.binary("mailmond"), str(conf)], env=env, stdout=log, stderr=log)
    msgs = []
    try:
        def recv_until(word):
            deadline = time.time() + 5
            while time.time() < deadline:
                m = s.recv(4096).decode()
                msgs.append(m)
                if word in m:
                    return
            raise AssertionError(f"no {word}: {msgs}")
        recv_until("READY=1")
        recv_until("WATCHDOG=1")
        recv_until("WATCHDOG=1")
        proc.send_signal(signal.SIGHUP)
        recv_until("RELOADING=1")
        recv_until("READY=1")
        proc.send_signal(signal.SIGTERM)
        recv_until("STOPPING=1")
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        s.close()
        log.close()
