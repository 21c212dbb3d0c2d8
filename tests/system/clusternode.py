"""Helpers for the cluster tests: a mailmond config watching one lab
Postfix (lab_config; as a cluster node with verdict, qmgr process check
and HAProxy agent: node_config), the master's children by name (its
qmgr pid), the HAProxy agent's answer read as HAProxy reads it, and the
servers' states from HAProxy's stats socket, and the isolation setup of
docs/cluster.md (isolated_transport)."""
import os
import socket
import subprocess

import mailmonlab


def master_pidfile(lab):
    return os.path.join(lab.paths["queue_dir"], "pid", "master.pid")


def lab_config(lab, http_port, state, interval_s=2, others=()):
    """The start of a mailmond config watching the lab's Postfix (and the
    others' queues and maillogs): state and run files in state, the API
    on http_port, queue scans every interval_s, no history, no alarm
    mail."""
    instances = ("instances = %s\n" % ", ".join(o.paths["postfix_config_dir"] for o in others)
                 if others else "")
    sources = ", ".join([lab.paths["maillog"]] + [o.paths["maillog"] for o in others])
    return """\
[daemon]
state_directory = {state}
run_directory = {state}
pidfile = {state}/mailmond.pid
[http]
listen = 127.0.0.1:{http}
[mta]
type = postfix
config_directory = {conf}
queue_directory = {q}
[queue]
{instances}scan_interval = {iv}s
[log]
sources = {sources}
[history]
enable = no
[alarm]
mail = no
""".format(state=state, http=http_port, conf=lab.paths["postfix_config_dir"],
           q=lab.paths["queue_dir"], instances=instances, iv=interval_s, sources=sources)


def node_config(path, lab, http_port, agent_port, state, window_s, interval_s=2, others=(),
                extra=""):
    """Writes the config of a node's mailmond: the lab's Postfix (queue,
    maillog), [service.smtp] with the master's pidfile, [service.qmgr]
    limited to the master's children, and [cluster] with the given stall
    window, interval and agent port.  others: more lab Postfix instances
    on the same host, the i-th (from 1) added to [queue] instances and
    [log] sources with its own [service.smtpI] and [service.qmgrI].
    extra: text appended to the file."""
    master_pid = master_pidfile(lab)
    more = "".join("""\
[service.smtp{i}]
url = smtp://127.0.0.1:{smtpd}
interval = {iv}s
pidfile = {pid}
[service.qmgr{i}]
process_name = qmgr
parent_pidfile = {pid}
interval = {iv}s
""".format(i=i, smtpd=o.ports["smtpd"], pid=master_pidfile(o), iv=interval_s)
                   for i, o in enumerate(others, 1))
    path.write_text(lab_config(lab, http_port, state, interval_s, others) + """\
[service.smtp]
url = smtp://127.0.0.1:{smtpd}
interval = {iv}s
pidfile = {master_pid}
[service.qmgr]
process_name = qmgr
parent_pidfile = {master_pid}
interval = {iv}s
[cluster]
interval = {iv}s
stall_window = {window}s
agent_listen = 127.0.0.1:{agent}
{more}{extra}""".format(smtpd=lab.ports["smtpd"], master_pid=master_pid, window=window_s,
                        agent=agent_port, iv=interval_s, more=more, extra=extra))


def children(lab, name):
    """The live children of this lab's master named name: [pid, ...]."""
    master = mailmonlab.pid_from_file(master_pidfile(lab))
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                st = f.read()
            with open("/proc/%s/comm" % entry) as f:
                comm = f.read().strip()
        except OSError:
            continue
        fields = st.rsplit(")", 1)[1].split()
        if comm == name and int(fields[1]) == master and fields[0] not in "ZX":
            pids.append(int(entry))
    return pids


def qmgr_pid(lab):
    """The qmgr child of this lab's master (every instance's is named qmgr)."""
    pids = children(lab, "qmgr")
    if not pids:
        raise AssertionError("no qmgr under master %s"
                             % mailmonlab.pid_from_file(master_pidfile(lab)))
    return pids[0]


def agent_answer(port, host="127.0.0.1", send=None):
    """The line mailmond's HAProxy agent answers: connect, send what
    HAProxy's agent-send would (when given), read to EOF."""
    with socket.create_connection((host, port), timeout=3) as s:
        s.settimeout(3)
        if send is not None:
            s.sendall(send.encode())
        data = b""
        while True:
            chunk = s.recv(512)
            if not chunk:
                return data.decode()
            data += chunk


def haproxy_status(hap):
    """{server name: status} from HAProxy's `show stat` (UP, DRAIN, DOWN...)."""
    out = hap.haproxy_cmd("show stat")
    lines = out.strip().splitlines()
    head = lines[0].lstrip("# ").split(",")
    i_sv, i_st = head.index("svname"), head.index("status")
    res = {}
    for line in lines[1:]:
        f = line.split(",")
        if len(f) > i_st and f[i_sv] not in ("FRONTEND", "BACKEND"):
            res[f[i_sv]] = f[i_st]
    return res


def isolated_transport(lab, mappath, other_maps, name, helo_timeout="5s"):
    """The postmaster's isolation setup of docs/cluster.md on a lab
    Postfix: mailmond's map (hash:mappath, which must exist) first in
    transport_maps before other_maps, and the `isolated` smtp service with
    its own syslog_name (NAME/isolated), a 2 s connect and helo_timeout
    greeting wait; then postfix reload."""
    cdir = lab.paths["postfix_config_dir"]
    lab.postconf({"transport_maps": ", ".join(["hash:" + mappath] + list(other_maps))},
                 reload=False)
    lab.postconf({"isolated_destination_concurrency_limit": "2",
                  "isolated_destination_rate_delay": "0"}, reload=False)
    subprocess.run(["postconf", "-c", cdir, "-M",
                    "isolated/unix=isolated unix - - n - 2 smtp -o syslog_name=%s/isolated"
                    " -o smtp_connect_timeout=2s -o smtp_helo_timeout=%s"
                    % (name, helo_timeout)], check=True, timeout=30)
    lab.postfix_cmd("reload")
