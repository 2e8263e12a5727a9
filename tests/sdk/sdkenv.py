"""Shared by test_stainless.py and test_ona.py (each runs in its own venv; this module imports
nothing but the standard library).

tests/sdk/run.sh passes the live server's coordinates in the environment:

  SDK_BASE_URL   http://ADDR/api, the base URL both SDKs are given
  SDK_TOKEN      the admin token the server printed on its first start
  SDK_GROUP_IDS  comma-separated ids of groups created with `runner-server admin create-group`
  SDK_WORK       the run's work folder: secrets.tsv and the recorded response bodies go there
  SDK_NAME       "stainless" or "ona"
  SDK_MEMBER_ONE_<SDK>, SDK_MEMBER_TWO_<SDK>, SDK_MEMBER_TWO_TOKEN_<SDK>
                 two users of the admin's organization (made with `runner-server admin
                 create-user`) for this SDK's tests, and a token of the second
  SDK_FAKE_GITHUB  http://ADDR of tests/sdk/fake_github.py, the server's API of github.com

Every secret value a test sends goes through `secret()`, which appends it to secrets.tsv;
run.sh then scans the server's stdout/stderr and every recorded response body for it.
"""

import base64
import json
import os
import secrets as _secrets
import time

BASE_URL = os.environ["SDK_BASE_URL"]
TOKEN = os.environ["SDK_TOKEN"]
GROUP_IDS = [g for g in os.environ["SDK_GROUP_IDS"].split(",") if g]
WORK = os.environ["SDK_WORK"]
SDK = os.environ["SDK_NAME"]
_VAR = SDK.upper().replace("-", "_")
MEMBER_ONE = os.environ[f"SDK_MEMBER_ONE_{_VAR}"]
MEMBER_TWO = os.environ[f"SDK_MEMBER_TWO_{_VAR}"]
MEMBER_TWO_TOKEN = os.environ[f"SDK_MEMBER_TWO_TOKEN_{_VAR}"]
FAKE_GITHUB = os.environ["SDK_FAKE_GITHUB"]

SECRETS_FILE = os.path.join(WORK, "secrets.tsv")
RESPONSES_FILE = os.path.join(WORK, f"responses-{SDK}.log")

# A well-formed UUID that names nothing.
UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"


def _note(kind: str, label: str, value: str) -> None:
    assert "\t" not in value and "\n" not in value
    with open(SECRETS_FILE, "a", encoding="utf-8") as f:
        f.write(f"{kind}\t{SDK}:{label}\t{value}\n")


def secret(label: str, prefix: str = "") -> str:
    """A fresh secret value to send to the server, registered for the scan."""
    value = prefix + _secrets.token_urlsafe(24)
    _note("sent", label, value)
    return value


def issued(label: str, value: str) -> None:
    """A secret the server handed out (exchange token): it may appear in the response that
    issued it, but never in the server's logs."""
    if value:
        _note("issued", label, value)


def record(what: str, body: bytes) -> None:
    """Appends one response body (raw bytes as received) to this SDK's response log."""
    with open(RESPONSES_FILE, "ab") as f:
        f.write(f"\n--- {time.time():.6f} {what} ({len(body)} bytes)\n".encode())
        f.write(body)


def unique(name: str) -> str:
    """A display name unique to this run and SDK."""
    return f"{name} {SDK} {_secrets.token_hex(3)}"


__all__ = [
    "BASE_URL",
    "TOKEN",
    "GROUP_IDS",
    "MEMBER_ONE",
    "MEMBER_TWO",
    "MEMBER_TWO_TOKEN",
    "UNKNOWN_UUID",
    "secret",
    "issued",
    "record",
    "unique",
]


def jwt_claims(token: str) -> dict:
    """The claims of a JWT (GetIDToken's answer), read without verifying it: the interop tests
    verify the signature against the server's JWKS with PyJWT."""
    header, payload, signature = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["alg"] == "ES256"
    assert signature
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
