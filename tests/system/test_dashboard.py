"""The dashboard in a real browser (issue 16).

mailmond runs on the lab (real Postfix and Dovecot) with history on, one
alarm that fires while the deferred queue holds mail, and traffic that
includes a refused destination (dead.test). Debian's headless Chromium
loads the page from mailmond and the test reads the DOM after the page's
scripts ran:
  - the verdict box shows what /api/status says (a state, or that this
    mailmond computes none);
  - the stuck table has dead.test with reason class "refused" and as many
    messages as `postqueue -j` holds for it;
  - the flow chart has points (from /api/v1/history);
  - the firing alarm is listed;
  - at phone width nothing overflows sideways.
A screenshot is kept as a test artefact in the build dir
(artifacts/dashboard.png, dashboard-phone.png).
"""
import os
import re
import subprocess
import sys
import urllib.request

import pytest

import mmbin

LAB_DIR = os.path.join(mmbin.SOURCE_DIR, "lab")
sys.path.insert(0, LAB_DIR)
import mailmonlab  # noqa: E402

N_DEAD = 3


def chromium():
    return mmbin.require("chromium")


def browse(url, out_dir, size, shot=None):
    """The DOM after the page's scripts ran (and a screenshot)."""
    args = [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
            "--user-data-dir=%s" % (out_dir / "chromium"), "--virtual-time-budget=8000",
            "--window-size=%s" % size]
    if shot:
        subprocess.run(args + ["--screenshot=%s" % shot, url], capture_output=True,
                       timeout=120, check=True)
    r = subprocess.run(args + ["--dump-dom", url], capture_output=True, text=True, timeout=120,
                       check=True)
    return r.stdout


def text_of(dom, elem_id):
    m = re.search(r'id="%s"[^>]*>(.*?)</' % elem_id, dom, re.S)
    return m.group(1).strip() if m else None


@pytest.fixture(scope="module")
def lab():
    with mailmonlab.Lab(components=("postfix", "dovecot")) as running:
        yield running


