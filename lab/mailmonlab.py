#!/usr/bin/python3
"""mailmonlab: real mail servers on loopback, in a temporary directory.

A Lab starts Postfix, Dovecot and slapd (plus, on request, HAProxy and snmpd)
with configs written into one lab directory, on free 127.0.0.1 ports, and
stops them again.  mailmon's system tests run against it; `mailmon-lab run`
starts one by hand.

Public API (see docs/lab.md):
    Lab(...)            context manager; start() / stop()
    Lab.send, postqueue_json, flush, wait_for, imap_fetch, pop_fetch,
    maillog_text, postfix_cmd, haproxy_config, haproxy_cmd
    teardown_dir(dir)   stop whatever a lab dir records (used by the guardian
                        and by `mailmon-lab stop`)

Error policy: a server that fails to start raises LabError with the tail of
its log.  Teardown never raises for a process that is already gone.

Process ownership: every process the lab starts is recorded in
DIR/run/procs/NAME.json (pid, /proc start time, or a pidfile to read).  A
guardian process (`mailmonlab.py guard DIR`, own session) holds the read end
of a pipe from the lab's process; when that pipe hits EOF without an "exit"
line (the test process died, even by SIGKILL) it stops everything recorded.
Processes are never found or killed by name, because other labs run the same
programs on this machine.

Network rule: only 127.0.0.1.  Every nexthop is numeric, Postfix DNS is off,
unknown domains go to the error transport, and SMTP clients here always pass
local_hostname so Python does not resolve the machine's name.

Standard library only; runs under Debian's /usr/bin/python3 (3.11).
"""

import email
import email.policy
import email.utils
import imaplib
import json
import os
import poplib
import pwd
import re
import selectors
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage

from labconf import (LAB_DOMAIN, LDAP_BASE, LDAP_ROOTDN, LDAP_ROOTPW,
                     LOOPBACK, POSTFIX_MASTER_CF, dovecot_conf, dovecot_users,
                     haproxy_cfg, ldap_ldif, postfix_main_cf, slapd_conf,
                     snmpd_conf, transport_map)

CLIENT_HELO = "client.lab.test"
ALL_COMPONENTS = ("postfix", "dovecot", "slapd", "haproxy", "snmpd")
DEFAULT_COMPONENTS = ("postfix", "dovecot", "slapd")
DEFAULT_USERS = {"alice": "alice-secret", "bob": "bob-secret"}
DOVECOT_DH = "/usr/share/dovecot/dh.pem"
# Every port and path key lab.json always carries (null when a component is off).
PORT_KEYS = ("smtpd", "imap", "imaps", "pop3", "pop3s", "ldap", "sink",
             "reject", "dead", "slow", "haproxy", "snmp")
THIS_FILE = os.path.abspath(__file__)


class LabError(Exception):
    """A lab server failed to start or stop; the message carries its log."""


# ---------------------------------------------------------------------------
# Small helpers: files, processes, ports
# ---------------------------------------------------------------------------

def write_file(path, text, mode=0o644):
    """Write text to path (created or replaced) and set its mode."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)


def read_text(path):
    """The file's text, or '' when it does not exist (yet)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def tail(path, lines=30):
    """The last lines of a log file, labelled with its path, for errors."""
    text = read_text(path).splitlines()[-lines:]
    return "--- %s (last %d lines) ---\n%s" % (path, len(text), "\n".join(text))


def proc_stat(pid):
    """(state, starttime) of a pid from /proc/PID/stat, or None if gone.

    comm (field 2) may contain spaces and parentheses, so split after the
    last ')'.  Fields after it start at field 3 (state); starttime is 22.
    """
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None
    rest = data[data.rfind(")") + 2:].split()
    return rest[0], int(rest[19])


def proc_ppid(pid):
    """Parent pid of pid, or None if gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(data[data.rfind(")") + 2:].split()[1])


def proc_start_epoch(pid):
    """Wall-clock time (epoch seconds) at which pid started, or None."""
    st = proc_stat(pid)
    if st is None:
        return None
    for line in read_text("/proc/stat").splitlines():
        if line.startswith("btime "):
            return int(line.split()[1]) + st[1] / os.sysconf("SC_CLK_TCK")
    return None


def is_alive(pid, starttime=None):
    """True while pid runs and is the same process (same start time).

    A killed daemon that its parent has not reaped yet is a zombie ('Z'),
    and PID 1 here reaps orphans late, so /proc/PID alone lies for ~2 s.
    """
    st = proc_stat(pid)
    if st is None or st[0] in ("Z", "X"):
        return False
    return starttime is None or st[1] == starttime


def descendants(pids):
    """All live descendants of pids as {pid: starttime}, by a /proc scan."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            ppid = proc_ppid(int(name))
            if ppid is not None:
                children.setdefault(ppid, []).append(int(name))
    found, todo = {}, list(pids)
    while todo:
        for child in children.get(todo.pop(), []):
            st = proc_stat(child)
            if child not in found and st is not None and st[0] not in "ZX":
                found[child] = st[1]
                todo.append(child)
    return found


