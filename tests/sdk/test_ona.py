"""The Ona SDK, `gitpod-sdk==1.2.0` (`import ona_sdk`; the generated `gitpod.v1.*_connect` clients,
binary Connect over HTTP/1.1), against a live runner-server. Run by tests/sdk/run.sh in the venv
.tools/sdk-1.2; see sdkenv.py for the environment it needs.

Calls go through `ona_sdk.create_client(...).services.runner` / `.runner_configuration`, exactly as
an application using the SDK would. Every raw response body (success or error) is appended to
responses-ona.log, by wrapping the SDK transport's body reader, for the secrets scan.
"""

import datetime as dt
import uuid

import pytest
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from google.protobuf import timestamp_pb2

import ona_sdk
import ona_sdk.services
from gitpod.v1 import event_pb2 as epb
from gitpod.v1 import group_pb2 as gpb
from gitpod.v1 import identity_pb2 as ipb
from gitpod.v1 import pagination_pb2 as pag
from gitpod.v1 import organization_pb2 as opb
from gitpod.v1 import runner_configuration_pb2 as cpb
from gitpod.v1 import runner_pb2 as rpb
from gitpod.v1 import user_pb2 as upb
from ona_sdk.errors import map_error

from sdkenv import BASE_URL, GROUP_IDS, TOKEN, UNKNOWN_UUID, issued, record, secret, unique
from sdkenv import jwt_claims, MEMBER_ONE, MEMBER_TWO, MEMBER_TWO_TOKEN

# --- recording every response body -------------------------------------------------------------

_response_content = ona_sdk.services._response_content
RECORDED = [0]


def _recording_response_content(response):
    chunks = []
    try:
        for chunk in _response_content(response):
            chunks.append(chunk)
            yield chunk
    finally:
        RECORDED[0] += 1
        record(f"{getattr(response, 'status', '?')} POST {getattr(response, 'url', '?')}", b"".join(chunks))


ona_sdk.services._response_content = _recording_response_content

# --- Connect GET ---------------------------------------------------------------------------------
# The generated clients take `use_get=True` on the methods the descriptors mark NO_SIDE_EFFECTS
# (the SDK's own MethodInfo.idempotency_level). With ONA_USE_GET=1 (tests/sdk/run.sh's second run)
# every such call of this whole suite goes as Connect GET.

import os  # noqa: E402

from connectrpc._client_sync import ConnectClientSync  # noqa: E402
from connectrpc.method import IdempotencyLevel, MethodInfo  # noqa: E402

_execute_unary = ConnectClientSync.execute_unary
SENT_AS_GET = set()


def _execute_unary_recorded(self, *, request, method, use_get=False, **kwargs):
    if os.environ.get("ONA_USE_GET") == "1" and method.idempotency_level == IdempotencyLevel.NO_SIDE_EFFECTS:
        use_get = True
    if use_get:
        SENT_AS_GET.add(method.name)
    return _execute_unary(self, request=request, method=method, use_get=use_get, **kwargs)


ConnectClientSync.execute_unary = _execute_unary_recorded


def make_client(token: str = TOKEN):
    return ona_sdk.create_client(api_key=token, base_url=BASE_URL, timeout=30)


@pytest.fixture(scope="module")
def client():
    return make_client()


@pytest.fixture(scope="module")
def rs(client):
    return client.services.runner


@pytest.fixture(scope="module")
def cs(client):
    return client.services.runner_configuration


def expect(code: Code, call, request) -> ConnectError:
    with pytest.raises(ConnectError) as e:
        call(request)
    assert e.value.code == code, f"{e.value.code}: {e.value.message}"
    return e.value


def is_uuid(s) -> bool:
    try:
        return str(uuid.UUID(s)) == s
    except (TypeError, ValueError):
        return False


def ts(d: dt.datetime) -> timestamp_pb2.Timestamp:
    t = timestamp_pb2.Timestamp()
    t.FromDatetime(d)
    return t


def create_runner(rs, name: str, provider=cpb.RUNNER_PROVIDER_GCP, region: str = "europe-west3"):
    resp = rs.create_runner(rpb.CreateRunnerRequest(
        name=unique(name),
        provider=provider,
        spec=rpb.RunnerSpec(configuration=rpb.RunnerConfiguration(
            region=region, auto_update=True, release_channel=rpb.RUNNER_RELEASE_CHANNEL_STABLE)),
    ))
    issued("exchange token", resp.exchange_token)
    return resp


@pytest.fixture(scope="module")
def runner(rs):
    return create_runner(rs, "ona main").runner


@pytest.fixture(scope="module")
def admin_id(runner) -> str:
    assert runner.HasField("creator") and runner.creator.id, runner
    return runner.creator.id


def list_all(call, make_request, items: str, page_size: int = 2):
    """Follows pagination.next_token; returns (items, pages)."""
    out, pages, token = [], [], ""
    while True:
        resp = call(make_request(pag.PaginationRequest(page_size=page_size, token=token)))
        page = list(getattr(resp, items))
        pages.append(page)
        out.extend(page)
        token = resp.pagination.next_token
        if not token:
            return out, pages
        assert len(pages) < 100, "pagination does not end"


# --- runners ---------------------------------------------------------------------------------


def test_create_runner(rs):
    name = unique("Ona GCP runner")
    resp = rs.create_runner(rpb.CreateRunnerRequest(
        name=name,
        provider=cpb.RUNNER_PROVIDER_GCP,
        spec=rpb.RunnerSpec(configuration=rpb.RunnerConfiguration(
            region="europe-west3", release_channel=rpb.RUNNER_RELEASE_CHANNEL_STABLE, auto_update=True,
            log_level=rpb.LOG_LEVEL_WARN)),
    ))
    issued("exchange token", resp.exchange_token)
    r = resp.runner
    assert is_uuid(r.runner_id)
    assert r.name == name
    assert r.provider == cpb.RUNNER_PROVIDER_GCP
    assert r.kind == cpb.RUNNER_KIND_REMOTE
    c = r.spec.configuration
    assert (c.region, c.release_channel, c.auto_update, c.log_level) == (
        "europe-west3", rpb.RUNNER_RELEASE_CHANNEL_STABLE, True, rpb.LOG_LEVEL_WARN)
    assert r.spec.desired_phase == rpb.RUNNER_PHASE_ACTIVE
    assert is_uuid(r.creator.id)
    created = r.created_at.ToDatetime(tzinfo=dt.timezone.utc)
    assert abs((dt.datetime.now(dt.timezone.utc) - created).total_seconds()) < 300
    assert resp.exchange_token


