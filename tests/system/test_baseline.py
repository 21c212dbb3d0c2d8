"""The baseline (issue 15 item 5): mailmond on days of known history.

Before mailmond starts, the test writes synthetic points with past
timestamps into a history database through the store's own write API
(tests/tools/hist_fill.c), one point per 5 minutes:

- the queue (deferred + active) for 15 days, with a shape per hour of
  the week: its baseline must come from the same hour of the week;
- the inflow counter (messages submitted) for 3 days: same hour of the
  day;
- the deferral counter for 8 hours: every point.

The test and its mailmond run in a time zone whose daylight-saving time
began 7 days ago (a POSIX TZ rule), so the history straddles the change
and each point must go to its own local hour.

mailmond, started on that database, must publish for each figure the
range that the test computes itself from the points it wrote (its own
nearest-rank percentiles of the values, or of the counters' increments
per minute, over [computed_at - 14 d, computed_at - 1 h] as docs/cluster.md
describes), with the right fallback kind, in /api/v1/baseline, /metrics
and `mailmon status`. Then a live departure: mail to the lab's refusing
dead.test fills the deferred queue far above the range, the built-in
alarm baselinedeparture fires for "queue", and clears when the test
deletes that mail with postsuper. Last, the dashboard in headless
Chromium draws the band on the queue chart and names the range.
"""
import json
import math
import os
import re
import signal
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

import mmbin
import traffic

STEP = 300
DAY = 86400
HOUR = 3600
N_DEAD = 30
Q_DEF = 'mailmon_queue_messages{queue="deferred"}'
Q_ACT = 'mailmon_queue_messages{queue="active"}'
INFLOW = 'mailmon_messages_submitted_total{channel="smtpd"}'
DEFERRAL = 'mailmon_messages_deferred_total{channel="smtp"}'


def get_json(api, path):
    with urllib.request.urlopen("http://%s%s" % (api, path), timeout=10) as r:
        return json.loads(r.read().decode())


