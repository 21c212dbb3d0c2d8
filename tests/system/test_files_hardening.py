"""Files that others can change: mailmond recovers or says clearly why not.

- the counters file truncated under a running mailmond (SIGBUS before):
  contained, set aside as .damaged.EPOCH, recreated, counted as
  mailmond's own error; a truncated file at start is set aside too;
- a run directory on a full tmpfs: the counters file cannot be made, and
  the log says so once (space is reserved before mapping, so no SIGBUS);
- the counters file and the positions state are not world-readable;
- a log source that turns into a FIFO or a directory is reported in
  /api/logs and `mailmon status`;
- `mailmon counters -show` on a FIFO fails at once instead of hanging."""
import glob
import os
import signal
import stat
import subprocess
import time

import pytest

import mmbin

LO = "127.0.0.1"
LINE = ("Dec  7 10:00:{s:02d} mx postfix/smtpd[1{n:03d}]: connect from "
        "client.example[192.0.2.{n}]\n")


def conf_text(tmp, port, run, log):
    return (f"[daemon]\nheartbeat = 100ms\nstate_directory = {tmp}\nrun_directory = {run}\n"
            f"[http]\nlisten = {LO}:{port}\n[queue]\nenable = no\n"
            f"[log]\nsources = {log}\npoll_interval = 1s\nposition_save_interval = 1s\n")


def start(tmp, run=None):
    port = mmbin.free_port()
    run = run or tmp
    log = tmp / "maillog"
    log.touch()
    conf = tmp / "mailmon.conf"
    conf.write_text(conf_text(tmp, port, run, log))
    d = mmbin.Daemon(str(conf), str(tmp / "mailmond.log"))
    d.api = f"{LO}:{port}"
    d.maillog = log
    d.start(api=d.api)
    return d


def wait(pred, what, d, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out: {what}\n" + d.log()[-3000:])


def errors_total(d, kind):
    for ln in mmbin.urllib.request.urlopen(f"http://{d.api}/metrics").read().decode().splitlines():
        if ln.startswith(f'mailmon_errors_total{{kind="{kind}"}}'):
            return float(ln.split()[-1])
    return 0.0


def test_truncated_counters_file_is_set_aside(tmp_path):
    d = start(tmp_path)
    try:
        cfile = tmp_path / "counters"
        wait(lambda: cfile.exists(), "counters file", d)
        assert stat.S_IMODE(cfile.stat().st_mode) == 0o640
        size = cfile.stat().st_size
        os.truncate(cfile, 100)  # under the writer's mapping
        with open(d.maillog, "a") as f:
            for n in range(20):
                f.write(LINE.format(s=n, n=n))
        wait(lambda: glob.glob(str(tmp_path / "counters.damaged.*")), "set aside", d)
        wait(lambda: cfile.exists() and cfile.stat().st_size == size, "recreated", d)
        assert d.proc.poll() is None, d.log()
        assert "counters file damaged: set aside as" in d.log()
        wait(lambda: errors_total(d, "files") >= 1, "files error counted", d)
        r = mmbin.mailmon("counters", "-show", "--file", str(cfile))
        assert r.returncode == 0, r.stderr
        pos = glob.glob(str(tmp_path / "*position*")) + glob.glob(str(tmp_path / ".log-*"))
        for p in pos:
            assert not stat.S_IMODE(os.stat(p).st_mode) & 0o007, (p, oct(os.stat(p).st_mode))
    finally:
        d.stop()
    assert d.proc.returncode == 0, d.log()[-2000:]


def test_damaged_counters_file_at_start(tmp_path):
    (tmp_path / "counters").write_bytes(b"MMCOUNT\0" + b"\xff" * 50)
    d = start(tmp_path)
    try:
        assert glob.glob(str(tmp_path / "counters.damaged.*")), d.log()
        assert "counters file damaged: set aside as" in d.log()
        r = mmbin.mailmon("counters", "-show", "--file", str(tmp_path / "counters"))
        assert r.returncode == 0, r.stderr
    finally:
        d.stop()


@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = tmp_path / "run"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k,mode=0750", "tmpfs", str(mnt)],
                   check=True)
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_run_directory(tmp_path, small_tmpfs):
    # Fill the tmpfs, as a runaway writer would.
    with open(small_tmpfs / "filler", "wb") as f:
        try:
            f.write(b"x" * 1024 * 1024)
        except OSError:
            pass
    d = start(tmp_path, run=small_tmpfs)
    try:
        with open(d.maillog, "a") as f:
            for n in range(5):
                f.write(LINE.format(s=n, n=n))
        time.sleep(2)
        assert d.proc.poll() is None, d.log()
        log = d.log()
        assert "cannot reserve" in log and "No space left on device" in log, log
        assert d.get(d.api, "/api/status")["program"] == "mailmond"
    finally:
        d.stop()
    assert d.proc.returncode == 0


def test_log_source_turned_fifo_or_directory(tmp_path):
    d = start(tmp_path)
    try:
        os.unlink(d.maillog)
        os.mkfifo(d.maillog)

        def state():
            src = d.get(d.api, "/api/logs")["sources"][0]
            return "FIFO" in src.get("state", "") and src

        wait(state, "FIFO reported", d)
        r = mmbin.mailmon("status", "--api", d.api)
        assert "log sources not being read" in r.stdout and "a FIFO" in r.stdout, r.stdout
        os.unlink(d.maillog)
        os.mkdir(d.maillog)
        wait(lambda: "directory" in d.get(d.api, "/api/logs")["sources"][0]["state"],
             "directory reported", d)
        assert d.proc.poll() is None
    finally:
        d.stop()


def test_counters_show_on_a_fifo_does_not_hang(tmp_path):
    fifo = tmp_path / "counters"
    os.mkfifo(fifo)
    r = mmbin.mailmon("counters", "-show", "--file", str(fifo), timeout=10)
    assert r.returncode != 0 and "not a regular file" in r.stderr, (r.returncode, r.stderr)
