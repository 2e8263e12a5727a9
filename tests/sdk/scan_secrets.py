"""Secrets scan after both SDK runs (standard library only).

    python scan_secrets.py WORK

Reads WORK/secrets.tsv (`kind<TAB>label<TAB>value` lines written by sdkenv.py; run.sh adds the admin
token) and looks for every value in:

  - the server's stdout (WORK/stdout), except the first-start lines that print the admin token
    on purpose (`admin token (shown once): …` and the `try: curl …` line after it, before
    `listening on`);
  - the server's stderr log (WORK/server.log), colour codes removed;
  - every recorded response body (WORK/responses-*.log).

`sent` values (what the tests sent: the admin token, PATs, host token values, OAuth client
secrets, API keys) must appear nowhere. `issued` values (exchange tokens the server handed out)
legitimately appear in the response that issued them, so they are looked for in the logs only.
A value is also looked for base64-encoded (proto JSON renders bytes fields that way).

Prints one `ok`/`FAIL` line per check (labels and positions only, never a value) and
`RESULT scan passed=N failed=M`.
"""

import base64
import os
import re
import sys

FIRST_START = (b"admin token (shown once): ", b"try: curl ")
# Colour codes in the log would split a logged value.
ANSI = re.compile(rb"\x1b\[[0-9;]*m")


def forms(value: str) -> list[bytes]:
    raw = value.encode()
    out = [raw]
    for enc in (base64.b64encode, base64.urlsafe_b64encode):
        b = enc(raw).rstrip(b"=")
        # The base64 of the value alone; drop the last character, which depends on what follows.
        out.append(b[:-1])
    return out


def hits(data: bytes, value: str) -> list[int]:
    found = []
    for form in forms(value):
        start = 0
        while (i := data.find(form, start)) >= 0:
            found.append(i)
            start = i + 1
    return sorted(set(found))


def line_of(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


def main() -> int:
    work = sys.argv[1]
    secrets = []
    with open(os.path.join(work, "secrets.tsv"), encoding="utf-8") as f:
        for line in f:
            kind, label, value = line.rstrip("\n").split("\t", 2)
            secrets.append((kind, label, value))
    passed = failed = 0

    def check(ok: bool, what: str, detail: str = "") -> None:
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"  ok   [scan] {what}")
        else:
            failed += 1
            print(f"  FAIL [scan] {what}{': ' + detail if detail else ''}")

    sent = [s for s in secrets if s[0] == "sent"]
    by_sdk = {sdk: sum(1 for _, label, _ in sent if label.startswith(sdk + ":")) for sdk in ("stainless", "ona")}
    check(all(n >= 5 for n in by_sdk.values()), f"secret values registered: {len(secrets)} ({by_sdk} sent by SDK)",
          "too few: did an SDK run stop early?")

    # The server's stdout, without the documented first-start lines (only those before
    # `listening on`, i.e. printed at startup).
    with open(os.path.join(work, "stdout"), "rb") as f:
        stdout_lines = f.read().splitlines(keepends=True)
    kept, excluded, started = [], 0, False
    for line in stdout_lines:
        started = started or line.startswith(b"listening on ")
        if not started and line.startswith(FIRST_START):
            kept.append(b"\n")  # keeps line numbers
            excluded += 1
        else:
            kept.append(line)
    sources = [(f"server stdout (first-start token lines excluded: {excluded})", ANSI.sub(b"", b"".join(kept)), secrets)]
    with open(os.path.join(work, "server.log"), "rb") as f:
        sources.append(("server stderr log", ANSI.sub(b"", f.read()), secrets))
    for name in sorted(os.listdir(work)):
        if name.startswith("responses-") and name.endswith(".log"):
            with open(os.path.join(work, name), "rb") as f:
                data = f.read()
            n = data.count(b"\n--- ")
            check(n >= 20, f"{name}: {n} response bodies recorded", "too few recorded")
            sources.append((f"{name} ({n} response bodies)", data, sent))

    for name, data, values in sources:
        found = []
        for kind, label, value in values:
            for pos in hits(data, value):
                found.append(f"{label} ({kind}) at line {line_of(data, pos)}")
        check(not found, f"no secret in {name}: {len(values)} values, {len(data)} bytes", "; ".join(found))

    print(f"RESULT scan passed={passed} failed={failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
