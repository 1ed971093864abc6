"""What both conformance suites check and how many examples they try, in one place.

Never a server error, a documented status code, the documented content type and headers, and
a body that matches the documented schema; `VEIL_CONFORMANCE_EXAMPLES` generated requests per
operation (10 unless set), derandomized so a run can be repeated."""

import os

from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

EXAMPLES = int(os.environ.get("VEIL_CONFORMANCE_EXAMPLES", "10"))

SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