def test_watch_events_streams_runner_writes(client, rs):
    # The stream's request goes out when it is first read: a writer keeps renaming a runner until
    # the watcher has seen one of its updates, over the SDK's Connect (binary) server streaming.
    import threading

    runner_id = rs.create_runner(rpb.CreateRunnerRequest(name=unique("Ona watched"), provider=cpb.RUNNER_PROVIDER_GCP))
    issued("exchange token", runner_id.exchange_token)
    runner_id = runner_id.runner.runner_id
    seen = threading.Event()

    def write():
        for i in range(100):
            if seen.wait(0.2):
                return
            rs.update_runner(rpb.UpdateRunnerRequest(runner_id=runner_id, name=unique(f"Ona watched {i}")))

    writer = threading.Thread(target=write)
    writer.start()
    stream = iter(())
    try:
        stream = client.services.event.watch_events(epb.WatchEventsRequest(organization=True))
        for event in stream:
            if event.resource_id == runner_id:
                assert event.resource_type == epb.RESOURCE_TYPE_RUNNER
                assert event.operation == epb.RESOURCE_OPERATION_UPDATE
                break
    finally:
        seen.set()
        writer.join()
        getattr(stream, "close", lambda: None)()
    # Refused before any event: the environment scope.
    with pytest.raises(ConnectError) as e:
        next(iter(client.services.event.watch_events(epb.WatchEventsRequest(environment_id=UNKNOWN_UUID))))
    assert e.value.code == Code.FAILED_PRECONDITION, e.value.message


def test_audit_logs(client, rs):
    # EventService.ListAuditLogs and GetAuditLog over the SDK's Connect (binary).
    created = rs.create_runner(rpb.CreateRunnerRequest(name=unique("Ona audited"), provider=cpb.RUNNER_PROVIDER_GCP))
    issued("exchange token", created.exchange_token)
    runner_id = created.runner.runner_id
    rs.update_runner(rpb.UpdateRunnerRequest(runner_id=runner_id, name=unique("Ona audited again")))
    events = client.services.event
    listed = events.list_audit_logs(epb.ListAuditLogsRequest(
        filter=epb.ListAuditLogsRequest.Filter(subject_ids=[runner_id]),
        pagination=pag.PaginationRequest(page_size=10),
    ))
    actions = [e.action for e in listed.entries]
    assert actions == ["gitpod.v1.RunnerService/UpdateRunner", "gitpod.v1.RunnerService/CreateRunner"], actions
    for e in listed.entries:
        assert (e.subject_id, e.subject_type) == (runner_id, epb.RESOURCE_TYPE_RUNNER)
        assert e.actor_principal == ipb.PRINCIPAL_USER
        assert e.kind == epb.AUDIT_LOG_ENTRY_KIND_RESOURCE_CHANGE
    got = events.get_audit_log(epb.GetAuditLogRequest(audit_log_entry_id=listed.entries[0].id))
    assert got.entry == listed.entries[0]
    member = make_client(MEMBER_TWO_TOKEN).services
    expect(Code.PERMISSION_DENIED, member.event.list_audit_logs, epb.ListAuditLogsRequest())


def test_get_runner(rs, runner):
    got = rs.get_runner(rpb.GetRunnerRequest(runner_id=runner.runner_id)).runner
    assert got.runner_id == runner.runner_id
    assert got.name == runner.name
    assert got.spec == runner.spec
    assert got.created_at == runner.created_at
    assert got.status.phase == rpb.RUNNER_PHASE_CREATED


def test_list_runners_across_pages(rs):
    ours = [create_runner(rs, f"ona page {i}").runner.runner_id for i in range(5)]
    ours.append(create_runner(rs, "ona aws", provider=cpb.RUNNER_PROVIDER_AWS_EC2, region="us-east-1").runner.runner_id)

    runners, pages = list_all(rs.list_runners, lambda p: rpb.ListRunnersRequest(pagination=p), "runners")
    ids = [r.runner_id for r in runners]
    assert len(pages) >= 3, f"6+ runners at page size 2 gave {len(pages)} page(s)"
    assert all(1 <= len(p) <= 2 for p in pages), [len(p) for p in pages]
    assert len(set(ids)) == len(ids), "a runner appeared twice across pages"
    assert set(ours) <= set(ids)
    assert [i for i in ids if i in ours] == ours, "ids are UUIDv7: list order is creation order"
    one = rs.list_runners(rpb.ListRunnersRequest(pagination=pag.PaginationRequest(page_size=100)))
    assert [r.runner_id for r in one.runners] == ids
    assert not one.pagination.next_token

    aws, _ = list_all(rs.list_runners, lambda p: rpb.ListRunnersRequest(
        pagination=p, filter=rpb.ListRunnersRequest.Filter(providers=[cpb.RUNNER_PROVIDER_AWS_EC2])), "runners")
    assert ours[-1] in [r.runner_id for r in aws]
    assert all(r.provider == cpb.RUNNER_PROVIDER_AWS_EC2 for r in aws)


def test_update_runner(rs):
    r = create_runner(rs, "ona update").runner
    new_name = unique("Ona renamed")
    rs.update_runner(rpb.UpdateRunnerRequest(
        runner_id=r.runner_id,
        name=new_name,
        spec=rpb.UpdateRunnerRequest.Spec(configuration=rpb.UpdateRunnerRequest.RunnerConfiguration(
            release_channel=rpb.RUNNER_RELEASE_CHANNEL_LATEST,
            auto_update=False,
            log_level=rpb.LOG_LEVEL_ERROR,
            update_window=rpb.UpdateWindow(start_hour=23, end_hour=3),
        )),
    ))
    got = rs.get_runner(rpb.GetRunnerRequest(runner_id=r.runner_id)).runner
    assert got.name == new_name
    c = got.spec.configuration
    assert c.release_channel == rpb.RUNNER_RELEASE_CHANNEL_LATEST
    assert c.auto_update is False
    assert c.log_level == rpb.LOG_LEVEL_ERROR
    assert c.region == "europe-west3", "a partial update must keep the region"
    assert (c.update_window.start_hour, c.update_window.end_hour) == (23, 3)
    assert got.updated_at.ToDatetime() >= r.updated_at.ToDatetime()


def test_honeycomb_api_key_needs_runner_public_key(rs, runner):
    err = expect(Code.FAILED_PRECONDITION, rs.update_runner, rpb.UpdateRunnerRequest(
        runner_id=runner.runner_id,
        spec=rpb.UpdateRunnerRequest.Spec(configuration=rpb.UpdateRunnerRequest.RunnerConfiguration(
            honeycomb_api_key=secret("honeycomb API key", "hcaik_"))),
    ))
    assert "runner does not have a public key" in err.message


def test_delete_runner_then_not_found(rs):
    r = create_runner(rs, "ona delete").runner
    rs.delete_runner(rpb.DeleteRunnerRequest(runner_id=r.runner_id))
    err = expect(Code.NOT_FOUND, rs.get_runner, rpb.GetRunnerRequest(runner_id=r.runner_id))
    assert isinstance(map_error("get runner", err), ona_sdk.NotFoundError)
    expect(Code.NOT_FOUND, rs.delete_runner, rpb.DeleteRunnerRequest(runner_id=r.runner_id))
    listed = rs.list_runners(rpb.ListRunnersRequest(pagination=pag.PaginationRequest(page_size=100)))
    assert r.runner_id not in [x.runner_id for x in listed.runners]