def test_dashboard_in_chromium(lab, tmp_path):
    chromium()
    port = mmbin.free_port()
    dead_port = mmbin.free_port()  # a cluster node that does not answer
    api = "127.0.0.1:%d" % port
    www = os.path.join(mmbin.SOURCE_DIR, "www")
    conf = tmp_path / "mailmon.conf"
    conf.write_text(
        "[daemon]\nstate_directory = %s\nrun_directory = %s\npidfile = %s/pid\n"
        "[http]\nlisten = %s\nwww_directory = %s\n"
        "[mta]\ntype = postfix\nconfig_directory = %s\n"
        "[log]\nsources = %s\nstart_at = beginning\n"
        "[queue]\nscan_interval = 1s\n[history]\nenable = yes\n"
        "[alarm]\nnoticehost = 127.0.0.1\nnoticeport = %d\nnoticercpt = alice@lab.test\n"
        "noticesender = mailmon@lab.test\n"
        "[alarm.stuckmail]\nmetric = mailmon_queue_messages{queue=\"deferred\"}\n"
        "threshold = 0\nthresholddirection = above\nstatinterval = 1s\ncycles = 1/1\n"
        "description = deferred messages\n"
        "[service.smtp]\nurl = smtp://127.0.0.1:%d\ninterval = 2s\n"
        "[cluster]\nnodes = %s, 127.0.0.1:%d\n" % (
            tmp_path, tmp_path, tmp_path, api, www, lab.paths["postfix_config_dir"],
            lab.paths["maillog"], lab.ports["smtpd"], lab.ports["smtpd"], api, dead_port))
    r = mmbin.mailmon("config", "check", str(conf))
    assert r.returncode == 0, r.stdout + r.stderr
    d = mmbin.Daemon(str(conf), str(tmp_path / "mailmond.log"))
    d.start(api=api)
    art = os.path.join(mmbin.BIN_DIR, "artifacts")
    os.makedirs(art, exist_ok=True)
    try:
        for i in range(4):
            lab.send("sender@sink.test", ["u%d@sink.test" % i, "alice@lab.test"])
        for i in range(N_DEAD):
            lab.send("sender@sink.test", "u%d@dead.test" % i)

        def deferred():
            q = [m for m in lab.postqueue_json() if m["queue_name"] == "deferred"
                 and any(r["address"].endswith("@dead.test") for r in m["recipients"])]
            return len(q) == N_DEAD and q
        lab.wait_for(deferred, timeout=60, what="dead.test mail deferred")

        def firing():
            doc = d.get(api, "/api/alarms")
            return any(a["alarm"] == "stuckmail" and a["state"] == "firing"
                       for a in doc["alarms"]) and doc
        lab.wait_for(firing, timeout=30, what="the stuckmail alarm firing")

        # The flow chart needs two 10 s history buckets with rates.
        def history_points():
            doc = d.get(api, "/api/v1/history?metric=mailmon_messages_received_total"
                         "&from=now-600s&step=10")
            return sum(1 for s in doc["series"] for p in s["points"]
                       if p.get("rate") is not None) >= 1 and doc
        lab.wait_for(history_points, timeout=60, what="history with rates")

        # mailmond fetches its [cluster] nodes: itself and a dead one
        def node_rows():
            doc = d.get(api, "/api/v1/cluster/nodes")
            return len(doc["nodes"]) == 2 and doc
        lab.wait_for(node_rows, timeout=30, what="the cluster rows fetched by mailmond")

        url = "http://%s/?range=600&step=10" % api
        dom = browse(url, tmp_path, "1280,800", shot=os.path.join(art, "dashboard.png"))
        status = d.get(api, "/api/status")
        verdict = text_of(dom, "verdict")
        if status.get("verdict"):
            assert verdict.startswith(status["verdict"]["state"]), verdict
        else:
            assert verdict == "no verdict: this mailmond does not compute one", verdict
        assert "updated" in text_of(dom, "freshness")
        # a fresh history: no baseline band yet, and the note says why
        # (test_baseline.py draws the band on days of history)
        bl = [m for m in d.get(api, "/api/v1/baseline")["metrics"] if m["metric"] == "queue"][0]
        assert bl["kind"] == "none", bl
        assert re.search(r'id="queue-chart"[^>]*data-baseline-points="0"', dom), dom
        assert re.match(r"baseline: (none yet for the queue \(0 days of history, 6 hours "
                        r"needed\)|not computed yet)$", text_of(dom, "baseline-note")), \
            text_of(dom, "baseline-note")

        rows = re.findall(r'<tr class="dest" data-destination="([^"]+)">(.*?)</tr>', dom, re.S)
        row = dict(rows).get("dead.test")
        assert row, "dead.test missing from the stuck table: %s" % rows
        assert 'class="reason rc-refused">refused<' in row, row
        cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
        assert cells[2] == str(N_DEAD), cells  # T column, against postqueue -j

        points = re.search(r'id="flow-chart" data-points="(\d+)"', dom)
        assert points and int(points.group(1)) > 0, "the flow chart has no points"

        alarms = re.search(r'<table id="alarms".*?<tbody>(.*?)</tbody>', dom, re.S).group(1)
        assert "deferred messages" in alarms and "deferred" in alarms, alarms
        # with the likely cause and the next command the alarm mail gives
        api_alarm = [a for a in d.get(api, "/api/v1/alarms")["alarms"]
                     if a["alarm"] == "stuckmail"][0]
        assert api_alarm["cause"] and api_alarm["next_command"], api_alarm
        assert api_alarm["next_command"] in alarms.replace("&amp;", "&"), alarms

        nodes = {url: state for state, url in re.findall(
            r'<tr class="node state-(\w+)" data-node="([^"]+)">', dom)}
        assert nodes.get("127.0.0.1:%d" % dead_port) == "unreachable", nodes
        assert nodes.get(api) in ("healthy", "degraded", "stalled", "down"), nodes

        phone = browse(url, tmp_path, "390,844", shot=os.path.join(art, "dashboard-phone.png"))
        assert 'data-overflow-x="false"' in phone, "the page overflows at phone width"
        print("screenshots: %s/dashboard.png, dashboard-phone.png" % art)
    finally:
        assert d.stop() == 0, d.log()


