"""Interop client e: a Python client generated from the server's OpenAPI description.

run.sh generates the package `runner_api_client` with openapi-python-client (from PyPI, in
.tools/openapi-python-client) from GET /openapi.json of the live server, into
tests/interop/py/openapi_gen; this script imports it and, through its typed models and
functions only (no hand-written HTTP), creates a runner, reads it back, finds it in the list,
deletes it and reads the `not_found` Connect error of the next read.

Every call sends `Authorization: Bearer $INTEROP_TOKEN` (the generated AuthenticatedClient).
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "openapi_gen"))

from interop import Report, api_token, base_url  # noqa: E402
from runner_api_client import AuthenticatedClient  # noqa: E402
from runner_api_client.api.gitpod_v_1_runner_service import (  # noqa: E402
    runner_service_create_runner as create_runner,
    runner_service_delete_runner as delete_runner,
    runner_service_get_runner as get_runner,
    runner_service_list_runners as list_runners,
)
from runner_api_client.models import (  # noqa: E402
    ConnectError,
    GitpodV1CreateRunnerRequest,
    GitpodV1CreateRunnerResponse,
    GitpodV1DeleteRunnerRequest,
    GitpodV1GetRunnerRequest,
    GitpodV1GetRunnerResponse,
    GitpodV1ListRunnersRequest,
    GitpodV1ListRunnersResponse,
    GitpodV1RunnerKind,
    GitpodV1RunnerPhase,
    GitpodV1RunnerProvider,
)


def main():
    report = Report("openapi-python")
    client = AuthenticatedClient(base_url=f"{base_url()}/api", token=api_token(), raise_on_unexpected_status=True)
    name = f"interop-openapi-{int(time.time() * 1000)}"

    created = create_runner.sync_detailed(
        client=client,
        body=GitpodV1CreateRunnerRequest(name=name, provider=GitpodV1RunnerProvider.RUNNER_PROVIDER_GCP),
    )
    report.eq("CreateRunner answers 200", created.status_code, 200)
    if not report.check("CreateRunner parses as CreateRunnerResponse", isinstance(created.parsed, GitpodV1CreateRunnerResponse),
                        repr(created.parsed)):
        return report.finish()
    runner = created.parsed.runner
    runner_id = runner.runner_id
    report.eq("the new runner has its name", runner.name, name)
    report.eq("its kind is an enum member (deduced from the provider)", runner.kind, GitpodV1RunnerKind.RUNNER_KIND_REMOTE)
    report.eq("its phase is CREATED", runner.status.phase, GitpodV1RunnerPhase.RUNNER_PHASE_CREATED)
    report.check("createdAt parses as a datetime", hasattr(runner.created_at, "isoformat"), repr(runner.created_at))

    got = get_runner.sync_detailed(client=client, body=GitpodV1GetRunnerRequest(runner_id=runner_id))
    report.check("GetRunner parses as GetRunnerResponse", isinstance(got.parsed, GitpodV1GetRunnerResponse), repr(got.parsed))
    if isinstance(got.parsed, GitpodV1GetRunnerResponse):
        report.eq("GetRunner reads the same runner", (got.parsed.runner.runner_id, got.parsed.runner.name), (runner_id, name))

    listed = list_runners.sync_detailed(client=client, body=GitpodV1ListRunnersRequest())
    if report.check("ListRunners parses as ListRunnersResponse", isinstance(listed.parsed, GitpodV1ListRunnersResponse),
                    repr(listed.parsed)):
        ids = [r.runner_id for r in listed.parsed.runners]
        report.check("ListRunners lists the new runner", runner_id in ids, f"{runner_id} not in {ids}")

    deleted = delete_runner.sync_detailed(client=client, body=GitpodV1DeleteRunnerRequest(runner_id=runner_id, force=True))
    report.eq("DeleteRunner answers 200", deleted.status_code, 200)

    gone = get_runner.sync_detailed(client=client, body=GitpodV1GetRunnerRequest(runner_id=runner_id))
    report.eq("GetRunner of the deleted runner answers 404", gone.status_code, 404)
    if report.check("the answer parses as a Connect error", isinstance(gone.parsed, ConnectError), repr(gone.parsed)):
        report.eq("its code is not_found", gone.parsed.code.value, "not_found")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
