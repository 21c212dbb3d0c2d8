"""The HTTP listener's access control: auth required off loopback, bearer
and basic credentials from a mode-600 file, the Host check against DNS
rebinding, optional TLS, and the CLI sending the token from the config."""
import base64
import http.client
import json
import os
import ssl
import subprocess

import pytest

import mmbin

LO = "127.0.0.1"


def conf_text(tmp, port, extra="", listen=None):
    return (f"[daemon]\nstate_directory = {tmp}\nrun_directory = {tmp}\n"
            f"[http]\nlisten = {listen or f'{LO}:{port}'}\n{extra}"
            "[queue]\nenable = no\n[log]\nsources =\n")


def secret(path, text, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return str(path)


def request(port, headers=None, tls=False, path="/api/status"):
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        c = http.client.HTTPSConnection(LO, port, timeout=5, context=ctx)
    else:
        c = http.client.HTTPConnection(LO, port, timeout=5)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        c.close()


def run(tmp, text):
    conf = tmp / "mailmon.conf"
    conf.write_text(text)
    d = mmbin.Daemon(str(conf), str(tmp / "d.log"))
    return d, conf


def test_non_loopback_listen_needs_auth(tmp_path):
    port = mmbin.free_port()
    d, conf = run(tmp_path, conf_text(tmp_path, port, listen=f"0.0.0.0:{port}"))
    d.start()
    assert d.proc.wait(10) == 1
    log = d.log()
    assert "http.listen = 0.0.0.0:" in log and "http.auth_file" in log, log


def test_auth_file_must_be_private(tmp_path):
    port = mmbin.free_port()
    f = secret(tmp_path / "api.auth", "token = s3cret\n", 0o644)
    d, conf = run(tmp_path, conf_text(tmp_path, port, f"auth_file = {f}\n"))
    d.start()
    assert d.proc.wait(10) == 1
    assert f"credentials {f}: mode 644" in d.log(), d.log()


@pytest.fixture
def bearer(tmp_path):
    port = mmbin.free_port()
    f = secret(tmp_path / "api.auth", "token = s3cret-T0ken\n")
    d, conf = run(tmp_path, conf_text(tmp_path, port, f"auth_file = {f}\n"))
    d.start()
    d.port, d.conf = port, conf
    import time
    for _ in range(100):
        try:
            request(port)
            break
        except OSError:
            time.sleep(0.05)
    yield d
    d.stop()


def test_bearer_token(bearer):
    code, hdrs, body = request(bearer.port)
    assert code == 401 and dict(hdrs).get("WWW-Authenticate", "").startswith("Bearer"), body
    assert request(bearer.port, {"Authorization": "Bearer wrong"})[0] == 401
    assert request(bearer.port, {"Authorization": "Bearer s3cret-T0ke"})[0] == 401
    code, _, body = request(bearer.port, {"Authorization": "Bearer s3cret-T0ken"})
    assert code == 200 and json.loads(body)["program"] == "mailmond"
    # Every endpoint, also unknown ones, is behind the check.
    assert request(bearer.port, path="/metrics")[0] == 401
    assert request(bearer.port, path="/nosuch")[0] == 401


def test_cli_takes_the_token_from_the_config(bearer):
    r = mmbin.mailmon("status", config=str(bearer.conf))
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "mailmond" in r.stdout
    # Without the config's auth_file the same command is refused.
    r = mmbin.mailmon("status", "--api", f"{LO}:{bearer.port}",
                      config=str(bearer.conf) + ".none")
    assert r.returncode != 0


def test_host_header_against_rebinding(bearer):
    auth = {"Authorization": "Bearer s3cret-T0ken"}
    for host, want in [("evil.example", 421), ("evil.example:%d" % bearer.port, 421),
                       ("localhost:%d" % bearer.port, 200), (f"{LO}:{bearer.port}", 200),
                       ("[::1]:%d" % bearer.port, 200), ("LOCALHOST", 200)]:
        code, _, body = request(bearer.port, dict(auth, Host=host))
        assert code == want, (host, code, body)


def test_basic_auth(tmp_path):
    port = mmbin.free_port()
    f = secret(tmp_path / "api.auth", "user = ops\npassword = pa:ss\n")
    d, conf = run(tmp_path, conf_text(tmp_path, port, f"auth_file = {f}\n"))
    d.start(api=None)
    try:
        import time
        time.sleep(0.5)
        good = base64.b64encode(b"ops:pa:ss").decode()
        bad = base64.b64encode(b"ops:pass").decode()
        assert request(port)[0] == 401
        assert request(port, {"Authorization": "Basic " + bad})[0] == 401
        assert request(port, {"Authorization": "Basic " + good})[0] == 200
        r = mmbin.mailmon("status", config=str(conf))
        assert r.returncode == 0, r.stderr
    finally:
        d.stop()


def test_tls(tmp_path):
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    port = mmbin.free_port()
    d, conf = run(tmp_path, conf_text(tmp_path, port,
                                      f"tls_cert = {cert}\ntls_key = {key}\n"))
    d.start()
    try:
        import time
        for _ in range(100):
            try:
                code, _, body = request(port, tls=True)
                break
            except OSError:
                time.sleep(0.05)
        assert code == 200 and json.loads(body)["program"] == "mailmond"
        with pytest.raises((OSError, http.client.HTTPException)):
            request(port)  # plain HTTP to the TLS port gets no answer
        assert d.proc.poll() is None
    finally:
        d.stop()


def test_status_shows_who_holds_which_privilege(bearer):
    code, _, body = request(bearer.port, {"Authorization": "Bearer s3cret-T0ken"})
    priv = json.loads(body)["privileges"]
    proc = priv["processes"][0]
    assert proc["euid"] == os.geteuid() and "HTTP" in proc["role"], priv
    assert priv["separated"] is False
    r = mmbin.mailmon("status", config=str(bearer.conf))
    assert f"runs as uid {os.geteuid()}" in r.stdout, r.stdout
