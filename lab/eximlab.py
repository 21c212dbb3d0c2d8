#!/usr/bin/python3
"""eximlab: a real Exim 4 (Debian's exim4-daemon-light binary) on loopback,
in a temporary directory, delivering to a running mailmonlab.Lab's sinks.

Debian's Exim packages are never installed here: installing any of them
removes Postfix (both provide mail-transport-agent). scripts/install-deps
unpacks exim4-base and exim4-daemon-light into EXIM_ROOT
(/var/cache/mailmon/exim, or $MAILMON_EXIM_ROOT) with `apt-get download`
and `dpkg-deb -x`; the binary's shared libraries are ordinary packages.

The binary insists on its compiled-in user "Debian-exim", which only the
package would create. Rather than add a user to the machine, the daemon
runs in a private mount namespace (`unshare -m`) where copies of
/etc/passwd and /etc/group that also name Debian-exim (as uid/gid of
"mail") are bind-mounted over the real ones; nothing outside sees them.

Public API:
    EXIM_ROOT, eximstats_cmd()     where the unpacked files are
    EximLab(lab, dir, pid=True)    context manager: start() / stop()
    EximLab.port, .mainlog         SMTP port on 127.0.0.1, the main log
    EximLab.exim(*args)            run the binary with this config (e.g. -Mt)

Routing (manualroute, numeric only): sink.test, reject.test, dead.test to
the lab's ports; lab.test users alice and bob to appendfile mailboxes in
the dir; blocked.test refused at RCPT; other domains "relay not
permitted"; a Subject containing "spam" refused after DATA; connections
from 127.0.0.9 dropped in the connect ACL; AUTH PLAIN alice/alice-secret.
"""
import os
import pwd
import grp
import socket
import subprocess
import time

import mailmonlab

EXIM_ROOT = os.environ.get("MAILMON_EXIM_ROOT", "/var/cache/mailmon/exim")
EXIM_BIN = os.path.join(EXIM_ROOT, "usr/sbin/exim4")


def eximstats_cmd():
    """The command line of Debian's eximstats (a Perl script)."""
    return ["perl", os.path.join(EXIM_ROOT, "usr/sbin/eximstats")]


# One manualroute router per lab sink (numeric nexthop, the lab's port).
ROUTER = """\
{name}:
  driver = manualroute
  domains = {name}.test
  route_list = * 127.0.0.1::{port}
  transport = remote_smtp
  self = send"""


CONFIG = """\
exim_path = {exim}
primary_hostname = mx.lab.test
qualify_domain = lab.test
spool_directory = {dir}/spool
log_file_path = {dir}/log/%slog
pid_file_path = {dir}/exim.pid
log_selector = +smtp_connection {pid_selector}
domainlist local_domains = lab.test
domainlist relay_domains = sink.test : reject.test : dead.test
host_lookup =
rfc1413_hosts =
keep_environment =
tls_advertise_hosts =
daemon_smtp_ports = {port}
local_interfaces = 127.0.0.1
acl_smtp_connect = acl_connect
acl_smtp_rcpt = acl_rcpt
acl_smtp_data = acl_data

begin acl
acl_connect:
  drop hosts = 127.0.0.9
       message = go away
  accept
acl_rcpt:
  deny domains = blocked.test
       message = blocked by policy
  accept domains = +local_domains : +relay_domains
  deny message = relay not permitted
acl_data:
  deny condition = ${{if match{{$h_subject:}}{{spam}}}}
       message = looks like spam
  accept

begin routers
{lab_routers}
local_user:
  driver = accept
  domains = +local_domains
  local_parts = alice : bob
  transport = local_delivery

begin transports
remote_smtp:
  driver = smtp
  allow_localhost
  hosts_try_fastopen =
  connection_max_messages = 1
local_delivery:
  driver = appendfile
  file = {dir}/mail/${{local_part_data}}
  user = mail
  group = mail
  mode = 0660

begin retry
* * F,2h,5s

begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${{if and {{{{eq{{$auth2}}{{alice}}}}{{eq{{$auth3}}{{alice-secret}}}}}}}}
  server_set_id = $auth2
"""


class EximLab:
    def __init__(self, lab, dir, pid=True):
        self.lab, self.dir, self.pid_selector = lab, dir, pid
        self.port = None
        self.proc = None
        self.mainlog = os.path.join(dir, "log", "mainlog")
        self.conf = os.path.join(dir, "exim.conf")

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _write(self):
        mail = pwd.getpwnam("mail")
        for sub in ("spool", "log", "mail"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
            os.chown(os.path.join(self.dir, sub), mail.pw_uid, mail.pw_gid)
        os.chmod(self.dir, 0o711)
        with open("/etc/passwd") as f:
            passwd = f.read()
        with open("/etc/group") as f:
            group = f.read()
        if "\nDebian-exim:" not in "\n" + passwd:
            passwd += "Debian-exim:x:%d:%d::%s:/usr/sbin/nologin\n" % (
                mail.pw_uid, mail.pw_gid, self.dir)
        if "\nDebian-exim:" not in "\n" + group:
            group += "Debian-exim:x:%d:\n" % grp.getgrnam("mail").gr_gid
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            f.write(passwd)
        with open(os.path.join(self.dir, "group"), "w") as f:
            f.write(group)
        held = mailmonlab.reserve_port()
        self.port = held.getsockname()[1]
        held.close()
        routers = "\n".join(ROUTER.format(name=n, port=self.lab.ports[n])
                             for n in ("sink", "reject", "dead"))
        with open(self.conf, "w") as f:
            f.write(CONFIG.format(
                exim=EXIM_BIN, dir=self.dir, port=self.port,
                pid_selector="+pid" if self.pid_selector else "",
                lab_routers=routers))

    def _wrap(self, args):
        """args run by the binary inside the private mount namespace."""
        script = ('mount --bind "$1/passwd" /etc/passwd && '
                  'mount --bind "$1/group" /etc/group && shift && exec "$@"')
        return ["unshare", "-m", "sh", "-c", script, "sh", self.dir, EXIM_BIN,
                "-C", self.conf] + list(args)

    def exim(self, *args, check=True):
        return subprocess.run(self._wrap(args), capture_output=True, text=True,
                              timeout=60, check=check)

    def start(self):
        if not os.access(EXIM_BIN, os.X_OK):
            raise RuntimeError("%s missing: run scripts/install-deps" % EXIM_BIN)
        self._write()
        log = open(os.path.join(self.dir, "daemon.out"), "ab")
        # -bdf: daemon in the foreground (our child); -q5s: queue runs
        self.proc = subprocess.Popen(self._wrap(["-bdf", "-q5s"]), stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("exim exited: %s" % open(
                    os.path.join(self.dir, "daemon.out")).read()[-2000:])
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(200).startswith(b"220"):
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("exim did not answer on port %d" % self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def queue_empty(self):
        """True when exim -bpc counts no message."""
        r = self.exim("-bpc", check=False)
        return r.stdout.strip() == "0"

    def wait_log(self, pattern_count, timeout=120):
        """Waits until pattern_count(text of the main log) is true."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = open(self.mainlog).read() if os.path.exists(self.mainlog) else ""
            if pattern_count(text):
                return text
            time.sleep(0.3)
        raise TimeoutError("exim log condition not met; log:\n" + text[-3000:])
