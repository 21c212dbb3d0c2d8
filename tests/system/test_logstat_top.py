"""mailmon logstat's top tables against counts made here, independently.

The test writes a rejects-heavy Postfix log with a long tail of clients
(40,000 distinct, a few heavy ones), RBL and policy rejects whose texts
carry the client's address, and deferrals/bounces whose texts carry
relay addresses and queue IDs. Every line is built from a template whose
group (the row a postmaster expects, docs/logstat.md "How reasons are
grouped") the generator knows, so the expected tables are a Counter kept
while writing, never mailmon's own code.

- default (exact) mode: every printed figure of rejects by client, by
  reason and the per-destination reasons, in --json and in the text
  report, equals the count kept here, and the rows are the true top N;
- approximate mode (a tiny --top-memory): the JSON says which tables are
  approximate, each printed count is an upper bound within its stated
  error, no unlisted client exceeds the stated bound, and the text report
  marks every figure with "~";
- the grouping agrees with pflogsumm's own --detail reject table: the same
  number of reject reasons with the same totals.
"""
import collections
import json
import random
import re
import subprocess

import pytest

import mmbin

N_CLIENTS = 40000
N_REJECTS = 120000
TOP = 40

# (weight, group key, smtp text after "RCPT from NAME[IP]: ")
REJECTS = [
    (30, "blocked using zen.spamhaus.org",
     "554 5.7.1 Service unavailable; Client host [{ip}] blocked using zen.spamhaus.org; "
     "https://www.spamhaus.org/query/ip/{ip}"),
    (15, "blocked using bl.spamcop.net",
     "554 5.7.1 Service unavailable; Client host [{ip}] blocked using bl.spamcop.net; "
     "Blocked - see https://www.spamcop.net/bl.shtml?{ip}"),
    (5, "blocked using b.barracudacentral.org",
     "554 5.7.1 Service unavailable; Client host [{ip}] blocked using "
     "b.barracudacentral.org; http://www.barracudanetworks.com/reputation/?pr=1&ip={ip}"),
    (20, "Recipient address rejected: User unknown in virtual mailbox table",
     "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"),
    (12, "Relay access denied", "554 5.7.1 <{rcpt}>: Relay access denied"),
    (8, "Client host rejected: cannot find your hostname, [*]",
     "450 4.7.25 Client host rejected: cannot find your hostname, [{ip}]"),
    (6, "Helo command rejected: need fully-qualified hostname",
     "504 5.5.2 <{helo}>: Helo command rejected: need fully-qualified hostname"),
    (4, "Sender address rejected: Domain not found",
     "450 4.1.8 <{sender}>: Sender address rejected: Domain not found"),
]

# (destination, status, group key, text with {ip} {qid} {n})
DELIVERIES = [
    ("refuse.example", "deferred", "connect to mx.refuse.example[*]:#: Connection refused",
     "connect to mx.refuse.example[{ip}]:25: Connection refused"),
    ("refuse.example", "deferred",
     "conversation with mx.refuse.example[*] timed out while receiving the initial server "
     "greeting",
     "conversation with mx.refuse.example[{ip}] timed out while receiving the initial "
     "server greeting"),
    ("full.example", "deferred",
     "host mx.full.example[*] said: 452 4.2.2 Mailbox full, message # (in reply to RCPT TO "
     "command)",
     "host mx.full.example[{ip}] said: 452 4.2.2 Mailbox full, message {qid} (in reply to "
     "RCPT TO command)"),
    ("full.example", "bounced",
     "host mx.full.example[*] said: 550 5.1.1 <*>: Recipient address rejected: User unknown "
     "(in reply to RCPT TO command)",
     "host mx.full.example[{ip}] said: 550 5.1.1 <{rcpt}>: Recipient address rejected: "
     "User unknown (in reply to RCPT TO command)"),
    ("full.example", "bounced",
     "host mx.full.example[*] said: 552 5.3.4 Message size exceeds limit of # bytes (in "
     "reply to end of DATA command)",
     "host mx.full.example[{ip}] said: 552 5.3.4 Message size exceeds limit of {n} bytes "
     "(in reply to end of DATA command)"),
]


def client(i):
    ip = "10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255)
    name = "unknown" if i % 3 else "host%d.dyn.example.net" % i
    return name, ip


