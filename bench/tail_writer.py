#!/usr/bin/python3
"""tail_writer: append log lines to a file at a steady rate, one write()
per line as a syslog daemon does, for bench/tail_cpu.sh.

Usage: tail_writer.py --rate 2000 --seconds 60 --source LOG --out FILE
Lines are taken from LOG in order (cycled). Prints how many it wrote.
"""
import argparse
import os
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--source", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.source, "rb") as f:
        lines = [next(f) for _ in range(200000)]
    fd = os.open(a.out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    tick = 0.005                       # 5 ms slices, one write per line
    per_tick = a.rate * tick
    t0 = time.monotonic()
    n = 0
    due = 0.0
    while True:
        now = time.monotonic() - t0
        if now >= a.seconds:
            break
        due = min(a.rate * now, a.rate * a.seconds)
        while n < due:
            os.write(fd, lines[n % len(lines)])
            n += 1
        time.sleep(max(0.0, tick - (time.monotonic() - t0 - now)))
    os.close(fd)
    print(n)


if __name__ == "__main__":
    main()
