"""The metric history: what the test caused comes back from the API and the CLI.

mailmond watches the lab's real Postfix while the test sends
  N_SINK mails to sink.test  -> delivered by the smtp channel
  N_DEAD mails to dead.test  -> refused, stay in the deferred queue.
The figures are counted independently (Postfix's maillog and
`postqueue -j`); /api/v1/history and `mailmon history` must show the
same values in their newest 10 s samples. Then the database file is
overwritten with junk while mailmond runs: without a restart, the next
write moves it aside, creates a new one, reports it in
/api/v1/history/status, `mailmon status`, the built-in alarm
historyrecovered and mailmon_history_recoveries_total, and new
samples are stored again.
"""
import json
import os
import re
import sys
import time
import urllib.parse
import urllib.request

import pytest

import mmbin
import traffic

LAB_DIR = os.path.join(mmbin.SOURCE_DIR, "lab")
sys.path.insert(0, LAB_DIR)
import mailmonlab  # noqa: E402

N_SINK, N_DEAD = 4, 2
DELIVERED = 'mailmon_messages_delivered_total{channel="smtp"}'
DEFERRED = 'mailmon_queue_messages{queue="deferred"}'


def get_json(api, path, timeout=10):
    with urllib.request.urlopen("http://%s%s" % (api, path), timeout=timeout) as r:
        return r.status, json.loads(r.read().decode())


def history(api, selector, since="10m", step=None):
    q = {"metric": selector, "from": "now-" + since, "to": "now"}
    if step:
        q["step"] = step
    return get_json(api, "/api/v1/history?" + urllib.parse.urlencode(q))[1]


def newest(doc):
    """(last value, bucket time) of the newest point of the only series."""
    assert len(doc["series"]) == 1, doc
    p = doc["series"][0]["points"][-1]
    return p["last"], p["t"]


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("history")
    with mailmonlab.Lab(components=("postfix",)) as lab:
        daemon, api, state = traffic.start_mailmond(
            lab, tmp, "[alarm.historyrecovered]\nstatinterval = 2s\n")
        conf = tmp / "mailmon.conf"
        try:
            traffic.send_and_settle(lab, N_SINK, N_DEAD)
            yield {"lab": lab, "api": api, "conf": str(conf), "state": state,
                   "daemon": daemon}
        finally:
            assert daemon.stop() == 0, daemon.log()


def wait_history(node, want, timeout=45):
    """Until the newest stored samples of both selectors equal want."""
    def ok():
        got = (newest(history(node["api"], DELIVERED, step="10"))[0]
               if history(node["api"], DELIVERED)["series"] else None,
               newest(history(node["api"], DEFERRED, step="10"))[0]
               if history(node["api"], DEFERRED)["series"] else None)
        return got == want and got
    return node["lab"].wait_for(ok, timeout=timeout, interval=1,
                                what="the history to hold %s" % (want,))


def test_api_returns_what_the_test_caused(node):
    sent, deferred = traffic.independent_counts(node["lab"])
    assert (sent, deferred) == (N_SINK, N_DEAD)
    wait_history(node, (float(sent), float(deferred)))
    doc = history(node["api"], DELIVERED, since="10m", step="60")
    s = doc["series"][0]
    assert s["type"] == "counter" and s["labels"] == {"channel": "smtp"}
    assert doc["step"] == 60 and doc["resolution"] == 60
    assert s["points"][-1]["max"] == sent
    # a 1 min bucket holds up to six 10 s samples
    assert all(1 <= p["n"] <= 7 for p in s["points"]), s["points"]
    code, err = None, None
    try:
        get_json(node["api"], "/api/v1/history?metric=" + urllib.parse.quote("bad{"))
    except urllib.error.HTTPError as e:
        code, err = e.code, json.loads(e.read().decode())
    assert code == 400 and "selector" in err["error"], err


def test_cli_table_and_json(node):
    sent, deferred = traffic.independent_counts(node["lab"])
    wait_history(node, (float(sent), float(deferred)))
    r = mmbin.mailmon("history", DEFERRED, "--since", "10m", "--step", "10s",
                      "--api", node["api"], check=True)
    lines = r.stdout.splitlines()
    assert lines[0].startswith(DEFERRED) and "gauge" in lines[0], r.stdout
    assert lines[1].split() == ["TIME", "MIN", "AVG", "MAX", "LAST"], r.stdout
    assert lines[-1].split()[-1] == str(deferred), r.stdout
    r = mmbin.mailmon("history", DELIVERED, "--since", "10m", "--json", "--api", node["api"],
                      check=True)
    doc = json.loads(r.stdout)
    assert doc["series"][0]["points"][-1]["last"] == sent
    r = mmbin.mailmon("history", "mailmon_no_such_family", "--api", node["api"])
    assert r.returncode == 1 and "no series matches" in r.stderr


def test_corrupt_database_recovered_without_restart(node):
    api, db = node["api"], os.path.join(str(node["state"]), "history.db")
    pid = get_json(api, "/api/status")[1]["pid"]
    before = get_json(api, "/api/v1/history/status")[1]
    assert before["state"] == "ok" and before["recoveries"] == 0, before
    with open(db, "r+b") as f:
        size = os.path.getsize(db)
        f.write(b"\xde\xad" * (size // 2))
    broke = int(time.time())

    def recovered():
        st = get_json(api, "/api/v1/history/status")[1]
        return st["recoveries"] == 1 and st["last_write_unix"] > broke and st
    st = node["lab"].wait_for(recovered, timeout=40, interval=1, what="recovery")
    assert st["state"] == "ok", st
    assert os.path.exists(st["last_moved_to"]) and st["last_moved_to"].startswith(db + ".broken-")
    with open(st["last_moved_to"], "rb") as f:
        assert f.read(2) == b"\xde\xad"
    assert "header" in st["last_error"] or "database" in st["last_error"], st
    # the same process, storing again; the recovery is in the registry too
    assert get_json(api, "/api/status")[1]["pid"] == pid
    sent, deferred = traffic.independent_counts(node["lab"])
    last, t = newest(history(api, DEFERRED, since="2m", step="10"))
    assert last == deferred and t >= broke - 10
    with urllib.request.urlopen("http://%s/metrics" % api, timeout=5) as r:
        text = r.read().decode()
    assert re.search(r"^mailmon_history_recoveries_total 1$", text, re.M), text
    assert re.search(r"^mailmon_history_up 1$", text, re.M)
    # the built-in alarm was raised for it
    def alarm_set():
        a = [x for x in get_json(api, "/api/v1/alarms")[1]["alarms"]
             if x["alarm"] == "historyrecovered" and x["timelastset"] >= broke]
        return a
    node["lab"].wait_for(alarm_set, timeout=20, interval=1, what="alarm.historyrecovered")
    r = mmbin.mailmon("status", "--api", api)
    assert "DAMAGED FILE RECREATED 1 time(s), last moved to " + st["last_moved_to"] in r.stdout, \
        r.stdout