def test_unknown_runner_not_found(rs):
    expect(Code.NOT_FOUND, rs.get_runner, rpb.GetRunnerRequest(runner_id=UNKNOWN_UUID))


def test_malformed_runner_id(rs):
    err = expect(Code.INVALID_ARGUMENT, rs.get_runner, rpb.GetRunnerRequest(runner_id="not-a-uuid"))
    assert "runnerId" in err.message
    assert isinstance(map_error("get runner", err), ona_sdk.ValidationError)


def test_wrong_token_unauthenticated():
    bad = make_client(secret("wrong bearer token", "gpat_")).services.runner
    err = expect(Code.UNAUTHENTICATED, bad.list_runners, rpb.ListRunnersRequest())
    assert isinstance(map_error("list runners", err), ona_sdk.AuthenticationRequiredError)


def test_responses_are_recorded(rs, runner):
    before = RECORDED[0]
    rs.get_runner(rpb.GetRunnerRequest(runner_id=runner.runner_id))
    expect(Code.NOT_FOUND, rs.get_runner, rpb.GetRunnerRequest(runner_id=UNKNOWN_UUID))
    assert RECORDED[0] == before + 2, "the recording hook on ona_sdk.services missed a response"


# --- environment classes ---------------------------------------------------------------------


def config_from_defaults(fields) -> list:
    """One FieldValue per non-display field that has a default, from the schema alone."""
    out = []
    for f in fields:
        kind = f.WhichOneof("type")
        if kind in ("display", None):
            continue
        if kind == "enum":
            value = f.enum.default_value.title or f.enum.default
        elif kind == "int":
            value = str(f.int.default) if f.int.default else ""
        elif kind == "bool":
            value = "true" if f.bool.default else "false"
        else:
            value = f.string.default
        if value:
            out.append(cpb.FieldValue(key=f.id, value=value))
    return out


@pytest.fixture(scope="module")
def schema(cs, runner):
    return cs.get_runner_configuration_schema(
        cpb.GetRunnerConfigurationSchemaRequest(runner_id=runner.runner_id)).schema


def test_configuration_schema(schema, runner):
    assert schema.version
    ids = [f.id for f in schema.environment_classes]
    assert "machineType" in ids, ids
    scm = {s.scm_id: s for s in schema.scm}
    assert list(scm["github"].default_hosts) == ["github.com"]
    assert scm["github"].HasField("pat") and scm["github"].pat.docs_link
    assert runner.runner_id in scm["github"].oauth.callback_url
    assert not scm["azuredevops_server"].HasField("oauth"), "Azure DevOps Server is PAT only"


def test_environment_class_lifecycle(cs, runner, schema):
    config = config_from_defaults(schema.environment_classes)
    assert ("machineType", "e2-standard-4") in [(c.key, c.value) for c in config], config

    check = cs.validate_runner_configuration(cpb.ValidateRunnerConfigurationRequest(
        runner_id=runner.runner_id,
        environment_class=cpb.EnvironmentClass(display_name="Default", description="From schema defaults",
                                               configuration=config),
    ))
    assert check.environment_class.valid, check

    name = unique("Default")
    ec_id = cs.create_environment_class(cpb.CreateEnvironmentClassRequest(
        runner_id=runner.runner_id, display_name=name, description="Built from the schema's defaults",
        configuration=config)).id
    assert is_uuid(ec_id)
    ec = cs.get_environment_class(cpb.GetEnvironmentClassRequest(environment_class_id=ec_id)).environment_class
    assert (ec.id, ec.runner_id, ec.display_name, ec.enabled) == (ec_id, runner.runner_id, name, True)
    assert list(ec.configuration) == config

    other = cs.create_environment_class(cpb.CreateEnvironmentClassRequest(
        runner_id=runner.runner_id, display_name=unique("Large"), description="A larger machine",
        configuration=[cpb.FieldValue(key="machineType", value="e2-standard-8")])).id

    def listed(**filt):
        classes, _ = list_all(cs.list_environment_classes, lambda p: cpb.ListEnvironmentClassesRequest(
            pagination=p, filter=cpb.ListEnvironmentClassesRequest.Filter(runner_ids=[runner.runner_id], **filt)),
            "environment_classes", page_size=1)
        return [c.id for c in classes]

    assert listed() == [ec_id, other]
    cs.update_environment_class(cpb.UpdateEnvironmentClassRequest(
        environment_class_id=ec_id, enabled=False, display_name=unique("Retired")))
    ec = cs.get_environment_class(cpb.GetEnvironmentClassRequest(environment_class_id=ec_id)).environment_class
    assert ec.enabled is False
    assert ec.display_name.startswith("Retired ")
    assert ec.description == "Built from the schema's defaults"
    assert listed(enabled=False) == [ec_id]
    assert listed(enabled=True) == [other]


def test_environment_class_invalid_configuration(cs, runner):
    bad = [cpb.FieldValue(key="machineType", value="e2-bogus"), cpb.FieldValue(key="nope", value="1")]
    expect(Code.INVALID_ARGUMENT, cs.create_environment_class, cpb.CreateEnvironmentClassRequest(
        runner_id=runner.runner_id, display_name="Bogus", description="Invalid type", configuration=bad))
    check = cs.validate_runner_configuration(cpb.ValidateRunnerConfigurationRequest(
        runner_id=runner.runner_id,
        environment_class=cpb.EnvironmentClass(display_name="Bogus", description="Invalid type", configuration=bad),
    )).environment_class
    assert not check.valid
    assert [e.key for e in check.configuration_errors] == ["machineType", "nope"]


# --- SCM integrations ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scm_runner(rs):
    return create_runner(rs, "ona scm").runner


@pytest.fixture(scope="module")
def github(cs, scm_runner) -> str:
    """A PAT-only GitHub integration on github.com."""
    return cs.create_scm_integration(cpb.CreateSCMIntegrationRequest(
        runner_id=scm_runner.runner_id, scm_id="github", host="github.com", pat=True)).id


def test_scm_integration_pat_only(cs, scm_runner, github):
    assert is_uuid(github)
    got = cs.get_scm_integration(cpb.GetSCMIntegrationRequest(id=github)).integration
    assert (got.id, got.runner_id, got.scm_id, got.host, got.pat) == (
        github, scm_runner.runner_id, "github", "github.com", True)
    assert not got.HasField("oauth") or not got.oauth.client_id
    integrations, _ = list_all(cs.list_scm_integrations, lambda p: cpb.ListSCMIntegrationsRequest(
        pagination=p, filter=cpb.ListSCMIntegrationsRequest.Filter(runner_ids=[scm_runner.runner_id])), "integrations")
    assert [i.id for i in integrations] == [github]


