"""CLI edge cases: input that cannot be used gets a clear message and the
documented exit code, never a crash, a hang or a wrong answer."""
import pytest

import mmbin


@pytest.mark.parametrize("url", [
    "imap://al%ZZice:pw@127.0.0.1:143",
    "http://127.0.0.1:80/%zz",
    "http://127.0.0.1:80/a%0d%0aHost:%20evil",
    "http://127.0.0.1:80/a\xffb",
    "smtp://[::1",
    "imap://u:%@127.0.0.1:143",
])
def test_probe_undecodable_url_is_unknown(url):
    r = mmbin.mailmon("probe", url, timeout=20)
    assert r.returncode == 3, (url, r.returncode, r.stdout, r.stderr)
    assert r.stdout.startswith("PROBE UNKNOWN - "), r.stdout


@pytest.mark.parametrize("b", ["2147483648", "99999999999999999999", "-1", "0", "1e9"])
def test_qshape_bucket_count_bounded(b):
    r = mmbin.mailmon("qshape", "-b", b, timeout=20)
    assert r.returncode == 2, (b, r.returncode, r.stdout, r.stderr)
    assert "-b" in r.stderr, r.stderr
