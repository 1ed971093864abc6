"""API conformance of the indexer's analytics API against its live OpenAPI document (issue
18), with schemathesis: never a server error, documented status codes, content types, headers
and bodies. Run by the Rust test `conformance::indexer`."""

import os

import schemathesis
from checks import CHECKS, SETTINGS

BASE = os.environ["VEIL_INDEXER_URL"]

schema = schemathesis.openapi.from_url(f"{BASE}/openapi.json")


@schema.parametrize()
@SETTINGS
def test_indexer(case):
    case.call_and_validate(checks=CHECKS)