def test_scm_oauth_needs_runner_public_key(cs, scm_runner, github):
    err = expect(Code.FAILED_PRECONDITION, cs.create_scm_integration, cpb.CreateSCMIntegrationRequest(
        runner_id=scm_runner.runner_id, scm_id="gitlab", host="gitlab.com", pat=True,
        oauth_client_id="gitlab-app-id", oauth_plaintext_client_secret=secret("oauth client secret (create)")))
    assert "runner does not have a public key" in err.message
    err = expect(Code.FAILED_PRECONDITION, cs.update_scm_integration, cpb.UpdateSCMIntegrationRequest(
        id=github, oauth_client_id="github-app-id",
        oauth_plaintext_client_secret=secret("oauth client secret (update)")))
    assert "runner does not have a public key" in err.message
    got = cs.get_scm_integration(cpb.GetSCMIntegrationRequest(id=github)).integration
    assert got.pat and not got.oauth.client_id


def test_scm_duplicate_host_already_exists(cs, scm_runner, github):
    expect(Code.ALREADY_EXISTS, cs.create_scm_integration, cpb.CreateSCMIntegrationRequest(
        runner_id=scm_runner.runner_id, scm_id="github", host="github.com", pat=True))


def test_llm_api_key_needs_runner_public_key(cs, scm_runner):
    from gitpod.v1 import model_pb2
    err = expect(Code.FAILED_PRECONDITION, cs.create_llm_integration, cpb.CreateLLMIntegrationRequest(
        runner_id=scm_runner.runner_id, models=[model_pb2.SUPPORTED_MODEL_SONNET_3_7],
        endpoint="https://llm.example.com/v1", api_key=secret("LLM API key", "sk-"), max_tokens=4096))
    assert "runner does not have a public key" in err.message


# --- host authentication tokens --------------------------------------------------------------


def tokens_of(cs, runner_id: str, user_id: str):
    tokens, _ = list_all(cs.list_host_authentication_tokens, lambda p: cpb.ListHostAuthenticationTokensRequest(
        pagination=p, filter=cpb.ListHostAuthenticationTokensRequest.Filter(runner_id=runner_id, user_id=user_id)),
        "tokens")
    return tokens


def test_host_token_lifecycle(cs, scm_runner, github, admin_id):
    expires = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    created = cs.create_host_authentication_token(cpb.CreateHostAuthenticationTokenRequest(
        runner_id=scm_runner.runner_id, user_id=admin_id, host="github.com",
        token=secret("host token (PAT)", "ghp_"), refresh_token=secret("host refresh token"),
        source=cpb.HOST_AUTHENTICATION_TOKEN_SOURCE_PAT, expires_at=ts(expires), scopes=["repo", "read:user"],
    )).token
    assert is_uuid(created.id)
    assert (created.host, created.runner_id, created.user_id, created.source) == (
        "github.com", scm_runner.runner_id, admin_id, cpb.HOST_AUTHENTICATION_TOKEN_SOURCE_PAT)
    assert list(created.scopes) == ["repo", "read:user"]
    assert created.expires_at.ToDatetime(tzinfo=dt.timezone.utc) == expires

    got = cs.get_host_authentication_token(cpb.GetHostAuthenticationTokenRequest(id=created.id)).token
    assert got == created
    assert created.id in [t.id for t in tokens_of(cs, scm_runner.runner_id, admin_id)]

    expect(Code.ALREADY_EXISTS, cs.create_host_authentication_token, cpb.CreateHostAuthenticationTokenRequest(
        runner_id=scm_runner.runner_id, user_id=admin_id, host="github.com",
        token=secret("host token (duplicate)", "ghp_"), source=cpb.HOST_AUTHENTICATION_TOKEN_SOURCE_PAT))

    later = dt.datetime(2031, 6, 7, 8, 9, 10, tzinfo=dt.timezone.utc)
    cs.update_host_authentication_token(cpb.UpdateHostAuthenticationTokenRequest(
        id=created.id, token=secret("host token (rotated)", "ghp_"), refresh_token=secret("host refresh (rotated)"),
        scopes=["repo"], expires_at=ts(later)))
    got = cs.get_host_authentication_token(cpb.GetHostAuthenticationTokenRequest(id=created.id)).token
    assert list(got.scopes) == ["repo"]
    assert got.expires_at.ToDatetime(tzinfo=dt.timezone.utc) == later

    cs.delete_host_authentication_token(cpb.DeleteHostAuthenticationTokenRequest(id=created.id))
    expect(Code.NOT_FOUND, cs.get_host_authentication_token, cpb.GetHostAuthenticationTokenRequest(id=created.id))


def test_set_scm_pat_flow(cs, scm_runner, github, admin_id):
    """The Ona SDK has no set_scm_pat helper; these are the three steps of the Stainless one
    (gitpod/lib/runner.py): list the user's tokens on the runner, delete those for the host,
    create a PAT token."""
    old = cs.create_host_authentication_token(cpb.CreateHostAuthenticationTokenRequest(
        runner_id=scm_runner.runner_id, user_id=admin_id, host="github.com",
        token=secret("host token (before set_scm_pat)", "ghp_"),
        source=cpb.HOST_AUTHENTICATION_TOKEN_SOURCE_PAT)).token.id

    # 1. list (first page only, as the helper does)
    listed = cs.list_host_authentication_tokens(cpb.ListHostAuthenticationTokensRequest(
        filter=cpb.ListHostAuthenticationTokensRequest.Filter(user_id=admin_id, runner_id=scm_runner.runner_id)))
    # 2. delete the host's tokens
    for t in listed.tokens:
        if t.host == "github.com":
            cs.delete_host_authentication_token(cpb.DeleteHostAuthenticationTokenRequest(id=t.id))
    # 3. create
    cs.create_host_authentication_token(cpb.CreateHostAuthenticationTokenRequest(
        token=secret("host token (set_scm_pat)", "ghp_"), host="github.com", runner_id=scm_runner.runner_id,
        user_id=admin_id, source=cpb.HOST_AUTHENTICATION_TOKEN_SOURCE_PAT))

    tokens = [t for t in tokens_of(cs, scm_runner.runner_id, admin_id) if t.host == "github.com"]
    assert len(tokens) == 1, tokens
    assert tokens[0].id != old
    expect(Code.NOT_FOUND, cs.get_host_authentication_token, cpb.GetHostAuthenticationTokenRequest(id=old))


# --- runner policies -------------------------------------------------------------------------