def test_page_files_and_headers(lab, tmp_path):
    """Only the page's own files are served, with no-store and a strict CSP;
    Chart.js comes from the Debian package, never a CDN."""
    port = mmbin.free_port()
    api = "127.0.0.1:%d" % port
    conf = tmp_path / "mailmon.conf"
    conf.write_text("[daemon]\nstate_directory = %s\nrun_directory = %s\npidfile = %s/pid\n"
                    "[http]\nlisten = %s\nwww_directory = %s\n[mta]\ntype = none\n"
                    "[log]\nsources = %s\n" % (tmp_path, tmp_path, tmp_path, api,
                                             os.path.join(mmbin.SOURCE_DIR, "www"),
                                             lab.paths["maillog"]))
    d = mmbin.Daemon(str(conf), str(tmp_path / "mailmond.log"))
    d.start(api=api)
    try:
        for path, ctype in (("/", "text/html"), ("/dashboard.js", "text/javascript"),
                            ("/dashboard.css", "text/css"), ("/chart.min.js", "text/javascript")):
            with urllib.request.urlopen("http://%s%s" % (api, path), timeout=5) as r:
                body = r.read()
                assert r.headers["Content-Type"].startswith(ctype), path
                assert r.headers["Cache-Control"] == "no-store"
                assert "default-src 'self'" in r.headers["Content-Security-Policy"]
                assert body
        with open("/usr/share/javascript/chart.js/chart.min.js", "rb") as f:
            with urllib.request.urlopen("http://%s/chart.min.js" % api, timeout=5) as r:
                assert r.read() == f.read()
        with open(os.path.join(mmbin.SOURCE_DIR, "www", "index.html")) as f:
            page = f.read()
        assert "http://" not in page and "https://" not in page  # nothing from a CDN
        for path in ("/../etc/passwd", "/www/index.html", "/dashboard.js/x"):
            try:
                urllib.request.urlopen("http://%s%s" % (api, path), timeout=5)
                raise AssertionError("%s was served" % path)
            except urllib.error.HTTPError as e:
                assert e.code in (400, 404), (path, e.code)
    finally:
        assert d.stop() == 0, d.log()


def test_page_and_data_need_the_token(lab, tmp_path):
    """With [http] auth_file (a bearer token), the page and every request
    it makes need the token: API clients send it as a bearer token, a
    browser as the password of basic auth (the 401 asks for Basic)."""
    import base64
    port = mmbin.free_port()
    api = "127.0.0.1:%d" % port
    auth = tmp_path / "api.auth"
    fd = os.open(auth, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, b"token = dash-T0ken\n")
    os.close(fd)
    conf = tmp_path / "mailmon.conf"
    conf.write_text("[daemon]\nstate_directory = %s\nrun_directory = %s\npidfile = %s/pid\n"
                    "[http]\nlisten = %s\nwww_directory = %s\nauth_file = %s\n"
                    "[mta]\ntype = none\n[log]\nsources = %s\n" % (
                        tmp_path, tmp_path, tmp_path, api,
                        os.path.join(mmbin.SOURCE_DIR, "www"), auth, lab.paths["maillog"]))
    d = mmbin.Daemon(str(conf), str(tmp_path / "mailmond.log"))
    d.start()

    def get(path, headers=None):
        req = urllib.request.Request("http://%s%s" % (api, path), headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.headers.get_all("WWW-Authenticate") or []
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get_all("WWW-Authenticate") or []
        except OSError:
            return None, []
    try:
        lab.wait_for(lambda: get("/")[0] is not None, timeout=10, what="mailmond up")
        basic = {"Authorization": "Basic " + base64.b64encode(b"postmaster:dash-T0ken").decode()}
        wrong = {"Authorization": "Basic " + base64.b64encode(b"postmaster:nope").decode()}
        for path in ("/", "/dashboard.js", "/chart.min.js", "/api/v1/status", "/api/v1/queue"):
            code, challenge = get(path)
            assert code == 401 and 'Basic realm="mailmond"' in challenge, (path, code, challenge)
            assert get(path, wrong)[0] == 401, path
            assert get(path, basic)[0] == 200, path
            assert get(path, {"Authorization": "Bearer dash-T0ken"})[0] == 200, path
        # A browser given the credentials shows data; without them it gets
        # nothing of the page.
        dom = browse("http://postmaster:dash-T0ken@%s/" % api, tmp_path, "1280,800")
        assert "updated" in text_of(dom, "freshness"), text_of(dom, "freshness")
        dom = browse("http://%s/" % api, tmp_path, "1280,800")
        assert 'id="freshness"' not in dom and "mailmond" not in dom, dom[:300]
    finally:
        assert d.stop() == 0, d.log()


def test_bad_cluster_node_is_named(tmp_path):
    """A [cluster] nodes entry that is not a numeric HOST:PORT stops
    mailmond at start with the key and the entry named."""
    port = mmbin.free_port()
    conf = tmp_path / "mailmon.conf"
    conf.write_text("[daemon]\nstate_directory = %s\nrun_directory = %s\npidfile = %s/pid\n"
                    "[http]\nlisten = 127.0.0.1:%d\n[mta]\ntype = none\n[log]\nsources =\n"
                    "[cluster]\nnodes = 127.0.0.1:9925, mx.example.org:9925\n"
                    % (tmp_path, tmp_path, tmp_path, port))
    d = mmbin.Daemon(str(conf), str(tmp_path / "mailmond.log"))
    d.start()
    assert d.proc.wait(10) == 1
    assert "cluster.nodes: mx.example.org:9925: not HOST:PORT" in d.log(), d.log()
