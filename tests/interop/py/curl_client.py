"""Interop client d: the `curl` binary speaking Connect JSON (unary POST, HTTP/1.1).

Runs the shared scenario, checking the JSON shape of every answer on the way (camelCase keys,
enums as name strings, RFC 3339 timestamps, content type, error bodies and their HTTP status),
then the Connect-JSON specifics: exact `{}` bodies, enums given as names or numbers, paging from
the URL query string, the /api prefix and unknown request fields; and an ID token of
IdentityService.GetIDToken verified with PyJWT as an OpenID Connect relying party does.

Every request sends `Authorization: Bearer $INTEROP_TOKEN`; a request without it, or with a wrong
token, must get HTTP 401 with the body {"code":"unauthenticated",...}.
"""

import base64
import json
import re
import subprocess
import sys
import time
import urllib.request

from interop import WRONG_TOKEN, Report, RpcError, api_token, base_url, run_scenario

SERVICE = "gitpod.v1.RunnerService"
ENUM_KEYS = {"kind", "provider", "desiredPhase", "phase", "releaseChannel", "logLevel", "variant", "principal"}
TIMESTAMP_KEYS = {"createdAt", "updatedAt"}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
# The proto3 JSON mapping: "generated output will always be Z-normalized and uses 0, 3, 6 or 9
# fractional digits".
PROTO3_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.(\d{3}|\d{6}|\d{9}))?Z$")
HTTP_STATUS = {"invalid_argument": 400, "not_found": 404, "failed_precondition": 400, "unauthenticated": 401}
UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"


class Curl:
    """POSTs JSON with curl; records every shape problem it sees for a summary check."""

    def __init__(self, base, token):
        self.base = base
        self.token = token
        self.problems = {"camelCase": [], "enums": [], "rfc3339": [], "proto3 timestamp": [], "content type": [],
                         "error body": []}

    def post(self, path, body, query="", token=""):
        """Returns (HTTP status, raw body text, parsed JSON or None).

        Sends `Authorization: Bearer <token>`: by default this client's token, none if token is None.
        """
        url = f"{self.base}{path}{'?' + query if query else ''}"
        data = body if isinstance(body, str) else json.dumps(body)
        token = self.token if token == "" else token
        auth = [] if token is None else ["-H", f"Authorization: Bearer {token}"]
        proc = subprocess.run(
            ["curl", "-sS", "--max-time", "10", "-X", "POST", "-H", "Content-Type: application/json",
             "-H", "Connect-Protocol-Version: 1", *auth, "--data-binary", "@-",
             "-w", "\n%{http_code} %{content_type}", url],
            input=data, capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"curl exited {proc.returncode}: {proc.stderr.strip()}")
        raw, _, trailer = proc.stdout.rpartition("\n")
        status, _, content_type = trailer.partition(" ")
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if not content_type.startswith("application/json"):
            self.problems["content type"].append(f"{path}: {content_type!r}")
        return int(status), raw, parsed

    def call(self, method, request, query="", prefix=""):
        status, raw, parsed = self.post(f"{prefix}/{SERVICE}/{method}", request, query)
        if status == 200 and isinstance(parsed, dict):
            self.inspect(method, parsed)
            return parsed
        code = parsed.get("code") if isinstance(parsed, dict) else None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("message", ""), str) or code is None:
            self.problems["error body"].append(f"{method}: HTTP {status} {raw!r}")
            raise RuntimeError(f"HTTP {status}: {raw!r}")
        if code in HTTP_STATUS and HTTP_STATUS[code] != status:
            self.problems["error body"].append(f"{method}: {code} came with HTTP {status}, not {HTTP_STATUS[code]}")
        raise RpcError(code, parsed.get("message", ""))

    def inspect(self, where, value, path=""):
        if isinstance(value, list):
            for i, item in enumerate(value):
                self.inspect(where, item, f"{path}[{i}]")
        elif isinstance(value, dict):
            for key, item in value.items():
                here = f"{where}:{path}.{key}"
                if not re.fullmatch(r"[a-z][A-Za-z0-9]*", key):
                    self.problems["camelCase"].append(here)
                if key in ENUM_KEYS and not (isinstance(item, str) and re.fullmatch(r"[A-Z][A-Z0-9_]+", item)):
                    self.problems["enums"].append(f"{here}={item!r}")
                if key in TIMESTAMP_KEYS:
                    if not (isinstance(item, str) and RFC3339.match(item)):
                        self.problems["rfc3339"].append(f"{here}={item!r}")
                    elif not PROTO3_TIMESTAMP.match(item):
                        self.problems["proto3 timestamp"].append(f"{here}={item!r}")
                self.inspect(where, item, f"{path}.{key}")


