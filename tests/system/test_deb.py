"""The Debian package on this machine, end to end.

Builds the .deb from the tree (scripts/build-deb: dpkg-buildpackage, and
lintian, whose errors fail it), installs it with `apt-get install
./mailmon_*.deb`, configures the system Postfix (postconf -e, a master.cf
with two smtpd listeners on loopback) and the system Dovecot (IMAP on
loopback, TLS off) for the test, runs `mailmon init` against them, starts
mailmond exactly as the unit's ExecStartPre/ExecStart say (there is no
systemd as PID 1 here), and checks that it watches both servers and reads
their logs, counted independently with wc. Then purges the package: no
file of it may remain, nor its state and run directories; only the
mailmon system user stays (Debian leaves system users).

The system mail config is restored afterwards, and the servers are
stopped; they listen only on 127.0.0.1 and never resolve names. The test
refuses to run when the system Postfix or Dovecot is already running or
mailmon is already installed: it never touches a live mail system.
"""
import os
import pwd
import re
import shlex
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.request
import json

import pytest

import mmbin

sys.path.insert(0, os.path.join(mmbin.SOURCE_DIR, "lab"))
import labconf  # noqa: E402  (the lab's minimal master.cf)
import mailmonlab  # noqa: E402  (its wait_for)

CI = os.environ.get("CI") == "true"
UNIT = "/lib/systemd/system/mailmond.service"
TESTLOG = "/var/log/mailmon-test"
PF_PID = "/var/spool/postfix/pid/master.pid"
DC_PID = "/run/dovecot/master.pid"


def skip_or_fail(why):
    if CI:
        pytest.fail(why)
    pytest.skip(why)


def alive(pidfile):
    try:
        pid = int(open(pidfile).read().split()[0])
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except (OSError, ValueError, IndexError):
        return False


def wait_for(pred, timeout, what):
    return mailmonlab.Lab.wait_for(pred, timeout=timeout, what=what)


