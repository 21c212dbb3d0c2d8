"""Isolation of a flooded destination ([isolate], issue 15 item 3) on a
real Postfix 3.7.

One lab Postfix relays normal mail (rec.test) to a loopback sink that
records every Message-ID, and floods dead.test, whose port refuses
connections.  mailmond runs with [isolate] enable = yes.

- Before the postmaster's setup, `mailmon isolate dead.test` is refused
  and the answer names transport_maps; the isolatesetup alarm fires.
- With the setup of docs/cluster.md (our map first in transport_maps, an
  `isolated` smtp service in master.cf with its own syslog_name), a flood
  of 300 messages is isolated automatically: the map file and
  `postmap -q` show the entry with the nexthop kept from the lab's map,
  Postfix's own maillog shows dead.test attempts made by the isolated
  transport (postfix-iso/isolated/smtp), and every normal message sent
  during the flood reaches the sink.
- The state survives a mailmond restart.
- With release_after 3 s and dead.test's mail deleted (postsuper -d), it
  is released automatically.
- `mailmon isolate --release dead.test` removes the entry (postmap -q
  finds nothing) and moves dead.test's deferred mail back with
  postqueue -i (the count it reports is checked against the test's own
  postqueue -j): Postfix's plain smtp transport tries those messages
  again.
- Separated ([daemon] user = mailmon): the same through the root runner
  (postfix reload, the move), with the map in a 0750 state directory.
- [isolate] rewrite_wait: with no mail flowing trivial-rewrite does not
  restart on the rebuilt map, so after 2 s mailmond runs postfix reload,
  naming the old trivial-rewrite pid; then a new trivial-rewrite routes a
  dead.test message through the isolated transport. With mail flowing
  and a 10 min wait, trivial-rewrite restarts by itself and no reload
  happens (qmgr keeps its pid).
"""
import json
import os
import pwd
import re
import signal
import smtplib
import subprocess
import tempfile
import time

import pytest

import mailmonlab
import mmbin
from clusternode import children, lab_config, qmgr_pid
from smtp_record import RecordingSink
from traffic import flood

NAME = "postfix-iso"


def conf_text(lab, http, state, release_after="10m"):
    return lab_config(lab, http, state) + """\
[cluster]
interval = 2s
stall_window = 20s
flood_min_messages = 100
[isolate]
enable = yes
interval = 1s
release_after = {release_after}
""".format(release_after=release_after)


def send_normal(port, n, tag):
    ids = []
    with smtplib.SMTP("127.0.0.1", port, timeout=30,
                      local_hostname=mailmonlab.CLIENT_HELO) as s:
        for i in range(n):
            mid = "<iso-%s%d.%d@client.lab.test>" % (tag, i, os.getpid())
            s.sendmail("a@client.lab.test", ["u%d@rec.test" % i],
                       "Subject: normal\r\nMessage-ID: %s\r\n\r\nnormal\r\n" % mid)
            ids.append(mid)
    return ids


def maillog_lines(lab, since_offset=0):
    with open(lab.paths["maillog"], errors="replace") as f:
        f.seek(since_offset)
        return f.read().splitlines()


def postmap_q(lab, key, mapspec):
    return subprocess.run(["postmap", "-c", lab.paths["postfix_config_dir"], "-q", key, mapspec],
                          capture_output=True, text=True, timeout=30)


