#!/usr/bin/python3
"""gen_postfix_log: a large, realistic Postfix maillog for benchmarks.

Usage: gen_postfix_log.py [--lines N] [--seed S] [--out FILE]   (default 10M to stdout)

The shapes are those the lab's Postfix 3.7 writes (tests/parsers/golden/
postfix-lab.log): smtpd connect/client/disconnect, cleanup message-id, qmgr
from/size/nrcpt and removed, smtp/lmtp deliveries with relay, delay,
delays, dsn and status; multi-recipient messages; bounces with their
sender non-delivery notifications; deferrals with "connect to ...
Connection refused" lines and later retries (some end bounced, some
expired by qmgr); NOQUEUE rejects from foreign clients; a few warnings.
The mix is a relay's (issue 11): per connection 20% are NOQUEUE RCPT
rejects of unknown or unrouted domains (and relay attempts) from a long
tail of 60,000 clients; per recipient of an accepted message 66% go to
accepting remote domains, 10% to local mailboxes by LMTP, 8% are refused
with a 5xx by the remote (bounce), 7% meet a refusing destination
(deferred, retried, then bounced or expired) and 4% a silent one (greeting
timeout, deferred, retried); 20% of messages have 2-4 recipients.
Deterministic for a seed.

The last lines carry the generator's own expected totals as a comment on
stderr (received, delivered, deferrals, bounced, rejected) so a benchmark
run can check every tool read the same traffic.
"""
import argparse
import collections
import random
import sys
import time