def shape_checks(r, curl):
    r.label = "curl/shape"
    p = curl.problems
    r.check("every answer has Content-Type application/json", not p["content type"], p["content type"][:3])
    r.check("every answer has camelCase keys only", not p["camelCase"], p["camelCase"][:3])
    r.check("every enum is a name string", not p["enums"], p["enums"][:3])
    r.check("every createdAt/updatedAt is an RFC 3339 string", not p["rfc3339"], p["rfc3339"][:3])
    r.check("every createdAt/updatedAt is Z-normalized with 0/3/6/9 fractional digits (proto3 JSON mapping)",
            not p["proto3 timestamp"], f"{len(p['proto3 timestamp'])} values such as {p['proto3 timestamp'][:2]}")
    r.check("every error body is {code, message} with the code's HTTP status", not p["error body"], p["error body"][:3])


CONTEXT_URL = "https://github.com/gitpod-io/gitpod"


def error_checks(r, curl, runner_id):
    r.label = "curl/errors"
    cases = [
        ("GetRunner unknown UUID", "GetRunner", {"runnerId": UNKNOWN_UUID}, 404, "not_found"),
        ("GetRunner 'not-a-uuid'", "GetRunner", {"runnerId": "not-a-uuid"}, 400, "invalid_argument"),
        ("ParseContextURL", "ParseContextURL", {"runnerId": runner_id, "contextUrl": CONTEXT_URL}, 400,
         "failed_precondition"),
        ("ParseContextURL without a URL", "ParseContextURL", {"runnerId": runner_id}, 400, "invalid_argument"),
    ]
    for name, method, request, http_status, code in cases:
        status, raw, body = curl.post(f"/{SERVICE}/{method}", request)
        r.eq(f"{name}: HTTP {http_status}", status, http_status)
        r.check(f"{name}: body is {{\"code\":\"{code}\",\"message\":...}}",
                isinstance(body, dict) and body.get("code") == code and isinstance(body.get("message"), str)
                and body["message"] != "", raw)
    status, raw, body = curl.post(f"/{SERVICE}/ParseContextURL", {"contextUrl": CONTEXT_URL})
    r.eq("ParseContextURL: exact message", (body or {}).get("message"),
         "requires authentication with Source Control - the SCM integration for host github.com is not configured")


