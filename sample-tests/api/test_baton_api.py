"""Tests of Baton's own REST API, meant to be run by Baton itself.

Baton sets BATON_API_URL (and TEST_RUN_ID, TEST_ENV_ID) for every run; the
default only helps when running this file by hand next to a local server.
Only the Python standard library is used.
"""

import json
import os
import urllib.error
import urllib.request

import pytest

BASE_URL = os.environ.get("BATON_API_URL", "http://localhost:8080").rstrip("/")
TIMEOUT_SECONDS = 10
KNOWN_FILE = "sample-tests/test_success.py"


class Response:
    def __init__(self, url, status, body, raw):
        self.url = url
        self.status = status
        self.body = body
        self.raw = raw

    def __repr__(self):
        return "%s -> HTTP %d: %s" % (self.url, self.status, self.raw[:500])


def call(method, path, payload=None):
    """Sends one request and returns the response, 4xx and 5xx included.

    An unreachable server fails the test with the URL in the message, so a
    wrong BATON_API_URL is obvious from the log.
    """
    url = BASE_URL + path
    data = None
    headers = {"Accept": "application/json"}
    if payload is not None:
        data = json.dumps(payload).encode("utf-8")
        headers["Content-Type"] = "application/json"
    # A server started with BATON_API_TOKEN refuses POSTs without it; its
    # workers pass the token on to the tests they run.
    token = os.environ.get("BATON_API_TOKEN")
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_SECONDS) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        pytest.fail("cannot reach the Baton API at %s (BATON_API_URL=%r): %s"
                    % (url, os.environ.get("BATON_API_URL"), getattr(e, "reason", e)))
    text = raw.decode("utf-8", errors="replace")
    try:
        body = json.loads(text) if text else None
    except ValueError:
        pytest.fail("%s %s returned HTTP %d with a body that is not JSON: %r" % (method, url, status, text[:500]))
    return Response("%s %s" % (method, url), status, body, text)


def expect_error(resp, status, code):
    """Checks the error shape {"error": {"code", "message", "fields"}}."""
    assert resp.status == status, resp
    assert isinstance(resp.body, dict) and isinstance(resp.body.get("error"), dict), resp
    err = resp.body["error"]
    assert err.get("code") == code, resp
    assert isinstance(err.get("message"), str) and err["message"], resp
    fields = err.get("fields")
    assert fields is None or isinstance(fields, dict), resp
    return fields or {}


def valid_run(**changes):
    body = {"requested_by": "baton-self-test", "environment_id": 1, "test_files": [KNOWN_FILE]}
    body.update(changes)
    return body


def test_health():
    resp = call("GET", "/api/health")
    assert resp.status == 200, resp
    assert resp.body == {"status": "ok"}, resp


def test_environments_are_env1_to_env100():
    resp = call("GET", "/api/environments")
    assert resp.status == 200, resp
    items = resp.body["items"]
    assert len(items) == 100, resp
    assert [e["id"] for e in items] == list(range(1, 101)), resp
    assert [e["name"] for e in items] == ["env%d" % i for i in range(1, 101)], resp


def test_catalog_lists_sample_tests():
    resp = call("GET", "/api/test-files")
    assert resp.status == 200, resp
    paths = [f["path"] for f in resp.body["items"]]
    assert KNOWN_FILE in paths, resp


def test_create_run_requires_requested_by():
    resp = call("POST", "/api/runs", valid_run(requested_by="   "))
    fields = expect_error(resp, 400, "invalid")
    assert "requested_by" in fields, resp


def test_create_run_rejects_environment_zero():
    resp = call("POST", "/api/runs", valid_run(environment_id=0))
    fields = expect_error(resp, 400, "invalid")
    assert "environment_id" in fields, resp


def test_create_run_rejects_unknown_file():
    resp = call("POST", "/api/runs", valid_run(test_files=["sample-tests/test_does_not_exist_4f1c.py"]))
    expect_error(resp, 400, "invalid")


def test_unknown_run_is_not_found():
    resp = call("GET", "/api/runs/999999999")
    expect_error(resp, 404, "not_found")


def test_list_runs_has_items_and_cursor():
    resp = call("GET", "/api/runs")
    assert resp.status == 200, resp
    assert isinstance(resp.body.get("items"), list), resp
    assert "next_cursor" in resp.body, resp


def test_current_run_is_running():
    run_id = os.environ.get("TEST_RUN_ID")
    if not run_id:
        pytest.skip("TEST_RUN_ID is not set: this test only makes sense when Baton runs it")
    resp = call("GET", "/api/runs/%s" % run_id)
    assert resp.status == 200, resp
    assert resp.body["id"] == int(run_id), resp
    assert resp.body["status"] == "running", resp
    assert resp.body["environment_id"] == int(os.environ["TEST_ENV_ID"]), resp