def test_runner_policies(rs):
    assert len(GROUP_IDS) >= 2, GROUP_IDS
    team, ops = GROUP_IDS[:2]
    r = create_runner(rs, "ona policies").runner

    def policies():
        items, _ = list_all(rs.list_runner_policies, lambda p: rpb.ListRunnerPoliciesRequest(
            runner_id=r.runner_id, pagination=p), "policies", page_size=1)
        return {p.group_id: p.role for p in items}

    p = rs.create_runner_policy(rpb.CreateRunnerPolicyRequest(
        runner_id=r.runner_id, group_id=team, role=rpb.RUNNER_ROLE_USER)).policy
    assert (p.group_id, p.role) == (team, rpb.RUNNER_ROLE_USER)
    p = rs.create_runner_policy(rpb.CreateRunnerPolicyRequest(
        runner_id=r.runner_id, group_id=ops, role=rpb.RUNNER_ROLE_ADMIN)).policy
    assert (p.group_id, p.role) == (ops, rpb.RUNNER_ROLE_ADMIN)
    assert policies() == {team: rpb.RUNNER_ROLE_USER, ops: rpb.RUNNER_ROLE_ADMIN}

    p = rs.update_runner_policy(rpb.UpdateRunnerPolicyRequest(
        runner_id=r.runner_id, group_id=team, role=rpb.RUNNER_ROLE_ADMIN)).policy
    assert (p.group_id, p.role) == (team, rpb.RUNNER_ROLE_ADMIN)

    expect(Code.ALREADY_EXISTS, rs.create_runner_policy, rpb.CreateRunnerPolicyRequest(
        runner_id=r.runner_id, group_id=ops, role=rpb.RUNNER_ROLE_USER))

    rs.delete_runner_policy(rpb.DeleteRunnerPolicyRequest(runner_id=r.runner_id, group_id=team))
    assert policies() == {ops: rpb.RUNNER_ROLE_ADMIN}, "the duplicate create must not have changed the role"

    err = expect(Code.INVALID_ARGUMENT, rs.create_runner_policy, rpb.CreateRunnerPolicyRequest(
        runner_id=r.runner_id, group_id="team", role=rpb.RUNNER_ROLE_USER))
    assert "groupId" in err.message
    expect(Code.NOT_FOUND, rs.create_runner_policy, rpb.CreateRunnerPolicyRequest(
        runner_id=UNKNOWN_UUID, group_id=team, role=rpb.RUNNER_ROLE_USER))


# --- groups, memberships, role assignments, shares (GroupService) -----------------------------


def test_groups_memberships_role_assignments_and_shares(client, rs, admin_id):
    gs = client.services.group
    org = client.services.identity.get_authenticated_identity(ipb.GetAuthenticatedIdentityRequest()).organization_id
    name = unique("ona group")
    g = gs.create_group(gpb.CreateGroupRequest(organization_id=org, name=name, description="made by the Ona SDK")).group
    assert (g.name, g.description, g.member_count, g.system_managed) == (name, "made by the Ona SDK", 0, False)
    assert gs.get_group(gpb.GetGroupRequest(id=g.id)).group == g
    g = gs.update_group(gpb.UpdateGroupRequest(group_id=g.id, name=name + " renamed", description="renamed")).group
    assert g.name == name + " renamed"
    listed, _ = list_all(gs.list_groups, lambda p: gpb.ListGroupsRequest(pagination=p), "groups")
    assert g.id in [x.id for x in listed]
    expect(Code.FAILED_PRECONDITION, gs.create_group, gpb.CreateGroupRequest(organization_id=org, name=g.name))

    subject = ipb.Subject(id=admin_id, principal=ipb.PRINCIPAL_USER)
    m = gs.create_membership(gpb.CreateMembershipRequest(group_id=g.id, subject=subject)).member
    assert is_uuid(m.id) and m.group_id == g.id and m.subject == subject
    members, _ = list_all(gs.list_memberships, lambda p: gpb.ListMembershipsRequest(group_id=g.id, pagination=p), "members")
    assert [x.id for x in members] == [m.id]
    assert gs.get_membership(gpb.GetMembershipRequest(group_id=g.id, subject=subject)).member == m
    expect(Code.ALREADY_EXISTS, gs.create_membership, gpb.CreateMembershipRequest(group_id=g.id, subject=subject))
    gs.delete_membership(gpb.DeleteMembershipRequest(membership_id=m.id))
    expect(Code.NOT_FOUND, gs.get_membership, gpb.GetMembershipRequest(group_id=g.id, subject=subject))

    r = create_runner(rs, "ona assignments").runner
    a = gs.create_role_assignment(gpb.CreateRoleAssignmentRequest(
        group_id=g.id, resource_type=epb.RESOURCE_TYPE_RUNNER, resource_id=r.runner_id,
        resource_role=gpb.RESOURCE_ROLE_RUNNER_USER)).assignment
    assert (a.group_id, a.resource_id, a.resource_role) == (g.id, r.runner_id, gpb.RESOURCE_ROLE_RUNNER_USER)
    assert not a.HasField("derived_from_org_role")
    policies = rs.list_runner_policies(rpb.ListRunnerPoliciesRequest(runner_id=r.runner_id)).policies
    assert [(p.group_id, p.role) for p in policies] == [(g.id, rpb.RUNNER_ROLE_USER)]
    assignments, _ = list_all(gs.list_role_assignments, lambda p: gpb.ListRoleAssignmentsRequest(
        filter=gpb.ListRoleAssignmentsRequest.Filter(resource_id=r.runner_id), pagination=p), "assignments")
    assert [x.id for x in assignments] == [a.id]
    err = expect(Code.INVALID_ARGUMENT, gs.create_role_assignment, gpb.CreateRoleAssignmentRequest(
        group_id=g.id, resource_type=epb.RESOURCE_TYPE_ENVIRONMENT, resource_id=r.runner_id,
        resource_role=gpb.RESOURCE_ROLE_ENVIRONMENT_USER))
    assert "resourceType" in err.message
    gs.delete_role_assignment(gpb.DeleteRoleAssignmentRequest(assignment_id=a.id))
    assert list(rs.list_runner_policies(rpb.ListRunnerPoliciesRequest(runner_id=r.runner_id)).policies) == []

    share = dict(resource_type=epb.RESOURCE_TYPE_RUNNER, resource_id=r.runner_id, principal=ipb.PRINCIPAL_USER,
                 principal_id=admin_id)
    gs.share_resource_with_principal(gpb.ShareResourceWithPrincipalRequest(**share, role=gpb.RESOURCE_ROLE_RUNNER_USER))
    direct = gs.list_groups(gpb.ListGroupsRequest(filter=gpb.ListGroupsRequest.Filter(direct_share=True))).groups
    assert len(direct) == 1 and direct[0].direct_share
    policies = rs.list_runner_policies(rpb.ListRunnerPoliciesRequest(runner_id=r.runner_id)).policies
    assert [(p.group_id, p.role) for p in policies] == [(direct[0].id, rpb.RUNNER_ROLE_USER)]
    gs.unshare_resource_with_principal(gpb.UnshareResourceWithPrincipalRequest(**share))
    assert list(gs.list_groups(gpb.ListGroupsRequest(filter=gpb.ListGroupsRequest.Filter(direct_share=True))).groups) == []
    expect(Code.NOT_FOUND, gs.unshare_resource_with_principal, gpb.UnshareResourceWithPrincipalRequest(**share))

    gs.delete_group(gpb.DeleteGroupRequest(group_id=g.id))
    expect(Code.NOT_FOUND, gs.get_group, gpb.GetGroupRequest(id=g.id))


