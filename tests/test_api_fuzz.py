"""The served OpenAPI schema, fuzzed by schemathesis (issue 16.8): every operation of /api/ and of
the account API it documents, in all of schemathesis's phases (the schema's examples, coverage
of its boundaries, random fuzzing, and stateful sequences), signed in as a reader (allauth's
session token) and, for article upserts, as the newsroom's CMS (a DRF token).

It fails on any 5xx, any answer under /api/ or /_allauth/ that is not JSON, and any status, header
or body the schema does not document. The number of examples is bounded (FUZZ_EXAMPLES, default
10 per operation and phase) so the run takes well under two minutes; raise it to dig deeper.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.config import SchemathesisConfig

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
# The event streams never end, so a request to one would never return here; tests/test_live_*
# cover them.
STREAMS = r"/events/$"
CONFIG = SchemathesisConfig.from_dict({
    "seed": int(os.environ.get("FUZZ_SEED", "16")),  # the same cases on every run, unless asked
    "generation": {"max-examples": EXAMPLES},
    "phases": {"stateful": {"max-steps": 8}},
    "checks": {
        # A cursor, a key or a comment id is opaque: a string the schema allows can still name
        # nothing (400 invalid_cursor, 404). Every other check stays on.
        "positive_data_acceptance": {"enabled": False},
    },
})


def _without_closing_connections(function):
    """Django closes the connection after each request; a test's transaction must outlive them."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        return function()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


schema = _without_closing_connections(
    lambda: schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application(), config=CONFIG)
).exclude(path_regex=STREAMS)


# The headers of the signed-in callers, for the test running now (filled by ``credentials``).
CALLERS = {}


@schema.auth()
class Callers:
    """schemathesis's hook for credentials: the CMS's token for article upserts, a reader's
    session token for everything else. Credentials set here are what schemathesis's auth
    checks probe (removed, then replaced with wrong ones: the API must answer 401 or 403)."""

    def get(self, case, context):
        return "callers" if CALLERS else None  # the headers change with each test: read in set()

    def set(self, case, data, context):
        upsert = case.method == "PUT" and case.path.startswith("/api/v1/articles/")
        case.headers = {**(case.headers or {}), **(CALLERS["cms"] if upsert else CALLERS["reader"])}


@pytest.fixture
def credentials(settings, article, post, reader, other_reader, cms_token, client):
    """A reader signed in through allauth's app API, with a comment of theirs and one of another
    reader's to act on, and the CMS's token; the throttles out of the search's way."""
    settings.COMMENTS_THROTTLE_RATES = {scope: "100000/min" for scope in ("anon", "user", "post_comment", "flag",
                                                                          "like")}
    post(article, "A comment to act on.", author=other_reader)
    post(article, "One's own comment.")
    reader.set_password("a long pass phrase 1")
    reader.save()
    signed_in = client.post("/_allauth/app/v1/auth/login", {"email": reader.email, "password": "a long pass phrase 1"},
                            content_type="application/json")
    CALLERS.update(reader={"X-Session-Token": signed_in.json()["meta"]["session_token"]},
                   cms={"Authorization": cms_token})
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
    CALLERS.clear()


def check_response(case, response):
    """schemathesis's checks, and: nothing but JSON under /api/ and /_allauth/."""
    case.validate_response(response)
    path, status = case.formatted_path, response.status_code
    if path.startswith(("/api/", "/_allauth/")) and status not in (204, 304):
        content_type = next((value for name, values in response.headers.items() if name.lower() == "content-type"
                             for value in (values if isinstance(values, list) else [values])), "")
        assert content_type.split(";")[0] == "application/json", f"{case.method} {path}: {status} {content_type}"


@schema.parametrize()
@hypothesis_settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_does_what_the_schema_says(case, credentials):
    check_response(case, case.call())


@pytest.mark.django_db
def test_sequences_of_operations_do_what_the_schema_says(credentials):
    class Workflow(schema.as_state_machine()):
        def validate_response(self, response, case, **kwargs):
            check_response(case, response)

    Workflow.TestCase.settings = hypothesis_settings(max_examples=EXAMPLES, stateful_step_count=8, deadline=None,
                                                     suppress_health_check=list(HealthCheck))
    Workflow.TestCase().runTest()