def deferred_ids(lab, domain):
    """Queue IDs of deferred messages with a recipient at domain, by the
    test's own postqueue -j."""
    out = subprocess.run(["postqueue", "-c", lab.paths["postfix_config_dir"], "-j"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    ids = set()
    for line in out.splitlines():
        m = json.loads(line)
        if m["queue_name"] == "deferred" and any(
                r["address"].lower().endswith("@" + domain) for r in m["recipients"]):
            ids.add(m["queue_id"])
    return ids


def moved_back(lab, offset, ids, rcpt_re, timeout=90):
    """Waits until the maillog shows Postfix's plain smtp transport trying
    one of the messages ids again; returns the seconds it took. The moved
    mail goes through the incoming queue, which the queue manager the
    release's reload started scans at once (0.2-1 s on the lab, idle or
    with 8 busy loops on its 2 cores); the deadline is for a CI machine
    far more loaded than that, and a failing run still ends in
    seconds."""
    plain_re = re.compile(r" %s/smtp\[\d+\]: (\w+): to=<%s>" % (NAME, rcpt_re))
    t0 = time.monotonic()

    def seen():
        return any(m and m.group(1) in ids
                   for m in map(plain_re.search, maillog_lines(lab, offset)))
    mailmonlab.Lab.wait_for(seen, timeout, interval=0.5,
                            what="maillog: a released message through the plain smtp "
                            "transport again")
    return time.monotonic() - t0


def isolation(api):
    return mmbin.Daemon.get(api, "/api/isolate")


def firing(api, alarm, prefix=""):
    for a in mmbin.Daemon.get(api, "/api/alarms")["alarms"]:
        if a["alarm"] == alarm and a["state"] == "firing" and a["instance"].startswith(prefix):
            return a
    return None


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    mmbin.require("postfix", "the isolation test runs a real Postfix")
    tmp = tmp_path_factory.mktemp("isolate")
    sink = RecordingSink().start()
    lab = mailmonlab.Lab(components=("postfix",), syslog_name=NAME)
    d = None
    try:
        lab.start()
        tmap = tmp / "transport"
        tmap.write_text("rec.test smtp:[127.0.0.1]:%d\n" % sink.port)
        lab.postconf({"transport_maps": "texthash:%s, texthash:%s"
                      % (tmap, lab.paths["transport"])})
        state = tmp / "state"
        state.mkdir()
        http = mmbin.free_port()
        conf = tmp / "mailmon.conf"
        conf.write_text(conf_text(lab, http, state))
        d = mmbin.Daemon(str(conf), str(tmp / "mailmond.log"))
        api = "127.0.0.1:%d" % http
        d.start(api=api)
        yield {"lab": lab, "d": d, "api": api, "conf": str(conf), "tmp": tmp,
               "map": str(state / "isolate" / "transport"), "tmap": str(tmap), "sink": sink}
    finally:
        rc = d.stop() if d else 0
        lab.stop()
        sink.stop()
    assert rc == 0, d.log()[-3000:]


def test_isolate_release(setup):
    lab, d, api, conf = setup["lab"], setup["d"], setup["api"], setup["conf"]
    sink, mappath = setup["sink"], setup["map"]
    cdir = lab.paths["postfix_config_dir"]
    spec = "hash:" + mappath
    # mailmond wrote its (empty) map at start; nothing else of Postfix's.
    mailmonlab.Lab.wait_for(lambda: os.path.exists(mappath + ".db"), 10, what="map .db")

    # 1. Without the setup: refused, naming what is missing.
    r = mmbin.mailmon("isolate", "--api", api, "dead.test")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "transport_maps does not list %s first" % spec in r.stderr, r.stderr
    mailmonlab.Lab.wait_for(lambda: firing(api, "isolatesetup"), 20, what="isolatesetup alarm")
    assert not isolation(api)["isolated"]

    # 2. The postmaster's setup, as docs/cluster.md gives it.
    lab.postconf({"transport_maps": "%s, texthash:%s, texthash:%s"
                  % (spec, setup["tmap"], lab.paths["transport"])}, reload=False)
    subprocess.run(["postconf", "-c", cdir, "-M",
                    "isolated/unix=isolated unix - - n - 2 smtp"
                    " -o syslog_name=%s/isolated -o smtp_connect_timeout=2s"
                    " -o smtp_helo_timeout=5s" % NAME], check=True, timeout=30)
    subprocess.run(["postconf", "-c", cdir, "-e", "isolated_destination_concurrency_limit=2",
                    "isolated_destination_rate_delay=0"], check=True, timeout=30)
    lab.postfix_cmd("reload")

    # 3. Flood dead.test (refused) while normal mail flows.
    offset = os.path.getsize(lab.paths["maillog"])
    t0 = time.time()
    flood(lab.ports["smtpd"], 300, "dead.test", threads=3)
    normal = send_normal(lab.ports["smtpd"], 20, "a")

    def isolated():
        doc = isolation(api)
        return [e for e in doc["isolated"] if e["destination"] == "dead.test"]
    e = mailmonlab.Lab.wait_for(isolated, 90, interval=1, what="dead.test isolated")[0]
    print("isolated after %.1f s: %s" % (time.time() - t0, e))
    assert e["reason"] == "refused" and e["mode"] == "auto", e
    # Postfix's view: the map file, postmap -q, the nexthop kept.
    want = "isolated:[127.0.0.1]:%d" % lab.ports["dead"]
    assert postmap_q(lab, "dead.test", spec).stdout.strip() == want
    with open(mappath) as f:
        assert "dead.test\t%s" % want in f.read()
    assert postmap_q(lab, "rec.test", spec).returncode == 1  # only the flooded one
    # Postfix's maillog: dead.test tried by the isolated transport.
    iso_re = re.compile(r" %s/isolated/smtp\[\d+\]: \w+: to=<f\d+@dead\.test>" % NAME)
    mailmonlab.Lab.wait_for(
        lambda: any(iso_re.search(x) for x in maillog_lines(lab, offset)), 30, interval=1,
        what="maillog: dead.test through the isolated transport")
    a = mailmonlab.Lab.wait_for(lambda: firing(api, "isolateddestination", "dead.test"), 20,
                                what="isolateddestination alarm")
    assert a["instance"] == "dead.test,refused", a
    # Normal mail kept flowing, by the sink's own record.
    normal += send_normal(lab.ports["smtpd"], 20, "b")
    mailmonlab.Lab.wait_for(lambda: set(normal) <= set(sink.ids), 30, interval=1,
                            what="normal mail at the sink")
    st = mmbin.mailmon("status", "--api", api).stdout
    assert "isolated: dead.test (refused, auto) [transport isolated]" in st, st

    # 4. The state survives a restart.
    d.stop()
    d.start(api=api)
    assert [x["destination"] for x in isolation(api)["isolated"]] == ["dead.test"]
    r = mmbin.mailmon("isolate", "--api", api, "--list")
    assert r.returncode == 0 and re.search(r"^dead\.test +refused +auto ", r.stdout, re.M), r.stdout

    # 5. Released automatically once dead.test stops failing (its mail
    # deleted with postsuper), after release_after (3 s, by a reload).
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text.replace("release_after = 10m", "release_after = 3s"))
    d.signal(signal.SIGHUP)
    mailmonlab.Lab.wait_for(
        lambda: d.get(api, "/api/status")["reload"]["in_effect"].get("isolate.release_after")
        == 3000, 15, what="release_after 3 s in effect")
    subprocess.run(["postsuper", "-c", cdir, "-d", "ALL"], check=True, timeout=60,
                   capture_output=True)
    mailmonlab.Lab.wait_for(lambda: not isolation(api)["isolated"], 40, interval=1,
                            what="dead.test released automatically")
    assert postmap_q(lab, "dead.test", spec).returncode == 1
    assert re.search(r"isolate: dead\.test has not been failing for \d+ s: releasing", d.log())
    with open(conf, "w") as f:
        f.write(text)
    d.signal(signal.SIGHUP)
    mailmonlab.Lab.wait_for(
        lambda: d.get(api, "/api/status")["reload"]["in_effect"].get("isolate.release_after")
        == 600000, 15, what="release_after 10 min in effect again")

    # 6. Flooded again: isolated again; then released by hand: the entry
    # goes, and the mail moves back.
    flood(lab.ports["smtpd"], 300, "dead.test", threads=3)
    mailmonlab.Lab.wait_for(isolated, 90, interval=1, what="dead.test isolated again")
    before = mailmonlab.Lab.wait_for(lambda: deferred_ids(lab, "dead.test"), 60, interval=1,
                                     what="deferred dead.test mail")
    offset = os.path.getsize(lab.paths["maillog"])
    t_rel = time.monotonic()
    r = mmbin.mailmon("isolate", "--api", api, "--release", "dead.test")
    t_rel = time.monotonic() - t_rel
    assert r.returncode == 0, (r.stdout, r.stderr)
    m = re.search(r"released dead\.test \(refused\); (\d+) deferred messages moved back "
                  r"\(postqueue -i\)", r.stdout)
    # mailmond's count against the test's own: messages go on moving
    # between deferred and active (retries), never beyond the flood's 300.
    assert m and 0 < int(m.group(1)) <= 300, (r.stdout, len(before))
    assert postmap_q(lab, "dead.test", spec).returncode == 1
    assert not isolation(api)["isolated"]
    took = moved_back(lab, offset, before, r"f\d+@dead\.test")
    print("released in %.1f s: %s moved (%d deferred just before, by postqueue -j); plain "
          "smtp after %.1f s more" % (t_rel, m.group(1), len(before), took))
    # Released by hand: not isolated again automatically while it floods.
    time.sleep(4)
    assert not isolation(api)["isolated"]
    mailmonlab.Lab.wait_for(lambda: not firing(api, "isolateddestination"), 30,
                            what="isolateddestination cleared")
    # A bad name is refused by mailmond before anything runs.
    r = mmbin.mailmon("isolate", "--api", api, "bad/name")
    assert r.returncode == 1 and "destination" in r.stderr, r.stderr
    log = d.log()
    assert "isolate: isolated dead.test (refused, auto)" in log
    assert "isolate: released dead.test (refused)" in log


def test_isolate_separated(tmp_path):
    """[daemon] user = mailmon: postconf, postmap and postqueue run as
    mailmon, `postfix reload` (root only) through the runner helper, and
    Postfix reads the map from the state directory mailmond was handed
    (mode 0750, as the package makes /var/lib/mailmon)."""
    mmbin.require("postfix", "the isolation test runs a real Postfix")
    try:
        pwd.getpwnam("mailmon")
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                        "--shell", "/usr/sbin/nologin", "mailmon"], check=True)
    lab = mailmonlab.Lab(components=("postfix",), syslog_name=NAME)
    d = None
    try:
        lab.start()
        top = tempfile.mkdtemp(prefix="mm-isolate-sep-")
        os.chmod(top, 0o711)
        state = os.path.join(top, "state")
        os.mkdir(state, 0o750)
        spec = "hash:%s/isolate/transport" % state
        http = mmbin.free_port()
        api = "127.0.0.1:%d" % http
        conf = os.path.join(top, "mailmon.conf")
        with open(conf, "w") as f:
            f.write(conf_text(lab, http, state).replace(
                "[daemon]\n", "[daemon]\nuser = mailmon\n").replace(
                "run_directory = %s" % state, "run_directory = %s/run" % top))
        os.mkdir(os.path.join(top, "run"))
        d = mmbin.Daemon(conf, os.path.join(top, "mailmond.log"))
        st = d.start(api=api)
        assert st["privileges"]["separated"] is True, st["privileges"]
        mailmonlab.Lab.wait_for(lambda: os.path.exists(spec[5:] + ".db"), 10, what="map .db")
        assert os.stat(spec[5:] + ".db").st_uid == pwd.getpwnam("mailmon").pw_uid
        cdir = lab.paths["postfix_config_dir"]
        lab.postconf({"transport_maps": "%s, texthash:%s" % (spec, lab.paths["transport"])},
                     reload=False)
        subprocess.run(["postconf", "-c", cdir, "-M",
                        "isolated/unix=isolated unix - - n - 2 smtp"
                        " -o syslog_name=%s/isolated" % NAME], check=True, timeout=30)
        lab.postfix_cmd("reload")
        offset = os.path.getsize(lab.paths["maillog"])
        with smtplib.SMTP("127.0.0.1", lab.ports["smtpd"], timeout=30,
                          local_hostname=mailmonlab.CLIENT_HELO) as s:
            for i in range(5):
                s.sendmail("a@client.lab.test", ["s%d@dead.test" % i],
                           "Subject: sep\r\n\r\nx\r\n")
        r = mmbin.mailmon("isolate", "--api", api, "dead.test")
        assert r.returncode == 0, (r.stdout, r.stderr, d.log()[-2000:])
        assert postmap_q(lab, "dead.test", spec).stdout.strip() == \
            "isolated:[127.0.0.1]:%d" % lab.ports["dead"]
        iso_re = re.compile(r" %s/isolated/smtp\[\d+\]: \w+: to=<s\d@dead\.test>" % NAME)
        mailmonlab.Lab.wait_for(
            lambda: any(iso_re.search(x) for x in maillog_lines(lab, offset)), 40, interval=1,
            what="maillog: dead.test through the isolated transport (separated mailmond)")
        # The map pickup check reads the master's 0600 pid file through the
        # root opener: it found the trivial-rewrite processes.
        rw = mailmonlab.Lab.wait_for(
            lambda: (lambda w: w if not w["detail"].startswith("for trivial-rewrite") else None)(
                isolation(api)["rewrite"]), 20, interval=0.5, what="a map pickup check")
        assert "cannot check" not in rw["detail"], rw
        before = mailmonlab.Lab.wait_for(lambda: deferred_ids(lab, "dead.test"), 60,
                                         interval=1, what="deferred dead.test mail")
        offset = os.path.getsize(lab.paths["maillog"])
        r = mmbin.mailmon("isolate", "--api", api, "--release", "dead.test")
        assert r.returncode == 0, (r.stdout, r.stderr)
        # postqueue -i as mailmon (setgid postdrop, through flush(8)).
        m = re.search(r"; (\d+) deferred messages moved back \(postqueue -i\)", r.stdout)
        assert m and 0 < int(m.group(1)) <= 5, r.stdout
        assert postmap_q(lab, "dead.test", spec).returncode == 1
        moved_back(lab, offset, before, r"s\d@dead\.test")
    finally:
        rc = d.stop() if d else 0
        lab.stop()
    assert rc == 0, d.log()[-3000:]