# --- empty lists -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bare_runner(rs):
    return create_runner(rs, "ona bare").runner


EMPTY_LISTS = {
    "runners": lambda rs, cs, r: rs.list_runners(rpb.ListRunnersRequest(
        filter=rpb.ListRunnersRequest.Filter(creator_ids=[UNKNOWN_UUID]))).runners,
    "policies": lambda rs, cs, r: rs.list_runner_policies(rpb.ListRunnerPoliciesRequest(runner_id=r)).policies,
    "environment_classes": lambda rs, cs, r: cs.list_environment_classes(cpb.ListEnvironmentClassesRequest(
        filter=cpb.ListEnvironmentClassesRequest.Filter(runner_ids=[r]))).environment_classes,
    "integrations": lambda rs, cs, r: cs.list_scm_integrations(cpb.ListSCMIntegrationsRequest(
        filter=cpb.ListSCMIntegrationsRequest.Filter(runner_ids=[r]))).integrations,
    "tokens": lambda rs, cs, r: cs.list_host_authentication_tokens(cpb.ListHostAuthenticationTokensRequest(
        filter=cpb.ListHostAuthenticationTokensRequest.Filter(runner_id=r))).tokens,
}


@pytest.mark.parametrize("key", list(EMPTY_LISTS))
def test_empty_list(rs, cs, bare_runner, key):
    assert list(EMPTY_LISTS[key](rs, cs, bare_runner.runner_id)) == []


# --- Connect GET -----------------------------------------------------------------------------


def outcome(call, request, **kw):
    """The answer, or the error code and message."""
    try:
        return call(request, **kw)
    except ConnectError as e:
        return (e.code, e.message)


def test_every_side_effect_free_method_over_get(rs, cs, runner, scm_runner, github, admin_id, schema):
    """Each of the twelve NO_SIDE_EFFECTS methods answers `use_get=True` as it answers POST."""
    cls = cs.create_environment_class(cpb.CreateEnvironmentClassRequest(
        runner_id=runner.runner_id, display_name=unique("get class"), description="over GET",
        configuration=config_from_defaults(schema.environment_classes)))
    calls = [
        (rs.get_runner, rpb.GetRunnerRequest(runner_id=runner.runner_id)),
        (rs.list_runners, rpb.ListRunnersRequest(pagination=pag.PaginationRequest(page_size=3))),
        (rs.list_runner_policies, rpb.ListRunnerPoliciesRequest(runner_id=runner.runner_id)),
        (cs.get_runner_configuration_schema, cpb.GetRunnerConfigurationSchemaRequest(runner_id=runner.runner_id)),
        (cs.get_environment_class, cpb.GetEnvironmentClassRequest(environment_class_id=cls.id)),
        (cs.list_environment_classes, cpb.ListEnvironmentClassesRequest(
            filter=cpb.ListEnvironmentClassesRequest.Filter(runner_ids=[runner.runner_id]))),
        (cs.get_scm_integration, cpb.GetSCMIntegrationRequest(id=github)),
        (cs.list_scm_integrations, cpb.ListSCMIntegrationsRequest(
            filter=cpb.ListSCMIntegrationsRequest.Filter(runner_ids=[scm_runner.runner_id]))),
        (cs.get_host_authentication_token, cpb.GetHostAuthenticationTokenRequest(id=UNKNOWN_UUID)),
        (cs.list_host_authentication_tokens, cpb.ListHostAuthenticationTokensRequest(
            filter=cpb.ListHostAuthenticationTokensRequest.Filter(runner_id=scm_runner.runner_id, user_id=admin_id))),
        (cs.get_llm_integration, cpb.GetLLMIntegrationRequest(id=UNKNOWN_UUID)),
        (cs.list_llm_integrations, cpb.ListLLMIntegrationsRequest(
            filter=cpb.ListLLMIntegrationsRequest.Filter(runner_ids=[runner.runner_id]))),
        # Errors come back the same way too.
        (rs.get_runner, rpb.GetRunnerRequest(runner_id="not-a-uuid")),
    ]
    for call, request in calls:
        over_get = outcome(call, request, use_get=True)
        assert over_get == outcome(call, request), f"{call.__name__}: {over_get}"
        assert not isinstance(over_get, tuple) or over_get[0] in (Code.NOT_FOUND, Code.INVALID_ARGUMENT), over_get
    assert {name for name in SENT_AS_GET} >= {
        "GetRunner", "ListRunners", "ListRunnerPolicies", "GetRunnerConfigurationSchema", "GetEnvironmentClass",
        "ListEnvironmentClasses", "GetSCMIntegration", "ListSCMIntegrations", "GetHostAuthenticationToken",
        "ListHostAuthenticationTokens", "GetLLMIntegration", "ListLLMIntegrations"}


def test_get_goes_on_the_wire(rs):
    """`use_get` really sends GET: a method without NO_SIDE_EFFECTS is refused with 405."""
    method = MethodInfo(name="CreateRunner", service_name="gitpod.v1.RunnerService", input=rpb.CreateRunnerRequest,
                        output=rpb.CreateRunnerResponse, idempotency_level=IdempotencyLevel.NO_SIDE_EFFECTS)
    with pytest.raises(ConnectError) as e:
        rs.execute_unary(request=rpb.CreateRunnerRequest(name=unique("never")), method=method, use_get=True)
    assert e.value.code == Code.UNKNOWN and "Method Not Allowed" in e.value.message, e.value


# --- service accounts (ServiceAccountService) ----------------------------------------------------

from google.protobuf import duration_pb2  # noqa: E402

from gitpod.v1 import identity_pb2 as ipb  # noqa: E402
from gitpod.v1 import service_account_pb2 as sapb  # noqa: E402


@pytest.fixture(scope="module")
def sas(client):
    return client.services.service_account