def run(*argv, check=True, timeout=300, **kw):
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{argv}: rc {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def api(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return json.loads(r.read())


class SystemMail:
    """The system Postfix and Dovecot, configured for the test; restore()
    stops them and puts every file back as it was."""

    SAVED = ["/etc/postfix/main.cf", "/etc/postfix/master.cf", "/etc/dovecot/dovecot.conf"]

    def __init__(self, tmp):
        self.tmp = tmp
        self.saved = {}
        self.smtp, self.submission, self.imap = (mmbin.free_port() for _ in range(3))

    def save(self):
        for i, path in enumerate(self.SAVED):
            if os.path.exists(path):
                copy = os.path.join(self.tmp, f"saved-{i}")
                shutil.copy2(path, copy)
                self.saved[path] = copy
            else:
                self.saved[path] = None

    def configure(self):
        os.makedirs(TESTLOG, exist_ok=True)
        open("/etc/postfix/main.cf", "w").close()
        run("postconf", "-e",
            "compatibility_level=3.6", "myhostname=mx.mailmon-test.invalid",
            "mydomain=mailmon-test.invalid", "mydestination=",
            "inet_interfaces=loopback-only", "inet_protocols=ipv4",
            "smtp_dns_support_level=disabled", "lmtp_dns_support_level=disabled",
            "smtp_host_lookup=native", "smtpd_peername_lookup=no",
            "default_transport=error:mailmon test", "relay_transport=error:mailmon test",
            "alias_maps=", "alias_database=", "local_recipient_maps=",
            f"maillog_file={TESTLOG}/postfix.log", f"maillog_file_prefixes={TESTLOG}")
        with open("/etc/postfix/master.cf", "w") as f:
            f.write(labconf.POSTFIX_MASTER_CF.format(smtpd_addr=f"127.0.0.1:{self.smtp}"))
            f.write(f"127.0.0.1:{self.submission} inet n - n - - smtpd\n"
                    "  -o syslog_name=postfix/submission\n")
        mail = os.path.join(self.tmp, "mail")
        os.makedirs(mail)
        os.chmod(self.tmp, 0o711)
        shutil.chown(mail, "dovecot", "dovecot")
        users = os.path.join(self.tmp, "users")
        with open(users, "w") as f:
            f.write("alice:{PLAIN}secret::::\n")
        os.chmod(users, 0o644)
        with open("/etc/dovecot/dovecot.conf", "w") as f:
            f.write(f"""# written by mailmon's tests/system/test_deb.py (restored afterwards)
protocols = imap
listen = 127.0.0.1
log_path = {TESTLOG}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:{mail}/%u
mail_uid = dovecot
mail_gid = dovecot
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = {users}
}}
userdb {{
  driver = passwd-file
  args = {users}
}}
service imap-login {{
  inet_listener imap {{
    port = {self.imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
""")

    def start(self):
        r = run("postfix", "start", check=False)
        if r.returncode != 0:
            log = open(f"{TESTLOG}/postfix.log").read() if os.path.exists(
                f"{TESTLOG}/postfix.log") else ""
            raise AssertionError(f"postfix start failed: {r.stderr}\n{log[-2000:]}")
        # the Dovecot master keeps the descriptors it was started with: no pipes
        rc = subprocess.run(["dovecot", "-c", "/etc/dovecot/dovecot.conf"], timeout=30,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        assert rc == 0, open(f"{TESTLOG}/dovecot.log").read()[-2000:]
        wait_for(lambda: alive(PF_PID) and alive(DC_PID), 15, "Postfix and Dovecot")

    def stop(self):
        for pidfile, stop in ((PF_PID, ["postfix", "stop"]),
                              (DC_PID, ["doveadm", "-c", "/etc/dovecot/dovecot.conf", "stop"])):
            if alive(pidfile):
                subprocess.run(stop, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=60)
                try:
                    wait_for(lambda p=pidfile: not alive(p), 15, pidfile)
                except TimeoutError:
                    pid = int(open(pidfile).read().split()[0])
                    os.kill(pid, signal.SIGKILL)

    def restore(self):
        self.stop()
        for path, copy in self.saved.items():
            if copy:
                shutil.copy2(copy, path)
            elif os.path.exists(path):
                os.unlink(path)
        shutil.rmtree(TESTLOG, ignore_errors=True)


def package_files():
    r = run("dpkg-query", "-L", "mailmon")
    return [p for p in r.stdout.splitlines() if p.strip()]


def test_deb_install_init_monitor_purge(tmp_path):
    if os.geteuid() != 0:
        skip_or_fail("needs root (apt-get install, the system Postfix and Dovecot)")
    for tool in ("dpkg-buildpackage", "lintian", "dh", "apt-get", "postconf", "doveconf"):
        if shutil.which(tool) is None:
            skip_or_fail(f"{tool} missing (scripts/install-deps installs it)")
    if alive(PF_PID) or alive(DC_PID):
        skip_or_fail("the system Postfix or Dovecot is running; not touching a live mail system")
    if run("dpkg-query", "-W", "-f=${Status}", "mailmon", check=False).stdout.startswith(
            "install ok"):
        skip_or_fail("mailmon is installed on this machine; not replacing it")
    if os.path.exists("/etc/mailmon"):
        skip_or_fail("/etc/mailmon exists; not touching it")

    t0 = time.time()
    out = tmp_path / "dist"
    # noopt (-O0): the same package, built in a third of the time
    r = run(os.path.join(mmbin.SOURCE_DIR, "scripts", "build-deb"), str(out), timeout=900,
            env=dict(os.environ, MAILMON_DEB_BUILD_OPTIONS="noopt"))
    assert "lintian: no errors" in r.stdout, r.stdout + r.stderr
    debs = sorted(out.glob("mailmon_*.deb"))
    assert len(debs) == 1
    t_build = time.time() - t0
    print(r.stdout)

    mail = SystemMail(str(tmp_path))
    mail.save()
    daemon = None
    installed = False
    try:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run("apt-get", "install", "-y", "-q", "--no-install-recommends",
            "-o", "DPkg::Lock::Timeout=300", str(debs[0]), env=env)
        installed = True
        files = package_files()
        for want in ("/usr/bin/mailmon", "/usr/sbin/mailmond", UNIT,
                     "/etc/mailmon/mailmon.conf", "/usr/lib/tmpfiles.d/mailmon.conf",
                     "/usr/share/man/man5/mailmon.conf.5.gz",
                     "/usr/share/bash-completion/completions/mailmon"):
            assert want in files, want
        # conffile, user, directories from tmpfiles.d
        conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", "mailmon").stdout
        assert "/etc/mailmon/mailmon.conf" in conffiles
        assert "/etc/logrotate.d/mailmon" in conffiles
        user = pwd.getpwnam("mailmon")
        assert user.pw_uid < 1000 and user.pw_shell in ("/usr/sbin/nologin", "/bin/false")
        for d in ("/var/lib/mailmon", "/run/mailmon"):
            assert os.stat(d).st_uid == user.pw_uid, d
        assert os.path.isdir("/var/log/mailmon")
        unit = open(UNIT).read()
        for opt in ("ProtectSystem=", "NoNewPrivileges=yes", "PrivateTmp=yes"):
            assert opt in unit

        mail.configure()
        mail.start()
        r = run("mailmon", "init", "--dry-run")
        assert f"smtp listener 127.0.0.1:{mail.smtp}" in r.stdout, r.stdout
        assert f"imap listener imap on port {mail.imap}" in r.stdout, r.stdout
        r = run("mailmon", "init", "--write", "/etc/mailmon/mailmon.conf", "--force")
        conf = open("/etc/mailmon/mailmon.conf").read()
        # what init found, against what the test configured
        for line in (f"url = smtp://127.0.0.1:{mail.smtp}",
                     f"url = smtp://127.0.0.1:{mail.submission}",
                     f"url = imap://127.0.0.1:{mail.imap}",
                     "config_directory = /etc/postfix",
                     "pidfile = /var/spool/postfix/pid/master.pid",
                     f"sources = {TESTLOG}/postfix.log, {TESTLOG}/dovecot.log"):
            assert "\n" + line + "\n" in conf, line
        assert "[service.imaps]" not in conf  # port 0 and ssl = no
        api_port = mmbin.free_port()
        run("mailmon", "config", "set", "http.listen", f"127.0.0.1:{api_port}")
        run("mailmon", "config", "set", "log.start_at", "beginning")
        # first probes are spread over the interval (60 s); make it short
        for svc in ("smtp", f"smtp-{mail.submission}", "imap"):
            run("mailmon", "config", "set", f"service.{svc}.interval", "2s")

        # mailmond as the unit would run it
        pre = re.search(r"^ExecStartPre=(.*)$", unit, re.M).group(1)
        start = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1)
        run(*shlex.split(pre))
        daemon = subprocess.Popen(shlex.split(start), stdout=subprocess.DEVNULL,
                                  stderr=open(tmp_path / "mailmond.log", "w"))
        wait_for(lambda: _try(api, api_port, "/api/status"), 15, "mailmond's API")

        # some SMTP and IMAP traffic, so the logs grow
        for port in (mail.smtp, mail.submission):
            with smtplib.SMTP("127.0.0.1", port, local_hostname="client.mailmon-test.invalid",
                              timeout=10) as s:
                s.ehlo()
        with socket.create_connection(("127.0.0.1", mail.imap), timeout=10) as s:
            s.recv(512)
            s.sendall(b"a LOGIN alice secret\r\nb LOGOUT\r\n")
            time.sleep(0.3)

        last = {}

        def services_up():
            last.update({s["name"]: (s["state"], (s.get("last") or {}).get("message"))
                         for s in api(api_port, "/api/services")["services"]})
            want = ("smtp", f"smtp-{mail.submission}", "imap")
            return all(last.get(k, ("",))[0] == "up" for k in want) and dict(last)
        try:
            svcs = wait_for(services_up, 30, "smtp, submission and imap up in /api/services")
        except TimeoutError as e:
            raise AssertionError(f"{e}: {last}") from None
        assert set(svcs) == {"smtp", f"smtp-{mail.submission}", "imap"}, svcs

        def logs_read():
            src = {s["name"]: s for s in api(api_port, "/api/logs")["sources"]}
            for name in (f"{TESTLOG}/postfix.log", f"{TESTLOG}/dovecot.log"):
                with open(name, "rb") as f:
                    n = f.read().count(b"\n")
                if n == 0 or src.get(name, {}).get("lines") != n:
                    return False
            return src
        wait_for(logs_read, 30, "mailmond to have read every line of both logs (wc)")
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(15) == 0, open(tmp_path / "mailmond.log").read()[-2000:]
        daemon = None

        # purge: nothing of the package stays but the system user
        run("apt-get", "purge", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", "mailmon", env=env)
        installed = False
        t_purged = time.time()
        # (directories such as /lib, a symlink on merged-/usr systems, are shared)
        left = [p for p in files if os.path.isfile(p) or
                (os.path.islink(p) and not os.path.isdir(p))]
        assert left == [], left
        for d in ("/etc/mailmon", "/etc/logrotate.d/mailmon", "/var/log/mailmon",
                  "/etc/systemd/system/multi-user.target.wants/mailmond.service"):
            assert not os.path.lexists(d), d
        # Other mailmond runs on this machine (tests with the default
        # run_directory, as root) may make /run/mailmon again; what the
        # package made was owned by the mailmon user, and must be gone.
        for d in ("/var/lib/mailmon", "/run/mailmon"):
            assert not os.path.exists(d) or os.stat(d).st_uid != user.pw_uid, d
        assert run("dpkg-query", "-W", "-f=${Status}", "mailmon",
                   check=False).stdout in ("", "unknown ok not-installed")
        print(f"deb {debs[0].name}: {debs[0].stat().st_size} bytes, build+lintian "
              f"{t_build:.0f} s, install to purge {t_purged - t_build - t0:.0f} s, "
              f"whole test {time.time() - t0:.0f} s")
    finally:
        if daemon:
            daemon.kill()
            daemon.wait()
        if installed:
            run("apt-get", "purge", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", "mailmon",
                check=False)
        mail.restore()


def _try(fn, *args):
    try:
        return fn(*args)
    except OSError:
        return None
