"""API conformance of the relayer's live OpenAPI document (issue 18), with schemathesis.

Every documented operation is called with generated requests, each signed as a client signs
it (HMAC over the exact bytes sent, a fresh nonce), and each answer is checked: never a 5xx
other than the documented dependency codes, a documented status code, the documented content
type and headers, and a body that matches the documented schema.

Run by the Rust test `conformance::relayer` (which starts the relayer over a local chain and
passes its address and keys in the environment), or by hand with those variables set:
`bash scripts/conformance.sh tests/conformance/test_relayer.py`.
"""

import hashlib
import hmac
import os
import secrets
import time

import requests
import schemathesis
from checks import CHECKS, SETTINGS

BASE = os.environ["VEIL_RELAYER_URL"]
API_KEY = os.environ["VEIL_API_KEY"]
SECRET = bytes.fromhex(os.environ["VEIL_SIGNING_SECRET"])
# The relayer under test runs on a clock pinned to recorded drand beacons: sign in its time.
CLOCK_OFFSET = int(os.environ.get("VEIL_CLOCK_OFFSET", "0"))

schema = schemathesis.openapi.from_url(f"{BASE}/openapi.json")


class Signed(requests.auth.AuthBase):
    """Signs the prepared request: its method, target and body are final here."""

    def __call__(self, request):
        request.headers["x-api-key"] = API_KEY
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        timestamp = str(int(time.time()) + CLOCK_OFFSET)
        nonce = secrets.token_hex(16)
        canonical = "\n".join(
            [
                request.method.upper(),
                request.path_url,
                timestamp,
                nonce,
                hashlib.sha256(body).hexdigest(),
            ]
        )
        request.headers["x-timestamp"] = timestamp
        request.headers["x-nonce"] = nonce
        request.headers["x-signature"] = hmac.new(
            SECRET, canonical.encode(), hashlib.sha256
        ).hexdigest()
        return request


session = requests.Session()
session.auth = Signed()


@schema.parametrize()
@SETTINGS
def test_relayer(case):
    case.call_and_validate(session=session, checks=CHECKS)