def test_service_accounts_and_their_tokens(sas):
    """Every ServiceAccountService method: accounts (create, get, list with a search and pages,
    update, delete), an admin's short-lived token for one, and the account's own tokens (create
    with a required expiry, list, get, delete), each token authenticating as the account."""
    prefix = unique("ona bot")
    until = ts(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30))
    made = [
        sas.create_service_account(sapb.CreateServiceAccountRequest(
            name=f"{prefix} {i}", description=f"builds {i}", valid_until=until)).service_account
        for i in range(3)
    ]
    bot = made[0]
    assert is_uuid(bot.id) and bot.name == f"{prefix} 0" and bot.description == "builds 0"
    assert bot.valid_until.seconds == until.seconds and not bot.suspended
    assert sas.get_service_account(sapb.GetServiceAccountRequest(service_account_id=bot.id)).service_account == bot
    listed, pages = list_all(
        sas.list_service_accounts,
        lambda p: sapb.ListServiceAccountsRequest(pagination=p, filter=sapb.ListServiceAccountsRequest.Filter(search=prefix)),
        "service_accounts")
    assert [a.id for a in listed] == [a.id for a in made] and len(pages) == 2
    updated = sas.update_service_account(sapb.UpdateServiceAccountRequest(
        service_account_id=bot.id, description="builds and deploys")).service_account
    assert (updated.name, updated.description) == (bot.name, "builds and deploys")
    expect(Code.INVALID_ARGUMENT, sas.create_service_account, sapb.CreateServiceAccountRequest(name=unique("no end")))

    short = sas.create_service_account_access_token(
        sapb.CreateServiceAccountAccessTokenRequest(service_account_id=bot.id)).token
    issued("service account access token", short)
    as_bot = make_client(short).services
    me = as_bot.identity.get_authenticated_identity(ipb.GetAuthenticatedIdentityRequest())
    assert (me.subject.id, me.subject.principal) == (bot.id, ipb.PRINCIPAL_SERVICE_ACCOUNT)
    created = as_bot.service_account.create_service_account_token(sapb.CreateServiceAccountTokenRequest(
        description="ona deploys", valid_for=duration_pb2.Duration(seconds=7 * 86400)))
    issued("service account token", created.token)
    meta = created.service_account_token
    assert (meta.service_account_id, meta.description) == (bot.id, "ona deploys")
    assert meta.expires_at.seconds - meta.created_at.seconds == 7 * 86400
    expect(Code.INVALID_ARGUMENT, as_bot.service_account.create_service_account_token,
           sapb.CreateServiceAccountTokenRequest(description="no expiry"))
    own = as_bot.service_account.list_service_account_tokens(sapb.ListServiceAccountTokensRequest()).tokens
    assert len(own) == 2 and meta in own
    got = sas.get_service_account_token(sapb.GetServiceAccountTokenRequest(service_account_token_id=meta.id)).token
    assert got == meta
    assert make_client(created.token).services.identity.get_authenticated_identity(
        ipb.GetAuthenticatedIdentityRequest()).subject.id == bot.id
    sas.delete_service_account_token(sapb.DeleteServiceAccountTokenRequest(service_account_token_id=meta.id))
    expect(Code.NOT_FOUND, sas.get_service_account_token, sapb.GetServiceAccountTokenRequest(service_account_token_id=meta.id))
    expect(Code.UNAUTHENTICATED, make_client(created.token).services.identity.get_authenticated_identity,
           ipb.GetAuthenticatedIdentityRequest())

    for a in made:
        sas.delete_service_account(sapb.DeleteServiceAccountRequest(service_account_id=a.id))
    expect(Code.NOT_FOUND, sas.get_service_account, sapb.GetServiceAccountRequest(service_account_id=bot.id))
    expect(Code.UNAUTHENTICATED, as_bot.identity.get_authenticated_identity, ipb.GetAuthenticatedIdentityRequest())


# --- users and organizations -------------------------------------------------------------------

from gitpod.v1 import count_pb2  # noqa: E402
from sdkenv import SDK  # noqa: E402


@pytest.fixture(scope="module")
def us(client):
    return client.services.user


def create_pat(us, user_id: str, description: str, days: int = 1) -> str:
    token = us.create_personal_access_token(upb.CreatePersonalAccessTokenRequest(
        user_id=user_id, description=description, valid_for=duration_pb2.Duration(seconds=days * 86400))).token
    issued(f"personal access token {description}", token)
    return token


def test_users_and_personal_access_tokens(us):
    me = us.get_authenticated_user(upb.GetAuthenticatedUserRequest()).user
    assert (me.name, me.status) == ("admin", upb.USER_STATUS_ACTIVE)
    assert us.get_user(upb.GetUserRequest(user_id=me.id)).user == me
    assert us.get_user(upb.GetUserRequest(user_id=MEMBER_ONE)).user.name == f"{SDK} member one"
    expect(Code.NOT_FOUND, us.get_user, upb.GetUserRequest(user_id=UNKNOWN_UUID))

    value = create_pat(us, me.id, "ona pats")
    assert value.startswith("gpat_")
    other = make_client(value).services.user
    assert other.get_authenticated_user(upb.GetAuthenticatedUserRequest()).user.id == me.id
    items, pages = list_all(us.list_personal_access_tokens, lambda p: upb.ListPersonalAccessTokensRequest(
        pagination=p), "personal_access_tokens", page_size=1)
    assert len(pages) >= 2
    pat = next(p for p in items if p.description == "ona pats")
    assert (pat.user_id, pat.creator.id) == (me.id, me.id)
    assert pat.HasField("expires_at") and pat.HasField("last_used")
    assert us.get_personal_access_token(upb.GetPersonalAccessTokenRequest(personal_access_token_id=pat.id)).pat == pat
    # Expiry required, at most 90 days.
    expect(Code.INVALID_ARGUMENT, us.create_personal_access_token, upb.CreatePersonalAccessTokenRequest(
        user_id=me.id, description="no expiry"))
    expect(Code.INVALID_ARGUMENT, us.create_personal_access_token, upb.CreatePersonalAccessTokenRequest(
        user_id=me.id, description="too long", valid_for=duration_pb2.Duration(seconds=91 * 86400)))
    us.delete_personal_access_token(upb.DeletePersonalAccessTokenRequest(personal_access_token_id=pat.id))
    expect(Code.UNAUTHENTICATED, other.get_authenticated_user, upb.GetAuthenticatedUserRequest())
    expect(Code.NOT_FOUND, us.get_personal_access_token,
           upb.GetPersonalAccessTokenRequest(personal_access_token_id=pat.id))