def synthetic(now0):
    """{key: [(t, value)]}: gauges as values, counters cumulative."""
    pts = {Q_DEF: [], Q_ACT: [], INFLOW: [], DEFERRAL: []}
    for t in range(now0 - 15 * DAY, now0 - HOUR + 1, STEP):
        how = (t // HOUR) % 168
        # hour-dependent (so a point in the wrong hour shows), but low
        # enough in every hour that the live, empty queue lies within the
        # widened range: with how % 5 the hours where it is 4 gave 4..7,
        # widened 0.5..10.5, and an empty queue read "below"
        pts[Q_DEF].append((t, how % 3 + (t // STEP) % 3))
        pts[Q_ACT].append((t, (t // STEP) % 2))
    c = 0
    for t in range(now0 - 3 * DAY, now0 - HOUR + 1, STEP):
        c += 10 + ((t // STEP) * 7) % 20 + ((t // HOUR) % 24)
        pts[INFLOW].append((t, c))
    c = 0
    for t in range(now0 - 8 * HOUR, now0 - HOUR + 1, STEP):
        c += ((t // STEP) * 5) % 4
        pts[DEFERRAL].append((t, c))
    return pts


def fmt1(v):
    """As the page prints a number (toLocaleString, at most 1 decimal)."""
    return ("%.1f" % v).rstrip("0").rstrip(".")


def nearest_rank(sorted_v, p):
    k = max(1, math.ceil(p * len(sorted_v) / 100.0))
    return sorted_v[min(k, len(sorted_v)) - 1]


def local(t):
    """t shifted by its own UTC offset (the test's TZ, as mailmond's)."""
    return t + time.localtime(t).tm_gmtoff


def expected(values, at):
    """values: [(t, v)] per 5-minute bucket -> (kind, low, high, median, n,
    days). The window is read in UTC; slots are each point's local hour."""
    lo, hi, at_l = at - 14 * DAY, at - HOUR, local(at)
    read = [(local(t), v) for t, v in values if lo <= t <= hi]
    days = (at_l - min(tl for tl, _ in read)) / DAY if read else 0  # the oldest read
    vs = [(tl, v) for tl, v in read if at_l - tl <= 14 * DAY]
    for kind, min_days, period in (("hour-of-week", 13, 168), ("hour-of-day", 2, 24),
                                   ("all", 0.25, 0)):
        if days < min_days:
            continue
        slot = [v for tl, v in vs
                if not period or (tl // HOUR) % period == (at_l // HOUR) % period]
        if len(slot) < 6:
            continue
        slot.sort()
        return kind, nearest_rank(slot, 5), nearest_rank(slot, 95), nearest_rank(slot, 50), \
            len(slot), days
    return "none", None, None, None, 0, days


def dst_rule():
    """A POSIX TZ whose daylight-saving time (UTC+1) began 7 days ago and
    ends in 30: the 15 days of history straddle the change, so a baseline
    that put every point at one offset would pick the wrong points for
    the hour of the week two weeks back."""
    start, end = time.gmtime(time.time() - 7 * DAY), time.gmtime(time.time() + 30 * DAY)
    return "XST0XDT,%d/0,%d/0" % (start.tm_yday - 1, end.tm_yday - 1)


def per_minute(counter, at):
    """A counter's increment per minute for each bucket whose previous
    bucket is also inside the window (the first one has no rate)."""
    lo, hi = at - 14 * DAY, at - HOUR
    inside = [(t, c) for t, c in counter if lo <= t <= hi]
    return [(t1, (c1 - c0) * 60.0 / (t1 - t0))
            for (t0, c0), (t1, c1) in zip(inside, inside[1:])]


def check(doc, pts):
    """mailmond's ranges in doc against the test's own, for the time
    mailmond computed them at; returns the test's."""
    at = doc["computed_at"]
    assert doc["utc_offset_s"] == time.localtime(at).tm_gmtoff == HOUR, doc
    got = {m["metric"]: m for m in doc["metrics"]}
    queue = {}
    for t, v in pts[Q_DEF] + pts[Q_ACT]:
        queue[t] = queue.get(t, 0) + v
    want = {
        "queue": expected(sorted(queue.items()), at),
        "inflow": expected(per_minute(pts[INFLOW], at), at),
        "deferral": expected(per_minute(pts[DEFERRAL], at), at),
    }
    kinds = {"queue": "hour-of-week", "inflow": "hour-of-day", "deferral": "all"}
    for name, (kind, low, high, median, n, days) in want.items():
        m = got[name]
        assert kind == kinds[name], (name, want[name])
        assert m["kind"] == kind, (name, m, want[name])
        assert m["points"] == n, (name, m, want[name])
        for key, w in (("low", low), ("high", high), ("median", median)):
            assert abs(m[key] - w) < 1e-6, (name, key, m, want[name])
        assert abs(m["history_days"] - days) < 1e-6, (name, m, days)
    return want


@pytest.fixture
def dst_tz():
    """The test and the mailmond it starts run in dst_rule()'s time zone."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = dst_rule()
    time.tzset()
    assert time.localtime().tm_isdst == 1 and time.localtime(time.time() - 14 * DAY).tm_isdst == 0
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_baseline_from_history_and_departure(lab, tmp_path, dst_tz):
    # mailmond computes again at each new local hour: start clear of one,
    # so that the range checked stays the range shown (at most 70 s lost)
    left = HOUR - (int(time.time()) + time.localtime().tm_gmtoff) % HOUR
    if left < 70:
        time.sleep(left + 2)
    now0 = int(time.time()) // STEP * STEP
    pts = synthetic(now0)
    hist_dir = tmp_path / "hist"
    hist_dir.mkdir()
    db = str(hist_dir / "history.db")
    lines = sorted("%d %s %r\n" % (t, k, float(v)) for k, series in pts.items()
                   for t, v in series)
    subprocess.run([os.path.join(mmbin.BIN_DIR, "tests", "hist_fill"), db],
                   input="".join(lines), text=True, check=True, timeout=120)

    daemon, api, _ = traffic.start_mailmond(
        lab, tmp_path,
        "[http]\nwww_directory = %s\n"
        "[history]\nfile = %s\n"
        "[baseline]\ninterval = 1s\nqueue_slack = 2\n"
        "[alarm]\nmail = no\n"
        "[alarm.baselinedeparture]\nstatinterval = 1s\ncycles = 1/1\n" % (
            os.path.join(mmbin.SOURCE_DIR, "www"), db))
    try:
        doc = lab.wait_for(lambda: (lambda d: d["computed_at"] is not None and d)(
            get_json(api, "/api/v1/baseline")), timeout=30, what="a computed baseline")
        assert doc["error"] is None and doc["history"], doc
        want = check(doc, pts)
        # a reload computes again, and again as the test computes it
        daemon.signal(signal.SIGHUP)
        doc = lab.wait_for(lambda: (lambda d: d["runs"] > doc["runs"] and not d["computing"]
                                    and d)(get_json(api, "/api/v1/baseline")),
                           timeout=30, what="a computation after SIGHUP")
        want = check(doc, pts)

        # the registry says the same (one reader of the same numbers)
        text = urllib.request.urlopen("http://%s/metrics" % api, timeout=10).read().decode()
        low_q = want["queue"][1]
        assert re.search(r'^mailmon_baseline_low\{metric="queue"\} %s$' % re.escape(
            "%g" % low_q), text, re.M), text
        assert re.search(r'^mailmon_baseline_kind\{metric="inflow",kind="hour-of-day"\} 1$',
                         text, re.M)
        assert re.search(r'^mailmon_baseline_kind\{metric="deferral",kind="all"\} 1$',
                         text, re.M)

        # live: the lab's queue is empty, within the range
        lab.wait_for(lambda: (lambda m: m["state"] == "within" and m)(
            get_json(api, "/api/v1/baseline")["metrics"][0]), timeout=20,
            what="the empty queue within its range")
        out = mmbin.mailmon("status", "--api", api, check=True).stdout
        assert re.search(r"^baseline: queue: now 0 messages, expected %g to %g messages "
                         r"\(median %g; slot hour-of-week, \w{3} \d\d:00; %d points of "
                         r"1[34]\.\d days\)$" % (want["queue"][1], want["queue"][2],
                                                  want["queue"][3], want["queue"][4]),
                         out, re.M), out
        assert re.search(r"^ +inflow: now not measured yet, expected .* messages/min "
                         r"\(.*slot hour-of-day, \d\d:00 every day; ", out, re.M), out
        assert re.search(r"^ +deferral: .*slot all, every hour; ", out, re.M), out

        # a departure: N_DEAD messages deferred by the refusing dead.test
        bound = want["queue"][2] + (want["queue"][2] - want["queue"][1]) / 2 + 2
        assert N_DEAD > bound + 5
        for i in range(N_DEAD):
            lab.send(traffic.SENDER, "user%d@dead.test" % i)

        def alarm_state():
            a = [x for x in get_json(api, "/api/v1/alarms")["alarms"]
                 if x["alarm"] == "baselinedeparture" and x["instance"] == "queue"]
            return a[0]["state"] if a else None
        lab.wait_for(lambda: alarm_state() == "firing", timeout=60,
                     what="alarm baselinedeparture for the queue")
        m = get_json(api, "/api/v1/baseline")["metrics"][0]
        assert m["state"] == "above" and m["current"] > bound, m
        # the alarm's text: likely cause and next command for the queue
        a = [x for x in get_json(api, "/api/v1/alarms")["alarms"]
             if x["alarm"] == "baselinedeparture" and x["instance"] == "queue"][0]
        assert "The queue (incoming + active + deferred) is far outside its usual size" \
            in a["cause"], a
        assert "Top baseline_current: queue " in a["cause"], a
        assert a["next_command"] == "mailmon status; mailmon qshape --reasons -s deferred", a
        assert a["value"] > 0, a
        # the lab's own postqueue agrees that the queue is beyond the bound
        n = len(lab.postqueue_json())
        assert n >= bound, n
        out = mmbin.mailmon("status", "--api", api, check=True).stdout
        assert re.search(r"^baseline: queue: now \d+ messages, .*: DEPARTED above$", out, re.M), out

        # cleared once the deferred mail is gone
        subprocess.run(["postsuper", "-c", lab.paths["postfix_config_dir"], "-d", "ALL"],
                       check=True, timeout=30, capture_output=True)
        lab.wait_for(lambda: alarm_state() != "firing", timeout=60,
                     what="alarm baselinedeparture cleared")
        assert get_json(api, "/api/v1/baseline")["metrics"][0]["state"] == "within"

        # the dashboard draws the band on the queue chart, from the history
        # of mailmon_baseline_low/high (written every 10 s since start)
        import test_dashboard
        lab.wait_for(lambda: get_json(api, "/api/v1/history?metric=" + urllib.parse.quote(
            'mailmon_baseline_high{metric="queue"}') + "&from=now-600s&step=10")["series"],
            timeout=30, what="the band in the history")
        art = os.path.join(mmbin.BIN_DIR, "artifacts")
        os.makedirs(art, exist_ok=True)
        dom = test_dashboard.browse("http://%s/?range=600&step=10" % api, tmp_path, "1280,800",
                                    shot=os.path.join(art, "dashboard-baseline.png"))
        m = re.search(r'id="queue-chart"[^>]*data-baseline-points="(\d+)"', dom)
        assert m and int(m.group(1)) >= 1, dom
        note = test_dashboard.text_of(dom, "baseline-note")
        assert note.startswith("baseline: queue expected %s to %s messages (hour-of-week, " % (
            fmt1(want["queue"][1]), fmt1(want["queue"][2]))), note
        assert "DEPARTED" not in note, note
    finally:
        assert daemon.stop() == 0, daemon.log()
