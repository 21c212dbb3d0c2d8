"""`mailmon config check/get/set/defaults` as a postmaster uses them."""
import os
import stat

import mmbin


def test_check_names_line_and_suggests_key(tmp_path):
    conf = tmp_path / "m.conf"
    conf.write_text("# mine\n[alarm.diskavail]\nthreshhold = 20\n")
    r = mmbin.mailmon("config", "check", str(conf))
    assert r.returncode == 1
    assert f"{conf}:3: [alarm.diskavail] threshhold: unknown key; did you mean threshold?" in r.stderr


def test_check_shipped_config_ok():
    path = os.path.join(mmbin.SOURCE_DIR, "etc", "mailmon.conf")
    r = mmbin.mailmon("config", "check", path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"{path}: OK"


def test_shipped_config_is_generated_from_schema():
    """etc/mailmon.conf documents every key: it must equal the schema's output."""
    r = mmbin.mailmon("config", "defaults")
    assert r.returncode == 0
    with open(os.path.join(mmbin.SOURCE_DIR, "etc", "mailmon.conf")) as f:
        assert f.read() == r.stdout, "regenerate: mailmon config defaults > etc/mailmon.conf"


def test_set_then_get_keeps_comments(tmp_path):
    conf = tmp_path / "m.conf"
    conf.write_text("# site config\n[alarm]\n# who gets alarms\nnoticercpt = a@example.org\n")
    os.chmod(conf, 0o640)
    r = mmbin.mailmon("config", "set", "alarm.noticercpt", "ops@example.org", config=str(conf))
    assert r.returncode == 0, r.stderr
    r = mmbin.mailmon("config", "set", "alarm.diskavail.threshold", "15", config=str(conf))
    assert r.returncode == 0, r.stderr
    text = conf.read_text()
    assert text == ("# site config\n[alarm]\n# who gets alarms\nnoticercpt = ops@example.org\n"
                    "\n[alarm.diskavail]\nthreshold = 15\n")
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o640
    r = mmbin.mailmon("config", "get", "alarm.diskavail.threshold", config=str(conf))
    assert r.stdout == "15\n"
    r = mmbin.mailmon("config", "get", "alarm.serverresponse.threshold", config=str(conf))
    assert r.stdout == "10\n"
    # no temp files left behind by the atomic replace
    assert sorted(os.listdir(tmp_path)) == ["m.conf"]


def test_set_rejects_bad_values_without_touching_file(tmp_path):
    conf = tmp_path / "m.conf"
    conf.write_text("[alarm]\nnoticeport = 25\n")
    before = conf.read_text()
    for key, value, msg in [
        ("alarm.noticeport", "70000", "out of range (1..65535)"),
        ("alarm.diskavail.statinterval", "ten", "expected a duration"),
        ("alarm.noticercpt", "nobody", "expected a mail address"),
        ("alarm.diskavail.threshhold", "3", "unknown key"),
    ]:
        r = mmbin.mailmon("config", "set", key, value, config=str(conf))
        assert r.returncode == 1, key
        assert msg in r.stderr, r.stderr
    assert conf.read_text() == before


def test_get_unknown_key_and_usage():
    r = mmbin.mailmon("config", "get", "alarm.nosuch")
    assert r.returncode == 1
    assert "unknown key" in r.stderr
    r = mmbin.mailmon("config")
    assert r.returncode == 2
    r = mmbin.mailmon("nosuchcommand")
    assert r.returncode == 2
    assert 'unknown command "nosuchcommand"' in r.stderr
    r = mmbin.mailmon("--help")
    assert r.returncode == 0 and "COMMANDS" in r.stdout


def test_check_finds_what_the_daemon_would_refuse(tmp_path):
    """Service sections whose keys are each well-typed but which mailmond
    could not run: a missing credentials file, an unknown URL scheme, a
    restart command that does not split, a service with nothing to watch.
    `config check` and `mailmond --check` name each with its line."""
    conf = tmp_path / "m.conf"
    cred = tmp_path / "nope.cred"
    conf.write_text(
        "[service.imap]\nurl = imap://127.0.0.1:143\ncredentials_file = %s\n\n"
        "[service.bad]\nurl = gopher://127.0.0.1:70\n\n"
        "[service.cmd]\npidfile = /run/x.pid\nrestart = /usr/sbin/postfix \"open\n\n"
        "[service.nothing]\ninterval = 10s\n" % cred)
    want = [f"{conf}:3: [service.imap] credentials_file:",
            f"{conf}:6: [service.bad] url: gopher: unknown scheme",
            f"{conf}:10: [service.cmd] restart: unterminated quote",
            f"{conf}:13: [service.nothing]: set url, pidfile or process_name"]
    r = mmbin.mailmon("config", "check", str(conf))
    assert r.returncode == 1
    for w in want:
        assert w in r.stderr, (w, r.stderr)
    import subprocess
    d = subprocess.run([mmbin.binary("mailmond"), "--check", "-c", str(conf)],
                       capture_output=True, text=True, timeout=30)
    assert d.returncode == 1
    for w in want:
        assert w in d.stderr
    # A credentials file readable by others is refused too; mode 600 passes.
    cred.write_text("user = alice\npassword = x\n")
    os.chmod(cred, 0o644)
    conf.write_text("[service.imap]\nurl = imap://127.0.0.1:143\ncredentials_file = %s\n" % cred)
    r = mmbin.mailmon("config", "check", str(conf))
    assert r.returncode == 1 and f"{conf}:3: [service.imap] credentials_file:" in r.stderr
    os.chmod(cred, 0o600)
    r = mmbin.mailmon("config", "check", str(conf))
    assert r.returncode == 0, r.stderr