def pick_client(rng):
    """A long tail: a handful of heavy clients, tens of thousands seen once
    or twice (probability of client i about 1/(i+1)^1.2)."""
    u = rng.random()
    return min(int((1.0 / (1.0 - u * 0.999999)) ** (1 / 1.2)) - 1, N_CLIENTS - 1) \
        if rng.random() < 0.6 else rng.randrange(N_CLIENTS)


def weighted(rng, table):
    total = sum(t[0] for t in table)
    x = rng.uniform(0, total)
    for t in table:
        x -= t[0]
        if x <= 0:
            return t
    return table[-1]


def write_log(path):
    rng = random.Random(11)
    by_client = collections.Counter()
    by_reason = collections.Counter()
    dest_reasons = collections.defaultdict(collections.Counter)  # (dest, status) -> Counter
    seen = set()
    with open(path, "w") as f:
        for n in range(N_REJECTS):
            i = pick_client(rng)
            seen.add(i)
            name, ip = client(i)
            _, group, text = weighted(rng, REJECTS)
            rcpt = "user%d@victim%d.example" % (n % 997, n % 13)
            sender = "s%d@nx%d.example" % (n % 89, n % 7)
            helo = "pc%d" % (n % 500)
            t = n // 4
            stamp = "Dec  %d %02d:%02d:%02d" % (1 + t // 86400 % 7, t // 3600 % 24,
                                              t // 60 % 60, t % 60)
            line = ("%s mx postfix/smtpd[%d]: NOQUEUE: reject: RCPT from %s[%s]: %s; "
                    "from=<%s> to=<%s> proto=ESMTP helo=<%s>\n") % (
                stamp, 1000 + n % 3000, name, ip,
                text.format(ip=ip, rcpt=rcpt, sender=sender, helo=helo), sender, rcpt, helo)
            f.write(line)
            by_client["%s[%s]" % (name, ip)] += 1
            by_reason[group] += 1
            if n % 10 == 0:
                dest, status, dgroup, dtext = DELIVERIES[(n // 10) % len(DELIVERIES)]
                qid = "%X" % (0x4A00000000 + n)
                dsn = "4.4.1" if status == "deferred" else "5.1.1"
                f.write("%s mx postfix/smtp[%d]: %s: to=<u%d@%s>, relay=mx.%s[192.0.2.%d]:25, "
                        "delay=%d, delays=0.1/0/0.2/0.3, dsn=%s, status=%s (%s)\n" % (
                            stamp, 5000 + n % 100, qid, n % 50, dest, dest, n % 200 + 1,
                            n % 900, dsn, status,
                            dtext.format(ip="192.0.2.%d" % (n % 200 + 1), qid=qid,
                                         rcpt="u%d@%s" % (n % 50, dest), n=n * 7)))
                dest_reasons[(dest, status)][dgroup] += 1
    assert len(seen) > 10000, "the log must have a long tail of clients"
    return by_client, by_reason, dest_reasons


def true_top(counter, n):
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0].encode()))[:n]


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("top") / "maillog")
    return path, write_log(path)