def send(port, rcpts, tag):
    with smtplib.SMTP("127.0.0.1", port, timeout=30,
                      local_hostname=mailmonlab.CLIENT_HELO) as s:
        for r in rcpts:
            s.sendmail("a@client.lab.test", [r], "Subject: %s\r\n\r\nx\r\n" % tag)


def test_isolate_rewrite_wait(tmp_path):
    """The fallback reload when trivial-rewrite does not pick up the map,
    and none when it does (docs/cluster.md "Isolation", rewrite_wait)."""
    mmbin.require("postfix", "the isolation test runs a real Postfix")
    lab = mailmonlab.Lab(components=("postfix",), syslog_name=NAME)
    d = None
    try:
        lab.start()
        cdir = lab.paths["postfix_config_dir"]
        state = tmp_path / "state"
        state.mkdir()
        spec = "hash:%s/isolate/transport" % state
        http = mmbin.free_port()
        api = "127.0.0.1:%d" % http
        conf = tmp_path / "mailmon.conf"
        text = conf_text(lab, http, state).replace(
            "[isolate]\n", "[isolate]\nauto = no\nrewrite_wait = 2s\n")
        conf.write_text(text)
        d = mmbin.Daemon(str(conf), str(tmp_path / "mailmond.log"))
        d.start(api=api)
        mailmonlab.Lab.wait_for(lambda: os.path.exists(spec[5:] + ".db"), 10, what="map .db")
        # Clients drop an idle connection to trivial-rewrite after 1 s
        # (ipc_idle, 5 s by default), so light traffic reconnects often.
        lab.postconf({"transport_maps": "%s, texthash:%s" % (spec, lab.paths["transport"]),
                      "ipc_idle": "1s"}, reload=False)
        subprocess.run(["postconf", "-c", cdir, "-M",
                        "isolated/unix=isolated unix - - n - 2 smtp"
                        " -o syslog_name=%s/isolated" % NAME], check=True, timeout=30)
        lab.postfix_cmd("reload")

        # 1. One message starts a trivial-rewrite; then no mail flows.
        send(lab.ports["smtpd"], ["u0@sink.test"], "start")
        old = mailmonlab.Lab.wait_for(lambda: children(lab, "trivial-rewrite"), 30,
                                      what="a trivial-rewrite process")
        time.sleep(2)  # every client has dropped its connection (ipc_idle)
        qmgr0 = qmgr_pid(lab)
        r = mmbin.mailmon("isolate", "--api", api, "dead.test")
        assert r.returncode == 0, (r.stdout, r.stderr)
        rw = mailmonlab.Lab.wait_for(
            lambda: (lambda w: w if w["state"] in ("reloaded", "picked up") else None)(
                isolation(api)["rewrite"]), 30, interval=0.5, what="map pickup decided")
        assert rw["state"] == "reloaded", rw
        m = re.search(r"isolate: trivial-rewrite pid (\d+) \(running for \d+ s, started \d+ s "
                      r"before the map change of dead\.test; \d+ of \d+ processes of master "
                      r"\d+\) has not restarted within rewrite_wait \(2 s\): postfix reload",
                      d.log())
        assert m and int(m.group(1)) in old, (old, d.log()[-2000:])
        mailmonlab.Lab.wait_for(lambda: children(lab, "qmgr") not in ([], [qmgr0]), 30,
                                what="qmgr restarted by the reload")
        mailmonlab.Lab.wait_for(lambda: not set(children(lab, "trivial-rewrite")) & set(old),
                                30, what="the old trivial-rewrite gone")
        # A new trivial-rewrite routes dead.test to the isolated transport.
        offset = os.path.getsize(lab.paths["maillog"])
        send(lab.ports["smtpd"], ["r0@dead.test"], "after")
        iso_re = re.compile(r" %s/isolated/smtp\[\d+\]: \w+: to=<r0@dead\.test>" % NAME)
        mailmonlab.Lab.wait_for(
            lambda: any(iso_re.search(x) for x in maillog_lines(lab, offset)), 40, interval=0.5,
            what="maillog: dead.test through the isolated transport after the reload")
        new = children(lab, "trivial-rewrite")
        assert new and not set(new) & set(old), (old, new)
        print("fallback: old trivial-rewrite %s, new %s" % (old, new))

        # 2. A long wait, mail flowing: trivial-rewrite restarts by itself.
        conf.write_text(text.replace("rewrite_wait = 2s", "rewrite_wait = 10m"))
        d.signal(signal.SIGHUP)
        mailmonlab.Lab.wait_for(
            lambda: d.get(api, "/api/status")["reload"]["in_effect"].get("isolate.rewrite_wait")
            == 600000, 15, what="rewrite_wait 10 min in effect")
        r = mmbin.mailmon("isolate", "--api", api, "--release", "dead.test")
        assert r.returncode == 0, (r.stdout, r.stderr)
        send(lab.ports["smtpd"], ["u1@sink.test"], "settle")
        time.sleep(2)
        qmgr1 = qmgr_pid(lab)
        t0 = time.monotonic()
        r = mmbin.mailmon("isolate", "--api", api, "dead.test")
        assert r.returncode == 0, (r.stdout, r.stderr)

        def picked_up():
            send(lab.ports["smtpd"], ["u2@sink.test"], "flow")  # then 1.5 s > ipc_idle
            time.sleep(1.5)
            w = isolation(api)["rewrite"]
            return w if w["state"] != "waiting" else None
        rw = mailmonlab.Lab.wait_for(picked_up, 60, interval=0, what="map pickup with mail")
        assert rw["state"] == "picked up", rw
        print("picked up after %.1f s: %s" % (time.monotonic() - t0, rw["detail"]))
        print("\n".join(x for x in d.log().splitlines() if "trivial-rewrite" in x))
        assert qmgr_pid(lab) == qmgr1  # no reload
        assert len(re.findall(r"has not restarted within rewrite_wait \(\d+ s\): postfix reload$",
                              d.log(), re.M)) == 1, d.log()[-3000:]
        out = mmbin.mailmon("isolate", "--api", api, "--list").stdout
        assert re.search(r"^map pickup \(.*\): picked up: the map of dead\.test", out, re.M), out
    finally:
        rc = d.stop() if d else 0
        lab.stop()
    assert rc == 0, d.log()[-3000:]
