"""docs/metrics.md cannot go stale, and its alert rules are valid.

A mailmond with every module on (logs, queue, counters, a watched
service, an e2e probe, alarms, SNMP, history) serves its registry's
families at /api/v1/metrics; scripts/metrics-doc turns them into the
family table, which must equal the generated table in docs/metrics.md.
Every family must also belong to a documented group (a `### ` heading
naming its prefix) and the Prometheus rules in the doc must pass
`promtool check rules`.
"""
import os
import re
import subprocess
import sys

import pytest

import mmbin
import traffic

LAB_DIR = os.path.join(mmbin.SOURCE_DIR, "lab")
sys.path.insert(0, LAB_DIR)
import mailmonlab  # noqa: E402

DOC = os.path.join(mmbin.SOURCE_DIR, "docs", "metrics.md")
GEN = os.path.join(mmbin.SOURCE_DIR, "scripts", "metrics-doc")


need = mmbin.require


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mdoc")
    cred = tmp / "probe.cred"
    cred.write_text("user = nobody\npassword = nothing\n")
    cred.chmod(0o600)
    with mailmonlab.Lab(components=("postfix", "snmpd")) as lab:
        daemon, api, _ = traffic.start_mailmond(lab, tmp, (
            "[service.smtp]\nurl = smtp://127.0.0.1:%d\ninterval = 2s\n"
            "[snmp]\nenable = yes\nagentx_socket = %s\n"
            "[isolate]\nenable = yes\n"
            "[e2e.doc]\nsubmit = smtp://127.0.0.1:%d\nfetch = imap://127.0.0.1:%d\n"
            "to = nobody@lab.test\ncredentials_file = %s\ninterval = 1h\n" % (
                lab.ports["smtpd"], lab.paths["agentx_socket"], lab.ports["smtpd"],
                mmbin.free_port(), cred)))
        try:
            yield api
        finally:
            assert daemon.stop() == 0, daemon.log()


def test_family_table_is_generated_from_the_registry(api):
    r = subprocess.run([sys.executable, GEN, api], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    doc = open(DOC).read()
    m = re.search(r"<!-- families: generated.*?-->\n(.*?)<!-- end of generated families -->",
                  doc, re.S)
    assert m, "docs/metrics.md lacks the generated-table markers"
    assert m.group(1) == r.stdout, (
        "docs/metrics.md is stale: run scripts/metrics-doc HOST:PORT --write docs/metrics.md "
        "against a mailmond with every module on (see this test's config)")
    names = re.findall(r"^\| `(mailmon_\w+)` \|", r.stdout, re.M)
    assert len(names) > 50
    groups = [g for line in re.findall(r"^### .*$", doc, re.M)
              for g in re.findall(r"`(mailmon_\w*?)\*?`", line)]
    orphans = [n for n in names if not any(n.startswith(g) for g in groups)]
    assert not orphans, "families in no documented group: %s" % orphans


def test_alert_rules_are_valid(tmp_path):
    promtool = need("promtool")
    doc = open(DOC).read()
    rules = re.findall(r"```yaml\n(.*?)```", doc, re.S)
    assert len(rules) >= 8
    f = tmp_path / "rules.yml"
    f.write_text("groups:\n  - name: mailmon\n    rules:\n" + "".join(
        "".join("      " + line + "\n" for line in block.splitlines()) for block in rules))
    r = subprocess.run([promtool, "check", "rules", str(f)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr + f.read_text()
    # each rule names an existing family
    families = set(re.findall(r"^\| `(mailmon_\w+)` \|", doc, re.M))
    for expr in re.findall(r"expr: (.*)", "".join(rules)):
        used = set(re.findall(r"mailmon_\w+", expr))
        base = {re.sub(r"_(bucket|count|sum)$", "", u) for u in used}
        assert used and (used <= families or base <= families), expr
