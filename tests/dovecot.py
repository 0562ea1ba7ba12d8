"""A real IMAP server for tests: Dovecot (Debian's `dovecot-imapd`) on 127.0.0.1, run from a
throwaway directory with one user, plain IMAP with STARTTLS on one port and implicit TLS on
another (a certificate from a throwaway CA; `client_context` trusts it). Usage:

    server = Dovecot.start()          # pytest.skip()s, naming the package, without Dovecot
    server.deliver(raw_bytes)         # APPEND to INBOX with stdlib imaplib, not the code tested
    ... poll server.host, server.port (or server.tls_port) as server.username ...
    server.flags(uid) / server.uids("INBOX") / server.stop()

Run as root, Dovecot's own processes use the package's `dovecot` and `dovenull` users and the
mailbox belongs to `nobody`; run as anyone else, everything runs as that user.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import trustme

DOVECOT = Path("/usr/sbin/dovecot")
PACKAGE = "dovecot-imapd"
START_DEADLINE_SECONDS = 10.0

_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
# Refused logins answer at once, and don't slow down the next test's login (auth penalty).
auth_failure_delay = 0
default_internal_user = {internal_user}
default_login_user = {login_user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


class Dovecot:
    """One running Dovecot; `start()` waits until it answers, `stop()` until it has exited."""

    host = "127.0.0.1"
    username = "nurture"
    password = "imap-secret"

    def __init__(self, root: Path, port: int, tls_port: int, process: subprocess.Popen[bytes],
                 client_context: ssl.SSLContext) -> None:
        self.root, self.port, self.tls_port, self.process = root, port, tls_port, process
        self.client_context = client_context

    @classmethod
    def start(cls) -> Dovecot:
        if not DOVECOT.is_file():
            pytest.skip(f"needs Dovecot: apt-get install {PACKAGE}")
        # A short path: Dovecot's Unix sockets live under it, and socket paths are limited.
        root = Path(tempfile.mkdtemp(prefix="nurture-dovecot-"))
        root.chmod(0o755)
        users = _users(root)
        context = _certificate(root)
        (root / "passwd").write_text(f"{cls.username}:{{PLAIN}}{cls.password}\n")
        port, tls_port = _free_port(), _free_port()
        (root / "dovecot.conf").write_text(_CONFIG.format(
            root=root, port=port, tls_port=tls_port, **users))
        process = subprocess.Popen([str(DOVECOT), "-F", "-c", str(root / "dovecot.conf")],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        server = cls(root, port, tls_port, process, context)
        server._wait_until_listening()
        return server

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=START_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def deliver(self, raw: bytes, folder: str = "INBOX") -> int:
        """APPEND one message (LF or CRLF) to `folder`; returns its UID."""
        message = re.sub(rb"\r?\n", b"\r\n", raw)
        with self.session() as imap:
            imap.create(folder)  # NO when it exists
            status, data = imap.append(folder, "", None, message)
            assert status == "OK", data
            found = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
            assert found, data
            return int(found.group(1))

    def uids(self, folder: str = "INBOX") -> list[int]:
        with self.session() as imap:
            imap.select(folder, readonly=True)
            status, data = imap.uid("SEARCH", "ALL")
            return [int(n) for n in (data[0] or b"").split()]

    def flags(self, uid: int, folder: str = "INBOX") -> set[str]:
        with self.session() as imap:
            imap.select(folder, readonly=True)
            status, data = imap.uid("FETCH", str(uid), "(FLAGS)")
            found = re.search(rb"FLAGS \(([^)]*)\)", data[0] or b"") if data[0] else None
            return set(found.group(1).decode().split()) if found else set()

    def session(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4(self.host, self.port, timeout=START_DEADLINE_SECONDS)
        imap.login(self.username, self.password)
        return imap

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read().decode(errors="replace") if (
                    self.process.stdout) else ""
                self.stop()
                raise RuntimeError(f"Dovecot exited at start:\n{output}\n{self.log()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as probe:
                    if probe.recv(64).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"Dovecot did not answer within {START_DEADLINE_SECONDS} s:\n"
                           f"{self.log()}")


def _users(root: Path) -> dict[str, str]:
    """Who Dovecot's processes and the mailbox run as (Dovecot never serves mail as root)."""
    (root / "home").mkdir()
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return {"internal_user": me.pw_name, "login_user": me.pw_name,
                "mail_user": str(me.pw_uid), "mail_group": str(me.pw_gid)}
    try:
        for name in ("dovecot", "dovenull"):
            pwd.getpwnam(name)
        nobody = pwd.getpwnam("nobody")
    except KeyError as missing:
        pytest.skip(f"needs the users {PACKAGE} creates ({missing}): apt-get install {PACKAGE}")
    os.chown(root / "home", nobody.pw_uid, nobody.pw_gid)
    return {"internal_user": "dovecot", "login_user": "dovenull",
            "mail_user": str(nobody.pw_uid), "mail_group": str(nobody.pw_gid)}


def _certificate(root: Path) -> ssl.SSLContext:
    """Write a certificate for 127.0.0.1 from a throwaway CA; a client context trusting it."""
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1", "localhost")
    issued.private_key_pem.write_to_path(str(root / "key.pem"))
    with open(root / "cert.pem", "wb") as chain:
        for pem in issued.cert_chain_pems:
            chain.write(pem.bytes())
    (root / "key.pem").chmod(0o600)
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return context


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
