"""Resource exhaustion in mailmond is never blamed on a service.

mailmond watches the lab's IMAP (probe and process check) with a restart
command that only leaves a mark, then its open-files limit is cut to what
it already holds (prlimit on the running process): every probe and /proc
read fails with EMFILE. The service must show "unknown (monitor error)",
never down, never restarted, and mailmond must count the errors as its
own (mailmon_errors_total{kind="resources"}). With the limit back, the
service is seen up again. The log states each repeated error once."""
import http.client
import json
import os
import resource
import subprocess
import time

import pytest

import mmbin

LO = "127.0.0.1"


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def set_nofile(pid, soft):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    subprocess.run(["prlimit", f"--pid={pid}", f"--nofile={soft}:{hard}"], check=True)


def test_out_of_fds_is_a_monitor_error(lab, tmp_path):
    port = mmbin.free_port()
    cred = tmp_path / "alice.cred"
    cred.write_text("user = alice\npassword = %s\n" % lab.users["alice"])
    cred.chmod(0o600)
    mark = tmp_path / "restarted"
    conf = tmp_path / "mailmon.conf"
    conf.write_text(
        f"[daemon]\nheartbeat = 100ms\nstate_directory = {tmp_path}\nrun_directory = {tmp_path}\n"
        f"[http]\nlisten = {LO}:{port}\ntimeout = 60s\n"
        "[queue]\nenable = no\n[log]\nsources =\n"
        f"[service.imap]\nurl = imap://{LO}:{lab.ports['imap']}\n"
        f"credentials_file = {cred}\ninterval = 1s\nfailures = 1\ncycles = 1\n"
        "process_name = dovecot\n"
        f"restart = /usr/bin/touch {mark}\n")
    conf.chmod(0o600)
    d = mmbin.Daemon(str(conf), str(tmp_path / "mailmond.log"))
    d.start(api=f"{LO}:{port}")
    # One kept-alive connection, opened while fds are free, to watch with.
    c = http.client.HTTPConnection(LO, port, timeout=10)

    def get(path):
        c.request("GET", path)
        r = c.getresponse()
        return r.read().decode()

    def imap():
        return [s for s in json.loads(get("/api/services"))["services"]
                if s["name"] == "imap"][0]

    try:
        deadline = time.time() + 15
        while imap()["state"] != "up":
            assert time.time() < deadline, d.log()[-2000:]
            time.sleep(0.2)
        set_nofile(d.proc.pid, open_fds(d.proc.pid))
        time.sleep(3)
        s = imap()
        assert s["state"] == "unknown (monitor error)", s
        assert s["restarts_total"] == 0, s
        assert s["failures_by_class"].get("monitor-error", 0) >= 2, s
        assert set(s["failures_by_class"]) == {"monitor-error"}, s
        assert not mark.exists()
        metrics = get("/metrics")
        line = [ln for ln in metrics.splitlines()
                if ln.startswith('mailmon_errors_total{kind="resources"}')]
        assert line and float(line[0].split()[-1]) >= 2, line

        set_nofile(d.proc.pid, 1024)
        deadline = time.time() + 10
        while imap()["state"] != "up":
            assert time.time() < deadline, d.log()[-2000:]
            time.sleep(0.2)
        s = imap()
        assert s["restarts_total"] == 0
        assert not mark.exists()
        log = d.log()
        assert "monitor-error" in log
        assert " down:" not in log and "hang" not in log, log[-2000:]
        # The state file could not be saved every second meanwhile: said once.
        assert log.count("log positions not saved") <= 1, log[-2000:]
    finally:
        c.close()
        d.stop()