MON = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
       "Nov", "Dec"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    out = sys.stdout if a.out == "-" else open(a.out, "w")
    buf = []
    nlines = 0
    t0 = time.mktime((2026, 11, 18, 0, 0, 0, 0, 0, -1))
    now = t0
    stamp_cache = [None, ""]

    def stamp():
        s = int(now)
        if stamp_cache[0] != s:
            tm = time.localtime(s)
            stamp_cache[0] = s
            stamp_cache[1] = "%s %2d %02d:%02d:%02d mail " % (
                MON[tm.tm_mon - 1], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec)
        return stamp_cache[1]

    def emit(s):
        nonlocal nlines
        buf.append(stamp() + s)
        nlines += 1

    domains = ["sink%d.test" % i for i in range(300)]
    senders = ["user%d@%s" % (i, rnd.choice(["lab.test", "corp.test", "shop.test"]))
               for i in range(5000)]
    clients = ["client%d.example[10.%d.%d.%d]" % (i, i % 200, (i // 200) % 250, i % 250 + 1)
               for i in range(2000)]
    # rejected clients: a long tail, most of them without a PTR name
    rej_clients = ["%s[198.%d.%d.%d]" % ("unknown" if i % 4 else "host%d.dsl.example" % i,
                                         18 + i // 65536 % 2, i // 256 % 256, i % 256)
                   for i in range(60000)]
    rej_texts = [
        "450 4.1.2 <{r}>: Recipient address rejected: Domain not found",
        "554 5.7.1 <{r}>: Relay access denied",
        "550 5.1.1 <{r}>: Recipient address rejected: User unknown in virtual mailbox table",
        "554 5.7.1 Service unavailable; Client host [{ip}] blocked using zen.spamhaus.org; "
        "https://www.spamhaus.org/query/ip/{ip}",
    ]
    n = 0
    pending = collections.deque()  # (due time, qid, rcpt, tries, size), in time order
    stats = dict(received=0, delivered=0, deferrals=0, bounced=0, rejected=0)
    pid_smtpd, pid_cleanup, pid_qmgr = 13788, 13791, 13641

    def qid_of(k):
        return "%011X" % ((k * 2654435761 + 0x5A5A5) & 0xFFFFFFFFFFF)

    def bounce_notice(qid):
        nonlocal n
        n += 1
        nq = qid_of(n)
        emit("postfix/cleanup[%d]: %s: message-id=<%s.%s@mail.lab.test>" % (
            pid_cleanup, nq, int(now), nq))
        emit("postfix/qmgr[%d]: %s: from=<>, size=2415, nrcpt=1 (queue active)" % (pid_qmgr, nq))
        emit("postfix/bounce[13797]: %s: sender non-delivery notification: %s" % (qid, nq))
        return nq

    while nlines < a.lines:
        now += rnd.expovariate(40.0)  # about 40 messages a second
        # retries that are due
        while pending and pending[0][0] <= now:
            due, qid, rcpt, tries, size = pending.popleft()
            emit("postfix/smtp[%d]: connect to dead%d.test[192.0.2.%d]:25: Connection refused"
                 % (14000 + tries, tries, tries + 1))
            if tries >= 3:
                if rnd.random() < 0.5:
                    emit("postfix/smtp[%d]: %s: to=<%s>, relay=none, delay=%d, delays=%d/0.01/0/0, "
                         "dsn=4.4.1, status=bounced (connect to dead.test[192.0.2.1]:25: "
                         "Connection refused)" % (14000, qid, rcpt, int(now - due + 600),
                                                  int(now - due + 600)))
                    stats["bounced"] += 1
                    nq = bounce_notice(qid)
                    emit("postfix/smtp[13792]: %s: to=<%s>, relay=127.0.0.1[127.0.0.1]:2525, "
                         "delay=0.02, delays=0.01/0/0/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok)"
                         % (nq, "postmaster@lab.test"))
                    stats["delivered"] += 1
                    emit("postfix/qmgr[%d]: %s: removed" % (pid_qmgr, nq))
                else:
                    emit("postfix/qmgr[%d]: %s: from=<user1@lab.test>, status=expired, "
                         "returned to sender" % (pid_qmgr, qid))
                emit("postfix/qmgr[%d]: %s: removed" % (pid_qmgr, qid))
            else:
                emit("postfix/smtp[%d]: %s: to=<%s>, relay=none, delay=%d, delays=%d/0/0/0, "
                     "dsn=4.4.1, status=deferred (connect to dead.test[192.0.2.1]:25: "
                     "Connection refused)" % (14000, qid, rcpt, 300 * tries, 300 * tries))
                stats["deferrals"] += 1
                pending.append((now + 300, qid, rcpt, tries + 1, size))
        r = rnd.random()
        client = rnd.choice(clients)
        if r < 0.20:
            rc = rej_clients[min(int(rnd.paretovariate(0.7)) - 1, len(rej_clients) - 1)
                             if rnd.random() < 0.5 else rnd.randrange(len(rej_clients))]
            ip = rc.split("[")[1][:-1]
            rcpt = "x%d@%s" % (n % 977, rnd.choice(["nx%d.example" % (n % 50), "elsewhere.test",
                                                    "lab.test"]))
            emit("postfix/smtpd[%d]: connect from %s" % (pid_smtpd, rc))
            emit("postfix/smtpd[%d]: NOQUEUE: reject: RCPT from %s: %s; from=<%s> to=<%s> "
                 "proto=ESMTP helo=<%s>" % (pid_smtpd, rc, rnd.choice(rej_texts).format(
                     r=rcpt, ip=ip), rnd.choice(senders), rcpt, rc.split("[")[0]))
            stats["rejected"] += 1
            emit("postfix/smtpd[%d]: disconnect from %s ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4"
                 % (pid_smtpd, rc))
            if rnd.random() < 0.1:
                emit("postfix/smtpd[%d]: warning: hostname %s does not resolve to address %s"
                     % (pid_smtpd, rc.split("[")[0], ip))
            continue
        n += 1
        qid = qid_of(n)
        sender = rnd.choice(senders)
        nrcpt = 1 if rnd.random() < 0.8 else rnd.randint(2, 4)
        size = rnd.randint(400, 60000)
        emit("postfix/smtpd[%d]: connect from %s" % (pid_smtpd, client))
        emit("postfix/smtpd[%d]: %s: client=%s" % (pid_smtpd, qid, client))
        stats["received"] += 1
        emit("postfix/cleanup[%d]: %s: message-id=<%d.%d.%d@%s>" % (
            pid_cleanup, qid, int(now * 1000), n, rnd.randint(0, 1 << 40), "client.lab.test"))
        emit("postfix/qmgr[%d]: %s: from=<%s>, size=%d, nrcpt=%d (queue active)" % (
            pid_qmgr, qid, sender, size, nrcpt))
        emit("postfix/smtpd[%d]: disconnect from %s ehlo=1 mail=1 rcpt=%d data=1 quit=1 "
             "commands=%d" % (pid_smtpd, client, nrcpt, 4 + nrcpt))
        keep = False
        for k in range(nrcpt):
            d = rnd.random() / 0.95
            d1, d2, d3, d4 = (rnd.random() * 0.05, rnd.random() * 0.02, rnd.random() * 0.05,
                              rnd.random() * 0.3)
            delay = d1 + d2 + d3 + d4
            if d < 0.66 / 0.95:
                rcpt = "u%d@%s" % (rnd.randint(0, 99999), rnd.choice(domains))
                emit("postfix/smtp[%d]: %s: to=<%s>, relay=%s[127.0.0.%d]:25, delay=%.2g, "
                     "delays=%.2g/%.2g/%.2g/%.2g, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued "
                     "as %X)" % (13792 + k, qid, rcpt, rcpt.split("@")[1], k + 2, delay, d1, d2,
                                 d3, d4, rnd.randint(0, 1 << 40)))
                stats["delivered"] += 1
            elif d < 0.80 / 0.95:
                emit("postfix/lmtp[%d]: %s: to=<%s@lab.test>, relay=mail.lab.test[private/"
                     "dovecot-lmtp], delay=%.2g, delays=%.2g/%.2g/%.2g/%.2g, dsn=2.0.0, "
                     "status=sent (250 2.0.0 <%s@lab.test> Saved)" % (
                         13900, qid, rnd.choice(["alice", "bob", "carol"]), delay, d1, d2, d3,
                         d4, "alice"))
                stats["delivered"] += 1
            elif d < 0.88 / 0.95:
                emit("postfix/smtp[%d]: %s: to=<x%d@reject.test>, relay=127.0.0.1[127.0.0.1]"
                     ":57197, delay=%.2g, delays=%.2g/%.2g/%.2g/%.2g, dsn=5.1.1, status=bounced "
                     "(host 127.0.0.1[127.0.0.1] said: 550 5.1.1 mailmon lab: recipient "
                     "rejected (in reply to RCPT TO command))" % (
                         13792, qid, k, delay, d1, d2, d3, d4))
                stats["bounced"] += 1
                nq = bounce_notice(qid)
                emit("postfix/smtp[13792]: %s: to=<%s>, relay=127.0.0.1[127.0.0.1]:2525, "
                     "delay=0.02, delays=0.01/0/0/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok)"
                     % (nq, sender))
                stats["delivered"] += 1
                emit("postfix/qmgr[%d]: %s: removed" % (pid_qmgr, nq))
            elif d < 0.91 / 0.95:
                rcpt = "u%d@slow.test" % k
                emit("postfix/smtp[%d]: %s: to=<%s>, relay=slow.test[192.0.2.9]:25, delay=%.2g, "
                     "delays=%.2g/%.2g/300/0, dsn=4.4.2, status=deferred (conversation with "
                     "slow.test[192.0.2.9] timed out while receiving the initial server "
                     "greeting)" % (13794, qid, rcpt, delay + 300, d1, d2))
                stats["deferrals"] += 1
                keep = True
            else:
                rcpt = "u%d@dead.test" % k
                emit("postfix/smtp[%d]: connect to dead.test[192.0.2.1]:25: Connection refused"
                     % 13793)
                emit("postfix/smtp[%d]: %s: to=<%s>, relay=none, delay=%.2g, "
                     "delays=%.2g/%.2g/%.2g/0, dsn=4.4.1, status=deferred (connect to "
                     "dead.test[192.0.2.1]:25: Connection refused)" % (
                         13793, qid, rcpt, delay, d1, d2, d3))
                stats["deferrals"] += 1
                pending.append((now + 300, qid, rcpt, 1, size))
                keep = True
        if not keep:
            emit("postfix/qmgr[%d]: %s: removed" % (pid_qmgr, qid))
        if len(buf) >= 65536:
            out.write("\n".join(buf) + "\n")
            buf.clear()
    if buf:
        out.write("\n".join(buf) + "\n")
    if out is not sys.stdout:
        out.close()
    print("gen_postfix_log: lines=%d messages=%d %s" % (
        nlines, n, " ".join("%s=%d" % kv for kv in stats.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
