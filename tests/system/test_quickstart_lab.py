"""The quick start's pieces on a real lab: lab traffic is bounded and
reaches Postfix, lab/mailmon_conf.py writes a config mailmon accepts, and
mailmond runs on it and answers `mailmon status`."""
import os
import re
import subprocess
import sys

import mmbin

LAB = os.path.join(mmbin.SOURCE_DIR, "lab")


def test_traffic_is_bounded_and_accepted(lab):
    before = len(re.findall(r"postfix/smtpd\[\d+\]: \w+: client=", lab.maillog_text()))
    r = subprocess.run([sys.executable, os.path.join(LAB, "mailmon-lab"), "traffic",
                        "--dir", lab.dir, "--rate", "600", "--duration", "2",
                        "--mix", "sink=1,dead=1", "--seed", "7"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    m = re.search(r"sent sink=(\d+), dead=(\d+), refused (\d+)", r.stdout)
    assert m, r.stdout
    sink, dead, refused = map(int, m.groups())
    assert refused == 0
    assert 5 <= sink + dead <= 25  # 600/min for 2 s, bounded by the duration
    lab.wait_for(lambda: len(re.findall(r"postfix/smtpd\[\d+\]: \w+: client=",
                                        lab.maillog_text())) - before == sink + dead,
                 timeout=30, what="smtpd accepted every traffic message")


def test_generated_config_runs_mailmond(lab, tmp_path):
    port = mmbin.free_port()
    conf = tmp_path / "mailmon.conf"
    r = subprocess.run([sys.executable, os.path.join(LAB, "mailmon_conf.py"),
                        os.path.join(lab.dir, "lab.json"), "--http", f"127.0.0.1:{port}"],
                       capture_output=True, text=True, timeout=30, check=True)
    conf.write_text(r.stdout)
    assert lab.paths["postfix_config_dir"] in r.stdout
    check = mmbin.mailmon("config", "check", str(conf))
    assert check.returncode == 0, check.stderr
    d = mmbin.Daemon(str(conf), str(tmp_path / "d.log"))
    try:
        st = d.start(api=f"127.0.0.1:{port}")
        assert st["config"] == str(conf)
        s = mmbin.mailmon("status", config=str(conf))
        assert s.returncode == 0, s.stderr
    finally:
        assert d.stop() == 0