def connect_json_checks(r, curl):
    r.label = "curl/connect-json"
    # Enum by name and by number, unknown fields at the top and nested.
    by_name = curl.call("CreateRunner", {"name": "interop-curl-enum-name", "provider": "RUNNER_PROVIDER_GCP"})["runner"]
    by_number = curl.call("CreateRunner", {"name": "interop-curl-enum-number", "provider": 5})["runner"]
    unknown = curl.call("CreateRunner", {"name": "interop-curl-unknown-fields", "provider": "RUNNER_PROVIDER_GCP",
                                         "someUnknownField": 1, "spec": {"configuration": {"notAField": {"x": [1]}}}})
    r.eq("request enum as name string", by_name.get("provider"), "RUNNER_PROVIDER_GCP")
    r.eq("request enum as number 5", by_number.get("provider"), "RUNNER_PROVIDER_GCP")
    r.eq("unknown request fields are ignored (CreateRunner)", unknown["runner"].get("name"), "interop-curl-unknown-fields")
    ids = [by_name["runnerId"], by_number["runnerId"], unknown["runner"]["runnerId"]]
    got = curl.call("GetRunner", {"runnerId": ids[0], "alsoUnknown": True})
    r.eq("unknown request fields are ignored (GetRunner)", got["runner"].get("runnerId"), ids[0])

    # Paging from the query string: the body asks for 100 per page, the URL for 2.
    seen, token, pages, sizes = [], "", 0, []
    while pages < 200:
        query = "pageSize=2" + (f"&token={token}" if token else "")
        page = curl.call("ListRunners", {"pagination": {"pageSize": 100}}, query=query)
        sizes.append(len(page.get("runners", [])))
        seen += [x["runnerId"] for x in page.get("runners", [])]
        token = page.get("pagination", {}).get("nextToken", "")
        pages += 1
        if not token:
            break
    r.check("?pageSize=2 overrides the body's pageSize 100", sizes and max(sizes) <= 2 and (len(sizes) > 1 or len(seen) <= 2),
            f"page sizes {sizes}")
    r.check("?token=... pages reach every runner once, in creation order",
            [x for x in seen if x in ids] == ids and len(seen) == len(set(seen)), f"{seen}")
    everything = curl.call("ListRunners", {"pagination": {"pageSize": 100}})
    r.eq("query-string pages hold the same runners as one body-paged page", seen,
         [x["runnerId"] for x in everything.get("runners", [])])

    # The /api prefix.
    under_api = curl.call("ListRunners", {"pagination": {"pageSize": 100}}, prefix="/api")
    r.eq("/api/gitpod.v1.RunnerService/ListRunners answers as without /api", under_api, everything)

    # Exact `{}` bodies of UpdateRunner and DeleteRunner.
    status, raw, _ = curl.post(f"/{SERVICE}/UpdateRunner", {"runnerId": ids[0], "name": "interop-curl-renamed"})
    r.check("UpdateRunner answers exactly {}", status == 200 and raw.strip() == "{}", f"HTTP {status} {raw!r}")
    for runner_id in ids:
        status, raw, _ = curl.post(f"/{SERVICE}/DeleteRunner", {"runnerId": runner_id})
        r.check("DeleteRunner answers exactly {}", status == 200 and raw.strip() == "{}", f"HTTP {status} {raw!r}")


def auth_checks(r, curl):
    r.label = "curl/auth"
    for what, token in (("without Authorization", None), (f"with 'Bearer {WRONG_TOKEN}'", WRONG_TOKEN)):
        status, raw, body = curl.post(f"/{SERVICE}/ListRunners", {}, token=token)
        r.check(f"ListRunners {what}: HTTP 401 {{\"code\":\"unauthenticated\",\"message\":...}}",
                status == 401 and isinstance(body, dict) and body.get("code") == "unauthenticated"
                and isinstance(body.get("message"), str) and body["message"] != "", f"HTTP {status} {raw!r}")


def error_checks_with_runner(r, curl):
    runner = curl.call("CreateRunner", {"name": "interop-curl-errors", "provider": "RUNNER_PROVIDER_GCP"})["runner"]
    error_checks(r, curl, runner["runnerId"])
    curl.call("DeleteRunner", {"runnerId": runner["runnerId"]})


