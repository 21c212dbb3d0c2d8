"""The man pages: mailmon(1), mailmond(8) and mailmon.conf(5).

mailmon.conf.5 is generated from the config schema (`mailmon config man`)
and must equal it; every page renders with `man -l` without a warning;
mailmon(1) has an entry for every command `mailmon --help` lists, and the
hand-written pages carry the version the programs print.
"""
import os
import re
import subprocess

import pytest

import mmbin

MAN_DIR = os.path.join(mmbin.SOURCE_DIR, "man")
PAGES = ["mailmon.1", "mailmond.8", "mailmon.conf.5"]


def need_man():
    mmbin.require("man", "scripts/install-deps installs man-db")
    mmbin.require("groff", "scripts/install-deps installs groff-base")


def test_conf_page_is_generated_from_schema():
    r = mmbin.mailmon("config", "man")
    assert r.returncode == 0, r.stderr
    with open(os.path.join(MAN_DIR, "mailmon.conf.5")) as f:
        assert f.read() == r.stdout, "regenerate: mailmon config man > man/mailmon.conf.5"
    # every schema key has its entry
    keys = mmbin.mailmon("config", "keys").stdout.split("\n")
    names = {line.split()[0].rsplit(".", 1)[1] for line in keys if line.strip()}
    for name in names:
        assert f".BR {name} " in r.stdout, name


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_warnings(page):
    need_man()
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80", MAN_DISABLE_SECCOMP="1")
    r = subprocess.run(["man", "--warnings", "-l", os.path.join(MAN_DIR, page)],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr
    assert "SEE ALSO" in r.stdout and len(r.stdout.splitlines()) > 20


def test_mailmon_page_lists_every_command():
    text = open(os.path.join(MAN_DIR, "mailmon.1")).read()
    helptext = mmbin.mailmon("--help").stdout
    commands = re.findall(r"^    (\w+)\s{2,}", helptext.split("COMMANDS", 1)[1].split("OPTIONS")[0],
                          re.M)
    assert "init" in commands and "config" in commands
    for cmd in commands:
        assert re.search(r"^\.B %s\b" % cmd, text, re.M), f"mailmon.1 has no entry for {cmd}"


@pytest.mark.parametrize("page,prog", [("mailmon.1", "mailmon"), ("mailmond.8", "mailmond")])
def test_hand_pages_carry_the_version(page, prog):
    version = subprocess.run([mmbin.binary(prog), "-V"], capture_output=True,
                             text=True).stdout.split()[1]
    head = open(os.path.join(MAN_DIR, page)).read()
    assert f'"mailmon {version}"' in head
