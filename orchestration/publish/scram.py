"""A PostgreSQL SCRAM-SHA-256 password verifier, computed here (RFC 5802/5803, as libpq's
PQencryptPasswordConn does), so that the BI role's password never travels or lands in the
server's statement log as plain text: `ALTER ROLE … PASSWORD 'SCRAM-SHA-256$…'` is stored as is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import unicodedata

ITERATIONS = 4096  # PostgreSQL's default scram_iterations
SALT_BYTES = 16


def scram_sha256_verifier(
    password: str, salt: bytes | None = None, iterations: int = ITERATIONS
) -> str:
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    # SASLprep's main step (NFKC); ASCII passwords are unchanged, as in PostgreSQL.
    prepared = unicodedata.normalize("NFKC", password).encode("utf-8")
    salted = hashlib.pbkdf2_hmac("sha256", prepared, salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"