def wait_gone(procs, timeout):
    """Wait until no (pid, starttime) in procs is alive; return survivors."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [(p, s) for p, s in procs if is_alive(p, s)]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.05)


def signal_procs(procs, sig):
    """Send sig to every still-alive (pid, starttime); ignore the gone."""
    for pid, start in procs:
        if is_alive(pid, start):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass


def reserve_port(kind=socket.SOCK_STREAM):
    """Bind a free 127.0.0.1 port and return the still-bound socket.

    No SO_REUSEADDR/SO_REUSEPORT: the Postfix master and HAProxy bind with
    SO_REUSEPORT, so a port one of them holds must make this bind fail
    instead of being silently shared.  The caller closes the socket just
    before the server binds, or hands the socket itself to a helper.
    """
    s = socket.socket(socket.AF_INET, kind)
    s.bind((LOOPBACK, 0))
    return s


def port_bound(port, proto="tcp"):
    """True when 127.0.0.1:port (or 0.0.0.0) is listening (tcp) / bound (udp).

    Reads /proc/net instead of connecting, so readiness checks leave no
    "connect from"/"lost connection" noise in the servers' logs.
    """
    want_state = "0A" if proto == "tcp" else "07"
    suffix = ":%04X" % port
    for line in read_text("/proc/net/" + proto).splitlines()[1:]:
        fields = line.split()
        local, state = fields[1], fields[3]
        if local.endswith(suffix) and state == want_state and \
                local[:8] in ("0100007F", "00000000"):
            return True
    return False


def run(cmd, env=None, check=True, timeout=60):
    """Run a short command; return CompletedProcess with text output."""
    res = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise LabError("%s failed (rc %d):\n%s%s" % (
            " ".join(cmd), res.returncode, res.stdout, res.stderr))
    return res


# ---------------------------------------------------------------------------
# Process registry and teardown (shared by Lab, guardian and the CLI)
# ---------------------------------------------------------------------------

def procs_dir(labdir):
    return os.path.join(labdir, "run", "procs")


def register_proc(labdir, name, pid=None, pidfile=None):
    """Record a lab process so teardown can find it without names.

    Either pid (a child we started) or pidfile (a daemon that writes one,
    read at teardown time).  The /proc start time guards against killing
    an unrelated process that later got the same pid.
    """
    rec = {"name": name, "pid": pid, "pidfile": pidfile, "starttime": None,
           "since": time.time()}
    if pid is not None:
        st = proc_stat(pid)
        rec["starttime"] = st[1] if st else None
    path = os.path.join(procs_dir(labdir), name + ".json")
    write_file(path + ".tmp", json.dumps(rec))
    os.replace(path + ".tmp", path)


def pid_from_file(path):
    """The pid written in a pidfile, or None."""
    text = read_text(path).strip()
    return int(text) if text.isdigit() else None


def pidfile_proc(path, since):
    """(pid, starttime) from a pidfile, if that process started after the
    record was written (since, epoch s); else (None, None).

    A stale pidfile may name a pid that now belongs to an unrelated process;
    one that started before the lab registered the pidfile is not ours.
    """
    pid = pid_from_file(path)
    started = proc_start_epoch(pid) if pid else None
    if started is None or started < since - 2.0:
        return None, None
    return pid, proc_stat(pid)[1]


def recorded_procs(labdir):
    """[(name, pid, starttime)] of every recorded process that has a pid."""
    out = []
    d = procs_dir(labdir)
    for fn in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if not fn.endswith(".json"):
            continue
        try:
            rec = json.loads(read_text(os.path.join(d, fn)))
        except ValueError:
            continue
        pid, start = rec.get("pid"), rec.get("starttime")
        if pid is None and rec.get("pidfile"):
            pid, start = pidfile_proc(rec["pidfile"], rec.get("since", 0))
        if pid:
            out.append((rec["name"], pid, start))
    return out


def clear_stale_records(labdir):
    """Reusing a lab dir: refuse if its processes still run, else drop
    the previous lab's process records and lab.json."""
    live = [(n, p) for n, p, s in recorded_procs(labdir) if is_alive(p, s)]
    if live:
        raise LabError("a lab still runs in %s: %r" % (labdir, live))
    shutil.rmtree(procs_dir(labdir), ignore_errors=True)
    try:
        os.unlink(os.path.join(labdir, "lab.json"))
    except FileNotFoundError:
        pass


def teardown_dir(labdir, timeout=10.0):
    """Stop every process a lab dir records, then their stray children.

    SIGTERM first (Postfix's master and Dovecot stop their own children on
    it), SIGKILL whatever is left after timeout.  Returns the list of
    (pid, starttime) that survived even SIGKILL (should be empty).
    """
    top = [(pid, start) for _, pid, start in recorded_procs(labdir)]
    kids = list(descendants([p for p, s in top if is_alive(p, s)]).items())
    signal_procs(top, signal.SIGTERM)
    left = wait_gone(top, timeout)
    signal_procs(left, signal.SIGKILL)
    left = wait_gone(top + kids, 3.0)
    signal_procs(left, signal.SIGKILL)
    return wait_gone(left, 2.0)


