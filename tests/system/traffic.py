"""Known mail through the lab's real Postfix, and what the lab's own
records say about it (never mailmon's code): shared by the tests that
check mailmond's figures (/metrics, history, SNMP).

  send_and_settle(lab, n_sink, n_dead)
      n_sink mails to sink.test (delivered by the smtp channel) and n_dead
      to dead.test (refused: they stay in the deferred queue); returns
      when the maillog shows the deliveries and postqueue -j the deferrals.
  start_mailmond(lab, tmp, extra="") -> (daemon, api, state dir)
      mailmond watching the lab's Postfix (maillog from the beginning,
      queue scans every second) with extra config text appended, started.
  independent_counts(lab) -> (sent, deferred)
      "status=sent" lines relayed to the sink in Postfix's maillog, and
      the deferred entries of `postqueue -j`.
  reason_class(text)
      the delay-reason class (refused, timeout, suspended, other, none) of
      a `postqueue -j` delay_reason, by Postfix's own wording.
  flood(port, n, domain, threads=4, prefix="f", timeout=60, rate=0)
      n one-recipient messages PREFIX<i>@domain (Message-ID
      <PREFIX<i>@client.lab.test>) through the smtpd at port, over
      `threads` SMTP sessions at once; returns when all are accepted.
      rate > 0 paces it: message i is sent no earlier than i/rate seconds
      after the start (a session that fell behind catches up at once).
"""
import re
import smtplib
import threading
import time

import mmbin


def reason_class(text):
    """The classes of src/mta/reason_class.c, for postqueue's texts."""
    t = (text or "").lower()
    if not t:
        return "none"
    if "delivery temporarily suspended" in t:
        return "suspended"
    if "connection refused" in t:
        return "refused"
    if "timed out" in t or "lost connection" in t:
        return "timeout"
    return "other"


SENDER = "sender@sink.test"


def send_and_settle(lab, n_sink, n_dead, timeout=90):
    for i in range(n_sink):
        lab.send(SENDER, "user%d@sink.test" % i)
    for i in range(n_dead):
        lab.send(SENDER, "user%d@dead.test" % i)

    def settled():
        t = lab.maillog_text()
        sent = len(re.findall(r"to=<user\d+@sink\.test>.*status=sent", t))
        deferred = [m for m in lab.postqueue_json() if m["queue_name"] == "deferred"]
        return sent == n_sink and len(deferred) == n_dead and (sent, len(deferred))
    return lab.wait_for(settled, timeout=timeout, what="lab traffic delivered and deferred")


def independent_counts(lab):
    t = lab.maillog_text()
    sent = len(re.findall(r"to=<[^>]+>, relay=[^,]*127\.0\.0\.1\[127\.0\.0\.1\]:%d.*status=sent"
                          % lab.ports["sink"], t))
    deferred = sum(1 for m in lab.postqueue_json() if m["queue_name"] == "deferred")
    return sent, deferred


def start_mailmond(lab, tmp, extra=""):
    port = mmbin.free_port()
    state = tmp / "state"
    state.mkdir()
    conf = tmp / "mailmon.conf"
    conf.write_text(
        "[daemon]\nstate_directory = %s\nrun_directory = %s\npidfile = %s\n"
        "[http]\nlisten = 127.0.0.1:%d\n"
        "[mta]\ntype = postfix\nconfig_directory = %s\n"
        "[log]\nsources = %s\nstart_at = beginning\n"
        "[queue]\nscan_interval = 1s\n" % (
            state, state, state / "mailmond.pid", port,
            lab.paths["postfix_config_dir"], lab.paths["maillog"]) + extra)
    daemon = mmbin.Daemon(str(conf), str(tmp / "mailmond.log"))
    api = "127.0.0.1:%d" % port
    daemon.start(api=api)
    return daemon, api, state


def flood(port, n, domain, threads=4, prefix="f", timeout=60, rate=0):
    """The flood of the cluster tests and bench (see the module text)."""
    import mailmonlab  # the lab's HELO name; on sys.path wherever the lab is
    start = time.monotonic()

    def worker(k):
        with smtplib.SMTP("127.0.0.1", port, timeout=timeout,
                          local_hostname=mailmonlab.CLIENT_HELO) as s:
            for i in range(k, n, threads):
                if rate > 0:
                    wait = start + i / rate - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                s.sendmail("a@client.lab.test", ["%s%d@%s" % (prefix, i, domain)],
                           "Subject: flood\r\nMessage-ID: <%s%d@client.lab.test>\r\n\r\nx\r\n"
                           % (prefix, i))
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
