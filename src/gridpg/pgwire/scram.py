"""The server side of SCRAM-SHA-256 as PostgreSQL speaks it (RFC 5802/7677). Pure.

scramp does the client side for us, but its server refuses PostgreSQL's client-first
message, whose SCRAM user name is empty (the role is in the startup packet). This is the
few lines of RFC 5802 a server needs, checked against stored keys from `pg_authid`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass


class ScramFailure(Exception):
    """The exchange failed: a malformed message or a wrong proof."""


@dataclass
class ScramServer:
    salt: bytes
    stored_key: bytes
    server_key: bytes
    iterations: int
    nonce: str = ""
    client_first_bare: str = ""
    server_first: str = ""
    gs2_header: str = ""

    def handle_client_first(self, message: str) -> str:
        """Return server-first-message for the client's first message."""
        if message.startswith("p="):
            raise ScramFailure("channel binding is not supported")
        if not (message.startswith("n,") or message.startswith("y,")):
            raise ScramFailure("malformed SCRAM client-first message")
        parts = message.split(",", 2)
        if len(parts) != 3:
            raise ScramFailure("malformed SCRAM client-first message")
        self.gs2_header = parts[0] + "," + parts[1] + ","
        self.client_first_bare = parts[2]
        attrs = _attributes(self.client_first_bare)
        client_nonce = attrs.get("r")
        if not client_nonce:
            raise ScramFailure("SCRAM client-first message has no nonce")
        self.nonce = client_nonce + base64.b64encode(os.urandom(18)).decode()
        salt = base64.b64encode(self.salt).decode()
        self.server_first = f"r={self.nonce},s={salt},i={self.iterations}"
        return self.server_first

    def handle_client_final(self, message: str) -> str:
        """Check the proof; return server-final-message."""
        if ",p=" not in message:
            raise ScramFailure("malformed SCRAM client-final message")
        without_proof, proof_b64 = message.rsplit(",p=", 1)
        attrs = _attributes(without_proof)
        if attrs.get("r") != self.nonce:
            raise ScramFailure("SCRAM nonce mismatch")
        if attrs.get("c") != base64.b64encode(self.gs2_header.encode()).decode():
            raise ScramFailure("SCRAM channel binding mismatch")
        try:
            proof = base64.b64decode(proof_b64, validate=True)
        except ValueError:
            raise ScramFailure("malformed SCRAM proof") from None
        auth_message = f"{self.client_first_bare},{self.server_first},{without_proof}".encode()
        signature = hmac.new(self.stored_key, auth_message, hashlib.sha256).digest()
        if len(proof) != len(signature):
            raise ScramFailure("malformed SCRAM proof")
        client_key = bytes(a ^ b for a, b in zip(proof, signature))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), self.stored_key):
            raise ScramFailure("wrong password")
        server_signature = hmac.new(self.server_key, auth_message, hashlib.sha256).digest()
        return "v=" + base64.b64encode(server_signature).decode()


def _attributes(text: str) -> dict[str, str]:
    out = {}
    for item in text.split(","):
        if len(item) >= 2 and item[1] == "=":
            out[item[0]] = item[2:]
    return out
