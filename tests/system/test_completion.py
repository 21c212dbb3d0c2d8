"""bash completion for mailmon (packaging/bash-completion/mailmon), run in
a real bash against the built mailmon: subcommands, options, config keys
(also of named instances such as [service.imap]), service probe URLs."""
import os
import shutil
import subprocess

import pytest

import mmbin

SCRIPT = os.path.join(mmbin.SOURCE_DIR, "packaging", "bash-completion", "mailmon")


def complete(*words):
    """COMPREPLY for the command line `words`, the last word being completed."""
    if shutil.which("bash") is None:
        pytest.fail("bash missing")
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    prog = (f"source '{SCRIPT}'\nCOMP_WORDS=({quoted})\nCOMP_CWORD={len(words) - 1}\n"
            "_mailmon\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    env = dict(os.environ, PATH=mmbin.BIN_DIR + ":" + os.environ["PATH"])
    env.pop("MAILMON_CONFIG", None)
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog], capture_output=True,
                       text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    return sorted(x for x in r.stdout.split("\n") if x)


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / "mailmon.conf"
    path.write_text("[service.imap]\nurl = imap://127.0.0.1:1143\n"
                    "[service.edge]\nurl = smtp://127.0.0.1:2525\n")
    return str(path)


def test_subcommands_from_help():
    help_cmds = mmbin.mailmon("--help").stdout.split("COMMANDS")[1].split("OPTIONS")[0]
    want = sorted(line.split()[0] for line in help_cmds.splitlines() if line.strip())
    assert "init" in want and "config" in want
    assert complete("mailmon", "") == want
    assert complete("mailmon", "in") == ["init"]
    assert complete("mailmon", "-c", "/x.conf", "co") == ["config", "counters", "counterutil"]


def test_options_of_a_subcommand():
    assert complete("mailmon", "init", "--") == ["--dry-run", "--force", "--write"]
    assert complete("mailmon", "config", "") == ["--help", "check", "defaults", "get", "keys",
                                                  "man", "set"]


def test_config_keys_with_instances(conf):
    got = complete("mailmon", "config", "get", "alarm.diskavail.thr")
    assert "alarm.diskavail.threshold" in got
    assert all(k.startswith("alarm.diskavail.thr") for k in got), got
    got = complete("mailmon", "-c", conf, "config", "set", "service.i")
    assert "service.imap.url" in got and "service.imap.interval" in got
    assert all(k.startswith("service.imap.") for k in got), got
    # no [service.*] template rows offered as keys
    assert not [k for k in complete("mailmon", "config", "get", "serv") if "*" in k]


def test_probe_offers_configured_service_urls(conf):
    assert complete("mailmon", "-c", conf, "probe", "") == ["imap://127.0.0.1:1143",
                                                           "smtp://127.0.0.1:2525"]