def logstat(*args):
    r = subprocess.run([mmbin.binary("mailmon"), "logstat", "--year", "2026"] + list(args),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def section(text, title):
    """The rows of one top table of the text report: [(prefix, count, err, key)]."""
    body = text.split("\n" + title, 1)[1].split("\n", 2)[2]
    rows = []
    for line in body.split("\n"):
        if not line.startswith("  ") and not line.startswith(" ~"):
            break
        m = re.match(r"^ (~| )\s*(\d+)\s+(?:err<=(\d+)\s+)?(.*)$", line)
        if m:
            rows.append((m.group(1), int(m.group(2)), int(m.group(3) or 0), m.group(4)))
    return rows


def test_exact_by_default(log):
    path, (by_client, by_reason, dest_reasons) = log
    doc = json.loads(logstat("--json", "--top", str(TOP), path))
    assert doc["totals"]["rejected"] == N_REJECTS
    for table in ("rejects_by_client", "rejects_by_reason", "destination_reasons"):
        assert doc["exact"][table] is True, table
    assert doc["top_tables"]["rejects_by_client"]["keys"] == len(by_client)
    want = true_top(by_client, TOP)
    got = [(r["key"], r["count"]) for r in doc["rejects_by_client"]]
    assert got == want
    assert all(r["max_overcount"] == 0 for r in doc["rejects_by_client"])
    assert [(r["key"], r["count"]) for r in doc["rejects_by_reason"]] == \
        true_top(by_reason, TOP)
    assert len(doc["rejects_by_reason"]) == len(REJECTS)
    dests = {d["domain"]: d for d in doc["destinations"]}
    for (dest, status), want_reasons in dest_reasons.items():
        key = "top_deferral_reasons" if status == "deferred" else "top_bounce_reasons"
        got = [(r["key"], r["count"]) for r in dests[dest][key]]
        assert got == true_top(want_reasons, 5), (dest, status)

    # The text report prints the same figures, without "~".
    text = logstat("--top", str(TOP), path)
    rows = section(text, "Rejects by client")
    assert [(k, c) for _, c, _, k in rows] == want
    assert all(p == " " for p, _, _, _ in rows)
    rows = section(text, "Rejects by reason")
    assert [(k, c) for _, c, _, k in rows] == true_top(by_reason, TOP)
    rows = section(text, "Deferral reasons: refuse.example")
    assert [(k, c) for _, c, _, k in rows] == true_top(
        dest_reasons[("refuse.example", "deferred")], 5)


def test_approximate_past_the_cap(log):
    path, (by_client, by_reason, _) = log
    args = ("--top", str(TOP), "--top-memory", "0.25", path)
    doc = json.loads(logstat("--json", *args))
    info = doc["top_tables"]["rejects_by_client"]
    assert doc["exact"]["rejects_by_client"] is False
    assert info["exact"] is False and info["total"] == N_REJECTS
    rows = doc["rejects_by_client"]
    assert len(rows) == TOP
    listed = set()
    for r in rows:
        truth = by_client[r["key"]]
        assert r["count"] - r["max_overcount"] <= truth <= r["count"], r
        listed.add(r["key"])
    # Nothing unlisted is bigger than the bound the report states.
    bound = max(info["unlisted_max"], rows[-1]["count"])
    assert max(c for k, c in by_client.items() if k not in listed) <= bound
    # The heavy hitters are found: the true top 5 are all listed.
    assert {k for k, _ in true_top(by_client, 5)} <= listed
    # The reasons table (8 keys) stayed exact within the same budget.
    assert doc["exact"]["rejects_by_reason"] is True
    assert [(r["key"], r["count"]) for r in doc["rejects_by_reason"]] == \
        true_top(by_reason, TOP)

    text = logstat(*args)
    assert "Rejects by client (approximate:" in text
    trows = section(text, "Rejects by client")
    assert len(trows) == TOP and all(p == "~" for p, _, _, _ in trows)
    for _, count, err, key in trows:
        assert count - err <= by_client[key] <= count
    m = re.search(r"any key not listed: at most (\d+)", text)
    assert m and int(m.group(1)) == info["unlisted_max"]


def pflogsumm_rejects(path):
    """pflogsumm's "message reject detail": {reason: total} under RCPT."""
    out = subprocess.run(["pflogsumm", "--detail", "0", "--reject-detail", "50", path],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    body = out.split("message reject detail", 1)[1]
    body = re.split(r"\n\n[a-z]", body, 1)[0]
    totals = {}
    for m in re.finditer(r"^    (.+?)(?: \(top \d+\))? \(total: (\d+)\)$", body, re.M):
        totals[m.group(1)] = int(m.group(2))
    return totals


def test_grouping_matches_pflogsumm(log):
    """pflogsumm --detail and mailmon group the same rejects into the same
    rows: one row per DNSBL, one per policy text, whatever the client."""
    path, (_, by_reason, _) = log
    pf = pflogsumm_rejects(path)
    doc = json.loads(logstat("--json", "--top", "50", path))
    ours = {r["key"]: r["count"] for r in doc["rejects_by_reason"]}
    assert len(pf) == len(ours) == len(by_reason)
    assert sorted(pf.values()) == sorted(ours.values()) == sorted(by_reason.values())
    # Same rows by name where the two name them alike (the DNSBLs).
    for zone in ("zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org"):
        assert pf["blocked using " + zone] == ours["blocked using " + zone]
