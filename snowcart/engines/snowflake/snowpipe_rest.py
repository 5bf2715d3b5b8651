"""Snowpipe's REST API (insertFiles), authenticated with a key-pair JWT.

The way Snowflake recommends to tell a pipe about new files on an internal
stage; `ALTER PIPE … REFRESH` (used without key-pair credentials) is meant for
occasional catch-up, not every few seconds."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid

import jwt
import requests
from cryptography.hazmat.primitives import serialization

from snowcart.errors import SnowcartError

TOKEN_LIFETIME_S = 3600


def public_key_fingerprint(private_key_der: bytes) -> str:
    """SHA256:<base64 of the public key's DER>, as shown by DESC USER (RSA_PUBLIC_KEY_FP)."""
    key = serialization.load_der_private_key(private_key_der, password=None)
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + base64.b64encode(hashlib.sha256(public_der).digest()).decode()


class SnowpipeRestClient:
    def __init__(
        self, account: str, user: str, private_key_der: bytes, base_url: str | None = None
    ) -> None:
        # The JWT names the account without region or cloud ("xy12345.eu-west-1" → XY12345).
        self.account = account.split(".")[0].upper()
        self.user = user.upper()
        self.private_key_der = private_key_der
        self.base_url = base_url or f"https://{account}.snowflakecomputing.com"
        self._token: tuple[str, float] | None = None

    def token(self) -> str:
        now = time.time()
        if self._token is None or self._token[1] - now < 60:
            qualified_user = f"{self.account}.{self.user}"
            claims = {
                "iss": f"{qualified_user}.{public_key_fingerprint(self.private_key_der)}",
                "sub": qualified_user,
                "iat": int(now),
                "exp": int(now) + TOKEN_LIFETIME_S,
            }
            key = serialization.load_der_private_key(self.private_key_der, password=None)
            self._token = (jwt.encode(claims, key, algorithm="RS256"), now + TOKEN_LIFETIME_S)
        return self._token[0]

    def insert_files(self, pipe: str, paths: list[str]) -> dict:
        """Queue staged files (paths relative to the pipe's stage location) for loading."""
        response = requests.post(
            f"{self.base_url}/v1/data/pipes/{pipe}/insertFiles",
            params={"requestId": str(uuid.uuid4())},
            json={"files": [{"path": path} for path in paths]},
            headers={
                "Authorization": f"Bearer {self.token()}",
                "Accept": "application/json",
            },
            timeout=30,
        )
        if response.status_code != 200:
            raise SnowcartError(
                f"Snowpipe insertFiles for {pipe} failed: HTTP {response.status_code} "
                f"{response.text[:200]}"
            )
        return response.json()