def get_checks(r, curl):
    """Connect GET, as the issue's curl line sends it: the same page as the POST, under /api too;
    405 with Allow: POST for a method without NO_SIDE_EFFECTS."""
    r.label = "curl/connect-get"

    def get(path, token=curl.token):
        auth = [] if token is None else ["-H", f"Authorization: Bearer {token}"]
        proc = subprocess.run(
            ["curl", "-sS", "--max-time", "10", "-i", *auth, f"{curl.base}{path}"],
            capture_output=True, text=True, check=True,
        )
        head, _, body = proc.stdout.replace("\r\n", "\n").partition("\n\n")
        status = int(head.split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head.split("\n")[1:])}
        return status, headers, body

    query = "?connect=v1&encoding=json&message=%7B%22pagination%22%3A%7B%22pageSize%22%3A3%7D%7D"
    posted = curl.call("ListRunners", {"pagination": {"pageSize": 3}})
    for prefix in ("", "/api"):
        status, headers, body = get(f"{prefix}/{SERVICE}/ListRunners{query}")
        r.eq(f"GET{' under /api' if prefix else ''} ListRunners is 200 JSON", (status, headers.get("content-type")),
             (200, "application/json"))
        r.eq(f"GET{' under /api' if prefix else ''} ListRunners answers the POST's page", json.loads(body), posted)
    status, _, body = get(f"/{SERVICE}/ListRunners?connect=v1&encoding=json&message=%7B%7D", token=None)
    r.eq("GET without a token: 401 unauthenticated", (status, json.loads(body).get("code")), (401, "unauthenticated"))
    status, headers, _ = get(f"/{SERVICE}/CreateRunner?connect=v1&encoding=json&message=%7B%7D")
    r.eq("GET CreateRunner: 405 with Allow: POST", (status, headers.get("allow")), (405, "POST"))


def id_token_checks(r, curl):
    """GetIDToken, verified with PyJWT (and `cryptography` for ES256) from nothing but the token:
    its issuer's discovery document, the JWKS it points to, then signature, issuer, audience and
    expiry, as a cloud provider or any OIDC library does."""
    import jwt

    r.label = "curl/id-token"
    identity = "/gitpod.v1.IdentityService"
    status, raw, answer = curl.post(f"{identity}/GetIDToken", {"audience": ["sts.example.com"]})
    r.eq("GetIDToken answers a token", (status, isinstance(answer, dict) and "token" in answer), (200, True))
    token = answer["token"]
    me = curl.post(f"{identity}/GetAuthenticatedIdentity", {})[2]
    issuer = jwt.decode(token, options={"verify_signature": False})["iss"]
    r.eq("the issuer is the server's URL", issuer, curl.base)
    with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=10) as response:
        config = json.loads(response.read())
    r.eq("the discovery document names the issuer", config.get("issuer"), issuer)
    key = jwt.PyJWKClient(config["jwks_uri"]).get_signing_key_from_jwt(token)
    algorithms = config["id_token_signing_alg_values_supported"]
    claims = jwt.decode(token, key.key, algorithms=algorithms, audience="sts.example.com", issuer=issuer)
    r.eq("PyJWT verifies it, and sub is the caller", claims["sub"], me["subject"]["id"])
    r.check("it expires within the hour", 0 < claims["exp"] - time.time() <= 3600, claims["exp"])
    r.eq("it names the organization", claims.get("organization_id"), me["organizationId"])
    try:
        jwt.decode(token, key.key, algorithms=algorithms, audience="another.example.com", issuer=issuer)
        other_audience = "accepted"
    except jwt.InvalidAudienceError:
        other_audience = "refused"
    r.eq("another audience is refused", other_audience, "refused")
    header, payload, signature = token.split(".")
    forged_claims = dict(claims, sub="someone-else")
    forged = ".".join([header, base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).decode().rstrip("="),
                       signature])
    try:
        jwt.decode(forged, key.key, algorithms=algorithms, audience="sts.example.com", issuer=issuer)
        forgery = "accepted"
    except jwt.InvalidSignatureError:
        forgery = "refused"
    r.eq("a token with other claims under its signature is refused", forgery, "refused")
    status, _, body = curl.post(f"{identity}/GetIDToken", {"audience": []})
    r.eq("no audience: 400 invalid_argument", (status, body.get("code")), (400, "invalid_argument"))


def main():
    curl = Curl(base_url(), api_token())
    report = Report("curl")
    run_scenario(report, "curl", curl.call)
    for checks in (connect_json_checks, error_checks_with_runner, auth_checks, get_checks, id_token_checks):
        try:
            checks(report, curl)
        except Exception as e:  # noqa: BLE001 - a broken transport aborts this group only
            report.check(f"{checks.__name__} aborted", False, f"{type(e).__name__}: {e}")
    shape_checks(report, curl)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
