"""SNMP through a real snmpd: mailmond as its AgentX subagent.

The lab runs Postfix and snmpd as AgentX master (own config and socket in
the lab dir, see LAB-NOTES). mailmond watches Postfix with [snmp] enabled
and one watched service (smtp). The test sends
  N_SINK mails to sink.test  -> delivered by the smtp channel
  N_DEAD mails to dead.test  -> refused, deferred on the smtp channel
and walks snmpd with numeric OIDs (Debian ships no MIB files):
  MTA-MIB mtaGroupTable (1.3.6.1.2.1.28.2): the group named "smtp" has
    mtaGroupTransmittedMessages = the sends in Postfix's maillog and
    mtaGroupStoredMessages = the deferred entries of `postqueue -j`;
  mtaTable (28.1): mtaStoredMessages = everything postqueue -j lists;
  NETWORK-SERVICES-MIB applTable (27.1): row 1 the MTA ("postfix", up),
    a row "smtp" with applOperStatus up(1).
Then snmpd is stopped and started again: mailmond registers again on its
own and the same walk answers.
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

N_SINK, N_DEAD = 3, 2
MTA = "1.3.6.1.2.1.28"
GROUP = MTA + ".2.1"
APPL = "1.3.6.1.2.1.27.1.1"


def snmpwalk_bin():
    return mmbin.require("snmpwalk", "scripts/install-deps installs snmp")


def walk(lab, oid):
    """{numeric OID: value text} of an snmpwalk of oid (v2c, GETNEXT)."""
    r = subprocess.run([snmpwalk_bin(), "-v2c", "-c", "public", "-Oqnt", "-t", "2", "-r", "1",
                        "127.0.0.1:%d" % lab.ports["snmp"], oid],
                       capture_output=True, text=True, timeout=60, env=dict(os.environ, MIBS=""))
    out = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^\.?([\d.]+) (.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip().strip('"')
    return out


def group_row(rows, name):
    """The column -> value map of the mtaGroupTable row named name."""
    idx = [k[len(GROUP) + len(".25."):] for k, v in rows.items()
           if k.startswith(GROUP + ".25.") and v == name]
    if len(idx) != 1:
        return None
    return {int(k[len(GROUP) + 1:].split(".")[0]): v for k, v in rows.items()
            if k.endswith("." + idx[0]) and k.startswith(GROUP + ".")}


def appl_rows(rows):
    """{applName: {column: value}}."""
    names = {k.rsplit(".", 1)[1]: v for k, v in rows.items() if k.startswith(APPL + ".2.")}
    return {n: {int(k[len(APPL) + 1:].split(".")[0]): v for k, v in rows.items()
                if k.rsplit(".", 1)[1] == i}
            for i, n in names.items()}


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    snmpwalk_bin()
    tmp = tmp_path_factory.mktemp("snmp")
    with mailmonlab.Lab(components=("postfix", "snmpd")) as lab:
        daemon, api, state = traffic.start_mailmond(lab, tmp, (
            "[snmp]\nenable = yes\nagentx_socket = %s\nping_interval = 1s\n"
            "[service.smtp]\nurl = smtp://127.0.0.1:%d\ninterval = 2s\n" % (
                lab.paths["agentx_socket"], lab.ports["smtpd"])))
        try:
            traffic.send_and_settle(lab, N_SINK, N_DEAD)
            yield {"lab": lab, "api": api, "daemon": daemon}
        finally:
            assert daemon.stop() == 0, daemon.log()


def expected(lab):
    sent, deferred = traffic.independent_counts(lab)
    queued = len(lab.postqueue_json())
    return sent, deferred, queued


def walk_matches(node):
    """The walk, when it shows what the lab's records say; else None."""
    lab = node["lab"]
    sent, deferred, queued = expected(lab)
    mta = walk(lab, MTA)
    smtp = group_row(mta, "smtp")
    if not smtp or smtp.get(5) != str(sent) or smtp.get(4) != str(deferred):
        return None
    if mta.get(MTA + ".1.1.2.1") != str(queued):
        return None
    return mta, walk(lab, "1.3.6.1.2.1.27")


def test_walk_shows_what_the_test_caused(node):
    lab = node["lab"]
    sent, deferred, queued = expected(lab)
    assert (sent, deferred) == (N_SINK, N_DEAD)
    mta, appl = lab.wait_for(lambda: walk_matches(node), timeout=45, interval=1,
                             what="snmpwalk to show the lab's traffic")
    smtp = group_row(mta, "smtp")
    assert smtp[25] == "smtp"
    assert smtp[24] == ".1.3.6.1.2.1.27.4.25"  # mtaGroupMailProtocol {applTCPProtoID 25}
    assert int(smtp[16]) >= sent  # accumulated outbound associations: attempts
    assert int(smtp[20]) >= 1  # failed outbound associations: dead.test refuses
    assert int(smtp[12]) >= 0  # oldest message stored, seconds
    # every column of every group row is there: the table has no holes
    groups = [k for k in mta if k.startswith(GROUP + ".25.")]
    assert len(groups) >= 2
    cols = {int(k[len(GROUP) + 1:].split(".")[0]) for k in mta if k.startswith(GROUP + ".")}
    assert cols == {2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 24, 25,
                    31}
    rows = appl_rows(appl)
    assert rows["postfix"][6] == "1" and rows["postfix"][4]  # up; applVersion
    assert appl.get(APPL + ".2.1") == "postfix"  # the MTA is applIndex 1
    assert rows["smtp"][6] == "1", rows  # the watched service is up
    assert set(rows["smtp"]) == {2, 4, 5, 6, 8, 9, 10, 11, 14, 15}
    # mtaTable is indexed by the MTA's applIndex
    assert MTA + ".1.1.3.1" in mta


def test_reregisters_after_snmpd_restart(node):
    lab = node["lab"]
    lab.wait_for(lambda: walk_matches(node), timeout=45, interval=1, what="a first walk")
    lab.snmpd_stop()
    lab.snmpd_start()

    def back():
        return walk_matches(node)
    lab.wait_for(back, timeout=30, interval=1, what="mailmond to register with the new snmpd")
    st = node["daemon"].get(node["api"], "/api/status")
    assert st["pid"]  # the same daemon, no restart
    text = mmbin.mailmon("metrics", "--values", "mailmon_snmp_agentx_connected",
                         "--api", node["api"]).stdout
    assert re.search(r"mailmon_snmp_agentx_connected\S* 1\b", text), text
