"""The metric registry read by a real Prometheus, promtool and `mailmon metrics`.

The test sends known mail through the lab's real Postfix while mailmond
watches it:
  N_SINK to sink.test   -> delivered by the smtp channel
  N_DEAD to dead.test   -> refused, deferred, stay in the deferred queue
A real Prometheus (Debian's, own config and data dir in the test's temp
dir, on loopback) scrapes mailmond's /metrics. Its query API must return
mailmon_messages_delivered_total{channel="smtp"} and
mailmon_queue_messages{queue="deferred"} with the values the test caused,
counted independently: the "status=sent" lines to sink.test in Postfix's
own maillog, and the deferred entries of `postqueue -j`.
"""
import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest

import mmbin
import traffic

LAB_DIR = os.path.join(mmbin.SOURCE_DIR, "lab")
sys.path.insert(0, LAB_DIR)
import mailmonlab  # noqa: E402

N_SINK, N_DEAD = 5, 3

# Families that dashboards and alert rules rely on (issue 8): their names
# and label names are pinned here.
PINNED = {
    "mailmon_build_info": ["version"],
    "mailmon_log_lines_total": ["source"],
    "mailmon_log_lines_unparsed_total": ["source"],
    "mailmon_messages_received_total": ["channel"],
    "mailmon_messages_delivered_total": ["channel"],
    "mailmon_messages_deferred_total": ["channel"],
    "mailmon_messages_bounced_total": ["channel"],
    "mailmon_messages_rejected_total": ["channel"],
    "mailmon_queue_messages": ["queue"],
    "mailmon_queue_bytes": ["queue"],
    "mailmon_queue_oldest_age_seconds": ["queue"],
    "mailmon_queue_destination_messages": ["queue", "destination"],
    "mailmon_queue_reason_messages": ["queue", "reason"],
    "mailmon_service_up": ["service"],
    "mailmon_service_response_seconds": ["service"],
    "mailmon_service_restarts_total": ["service"],
    "mailmon_certificate_expiry_days": ["service"],
    "mailmon_process_count": ["service"],
    "mailmon_connections": ["port", "state"],
    "mailmon_daemon_loop_lag_seconds": [],
}


def require(tool):
    return mmbin.require(tool)


