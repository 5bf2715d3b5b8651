"""Snowpipe insertFiles with key-pair JWT, against a local HTTP server that
checks what Snowflake checks: the JWT's signature and claims, path and body."""

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from snowcart.engines.snowflake.snowpipe_rest import SnowpipeRestClient


def test_insert_files_sends_a_valid_jwt_and_the_file_list():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(public_der).digest()).decode()
    received = {}

    class Snowpipe(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            token = self.headers["Authorization"].removeprefix("Bearer ")
            received["claims"] = jwt.decode(token, key.public_key(), algorithms=["RS256"])
            received["path"] = self.path
            received["body"] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"responseCode": "SUCCESS"}')

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Snowpipe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = SnowpipeRestClient(
            "xy12345.eu-west-1",
            "loader",
            private_der,
            base_url=f"http://127.0.0.1:{server.server_port}",
        )
        answer = client.insert_files(
            "SNOWCART.raw.orders_pipe", ["orders/batch-0000000001.ndjson.gz"]
        )
    finally:
        server.shutdown()
    assert answer == {"responseCode": "SUCCESS"}
    assert received["claims"]["iss"] == f"XY12345.LOADER.{fingerprint}"
    assert received["claims"]["sub"] == "XY12345.LOADER"
    assert received["claims"]["exp"] - received["claims"]["iat"] == 3600
    assert received["path"].startswith(
        "/v1/data/pipes/SNOWCART.raw.orders_pipe/insertFiles?requestId="
    )
    assert received["body"] == {"files": [{"path": "orders/batch-0000000001.ndjson.gz"}]}
