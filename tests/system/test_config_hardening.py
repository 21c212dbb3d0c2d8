"""Config files that others could change or that a typo breaks: refused
with a clear error naming the file and mode, never obeyed.

- mailmond and `mailmon config check` refuse a group/world-writable or
  foreign-owned config (a local user could add a restart command);
- `mailmon config set` rejects names outside the schema's grammar (key
  injection) and edits a symlinked config where it points;
- a reload of an empty or sectionless file is refused;
- two reloads in quick succession leave every module on the newest file;
- a relative -c is made absolute."""
import os
import pwd
import signal
import time

import pytest

import mmbin

LO = "127.0.0.1"


def base_conf(tmp, port, level="info"):
    return (f"[daemon]\nlog_level = {level}\nstate_directory = {tmp}\nrun_directory = {tmp}\n"
            f"[http]\nlisten = {LO}:{port}\n[queue]\nenable = no\n[log]\nsources =\n")


def write(path, text, mode=0o644):
    path.write_text(text)
    path.chmod(mode)


@pytest.mark.parametrize("mode,what", [(0o666, "world"), (0o664, "group"), (0o620, "group")])
def test_writable_config_is_refused(tmp_path, mode, what):
    conf = tmp_path / "mailmon.conf"
    write(conf, base_conf(tmp_path, mmbin.free_port()), mode)
    want = f"{conf}: mode {mode:04o} is {what}-writable"
    r = mmbin.mailmon("config", "check", str(conf))
    assert r.returncode != 0 and want in r.stderr, r.stderr
    d = mmbin.Daemon(str(conf), str(tmp_path / "d.log"))
    d.start()
    assert d.proc.wait(10) == 1
    assert want in d.log(), d.log()


def test_foreign_owned_config_is_refused(tmp_path):
    conf = tmp_path / "mailmon.conf"
    write(conf, base_conf(tmp_path, mmbin.free_port()))
    nobody = pwd.getpwnam("nobody").pw_uid
    os.chown(conf, nobody, -1)
    r = mmbin.mailmon("config", "check", str(conf))
    assert r.returncode != 0, r.stdout
    assert f"{conf}: owned by uid {nobody}" in r.stderr and "mode 0644" in r.stderr, r.stderr


def test_dev_null_is_an_empty_config():
    r = mmbin.mailmon("-c", "/dev/null", "config", "get", "http.listen")
    assert r.returncode == 0 and "127.0.0.1:9925" in r.stdout, (r.stdout, r.stderr)


def test_fifo_config_does_not_hang(tmp_path):
    fifo = tmp_path / "mailmon.conf"
    os.mkfifo(fifo)
    r = mmbin.mailmon("config", "check", str(fifo), timeout=10)
    assert r.returncode != 0 and "not a regular file" in r.stderr, r.stderr


def test_key_injection_is_rejected(tmp_path):
    conf = tmp_path / "mailmon.conf"
    write(conf, base_conf(tmp_path, mmbin.free_port()))
    before = conf.read_text()
    for name in ["service.a]\nrestart = /bin/sh -c evil\n[service.b.url",
                 "service.a].url", "http.time=out", "http.timeout#x", "service.a b.url",
                 "http..timeout", ".http.timeout", "service.a\r.url"]:
        r = mmbin.mailmon("config", "set", name, "imap://127.0.0.1:1", config=str(conf))
        assert r.returncode != 0, (name, r.stdout)
        assert "not a valid name" in r.stderr or "expected section.key" in r.stderr, r.stderr
        assert conf.read_text() == before
    r = mmbin.mailmon("config", "set", "http.timeout", "5s\nrestart = /bin/evil", config=str(conf))
    assert r.returncode != 0 and conf.read_text() == before


def test_set_follows_a_symlinked_config(tmp_path):
    target = tmp_path / "real.conf"
    write(target, base_conf(tmp_path, mmbin.free_port()), 0o640)
    link = tmp_path / "mailmon.conf"
    link.symlink_to(target)
    r = mmbin.mailmon("config", "set", "http.timeout", "7s", config=str(link))
    assert r.returncode == 0, r.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert "timeout = 7s" in target.read_text()
    assert oct(target.stat().st_mode & 0o777) == oct(0o640)


def wait_reloads(d, api, n):
    deadline = time.time() + 10
    while time.time() < deadline:
        st = d.get(api, "/api/status")
        if st["reload"]["count"] >= n:
            return st
        time.sleep(0.05)
    raise AssertionError(d.log())


@pytest.fixture
def running(tmp_path):
    port = mmbin.free_port()
    conf = tmp_path / "mailmon.conf"
    write(conf, base_conf(tmp_path, port))
    d = mmbin.Daemon(str(conf), str(tmp_path / "d.log"))
    d.api = f"{LO}:{port}"
    d.conf = conf
    d.port = port
    d.start(api=d.api)
    yield d
    d.stop()


def test_reload_refuses_writable_empty_and_sectionless(running):
    d = running
    good = d.conf.read_text()
    cases = [("", 0o644, "has no section"),
             ("# only a comment\n\n", 0o644, "has no section"),
             (good.replace("log_level = info", "log_level = debug"), 0o666, "world-writable")]
    for i, (text, mode, want) in enumerate(cases, 1):
        write(d.conf, text, mode)
        d.signal(signal.SIGHUP)
        st = wait_reloads(d, d.api, i)
        assert st["reload"]["ok"] is False, st["reload"]
        assert want in d.log()
        assert st["reload"]["in_effect"]["daemon.log_level"] == "info"
    assert d.proc.poll() is None


def test_two_quick_reloads_end_on_the_newest(running):
    d = running
    text = d.conf.read_text()
    write(d.conf, text.replace("log_level = info", "log_level = debug"))
    d.signal(signal.SIGHUP)
    write(d.conf, text.replace("log_level = info", "log_level = warning"))
    d.signal(signal.SIGHUP)
    time.sleep(0.5)
    st = wait_reloads(d, d.api, 1)
    assert st["reload"]["ok"] is True, st["reload"]
    assert st["reload"]["in_effect"]["daemon.log_level"] == "warning", st["reload"]
    assert all(m["ok"] for m in st["reload"]["modules"]), st["reload"]["modules"]


def test_relative_config_path_is_made_absolute(tmp_path):
    port = mmbin.free_port()
    write(tmp_path / "rel.conf", base_conf(tmp_path, port))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        d = mmbin.Daemon("rel.conf", str(tmp_path / "d.log"))
        d.start(api=f"{LO}:{port}")
    finally:
        os.chdir(cwd)
    try:
        st = d.get(f"{LO}:{port}", "/api/status")
        assert st["config"] == str(tmp_path / "rel.conf"), st["config"]
        d.signal(signal.SIGHUP)
        st = wait_reloads(d, f"{LO}:{port}", 1)
        assert st["reload"]["ok"] is True, st["reload"]
    finally:
        d.stop()
