"""Shared helpers for the smoke suites.

run.py starts bin/sluice and exports SLUICE_ENDPOINT before importing any
test module; test files (test_*.py in this directory) use the helpers here:

    import harness
    sqs = harness.client("sqs")             # boto3 client bound to the server
    out = harness.aws("sqs", "list-queues")  # AWS CLI, returns CompletedProcess
    harness.reset()                          # POST /_sluice/reset

Every suite may call reset() in setUp: the server runs with --enable-reset.
"""

import json
import os
import subprocess
import urllib.error
import urllib.request

import boto3
import botocore.config

REGION = "us-east-1"


def endpoint():
    """The server's base URL, e.g. http://127.0.0.1:40123."""
    return os.environ["SLUICE_ENDPOINT"]


def client(service, region=REGION, **kwargs):
    """A boto3 client for service talking to the server, without retries
    so that errors surface on the first response."""
    config = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"},
                                    connect_timeout=5, read_timeout=60)
    return boto3.client(service, endpoint_url=endpoint(), region_name=region,
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=config, **kwargs)


def aws(*args, check=False, region=REGION):
    """Runs `aws --endpoint-url ENDPOINT --output json ARGS...` and returns
    the CompletedProcess (stdout/stderr as text)."""
    cmd = ["aws", "--endpoint-url", endpoint(), "--region", region, "--output", "json", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=check)


def http(method, path, body=None, headers=None):
    """A raw HTTP request; returns (status, headers, body bytes)."""
    req = urllib.request.Request(endpoint() + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def health():
    """The parsed /health document."""
    status, _, body = http("GET", "/health")
    if status != 200:
        raise AssertionError(f"/health answered {status}: {body!r}")
    return json.loads(body)


def serves(service):
    """Whether the server has registered service ("sqs", "sns", ...)."""
    return service in health().get("services", [])


def reset():
    """Deletes every resource on the server."""
    status, _, body = http("POST", "/_sluice/reset")
    if status != 200:
        raise AssertionError(f"reset answered {status}: {body!r}")