def guard_main(labdir, remove_dir=False):
    """Guardian: tear the lab down when the lab's process dies.

    stdin is a pipe whose only writer is the lab's process.  A line "exit"
    means the lab stopped cleanly; EOF without it means the lab's process
    died (SIGKILL included), so stop everything recorded in labdir.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    clean = False
    for line in sys.stdin:
        if line.strip() == "exit":
            clean = True
            break
    if clean:
        return 0
    print("guardian: lab process gone, tearing down %s" % labdir, flush=True)
    left = teardown_dir(labdir)
    print("guardian: done, survivors: %r" % (left,), flush=True)
    if remove_dir and not left:
        shutil.rmtree(labdir, ignore_errors=True)
    return 0


def hold_main(listen_fd, bound_fd):
    """The slow.test / dead.test helper.

    listen_fd: a listening socket whose connections are accepted, read and
    never answered (an SMTP server that hangs before its greeting).
    bound_fd: a bound socket that never listens; holding it keeps the
    dead.test port reserved, and connections to it are refused.
    """
    lsock = socket.socket(fileno=listen_fd)
    # bound_fd needs nothing: staying open in this process is its job.
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is lsock:
                conn, _ = lsock.accept()
                sel.register(conn, selectors.EVENT_READ)
                continue
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                data = b""
            if not data:
                sel.unregister(key.fileobj)
                key.fileobj.close()


# ---------------------------------------------------------------------------
# The Lab
# ---------------------------------------------------------------------------

class Lab:
    """Real mail servers on loopback in one lab directory.

    Use as `with Lab() as lab:` or call start()/stop().  After start(),
    lab.ports, lab.paths, lab.users, lab.ldap and lab.pids describe the
    running lab (the same data is in lab.json in the lab dir).
    """

    def __init__(self, dir=None, components=DEFAULT_COMPONENTS,
                 tmp_parent="/tmp", syslog_name="postfix",
                 queue_run_delay="10s", minimal_backoff_time="5s",
                 maximal_backoff_time="10s", users=None, postfix_extra=None,
                 haproxy_servers=None, start_timeout=10.0, keep=False):
        unknown = set(components) - set(ALL_COMPONENTS)
        if unknown:
            raise ValueError("unknown lab components: %s" % sorted(unknown))
        self.components = tuple(c for c in ALL_COMPONENTS if c in components)
        self._dir_arg, self._tmp_parent = dir, tmp_parent
        self.syslog_name = syslog_name
        self.backoff = {"queue_run_delay": queue_run_delay,
                        "minimal_backoff_time": minimal_backoff_time,
                        "maximal_backoff_time": maximal_backoff_time}
        self.users = dict(users or DEFAULT_USERS)
        self.postfix_extra = dict(postfix_extra or {})
        self.haproxy_servers = haproxy_servers
        self.start_timeout = start_timeout
        self.keep = keep or os.environ.get("MAILMON_LAB_KEEP") == "1"
        self.dir = None
        self.ports = dict.fromkeys(PORT_KEYS)
        self.paths, self.pids, self.pidfiles = {}, {}, {}
        self.ldap = {}
        self._children = {}   # name -> Popen of foreground servers
        self._held = {}       # name -> reserved socket until server binds
        self._guard = None
        self._created_dir = False
        self.started = False

    # -- context manager ---------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- start / stop --------------------------------------------------------

    def start(self):
        """Start every selected component; raise LabError on any failure.

        On failure everything already started is stopped again.
        """
        self._make_dir()
        self._start_guard()
        try:
            self._reserve_ports()
            self._make_cert()
            starters = {"slapd": self._start_slapd,
                        "dovecot": self._start_dovecot,
                        "postfix": self._start_postfix,
                        "haproxy": self._start_haproxy,
                        "snmpd": self._start_snmpd}
            # Foreground servers first: they come up while postfix start runs.
            for name in ("slapd", "dovecot", "snmpd", "postfix", "haproxy"):
                if name in self.components:
                    starters[name]()
            self._wait_ready()
            self.started = True
            self._write_lab_json("running")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """Stop everything this lab started, dismiss the guardian, clean up.

        Safe to call twice and after a failed start.
        """
        if self.dir is None:
            return
        for sock in self._held.values():
            sock.close()
        self._held.clear()
        if "haproxy" in self._children:
            self._stop_child("haproxy")
        self._stop_postfix()
        for name in list(self._children):
            self._stop_child(name)
        left = teardown_dir(self.dir, timeout=5.0)  # anything not yet gone
        self._dismiss_guard()
        self.started = False
        if self._created_dir and not self.keep and not left:
            shutil.rmtree(self.dir, ignore_errors=True)
        elif os.path.isdir(self.dir):
            self._write_lab_json("stopped")
        if left:
            raise LabError("processes survived teardown: %r" % (left,))

    # -- directory, guardian, ports, certificate -----------------------------

    def _make_dir(self):
        """Create the lab dir (mode 0711: services running as other users
        must traverse it) and its run/ and log/ subdirs."""
        if self._dir_arg is None:
            labdir = tempfile.mkdtemp(prefix="mailmon-lab-",
                                      dir=self._tmp_parent)
            self._created_dir = True
        else:
            labdir = os.path.abspath(self._dir_arg)
            os.makedirs(labdir, exist_ok=True)
            clear_stale_records(labdir)
        # Set only now: stop() tears down whatever self.dir records, and
        # must never touch another lab that still runs in a reused dir.
        self.dir = labdir
        os.chmod(self.dir, 0o711)
        os.makedirs(procs_dir(self.dir), exist_ok=True)
        self.log_dir = self._mkdir("log")
        self.paths["lab_json"] = os.path.join(self.dir, "lab.json")

    def _mkdir(self, *parts, mode=0o755, owner=None):
        path = os.path.join(self.dir, *parts)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, mode)
        if owner:
            pw = pwd.getpwnam(owner)
            os.chown(path, pw.pw_uid, pw.pw_gid)
        return path

    def _start_guard(self):
        """Start the guardian before any server, so none can leak."""
        log = os.path.join(self.log_dir, "guard.log")
        cmd = [sys.executable, THIS_FILE, "guard", self.dir]
        if self._created_dir and not self.keep:
            cmd.append("--remove")
        with open(log, "ab") as out:
            self._guard = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=out, stderr=out,
                cwd="/", start_new_session=True)
        self.pids["guard"] = self._guard.pid
        self.paths["guard_log"] = log

    def _dismiss_guard(self):
        """Tell the guardian the lab stopped cleanly, and reap it."""
        if self._guard is None:
            return
        try:
            self._guard.stdin.write(b"exit\n")
            self._guard.stdin.close()
        except (BrokenPipeError, ValueError):
            pass
        try:
            self._guard.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._guard.kill()
            self._guard.wait()
        self._guard = None

    def _reserve_ports(self):
        """Hold a socket on a free port for every server in the lab.

        Holding them all at once guarantees they are distinct; each is
        released right before its server binds (see _port).
        """
        names = []
        if "postfix" in self.components:
            names += ["smtpd", "sink", "reject"]
        if "dovecot" in self.components:
            names += ["imap", "imaps", "pop3", "pop3s"]
        if "slapd" in self.components:
            names += ["ldap"]
        if "haproxy" in self.components:
            names += ["haproxy"]
        for name in names:
            self._held[name] = reserve_port()
        if "snmpd" in self.components:
            self._held["snmp"] = reserve_port(socket.SOCK_DGRAM)
        for name, sock in self._held.items():
            self.ports[name] = sock.getsockname()[1]

    def _port(self, name):
        """Release the reserved socket for name and return its port."""
        sock = self._held.pop(name, None)
        if sock is not None:
            sock.close()
        return self.ports[name]

    def _make_cert(self):
        """Self-signed cert valid for localhost and 127.0.0.1 (EC: fast)."""
        tls = self._mkdir("tls")
        cert, key = os.path.join(tls, "cert.pem"), os.path.join(tls, "key.pem")
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
             "-subj", "/CN=localhost", "-addext",
             "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-keyout", key, "-out", cert])
        os.chmod(key, 0o600)
        self.paths.update(cert=cert, key=key)

    # -- foreground children ---------------------------------------------

    def _spawn(self, name, cmd, log, env=None, pass_fds=()):
        """Start a foreground server as our child in its own session.

        Own session: a Ctrl-C in the terminal reaches only the lab's
        process, which then stops the servers in order.  stdout and stderr
        go to log.  The pid is recorded for the guardian.
        """
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                env=env, cwd=self.dir, start_new_session=True,
                pass_fds=pass_fds)
        self._children[name] = proc
        self.pids[name] = proc.pid
        register_proc(self.dir, name, pid=proc.pid)
        return proc

    def _stop_child(self, name, timeout=10.0):
        """SIGTERM a foreground child, wait, SIGKILL if it hangs."""
        proc = self._children.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._unregister(name)

    def _unregister(self, name):
        try:
            os.unlink(os.path.join(procs_dir(self.dir), name + ".json"))
        except FileNotFoundError:
            pass

    # -- Postfix and its test destinations --------------------------------

    def _start_sinks(self):
        """smtp-sinks for sink.test/reject.test, the slow/dead helper.

        reject.test's sink answers RCPT with a 5xx (-f RCPT, reply -B), so
        Postfix bounces.  smtp-sink refuses to run as root without -u.
        sink.test's sink writes one file per mail transaction it accepted
        (-d) into sink_dump: the lab's own record of what was delivered
        there, for tests that need a count independent of mailmon.
        """
        sink_log = os.path.join(self.log_dir, "smtp-sink.log")
        reject_log = os.path.join(self.log_dir, "smtp-sink-reject.log")
        sink_dump = self._mkdir("sink-dump", owner="nobody")
        base = ["/usr/sbin/smtp-sink", "-u", "nobody"]
        self._spawn("sink", base + ["-h", "sink.test",
                                    "-d", os.path.join(sink_dump, "m."),
                                    "%s:%d" % (LOOPBACK, self._port("sink")),
                                    "64"], sink_log)
        self._spawn("reject", base + [
            "-h", "reject.test", "-f", "RCPT",
            "-B", "550 5.1.1 mailmon lab: recipient rejected",
            "%s:%d" % (LOOPBACK, self._port("reject")), "64"], reject_log)
        slow = socket.socket()
        slow.bind((LOOPBACK, 0))
        slow.listen(64)
        dead = reserve_port()
        self.ports["slow"] = slow.getsockname()[1]
        self.ports["dead"] = dead.getsockname()[1]
        hold_log = os.path.join(self.log_dir, "hold.log")
        self._spawn("slow", [sys.executable, THIS_FILE, "hold",
                             str(slow.fileno()), str(dead.fileno())],
                    hold_log, pass_fds=(slow.fileno(), dead.fileno()))
        slow.close()
        dead.close()
        self.paths.update(sink_log=sink_log, reject_log=reject_log,
                          hold_log=hold_log, sink_dump=sink_dump)

    def _routes(self):
        """The domain routing table: every test domain to loopback only."""
        return {"%s.test" % name: "smtp:[%s]:%d" % (LOOPBACK, self.ports[name])
                for name in ("sink", "reject", "dead", "slow")
                if self.ports[name]}

    def _postfix_conf(self):
        """Write main.cf, master.cf and the transport table."""
        conf = self._mkdir("postfix", "etc")
        queue = self._mkdir("postfix", "spool")
        data = self._mkdir("postfix", "data", mode=0o700, owner="postfix")
        self.paths.update(
            postfix_config_dir=conf, queue_dir=queue, data_dir=data,
            maillog=os.path.join(self.log_dir, "maillog"),
            transport=os.path.join(conf, "transport"),
            dovecot_lmtp=os.path.join(self.dir, "dovecot", "run", "lmtp"))
        p = dict(labdir=self.dir, queue_dir=queue, data_dir=data,
                 transport=self.paths["transport"],
                 lmtp_socket=self.paths["dovecot_lmtp"],
                 maillog=self.paths["maillog"], syslog_name=self.syslog_name,
                 extra=self.postfix_extra, **self.backoff)
        write_file(os.path.join(conf, "main.cf"), postfix_main_cf(p))
        write_file(os.path.join(conf, "master.cf"), POSTFIX_MASTER_CF.format(
            smtpd_addr="%s:%d" % (LOOPBACK, self.ports["smtpd"])))
        write_file(self.paths["transport"], transport_map(self._routes()))
        self.pidfiles["postfix"] = os.path.join(queue, "pid", "master.pid")

    def _start_postfix(self):
        """`postfix -c DIR start` (it daemonizes); the master pid is read
        from spool/pid/master.pid.  A failed start is silent without a tty,
        so on failure run `postfix check` under script(1) and read maillog.
        """
        self._start_sinks()
        self._postfix_conf()
        register_proc(self.dir, "postfix", pidfile=self.pidfiles["postfix"])
        self._port("smtpd")
        res = self.postfix_cmd("start", check=False)
        if res.returncode != 0:
            raise LabError("postfix start failed (rc %d)\n%s%s\n%s" % (
                res.returncode, res.stdout, res.stderr,
                self._postfix_diagnosis()))
        pid = self._wait_pidfile(self.pidfiles["postfix"])
        if pid is None:
            raise LabError("postfix master wrote no pidfile\n" +
                           self._postfix_diagnosis())
        self.pids["postfix"] = pid
        register_proc(self.dir, "postfix", pid=pid)

    def _postfix_diagnosis(self):
        """`postfix check` output (via a pty) plus the maillog tail."""
        res = run(["script", "-qec", "postfix -c %s check"
                   % self.paths["postfix_config_dir"], "/dev/null"],
                  check=False)
        return "postfix check:\n%s\n%s" % (res.stdout.strip(),
                                           tail(self.paths["maillog"]))

    def _wait_pidfile(self, path, timeout=5.0):
        """Poll for a pidfile (written a moment after daemonizing)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = pid_from_file(path)
            if pid and is_alive(pid):
                return pid
            time.sleep(0.05)
        return None

    def _stop_postfix(self):
        """SIGTERM the master (it stops its children), wait until it is
        really gone: not our child, so check /proc state, not kill -0."""
        pid = self.pids.pop("postfix", None)
        if pid is None:
            return
        st = proc_stat(pid)
        if st and is_alive(pid):
            os.kill(pid, signal.SIGTERM)
            if wait_gone([(pid, st[1])], 10.0):
                os.kill(pid, signal.SIGKILL)
                wait_gone([(pid, st[1])], 3.0)
        self._unregister("postfix")

    # -- Dovecot ---------------------------------------------------------------

    def _start_dovecot(self):
        """`dovecot -F -c FILE` as our child; passwd-file users, Maildir."""
        d = self._mkdir("dovecot")
        mail = self._mkdir("mail", mode=0o700, owner="dovecot")
        base = self._mkdir("dovecot", "run")
        state = self._mkdir("dovecot", "state")
        users = os.path.join(d, "users")
        write_file(users, dovecot_users(self.users, mail), mode=0o644)
        conf = os.path.join(d, "dovecot.conf")
        log = os.path.join(self.log_dir, "dovecot.log")
        write_file(conf, dovecot_conf(dict(
            instance="mailmon-lab-%d" % self.ports["imap"], base_dir=base,
            state_dir=state, log=log, cert=self.paths["cert"],
            key=self.paths["key"], mail_dir=mail, users=users,
            dh=DOVECOT_DH if os.path.exists(DOVECOT_DH) else None,
            imap=self._port("imap"), imaps=self._port("imaps"),
            pop3=self._port("pop3"), pop3s=self._port("pop3s"))))
        self.paths.update(dovecot_config=conf, dovecot_log=log,
                          dovecot_stderr=os.path.join(self.log_dir,
                                                      "dovecot.stderr"),
                          dovecot_base_dir=base, dovecot_users=users,
                          mail_dir=mail,
                          dovecot_lmtp=os.path.join(base, "lmtp"))
        self.pidfiles["dovecot"] = os.path.join(base, "master.pid")
        self._spawn("dovecot", ["dovecot", "-F", "-c", conf],
                    self.paths["dovecot_stderr"])

    # -- slapd -------------------------------------------------------------

    def _start_slapd(self):
        """slapadd the lab entries offline, then `slapd -d stats` in the
        foreground (daemon mode logs nothing without syslog)."""
        d = self._mkdir("slapd", mode=0o700)
        # Fresh database every start: slapadd into an old one would fail
        # on the entries that already exist.
        shutil.rmtree(os.path.join(d, "data"), ignore_errors=True)
        data = self._mkdir("slapd", "data", mode=0o700)
        conf = os.path.join(d, "slapd.conf")
        pidfile = os.path.join(d, "slapd.pid")
        write_file(conf, slapd_conf(dict(
            pidfile=pidfile, argsfile=os.path.join(d, "slapd.args"),
            data_dir=data)))
        ldif = os.path.join(d, "init.ldif")
        write_file(ldif, ldap_ldif(self.users))
        run(["slapadd", "-q", "-f", conf, "-l", ldif])
        log = os.path.join(self.log_dir, "slapd.log")
        uri = "ldap://%s:%d/" % (LOOPBACK, self._port("ldap"))
        self.paths.update(slapd_config=conf, slapd_log=log, slapd_data=data,
                          ldif=ldif)
        self.pidfiles["slapd"] = pidfile
        self.ldap = {"uri": uri.rstrip("/"), "base": LDAP_BASE,
                     "rootdn": LDAP_ROOTDN, "password": LDAP_ROOTPW,
                     "people": "ou=people," + LDAP_BASE}
        self._spawn("slapd", ["slapd", "-d", "stats", "-h", uri, "-f", conf],
                    log)

    # -- HAProxy -------------------------------------------------------------

    def _start_haproxy(self):
        """`haproxy -db -f CFG` as our child, fronting the lab smtpd."""
        d = self._mkdir("haproxy")
        self.paths.update(haproxy_config=os.path.join(d, "haproxy.cfg"),
                          haproxy_admin_socket=os.path.join(d, "admin.sock"),
                          haproxy_log=os.path.join(self.log_dir,
                                                   "haproxy.log"))
        self._port("haproxy")
        servers = self.haproxy_servers
        if servers is None and self.ports["smtpd"]:
            servers = [{"name": "postfix", "port": self.ports["smtpd"]}]
        self._write_haproxy(servers or [])
        self._spawn_haproxy()

    def _write_haproxy(self, servers):
        self.haproxy_servers = servers
        write_file(self.paths["haproxy_config"], haproxy_cfg(dict(
            admin_sock=self.paths["haproxy_admin_socket"],
            port=self.ports["haproxy"]), servers))

    def _spawn_haproxy(self):
        self._spawn("haproxy", ["haproxy", "-db", "-f",
                                self.paths["haproxy_config"]],
                    self.paths["haproxy_log"])

    def haproxy_config(self, servers):
        """Rewrite haproxy.cfg for servers and restart HAProxy on it.

        servers: list of {name, port, addr?, weight?, agent_port?,
        agent_addr?} (see haproxy_cfg).  A restart, not a reload: the
        frontend port must be free before the new process binds it
        (noreuseport), and a foreground child is easy to wait for.
        """
        if "haproxy" not in self.components:
            raise LabError("haproxy is not a component of this lab")
        self._write_haproxy(servers)
        self._stop_child("haproxy")
        self._spawn_haproxy()
        self._wait_ready(only=("haproxy",))
        self._write_lab_json("running")

    def haproxy_cmd(self, command, timeout=5.0):
        """Send one command to HAProxy's admin socket; return the reply."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout)
            s.connect(self.paths["haproxy_admin_socket"])
            s.sendall(command.encode() + b"\n")
            chunks = []
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
        return b"".join(chunks).decode(errors="replace")

    # -- snmpd ---------------------------------------------------------------

    def _start_snmpd(self):
        """snmpd as AgentX master in the foreground; MIBS= silences the
        missing-MIB noise (Debian ships no standard MIB files)."""
        d = self._mkdir("snmpd")
        persist = self._mkdir("snmpd", "persist")
        conf = os.path.join(d, "snmpd.conf")
        agentx = os.path.join(d, "agentx.sock")
        pidfile = os.path.join(d, "snmpd.pid")
        log = os.path.join(self.log_dir, "snmpd.log")
        write_file(conf, snmpd_conf(dict(port=self._port("snmp"),
                                         agentx=agentx)))
        self.paths.update(snmpd_config=conf, snmpd_log=log,
                          agentx_socket=agentx, snmpd_persist=persist)
        self.pidfiles["snmpd"] = pidfile
        env = dict(os.environ, MIBS="", SNMP_PERSISTENT_DIR=persist)
        self._spawn("snmpd", ["snmpd", "-f", "-Lo", "-C", "-c", conf,
                              "-p", pidfile], log, env=env)

    def snmpd_stop(self):
        """Stop the AgentX master (tests of a subagent losing it)."""
        if "snmpd" not in self.components:
            raise LabError("snmpd is not a component of this lab")
        self._stop_child("snmpd")

    def snmpd_start(self):
        """Start the master again, same port and socket, after snmpd_stop."""
        if os.path.exists(self.paths["agentx_socket"]):
            os.unlink(self.paths["agentx_socket"])
        self._start_snmpd()
        self._wait_ready(only=("snmpd",))
        self._write_lab_json("running")

    # -- readiness -------------------------------------------------------

    def _readiness(self):
        """{component: (log path, [checks])}; a check is a callable."""
        tcp = lambda *names: [lambda n=n: port_bound(self.ports[n])
                              for n in names]
        exists = lambda key: (lambda: os.path.exists(self.paths[key]))
        table = {
            "postfix": (self.paths.get("maillog"),
                        tcp("smtpd", "sink", "reject", "slow")),
            "dovecot": (self.paths.get("dovecot_log"),
                        tcp("imap", "imaps", "pop3", "pop3s")
                        + [exists("dovecot_lmtp")]),
            "slapd": (self.paths.get("slapd_log"), tcp("ldap")),
            "haproxy": (self.paths.get("haproxy_log"), tcp("haproxy")),
            "snmpd": (self.paths.get("snmpd_log"),
                      [lambda: port_bound(self.ports["snmp"], "udp"),
                       exists("agentx_socket")]),
        }
        return {k: v for k, v in table.items() if k in self.components}

    def _child_logs(self, name):
        """Log tails to show when component name fails."""
        logs = {"postfix": ["maillog", "sink_log", "reject_log", "hold_log"],
                "dovecot": ["dovecot_log", "dovecot_stderr"]}
        keys = logs.get(name, [name + "_log"])
        return "\n".join(tail(self.paths[k]) for k in keys if k in self.paths)

    def _wait_ready(self, only=None):
        """Wait (bounded) until every component's ports accept; a child
        that exits meanwhile fails at once, with its log."""
        deadline = time.monotonic() + self.start_timeout
        pending = {k: v for k, v in self._readiness().items()
                   if only is None or k in only}
        while pending:
            self._check_children()
            for name in list(pending):
                if all(check() for check in pending[name][1]):
                    del pending[name]
            if not pending:
                break
            if time.monotonic() > deadline:
                name = sorted(pending)[0]
                raise LabError("%s not ready after %.0f s\n%s" % (
                    name, self.start_timeout, self._child_logs(name)))
            time.sleep(0.05)

    def _check_children(self):
        """Raise LabError if a foreground server already exited."""
        for name, proc in self._children.items():
            rc = proc.poll()
            if rc is not None:
                owner = {"sink": "postfix", "reject": "postfix",
                         "slow": "postfix"}.get(name, name)
                raise LabError("%s exited during startup (rc %s)\n%s" % (
                    name, rc, self._child_logs(owner)))

    # -- lab.json ------------------------------------------------------------

    def info(self, status="running"):
        """Everything about the lab as a dict (the content of lab.json)."""
        return {
            "version": 1,
            "status": status,
            "dir": self.dir,
            "components": list(self.components),
            "syslog_name": self.syslog_name,
            "ports": dict(self.ports),
            "paths": dict(self.paths),
            "domains": dict(self._routes(), **{
                LAB_DOMAIN: "lmtp:unix:" + self.paths.get("dovecot_lmtp", "")})
            if "postfix" in self.components else {},
            "users": {u: {"password": pw, "email": "%s@%s" % (u, LAB_DOMAIN)}
                      for u, pw in self.users.items()},
            "ldap": dict(self.ldap),
            "pids": dict(self.pids),
            "pidfiles": dict(self.pidfiles),
        }

    def _write_lab_json(self, status):
        path = self.paths["lab_json"]
        write_file(path + ".tmp", json.dumps(self.info(status), indent=2)
                   + "\n")
        os.replace(path + ".tmp", path)

    # -- convenience for tests -----------------------------------------------

    def postfix_cmd(self, *args, check=True):
        """Run `postfix -c CONFDIR ARGS...` (e.g. "reload", "flush")."""
        return run(["postfix", "-c", self.paths["postfix_config_dir"]]
                   + list(args), check=check)

    def postconf(self, settings, reload=True):
        """Change main.cf settings ({name: value}) and reload Postfix."""
        run(["postconf", "-c", self.paths["postfix_config_dir"], "-e"]
            + ["%s=%s" % kv for kv in settings.items()])
        if reload:
            self.postfix_cmd("reload")

    def send(self, mail_from, rcpts, subject="mailmon lab test",
             body="hello from the mailmon lab\n", size=None, headers=None,
             port=None, helo=CLIENT_HELO):
        """Submit one message over SMTP to the lab smtpd; return queue id.

        size: pad the body to about this many bytes.  Raises
        smtplib.SMTPException when the server refuses it.
        """
        rcpts = [rcpts] if isinstance(rcpts, str) else list(rcpts)
        msg = self._build_message(mail_from, rcpts, subject, body, size,
                                  headers or {})
        port = port or self.ports["smtpd"]
        with smtplib.SMTP(LOOPBACK, port, local_hostname=helo,
                          timeout=30) as s:
            s.ehlo()
            code, resp = s.mail(mail_from)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, resp, mail_from)
            for r in rcpts:
                code, resp = s.rcpt(r)
                if code not in (250, 251):
                    raise smtplib.SMTPRecipientsRefused({r: (code, resp)})
            code, resp = s.data(msg.as_bytes())
            if code != 250:
                raise smtplib.SMTPDataError(code, resp)
        m = re.search(rb"queued as ([0-9A-Za-z]+)", resp)
        return m.group(1).decode() if m else None

    @staticmethod
    def _build_message(mail_from, rcpts, subject, body, size, headers):
        msg = EmailMessage()
        msg["From"] = mail_from
        msg["To"] = ", ".join(rcpts)
        msg["Subject"] = subject
        msg["Date"] = email.utils.formatdate(localtime=True)
        # domain= given: make_msgid() would otherwise resolve our FQDN.
        msg["Message-ID"] = email.utils.make_msgid(domain=CLIENT_HELO)
        for k, v in headers.items():
            msg[k] = v
        if size and size > len(body):
            filler = "x" * 75 + "\n"
            body += filler * ((size - len(body)) // len(filler) + 1)
        msg.set_content(body)
        return msg

    def postqueue_json(self):
        """The Postfix queue as a list of dicts (`postqueue -j`)."""
        res = run(["postqueue", "-c", self.paths["postfix_config_dir"],
                   "-j"])
        return [json.loads(line) for line in res.stdout.splitlines()
                if line.strip()]

    def sink_messages(self):
        """What sink.test's smtp-sink accepted, from its dump files (one
        per mail transaction): a list of {"from": addr, "rcpts": [addr]}.
        A transaction still being written is left out."""
        out = []
        d = self.paths["sink_dump"]
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                data = f.read().decode("utf-8", "replace")
            if not data.endswith("\n\n"):
                continue  # in progress: the dump ends with an empty line
            head = data.split("\n\n", 1)[0].splitlines()
            sender = [h.split(":", 1)[1].strip() for h in head
                      if h.startswith("X-Mail-Args:")]
            rcpts = [h.split(":", 1)[1].strip() for h in head
                     if h.startswith("X-Rcpt-Args:")]
            # "<addr> BODY=8BITMIME", "<addr> ORCPT=rfc822;addr"
            addr = lambda a: re.sub(r"^(?:(?:FROM|TO):)?<([^>]*)>.*$", r"\1",
                                    a, flags=re.I)
            out.append({"from": addr(sender[0]) if sender else None,
                        "rcpts": [addr(r) for r in rcpts]})
        return out

    def mailbox_count(self, user):
        """Messages in user's Dovecot Maildir (new/ and cur/), read from
        the files Dovecot wrote: the lab's record of LMTP deliveries."""
        box = os.path.join(self.paths["mail_dir"], user, "Maildir")
        return sum(len(os.listdir(os.path.join(box, sub)))
                   for sub in ("new", "cur")
                   if os.path.isdir(os.path.join(box, sub)))

    def flush(self):
        """Ask Postfix to retry the deferred queue now (`postqueue -f`)."""
        run(["postqueue", "-c", self.paths["postfix_config_dir"], "-f"])

    @staticmethod
    def wait_for(predicate, timeout=30.0, interval=0.2, what=None):
        """Poll predicate until it returns something true; return that.

        Raises TimeoutError naming what (or the predicate) on timeout.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError("timed out after %.1f s waiting for %s"
                                   % (timeout, what or predicate))
            time.sleep(interval)

    def maillog_text(self):
        """The whole Postfix maillog."""
        return read_text(self.paths["maillog"])

    def dovecot_log_text(self):
        """The whole Dovecot log."""
        return read_text(self.paths["dovecot_log"])

    def ssl_context(self):
        """A client TLS context that trusts (only) the lab certificate."""
        return ssl.create_default_context(cafile=self.paths["cert"])

    def imap_fetch(self, user, password, tls=False, mailbox="INBOX"):
        """All messages in a mailbox over IMAP, as EmailMessage objects.

        tls: False (plain port), True (imaps, implicit TLS) or "starttls".
        Read-only: nothing is flagged or deleted.
        """
        if tls is True:
            conn = imaplib.IMAP4_SSL(LOOPBACK, self.ports["imaps"],
                                     ssl_context=self.ssl_context())
        else:
            conn = imaplib.IMAP4(LOOPBACK, self.ports["imap"])
            if tls == "starttls":
                conn.starttls(ssl_context=self.ssl_context())
        try:
            conn.login(user, password)
            conn.select(mailbox, readonly=True)
            _, data = conn.search(None, "ALL")
            out = []
            for num in data[0].split():
                _, parts = conn.fetch(num, "(BODY.PEEK[])")
                out.append(email.message_from_bytes(
                    parts[0][1], policy=email.policy.default))
            conn.close()
            return out
        finally:
            conn.logout()

    def pop_fetch(self, user, password, tls=False):
        """All messages in the POP3 maildrop, as EmailMessage objects.

        tls: False, True (pop3s) or "starttls" (STLS).  Nothing is deleted.
        """
        if tls is True:
            conn = poplib.POP3_SSL(LOOPBACK, self.ports["pop3s"],
                                   context=self.ssl_context(), timeout=30)
        else:
            conn = poplib.POP3(LOOPBACK, self.ports["pop3"], timeout=30)
            if tls == "starttls":
                conn.stls(context=self.ssl_context())
        try:
            conn.user(user)
            conn.pass_(password)
            count, _ = conn.stat()
            out = []
            for i in range(1, count + 1):
                _, lines, _ = conn.retr(i)
                out.append(email.message_from_bytes(
                    b"\r\n".join(lines), policy=email.policy.default))
            return out
        finally:
            conn.quit()


# ---------------------------------------------------------------------------
# Internal entry points: `mailmonlab.py guard DIR [--remove]`,
# `mailmonlab.py hold LISTEN_FD BOUND_FD`
# ---------------------------------------------------------------------------

def _internal_main(argv):
    if len(argv) >= 2 and argv[0] == "guard":
        return guard_main(argv[1], remove_dir="--remove" in argv[2:])
    if len(argv) == 3 and argv[0] == "hold":
        return hold_main(int(argv[1]), int(argv[2]))
    sys.stderr.write("usage: mailmonlab.py guard DIR [--remove] | "
                     "hold LISTEN_FD BOUND_FD\n(internal; use mailmon-lab)\n")
    return 2


if __name__ == "__main__":
    sys.exit(_internal_main(sys.argv[1:]))
