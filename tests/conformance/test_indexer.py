"""API conformance of the indexer's analytics API against its live OpenAPI document (issue
18), with schemathesis: never a server error, documented status codes, content types, headers
and bodies. Run by the Rust test `conformance::indexer`."""

import os

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

BASE = os.environ["VEIL_INDEXER_URL"]
EXAMPLES = int(os.environ.get("VEIL_CONFORMANCE_EXAMPLES", "10"))

schema = schemathesis.openapi.from_url(f"{BASE}/openapi.json")

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_indexer(case):
    case.call_and_validate(checks=CHECKS)
