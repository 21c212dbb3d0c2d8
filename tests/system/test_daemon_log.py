"""mailmond's own log, after the syslog conventions: one line per event,
the event then key=value detail; [daemon] log_file, which SIGUSR1 reopens
after it was moved away (logrotate); <priority> prefixes when standard
error is the systemd journal (JOURNAL_STREAM)."""
import os
import re
import signal
import subprocess
import time

import mmbin

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} mailmond\[(\d+)\]: "
                  r"(debug|info|notice|warning|error): \S.*$")


def version():
    return subprocess.run([mmbin.binary("mailmond"), "-V"], capture_output=True,
                          text=True).stdout.split()[1]


def config(tmp_path, extra=""):
    api = f"127.0.0.1:{mmbin.free_port()}"
    conf = tmp_path / "mailmon.conf"
    conf.write_text(f"[http]\nlisten = {api}\n[daemon]\n"
                    f"state_directory = {tmp_path}\nrun_directory = {tmp_path}\n{extra}"
                    "[mta]\ntype = none\n[log]\nsources = \n")
    return str(conf), api


def wait_text(path, text, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path) and text in open(path).read():
            return open(path).read()
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in {path}: "
                         f"{open(path).read() if os.path.exists(path) else '(missing)'}")


def test_log_file_reopened_on_sigusr1(tmp_path):
    logf = tmp_path / "mailmond.log"
    conf, api = config(tmp_path, f"log_file = {logf}\n")
    d = mmbin.Daemon(conf, str(tmp_path / "stderr.log"))
    d.start(api=api)
    try:
        pid = d.proc.pid
        text = wait_text(logf, "mailmond started")
        assert (f"mailmond started version={version()} pid={pid} config={conf} api=http://{api}"
                in text), text
        os.rename(logf, tmp_path / "mailmond.log.1")
        d.signal(signal.SIGUSR1)
        new = wait_text(logf, f"log file reopened path={logf}")
        d.signal(signal.SIGHUP)
        new = wait_text(logf, "reload")
    finally:
        assert d.stop() == 0
    new = open(logf).read()
    old = open(tmp_path / "mailmond.log.1").read()
    assert "stopping signal=SIGTERM" in new and "mailmond stopped exit=0" in new, new
    assert "reload" not in old and "stopping" not in old, old
    for line in (old + new).splitlines():
        m = LINE.match(line)
        assert m and int(m.group(1)) == pid, line
    # everything went to the file, nothing to standard error
    assert "mailmond started" not in d.log()


def test_bad_log_file_refused_at_start(tmp_path):
    conf, api = config(tmp_path, "log_file = /nonexistent-dir/mailmond.log\n")
    r = subprocess.run([mmbin.binary("mailmond"), "-f", "-c", conf],
                             capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "log file /nonexistent-dir/mailmond.log: No such file or directory" in r.stderr


def test_journal_stream_gets_priority_prefixes(tmp_path):
    conf, api = config(tmp_path)
    errf = tmp_path / "stderr.log"
    errf.write_text("")
    st = os.stat(errf)
    os.environ["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
    try:
        d = mmbin.Daemon(conf, str(errf))
        d.start(api=api)
    finally:
        del os.environ["JOURNAL_STREAM"]
    try:
        text = wait_text(errf, "mailmond started")
    finally:
        d.stop()
    lines = open(errf).read().splitlines()
    # <5> is LOG_NOTICE; journald takes the time and the pid itself
    assert f"<5>mailmond started version={version()} pid={d.proc.pid} config={conf} " \
           f"api=http://{api}" in lines, text
    assert all(re.match(r"^<[0-7]>\S", line) for line in lines), lines