def http_text(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


@pytest.fixture(scope="module")
def lab():
    with mailmonlab.Lab(components=("postfix", "dovecot")) as running:
        yield running


@pytest.fixture(scope="module")
def node(lab, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("metrics")
    daemon, api, state = traffic.start_mailmond(lab, tmp, (
        "[service.smtp]\nurl = smtp://127.0.0.1:%d\ninterval = 2s\npidfile = %s\n"
        "[service.imaps]\nurl = imaps://127.0.0.1:%d\ninterval = 2s\ntls_verify = no\n" % (
            lab.ports["smtpd"], lab.pidfiles["postfix"], lab.ports["imaps"])))
    conf = tmp / "mailmon.conf"
    try:
        traffic.send_and_settle(lab, N_SINK, N_DEAD)
        yield {"lab": lab, "api": api, "conf": str(conf), "tmp": tmp, "daemon": daemon}
    finally:
        assert daemon.stop() == 0, daemon.log()


def scrape(api):
    return http_text("http://%s/metrics" % api)


def parse_samples(text):
    """{(name, frozenset(labels)): value} from the exposition text."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        assert m, "bad sample line: %r" % line
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def test_promtool_accepts_the_scrape(node):
    promtool = require("promtool")
    text = scrape(node["api"])
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "" and r.stderr.strip() == "", r.stdout + r.stderr


def test_pinned_families_and_labels(node):
    # The deferred destinations appear once a queue scan has seen them.
    def complete():
        text = scrape(node["api"])
        types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
        return all(n in types for n in PINNED) and text
    try:
        text = node["lab"].wait_for(complete, timeout=30, what="every pinned family")
    except TimeoutError:
        text = scrape(node["api"])
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    missing = [n for n in PINNED if n not in types]
    assert not missing, "families missing from /metrics: %s" % missing
    samples = parse_samples(text)
    for name, labels in PINNED.items():
        assert name in types, "family %s missing from /metrics" % name
        assert types[name] == ("counter" if name.endswith("_total") else "gauge"), name
        seen = [dict(k[1]) for k in samples if k[0] == name]
        assert seen, name
        for lv in seen:
            assert sorted(lv) == sorted(labels), (name, lv)


def test_values_equal_what_the_test_caused(node):
    sent, deferred = traffic.independent_counts(node["lab"])
    assert (sent, deferred) == (N_SINK, N_DEAD)

    def caught_up():
        s = parse_samples(scrape(node["api"]))
        got = (s.get(("mailmon_messages_delivered_total", frozenset({("channel", "smtp")}))),
               s.get(("mailmon_queue_messages", frozenset({("queue", "deferred")}))))
        return got == (sent, deferred) and s
    s = node["lab"].wait_for(caught_up, timeout=30, what="mailmond's /metrics caught up")
    dests = {dict(k[1])["destination"]: v for k, v in s.items()
             if k[0] == "mailmon_queue_destination_messages" and
             dict(k[1])["queue"] == "deferred"}
    assert dests == {"dead.test": N_DEAD}
    # dead.test refuses connections: every deferred message has that class
    refused = s[("mailmon_queue_reason_messages",
                 frozenset({("queue", "deferred"), ("reason", "refused")}))]
    assert refused == N_DEAD
    assert s[("mailmon_service_up", frozenset({("service", "smtp")}))] == 1
    assert s[("mailmon_process_count", frozenset({("service", "smtp")}))] == 1
    assert s[("mailmon_certificate_expiry_days", frozenset({("service", "imaps")}))] > 0


def test_real_prometheus_scrapes_mailmond(node):
    prom = require("prometheus")
    tmp = node["tmp"]
    port = mmbin.free_port()
    cfg = tmp / "prometheus.yml"
    cfg.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: mailmon\n    static_configs:\n"
        "      - targets: ['%s']\n" % node["api"])
    data = tmp / "prom-data"
    log = open(tmp / "prometheus.log", "wb")
    p = subprocess.Popen([prom, "--config.file=%s" % cfg, "--storage.tsdb.path=%s" % data,
                          "--web.listen-address=127.0.0.1:%d" % port],
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        sent, deferred = traffic.independent_counts(node["lab"])

        def query(q):
            url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (port, urllib.parse.quote(q))
            try:
                doc = json.loads(http_text(url))
            except OSError:
                return None
            res = doc["data"]["result"]
            return float(res[0]["value"][1]) if res else None

        def answered():
            d = query('mailmon_messages_delivered_total{channel="smtp"}')
            q = query('mailmon_queue_messages{queue="deferred"}')
            return (d, q) == (sent, deferred) and (d, q)
        node["lab"].wait_for(answered, timeout=60, what="Prometheus query of mailmond's values")
        assert query('up{job="mailmon"}') == 1
    finally:
        p.terminate()
        p.wait(10)
        log.close()


def test_mailmon_metrics_cli(node):
    r = mmbin.mailmon("metrics", "--api", node["api"], "mailmon_queue_*")
    assert r.returncode == 0, r.stderr
    names = [ln.split()[0] for ln in r.stdout.splitlines()[1:]]
    assert "mailmon_queue_messages" in names and all(n.startswith("mailmon_queue_") for n in names)
    r = mmbin.mailmon("metrics", "--api", node["api"], "--json")
    fams = {f["name"]: f for f in json.loads(r.stdout)["families"]}
    assert fams["mailmon_queue_messages"]["type"] == "gauge"
    assert fams["mailmon_queue_messages"]["series"] >= 5  # one per queue
    r = mmbin.mailmon("metrics", "--api", node["api"], "--values",
                      'mailmon_queue_destination_messages{queue="deferred"}')
    assert r.returncode == 0, r.stderr
    assert re.search(r'destination="dead\.test".*} %d$' % N_DEAD, r.stdout, re.M), r.stdout
    r = mmbin.mailmon("metrics", "--api", node["api"], "--values", 'mailmon_queue_messages{queue=')
    assert r.returncode == 2 and "selector" in r.stderr
    r = mmbin.mailmon("metrics", "--api", node["api"], "no_such_family_anywhere")
    assert r.returncode == 1


def test_json_endpoints_still_answer(node):
    for path in ("/api/status", "/api/services", "/api/queue", "/api/logs", "/api/counters",
                 "/api/counterutil", "/api/metrics"):
        doc = node["daemon"].get(node["api"], path)
        assert isinstance(doc, dict) and doc, path
    st = node["daemon"].get(node["api"], "/api/status")
    mods = [m["name"] for m in st["reload"]["modules"]]
    # every module of the table, once, each with its reload result
    assert len(mods) == len(set(mods)) and mods[:2] == ["self", "http"], mods
    assert {"logs", "counters", "queue", "services"} <= set(mods), mods
    assert all(m["ok"] for m in st["reload"]["modules"]), st["reload"]["modules"]