def test_members_roles_suspension_and_removal(client, us):
    orgs = client.services.organization
    org = us.get_authenticated_user(upb.GetAuthenticatedUserRequest()).user.organization_id
    members, pages = list_all(orgs.list_members, lambda p: opb.ListMembersRequest(
        organization_id=org, pagination=p), "members", page_size=1)
    names = [m.full_name for m in members]
    assert f"{SDK} member one" in names and len(pages) == len(names), names
    found = orgs.list_members(opb.ListMembersRequest(
        organization_id=org,
        filter=opb.ListMembersRequest.Filter(search=f"{SDK} member"),
        sort=opb.ListMembersRequest.Sort(field=opb.ListMembersRequest.SORT_FIELD_NAME, order=pag.SORT_ORDER_ASC),
        count=count_pb2.CountRequest(include=True)))
    assert [m.full_name for m in found.members] == [f"{SDK} member one", f"{SDK} member two"]
    assert found.count.value == 2

    orgs.set_role(opb.SetRoleRequest(organization_id=org, user_id=MEMBER_ONE, role=opb.ORGANIZATION_ROLE_ADMIN))
    one = orgs.list_members(opb.ListMembersRequest(
        organization_id=org, filter=opb.ListMembersRequest.Filter(user_ids=[MEMBER_ONE]))).members[0]
    assert one.role == opb.ORGANIZATION_ROLE_ADMIN
    orgs.set_role(opb.SetRoleRequest(organization_id=org, user_id=MEMBER_ONE, role=opb.ORGANIZATION_ROLE_MEMBER))
    us.set_suspended(upb.SetSuspendedRequest(user_id=MEMBER_ONE, suspended=True))
    assert us.get_user(upb.GetUserRequest(user_id=MEMBER_ONE)).user.status == upb.USER_STATUS_SUSPENDED
    us.set_suspended(upb.SetSuspendedRequest(user_id=MEMBER_ONE, suspended=False))
    me = us.get_authenticated_user(upb.GetAuthenticatedUserRequest()).user
    err = expect(Code.FAILED_PRECONDITION, orgs.set_role, opb.SetRoleRequest(
        organization_id=org, user_id=me.id, role=opb.ORGANIZATION_ROLE_MEMBER))
    assert "last organization admin" in err.message
    us.delete_user(upb.DeleteUserRequest(user_id=MEMBER_ONE))
    expect(Code.NOT_FOUND, us.get_user, upb.GetUserRequest(user_id=MEMBER_ONE))
    member = make_client(MEMBER_TWO_TOKEN).services
    member.organization.leave_organization(opb.LeaveOrganizationRequest(user_id=MEMBER_TWO))
    expect(Code.UNAUTHENTICATED, member.user.get_authenticated_user, upb.GetAuthenticatedUserRequest())


def test_organization_lifecycle(client, us):
    orgs = client.services.organization
    me = us.get_authenticated_user(upb.GetAuthenticatedUserRequest()).user
    org = orgs.get_organization(opb.GetOrganizationRequest(organization_id=me.organization_id)).organization
    assert org.tier == opb.ORGANIZATION_TIER_ENTERPRISE
    new_name = unique("ona renamed")
    assert orgs.update_organization(opb.UpdateOrganizationRequest(
        organization_id=org.id, name=new_name)).organization.name == new_name
    orgs.update_organization(opb.UpdateOrganizationRequest(organization_id=org.id, name=org.name))

    created = orgs.create_organization(opb.CreateOrganizationRequest(name=unique("ona org"), join_organization=True))
    assert created.member.role == opb.ORGANIZATION_ROLE_ADMIN
    founder = make_client(create_pat(us, created.member.user_id, "ona founder")).services
    got = founder.organization.get_organization(opb.GetOrganizationRequest(organization_id=created.organization.id))
    assert got.organization == created.organization
    expect(Code.NOT_FOUND, founder.organization.get_organization, opb.GetOrganizationRequest(organization_id=org.id))
    expect(Code.NOT_FOUND, orgs.get_organization, opb.GetOrganizationRequest(organization_id=created.organization.id))
    expect(Code.INVALID_ARGUMENT, orgs.create_organization,
           opb.CreateOrganizationRequest(name=unique("lonely"), join_organization=False))
    founder.organization.delete_organization(opb.DeleteOrganizationRequest(organization_id=created.organization.id))
    expect(Code.UNAUTHENTICATED, founder.user.get_authenticated_user, upb.GetAuthenticatedUserRequest())


def test_id_token_and_exchange_token(client, rs):
    """IdentityService.GetIDToken (two audiences: a list in `aud`) and ExchangeToken (once)."""
    identity = client.services.identity
    me = identity.get_authenticated_identity(ipb.GetAuthenticatedIdentityRequest())
    token = identity.get_id_token(ipb.GetIDTokenRequest(audience=["https://a.example", "https://b.example"])).token
    issued("ID token", token)
    claims = jwt_claims(token)
    assert claims["sub"] == me.subject.id
    assert claims["aud"] == ["https://a.example", "https://b.example"]
    assert claims["organization_id"] == me.organization_id
    expect(Code.INVALID_ARGUMENT, identity.get_id_token, ipb.GetIDTokenRequest())

    exchange = create_runner(rs, "ona exchange").exchange_token
    access = identity.exchange_token(ipb.ExchangeTokenRequest(exchange_token=exchange)).access_token
    issued("runner access token", access)
    assert access.startswith("gpr_")
    expect(Code.UNAUTHENTICATED, identity.exchange_token, ipb.ExchangeTokenRequest(exchange_token=exchange))


from gitpod.v1 import account_pb2 as apb  # noqa: E402


def test_invites_accounts_and_login_providers(client):
    """OrganizationService's invites and JoinOrganization, AccountService's GetAccount,
    ListJoinableOrganizations and ListLoginProviders, through the generated clients."""
    orgs, accounts = client.services.organization, client.services.account
    me = client.services.user.get_authenticated_user(upb.GetAuthenticatedUserRequest()).user
    org = me.organization_id
    first = orgs.get_organization_invite(opb.GetOrganizationInviteRequest(organization_id=org)).invite.invite_id
    assert is_uuid(first)
    again = orgs.get_organization_invite(opb.GetOrganizationInviteRequest(organization_id=org)).invite.invite_id
    assert again == first
    current = orgs.create_organization_invite(opb.CreateOrganizationInviteRequest(organization_id=org)).invite.invite_id
    assert current != first
    summary = orgs.get_organization_invite_summary(opb.GetOrganizationInviteSummaryRequest(invite_id=current))
    assert summary.organization_id == org and summary.organization_member_count >= 1
    expect(Code.NOT_FOUND, orgs.get_organization_invite_summary, opb.GetOrganizationInviteSummaryRequest(invite_id=first))
    providers = accounts.list_login_providers(apb.ListLoginProvidersRequest(
        filter=apb.ListLoginProvidersRequest.Filter(invite_id=current)))
    assert list(providers.login_providers) == [] and providers.allow_custom

    account = accounts.get_account(apb.GetAccountRequest()).account
    assert (account.id, account.name, account.email, account.organization_id) == (me.id, me.name, "", org)
    assert [(m.organization_id, m.user_id, m.user_role) for m in account.memberships] == [
        (org, me.id, opb.ORGANIZATION_ROLE_ADMIN)]
    assert list(accounts.list_joinable_organizations(apb.ListJoinableOrganizationsRequest()).joinable_organizations) == []
    expect(Code.ALREADY_EXISTS, orgs.join_organization, opb.JoinOrganizationRequest(invite_id=current))
    expect(Code.PERMISSION_DENIED, orgs.join_organization, opb.JoinOrganizationRequest(organization_id=UNKNOWN_UUID))
