"""The versioned HTTP API pinned to docs/api.md.

Every ```shape block of docs/api.md names a GET and the answer's fields.
A mailmond watching the lab's Postfix (with a watched service, mail
delivered and deferred, the history sampled) answers each one: its
top-level keys must be exactly the documented ones, and every listed
field must be there with its documented JSON type. The unversioned
/api/NAME paths must answer as /api/v1/NAME does (aliases for one
release). /healthz is 200 here, and 503 from a mailmond whose history
database cannot be created, naming that check.
"""
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

import pytest

import mmbin
import traffic

LAB_DIR = os.path.join(mmbin.SOURCE_DIR, "lab")
sys.path.insert(0, LAB_DIR)
import mailmonlab  # noqa: E402

DOC = os.path.join(mmbin.SOURCE_DIR, "docs", "api.md")
TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool,
         "object": dict, "array": list, "null": type(None)}


def shapes():
    """[(path, {field: [types]})] from the ```shape blocks of docs/api.md."""
    text = open(DOC).read()
    out = []
    for block in re.findall(r"```shape\n(.*?)```", text, re.S):
        lines = block.strip().splitlines()
        m = re.match(r"^GET (\S+)$", lines[0])
        assert m, "docs/api.md: a shape block must start with 'GET PATH': %r" % lines[0]
        fields = {}
        for line in lines[1:]:
            parts = line.split()
            assert len(parts) >= 2, "docs/api.md: field line without a type: %r" % line
            for t in parts[1].split("|"):
                assert t in TYPES, "docs/api.md: unknown type %r in %r" % (t, line)
            fields[parts[0]] = parts[1].split("|")
        out.append((m.group(1), fields))
    return out


def get(api, path):
    try:
        with urllib.request.urlopen("http://%s%s" % (api, path), timeout=10) as r:
            return r.status, json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode())


def lookup(doc, field):
    """The value at a.b / a[].b, or KeyError; None-marker when an array on
    the way is empty (nothing to check)."""
    cur = doc
    for seg in field.split("."):
        arr = seg.endswith("[]")
        key = seg[:-2] if arr else seg
        if not isinstance(cur, dict) or key not in cur:
            raise KeyError(field)
        cur = cur[key]
        if arr:
            if not isinstance(cur, list):
                raise KeyError(field + " (not an array)")
            if not cur:
                return EMPTY
            cur = cur[0]
    return cur


EMPTY = object()


def type_ok(value, types):
    if isinstance(value, bool):
        return "boolean" in types
    return any(isinstance(value, TYPES[t]) for t in types)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    with mailmonlab.Lab(components=("postfix",)) as lab:
        daemon, api, state = traffic.start_mailmond(
            lab, tmp, "[service.smtp]\nurl = smtp://127.0.0.1:%d\ninterval = 2s\n"
            "[isolate]\nenable = yes\n" % lab.ports["smtpd"])
        try:
            traffic.send_and_settle(lab, 2, 1)
            lab.wait_for(lambda: get(api, "/api/v1/history?metric=mailmon_queue_messages"
                                     "&from=now-10m&step=10")[1]["series"],
                         timeout=30, interval=1, what="a first history sample")
            lab.wait_for(lambda: get(api, "/api/v1/queue")[1]["rfc2789"],
                         timeout=30, interval=1, what="the deferred mail in the queue gauges")
            yield {"lab": lab, "api": api}
        finally:
            assert daemon.stop() == 0, daemon.log()


def test_docs_have_every_endpoint():
    paths = [p.split("?")[0] for p, _ in shapes()]
    for want in ("/healthz", "/api/v1/status", "/api/v1/services", "/api/v1/queue",
                 "/api/v1/logs", "/api/v1/counters", "/api/v1/counterutil", "/api/v1/metrics",
                 "/api/v1/alarms", "/api/v1/history", "/api/v1/history/status"):
        assert want in paths, "docs/api.md has no shape for %s" % want


def test_answers_match_the_documented_shapes(node):
    problems = []
    for path, fields in shapes():
        code, doc = get(node["api"], path)
        if code != 200:
            problems.append("%s: HTTP %d %s" % (path, code, doc))
            continue
        top = {f for f in fields if "." not in f and "[" not in f}
        if set(doc) != top:
            problems.append("%s: top-level keys %s, documented %s (extra %s, missing %s)" % (
                path, sorted(doc), sorted(top), sorted(set(doc) - top),
                sorted(top - set(doc))))
        for f, types in fields.items():
            try:
                v = lookup(doc, f)
            except KeyError as e:
                problems.append("%s: %s missing" % (path, e))
                continue
            if v is not EMPTY and not type_ok(v, types):
                problems.append("%s: %s is %r, documented %s" % (path, f, v, "|".join(types)))
    assert not problems, "\n".join(problems)


def test_unversioned_paths_are_aliases(node):
    for path, _ in shapes():
        if not path.startswith("/api/v1/") or path.startswith("/api/v1/history"):
            continue
        old = "/api/" + path[len("/api/v1/"):]
        c1, d1 = get(node["api"], path)
        c0, d0 = get(node["api"], old)
        assert (c0, sorted(d0)) == (c1, sorted(d1)), old
    code, doc = get(node["api"], "/api/v1/nonexistent")
    assert code == 404 and "error" in doc


def test_healthz_503_when_history_cannot_be_written(tmp_path):
    port = mmbin.free_port()
    conf = tmp_path / "mailmon.conf"
    conf.write_text(
        "[daemon]\nstate_directory = %s\nrun_directory = %s\n"
        "[http]\nlisten = 127.0.0.1:%d\n"
        "[history]\nfile = %s/no/such/dir/history.db\n" % (tmp_path, tmp_path, port, tmp_path))
    d = mmbin.Daemon(str(conf), str(tmp_path / "mailmond.log"))
    api = "127.0.0.1:%d" % port
    d.start(api=api)
    try:
        # the history worker opens the database on its own thread, just after start
        for _ in range(50):
            code, doc = get(api, "/healthz")
            if code == 503:
                break
            time.sleep(0.1)
        assert code == 503 and doc["status"] == "failing", doc
        bad = [c for c in doc["checks"] if not c["ok"]]
        assert [c["name"] for c in bad] == ["history"], doc
        assert "unavailable" in bad[0]["detail"]
    finally:
        assert d.stop() == 0, d.log()
