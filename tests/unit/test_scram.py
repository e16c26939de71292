"""The SCRAM-SHA-256 server of pgwire against scramp's client, as PostgreSQL clients speak it."""

from __future__ import annotations

import base64

import pytest
import scramp

from gridpg.pgwire.scram import ScramFailure, ScramServer

PASSWORD = "s3cret pässword"


def server_for(password: str = PASSWORD, iterations: int = 4096) -> ScramServer:
    salt, stored_key, server_key, count = scramp.ScramMechanism("SCRAM-SHA-256").make_auth_info(
        password, iteration_count=iterations
    )
    return ScramServer(salt=salt, stored_key=stored_key, server_key=server_key, iterations=count)


def client_for(password: str, empty_username: bool = True) -> tuple[scramp.ScramClient, str]:
    """A scramp client and its client-first message.

    libpq, psycopg, asyncpg and JDBC send an empty SCRAM user name (the role is in the
    startup packet); scramp insists on one, so its message is rewritten, and the bare part
    it signs with, to the empty name.
    """
    client = scramp.ScramClient(["SCRAM-SHA-256"], "placeholder", password)
    first = client.get_client_first()
    if empty_username:
        assert first.startswith("n,,n=placeholder,r=")
        first = first.replace("n=placeholder,", "n=,", 1)
        client.client_first_bare = first[len("n,,"):]
    return client, first


def exchange(server: ScramServer, password: str, empty_username: bool = True) -> str:
    client, first = client_for(password, empty_username)
    server_first = server.handle_client_first(first)
    client.set_server_first(server_first)
    final = server.handle_client_final(client.get_client_final())
    client.set_server_final(final)  # checks the server signature: raises if wrong
    return final


@pytest.mark.parametrize("empty_username", [True, False])
def test_right_password_authenticates(empty_username: bool) -> None:
    final = exchange(server_for(), PASSWORD, empty_username)
    assert final.startswith("v=")


def test_server_first_message_carries_the_client_nonce_salt_and_count() -> None:
    server = server_for(iterations=4096)
    _, first = client_for(PASSWORD)
    client_nonce = first.split("r=", 1)[1]
    attrs = dict(item.split("=", 1) for item in server.handle_client_first(first).split(","))
    assert attrs["r"].startswith(client_nonce) and len(attrs["r"]) > len(client_nonce)
    assert base64.b64decode(attrs["s"]) == server.salt
    assert attrs["i"] == "4096"


def test_nonces_differ_between_exchanges() -> None:
    _, first = client_for(PASSWORD)
    assert server_for().handle_client_first(first) != server_for().handle_client_first(first)


def test_wrong_password_fails() -> None:
    with pytest.raises(ScramFailure, match="wrong password"):
        exchange(server_for(), "not the password")


def test_tampered_proof_fails() -> None:
    server = server_for()
    client, first = client_for(PASSWORD)
    client.set_server_first(server.handle_client_first(first))
    final = client.get_client_final()
    head, proof = final.rsplit(",p=", 1)
    raw = bytearray(base64.b64decode(proof))
    raw[0] ^= 1
    with pytest.raises(ScramFailure):
        server.handle_client_final(f"{head},p={base64.b64encode(bytes(raw)).decode()}")


def test_nonce_mismatch_fails() -> None:
    server = server_for()
    client, first = client_for(PASSWORD)
    server_first = server.handle_client_first(first)
    client.set_server_first(server_first)
    final = client.get_client_final()
    with pytest.raises(ScramFailure, match="nonce"):
        server.handle_client_final(final.replace("r=", "r=x", 1))


@pytest.mark.parametrize(
    "message",
    ["", "n=,r=abc", "x,,n=,r=abc", "n,,n=", "n,,n=,r=", "p=tls-server-end-point,,n=,r=abc"],
)
def test_malformed_client_first_fails(message: str) -> None:
    with pytest.raises(ScramFailure):
        server_for().handle_client_first(message)


@pytest.mark.parametrize("final", ["c=biws,r=abc", "c=biws,r={nonce},p=***", "c=eHl6,r={nonce},p=AAAA"])
def test_malformed_client_final_fails(final: str) -> None:
    server = server_for()
    _, first = client_for(PASSWORD)
    server.handle_client_first(first)
    with pytest.raises(ScramFailure):
        server.handle_client_final(final.format(nonce=server.nonce))
