"""The Stainless SDK, `gitpod-sdk==0.11.0` (`import gitpod`: Connect JSON over POST), against a live
runner-server. Run by tests/sdk/run.sh in the venv .tools/sdk-0.11; see sdkenv.py for the
environment it needs.

Every client is in strict mode (`_strict_response_validation=True`, what the SDK's own tests use)
except `loose`, the SDK default, used only to show the one strict-mode difference. Every response
body is appended to responses-stainless.log by an httpx event hook, for the secrets scan.
"""

import asyncio
import datetime as dt
import uuid

import httpx
import pytest

import gitpod
from gitpod import AsyncGitpod, DefaultAsyncHttpxClient, DefaultHttpxClient, Gitpod
from gitpod.lib.runner import set_scm_pat

from sdkenv import BASE_URL, GROUP_IDS, TOKEN, UNKNOWN_UUID, issued, record, secret, unique
from sdkenv import FAKE_GITHUB, jwt_claims, MEMBER_ONE, MEMBER_TWO, MEMBER_TWO_TOKEN

AWS = "RUNNER_PROVIDER_AWS_EC2"
GCP = "RUNNER_PROVIDER_GCP"
PAT = "HOST_AUTHENTICATION_TOKEN_SOURCE_PAT"

# (method, URL, status) of every response any client here received, in order.
SEEN: list[tuple[str, str, int]] = []


def _record(response: httpx.Response) -> None:
    response.read()
    SEEN.append((response.request.method, str(response.request.url), response.status_code))
    record(f"{response.status_code} {response.request.method} {response.request.url}", response.content)


async def _record_async(response: httpx.Response) -> None:
    await response.aread()
    SEEN.append((response.request.method, str(response.request.url), response.status_code))
    record(f"{response.status_code} {response.request.method} {response.request.url}", response.content)


def make_client(*, strict: bool = True, max_retries: int = 2, token: str = TOKEN) -> Gitpod:
    return Gitpod(
        bearer_token=token,
        base_url=BASE_URL,
        max_retries=max_retries,
        timeout=30,
        _strict_response_validation=strict,
        http_client=DefaultHttpxClient(event_hooks={"response": [_record]}),
    )


@pytest.fixture(scope="module")
def client() -> Gitpod:
    return make_client()


@pytest.fixture(scope="module")
def no_retry() -> Gitpod:
    """For 409 assertions: Stainless retries 409 twice by default."""
    return make_client(max_retries=0)


@pytest.fixture(scope="module")
def loose() -> Gitpod:
    return make_client(strict=False)


def create_runner(client: Gitpod, name: str, provider: str = AWS, region: str = "eu-central-1"):
    created = client.runners.create(
        name=unique(name),
        provider=provider,
        spec={"configuration": {"region": region, "auto_update": True, "release_channel": "RUNNER_RELEASE_CHANNEL_STABLE"}},
    )
    issued("exchange token", created.exchange_token or "")
    return created


@pytest.fixture(scope="module")
def runner(client: Gitpod):
    return create_runner(client, "stainless main").runner


@pytest.fixture(scope="module")
def admin_id(runner) -> str:
    assert runner.creator is not None and runner.creator.id, runner
    return runner.creator.id


def is_uuid(s) -> bool:
    try:
        return str(uuid.UUID(s)) == s
    except (TypeError, ValueError):
        return False


# --- runners ---------------------------------------------------------------------------------


def test_create_runner(client: Gitpod):
    name = unique("Stainless AWS runner")
    created = client.runners.create(
        name=name,
        provider=AWS,
        spec={
            "configuration": {
                "region": "eu-central-1",
                "release_channel": "RUNNER_RELEASE_CHANNEL_STABLE",
                "auto_update": True,
                "log_level": "LOG_LEVEL_INFO",
            }
        },
    )
    issued("exchange token", created.exchange_token or "")
    r = created.runner
    assert is_uuid(r.runner_id), r.runner_id
    assert r.name == name
    assert r.provider == AWS
    assert r.kind == "RUNNER_KIND_REMOTE"
    assert r.spec.configuration.region == "eu-central-1"
    assert r.spec.configuration.release_channel == "RUNNER_RELEASE_CHANNEL_STABLE"
    assert r.spec.configuration.auto_update is True
    assert r.spec.configuration.log_level == "LOG_LEVEL_INFO"
    assert r.spec.desired_phase == "RUNNER_PHASE_ACTIVE"
    assert r.creator is not None and is_uuid(r.creator.id)
    assert r.created_at is not None and r.created_at.tzinfo is not None
    assert abs((dt.datetime.now(dt.timezone.utc) - r.created_at).total_seconds()) < 300
    assert created.exchange_token, "CreateRunner must return an exchange token"


def test_events_watch_streams_runner_writes(client: Gitpod):
    # Its own client: the recording hook reads whole bodies, and a watch stream does not end.
    watcher = Gitpod(bearer_token=TOKEN, base_url=BASE_URL, max_retries=0, timeout=30, _strict_response_validation=True)
    stream = watcher.events.watch(organization=True)
    try:
        assert stream.http_response.headers["content-type"] == "application/jsonl"
        created = client.runners.create(name=unique("Stainless watched"), provider=GCP)
        issued("exchange token", created.exchange_token or "")
        runner_id = created.runner.runner_id
        client.runners.update(runner_id=runner_id, name=unique("Stainless watched again"))
        events = iter(stream)
        first, second = next(events), next(events)
    finally:
        stream.close()
    assert (first.operation, first.resource_type, first.resource_id) == (
        "RESOURCE_OPERATION_CREATE",
        "RESOURCE_TYPE_RUNNER",
        runner_id,
    )
    assert (second.operation, second.resource_type, second.resource_id) == (
        "RESOURCE_OPERATION_UPDATE",
        "RESOURCE_TYPE_RUNNER",
        runner_id,
    )
    # Refused before any event: an ordinary error answer (400 failed_precondition).
    with pytest.raises(gitpod.BadRequestError):
        watcher.events.watch(environment_id=UNKNOWN_UUID)


def test_events_list_audit_logs(client: Gitpod):
    # `client.events.list()`: the audit log, paged with the token as query parameter.
    created = client.runners.create(name=unique("Stainless audited"), provider=GCP)
    issued("exchange token", created.exchange_token or "")
    runner_id = created.runner.runner_id
    client.runners.update(runner_id=runner_id, name=unique("Stainless audited again"))
    entries = list(client.events.list(filter={"subject_ids": [runner_id]}, pagination={"page_size": 1}))
    assert [e.action for e in entries] == [
        "gitpod.v1.RunnerService/UpdateRunner",
        "gitpod.v1.RunnerService/CreateRunner",
    ], "newest first, over two pages"
    for e in entries:
        assert (e.subject_id, e.subject_type) == (runner_id, "RESOURCE_TYPE_RUNNER")
        assert e.actor_principal == "PRINCIPAL_USER" and is_uuid(e.actor_id or "")
        assert e.created_at is not None and e.created_at.tzinfo is not None
    oldest = client.events.list(
        filter={"subject_ids": [runner_id], "subject_types": ["RESOURCE_TYPE_RUNNER"]},
        sort={"field": "createdAt", "order": "SORT_ORDER_ASC"},
    )
    assert [e.action for e in oldest] == [e.action for e in reversed(entries)]
    # A member without the audit log reader role may not read it.
    member = make_client(token=MEMBER_TWO_TOKEN, max_retries=0)
    with pytest.raises(gitpod.PermissionDeniedError):
        member.events.list()


def test_retrieve_runner(client: Gitpod, runner):
    got = client.runners.retrieve(runner_id=runner.runner_id).runner
    assert got.runner_id == runner.runner_id
    assert got.name == runner.name
    assert got.provider == AWS
    assert got.spec.configuration.region == "eu-central-1"
    assert got.created_at == runner.created_at
    assert got.status is not None and got.status.phase == "RUNNER_PHASE_CREATED"


def test_list_runners_across_pages(client: Gitpod):
    ours = [create_runner(client, f"stainless page {i}").runner.runner_id for i in range(5)]
    ours.append(create_runner(client, "stainless gcp", provider=GCP, region="europe-west3").runner.runner_id)

    # Page by page.
    pages = list(client.runners.list(page_size=2).iter_pages())
    assert len(pages) >= 3, f"6+ runners at page size 2 gave {len(pages)} page(s)"
    for p in pages:
        assert 1 <= len(p.runners) <= 2, [r.runner_id for r in p.runners]
    for p in pages[:-1]:
        assert p.pagination and p.pagination.next_token
    assert not (pages[-1].pagination and pages[-1].pagination.next_token)
    paged = [r.runner_id for p in pages for r in p.runners]

    # Auto-paging: the SDK re-sends the request with ?token= for the next page.
    before = len(SEEN)
    auto = [r.runner_id for r in client.runners.list(page_size=2)]
    calls = [url for (_, url, _) in SEEN[before:] if url.split("?")[0].endswith("/ListRunners")]
    assert len(calls) == len(pages)
    assert all("pageSize=2" in u for u in calls)
    assert all("token=" in u for u in calls[1:])

    assert auto == paged
    assert len(set(auto)) == len(auto), "a runner appeared twice across pages"
    assert set(ours) <= set(auto)
    # Ids are UUIDv7 and the list is in id order, so ours appear in creation order.
    assert [i for i in auto if i in ours] == ours
    one_page = client.runners.list(page_size=100)
    assert [r.runner_id for r in one_page.runners] == auto

    gcp = [r for r in client.runners.list(page_size=2, filter={"providers": [GCP]})]
    assert ours[-1] in [r.runner_id for r in gcp]
    assert all(r.provider == GCP for r in gcp)


def test_update_runner(client: Gitpod):
    r = create_runner(client, "stainless update").runner
    new_name = unique("Stainless renamed")
    result = client.runners.update(
        runner_id=r.runner_id,
        name=new_name,
        spec={
            "configuration": {
                "release_channel": "RUNNER_RELEASE_CHANNEL_LATEST",
                "auto_update": False,
                "log_level": "LOG_LEVEL_DEBUG",
                "update_window": {"start_hour": 22},
            }
        },
    )
    assert result == {}
    got = client.runners.retrieve(runner_id=r.runner_id).runner
    assert got.name == new_name
    c = got.spec.configuration
    assert c.release_channel == "RUNNER_RELEASE_CHANNEL_LATEST"
    assert not c.auto_update
    assert c.log_level == "LOG_LEVEL_DEBUG"
    assert c.region == "eu-central-1", "a partial update must keep the region"
    assert c.update_window is not None and c.update_window.start_hour == 22
    assert c.update_window.end_hour == 0, "endHour defaults to startHour + 2 (mod 24)"
    assert got.updated_at >= r.updated_at


def test_delete_runner_then_not_found(client: Gitpod):
    r = create_runner(client, "stainless delete").runner
    assert client.runners.delete(runner_id=r.runner_id) == {}
    with pytest.raises(gitpod.NotFoundError) as e:
        client.runners.retrieve(runner_id=r.runner_id)
    assert e.value.status_code == 404
    assert e.value.code == "not_found"
    assert r.runner_id not in [x.runner_id for x in client.runners.list(page_size=100)]
    with pytest.raises(gitpod.NotFoundError):
        client.runners.delete(runner_id=r.runner_id)


def test_unknown_runner_not_found(client: Gitpod):
    with pytest.raises(gitpod.NotFoundError) as e:
        client.runners.retrieve(runner_id=UNKNOWN_UUID)
    assert e.value.code == "not_found"


def test_malformed_runner_id(client: Gitpod):
    with pytest.raises(gitpod.BadRequestError) as e:
        client.runners.retrieve(runner_id="not-a-uuid")
    assert e.value.status_code == 400
    assert e.value.code == "invalid_argument"
    assert "runnerId" in e.value.body["message"]


def test_wrong_token_unauthenticated():
    bad = make_client(token=secret("wrong bearer token", "gpat_"), max_retries=0)
    with pytest.raises(gitpod.AuthenticationError) as e:
        bad.runners.list()
    assert e.value.status_code == 401
    assert e.value.code == "unauthenticated"


# --- environment classes ---------------------------------------------------------------------


def config_from_defaults(fields) -> list[dict]:
    """One {key, value} per non-display field that has a default, from the schema alone."""
    out = []
    for f in fields:
        if f.display is not None:
            continue
        if f.enum is not None:
            value = (f.enum.default_value.title if f.enum.default_value else None) or f.enum.default
        elif f.int is not None:
            value = None if f.int.default is None else str(f.int.default)
        elif f.bool is not None:
            value = "true" if f.bool.default else "false"
        elif f.string is not None:
            value = f.string.default
        else:
            value = None
        if value:
            out.append({"key": f.id, "value": value})
    return out


@pytest.fixture(scope="module")
def schema(client: Gitpod, runner):
    got = client.runners.configurations.schema.retrieve(runner_id=runner.runner_id).schema_  # `schema` is pydantic's
    assert got is not None
    return got


def test_configuration_schema(schema, runner):
    assert schema.version
    ids = [f.id for f in schema.environment_classes]
    assert "instanceType" in ids, ids
    scm = {s.scm_id: s for s in schema.scm}
    assert "github" in scm
    assert scm["github"].default_hosts == ["github.com"]
    assert scm["github"].pat is not None and scm["github"].pat.docs_link
    assert scm["github"].oauth is not None and runner.runner_id in scm["github"].oauth.callback_url


def test_environment_class_lifecycle(client: Gitpod, runner, schema):
    ecs = client.runners.configurations.environment_classes
    config = config_from_defaults(schema.environment_classes)
    assert {"key": "instanceType", "value": "m6i.xlarge"} in config, config

    check = client.runners.configurations.validate(
        runner_id=runner.runner_id,
        environment_class={"display_name": "Default", "description": "From schema defaults", "configuration": config},
    )
    assert check.environment_class is not None and check.environment_class.valid, check

    name = unique("Default")
    ec_id = ecs.create(
        runner_id=runner.runner_id, display_name=name, description="Built from the schema's defaults",
        configuration=config,
    ).id
    assert is_uuid(ec_id)
    ec = ecs.retrieve(environment_class_id=ec_id).environment_class
    assert ec.id == ec_id and ec.runner_id == runner.runner_id
    assert ec.display_name == name
    assert ec.description == "Built from the schema's defaults"
    assert [(c.key, c.value) for c in ec.configuration] == [(c["key"], c["value"]) for c in config]
    assert ec.enabled is True

    other = ecs.create(
        runner_id=runner.runner_id, display_name=unique("Large"), description="A larger machine",
        configuration=[{"key": "instanceType", "value": "m6i.2xlarge"}],
    ).id

    listed = list(ecs.list(page_size=2, filter={"runner_ids": [runner.runner_id]}))
    assert [c.id for c in listed] == [ec_id, other]

    assert ecs.update(environment_class_id=ec_id, enabled=False, description="No longer offered") == {}
    ec = ecs.retrieve(environment_class_id=ec_id).environment_class
    assert not ec.enabled
    assert ec.description == "No longer offered"
    assert ec.display_name == name

    disabled = list(ecs.list(filter={"runner_ids": [runner.runner_id], "enabled": False}))
    enabled = list(ecs.list(filter={"runner_ids": [runner.runner_id], "enabled": True}))
    assert [c.id for c in disabled] == [ec_id]
    assert [c.id for c in enabled] == [other]


def test_environment_class_invalid_configuration(client: Gitpod, runner):
    bad = [{"key": "instanceType", "value": "m6i.bogus"}]
    with pytest.raises(gitpod.BadRequestError) as e:
        client.runners.configurations.environment_classes.create(
            runner_id=runner.runner_id, display_name="Bogus", description="Invalid type", configuration=bad
        )
    assert e.value.code == "invalid_argument"
    check = client.runners.configurations.validate(
        runner_id=runner.runner_id,
        environment_class={"display_name": "Bogus", "description": "Invalid type", "configuration": bad},
    ).environment_class
    assert not check.valid
    assert [x.key for x in check.configuration_errors] == ["instanceType"]


# --- SCM integrations ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scm_runner(client: Gitpod):
    return create_runner(client, "stainless scm").runner


@pytest.fixture(scope="module")
def github(client: Gitpod, scm_runner) -> str:
    """A PAT-only GitHub integration on github.com."""
    return client.runners.configurations.scm_integrations.create(
        runner_id=scm_runner.runner_id, scm_id="github", host="github.com", pat=True
    ).id


def test_scm_integration_pat_only(client: Gitpod, scm_runner, github):
    assert is_uuid(github)
    scm = client.runners.configurations.scm_integrations
    got = scm.retrieve(id=github).integration
    assert got.id == github
    assert got.runner_id == scm_runner.runner_id
    assert got.scm_id == "github"
    assert got.host == "github.com"
    assert got.pat is True
    assert got.oauth is None or not got.oauth.client_id
    listed = list(scm.list(page_size=2, filter={"runner_ids": [scm_runner.runner_id]}))
    assert [i.id for i in listed] == [github]


def test_scm_oauth_needs_runner_public_key(client: Gitpod, scm_runner, github):
    scm = client.runners.configurations.scm_integrations
    with pytest.raises(gitpod.BadRequestError) as e:
        scm.create(
            runner_id=scm_runner.runner_id, scm_id="gitlab", host="gitlab.com", pat=True,
            oauth_client_id="gitlab-app-id", oauth_plaintext_client_secret=secret("oauth client secret (create)"),
        )
    assert e.value.code == "failed_precondition"
    assert "runner does not have a public key" in e.value.body["message"]
    with pytest.raises(gitpod.BadRequestError) as e:
        scm.update(id=github, oauth_client_id="github-app-id",
                   oauth_plaintext_client_secret=secret("oauth client secret (update)"))
    assert e.value.code == "failed_precondition"
    assert "runner does not have a public key" in e.value.body["message"]
    # Neither failure changed anything.
    got = scm.retrieve(id=github).integration
    assert got.pat is True and (got.oauth is None or not got.oauth.client_id)


def test_scm_duplicate_host_conflict(no_retry: Gitpod, scm_runner, github):
    with pytest.raises(gitpod.ConflictError) as e:
        no_retry.runners.configurations.scm_integrations.create(
            runner_id=scm_runner.runner_id, scm_id="github", host="github.com", pat=True
        )
    assert e.value.status_code == 409
    assert e.value.code == "already_exists"


# --- host authentication tokens --------------------------------------------------------------


def test_host_token_lifecycle(client: Gitpod, no_retry: Gitpod, scm_runner, github, admin_id):
    hat = client.runners.configurations.host_authentication_tokens
    expires = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    created = hat.create(
        runner_id=scm_runner.runner_id, user_id=admin_id, host="github.com",
        token=secret("host token (PAT)", "ghp_"), refresh_token=secret("host refresh token"),
        source=PAT, expires_at=expires, scopes=["repo", "read:user"],
    ).token
    assert is_uuid(created.id)
    assert created.host == "github.com"
    assert created.runner_id == scm_runner.runner_id
    assert created.user_id == admin_id
    assert created.source == PAT
    assert created.scopes == ["repo", "read:user"]
    assert created.expires_at == expires

    got = hat.retrieve(id=created.id).token
    assert got == created

    listed = list(hat.list(page_size=2, filter={"runner_id": scm_runner.runner_id, "user_id": admin_id}))
    assert created.id in [t.id for t in listed]
    assert all(t.runner_id == scm_runner.runner_id for t in listed)

    with pytest.raises(gitpod.ConflictError) as e:
        no_retry.runners.configurations.host_authentication_tokens.create(
            runner_id=scm_runner.runner_id, user_id=admin_id, host="github.com",
            token=secret("host token (duplicate)", "ghp_"), source=PAT,
        )
    assert e.value.code == "already_exists"

    # A naive datetime goes out without an offset; the server reads it as UTC (docs/decisions.md).
    assert hat.update(
        id=created.id, token=secret("host token (rotated)", "ghp_"), scopes=["repo"],
        expires_at=dt.datetime(2031, 6, 7, 8, 9, 10),
    ) == {}
    got = hat.retrieve(id=created.id).token
    assert got.scopes == ["repo"]
    assert got.expires_at == dt.datetime(2031, 6, 7, 8, 9, 10, tzinfo=dt.timezone.utc)

    assert hat.delete(id=created.id) == {}
    with pytest.raises(gitpod.NotFoundError) as e:
        hat.retrieve(id=created.id)
    assert e.value.code == "not_found"


def test_set_scm_pat_flow(client: Gitpod, scm_runner, github, admin_id):
    """The Stainless SDK's SCM example, as written there: get_authenticated_identity for the
    caller's user id, gitpod.lib.runner.set_scm_pat (list the user's tokens on the runner, delete
    those for the host, create a new PAT token), then parse_context_url, which reads the
    repository from the provider (the fake GitHub) with exactly the token just set."""
    hat = client.runners.configurations.host_authentication_tokens
    old = hat.create(
        runner_id=scm_runner.runner_id, user_id=admin_id, host="github.com",
        token=secret("host token (before set_scm_pat)", "ghp_"), source=PAT,
    ).token.id
    new_value = secret("host token (set_scm_pat)", "ghp_")
    seen_before = len(httpx.get(f"{FAKE_GITHUB}/_seen", timeout=10).json())

    async def run():
        async with AsyncGitpod(
            bearer_token=TOKEN, base_url=BASE_URL, max_retries=0, _strict_response_validation=True,
            http_client=DefaultAsyncHttpxClient(event_hooks={"response": [_record_async]}),
        ) as aclient:
            user_id = (await aclient.identity.get_authenticated_identity()).subject.id
            await set_scm_pat(aclient, user_id, scm_runner.runner_id, "github.com", new_value)
            return user_id, await aclient.runners.parse_context_url(
                context_url="https://github.com/acme/app", runner_id=scm_runner.runner_id)

    user_id, parsed = asyncio.run(run())
    assert user_id == admin_id

    tokens = [t for t in hat.list(filter={"runner_id": scm_runner.runner_id, "user_id": admin_id})
              if t.host == "github.com"]
    assert len(tokens) == 1, tokens
    assert tokens[0].id != old
    assert tokens[0].source == PAT

    assert parsed.original_context_url == "https://github.com/acme/app"
    assert parsed.scm_id == "github"
    assert (parsed.git.host, parsed.git.owner, parsed.git.repo) == ("github.com", "acme", "app")
    assert parsed.git.branch == "main"
    assert parsed.git.commit == "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    assert parsed.git.clone_url == "https://github.com/acme/app.git"
    # The provider was asked with the token set_scm_pat stored, not the one it replaced.
    seen = httpx.get(f"{FAKE_GITHUB}/_seen", timeout=10).json()[seen_before:]
    assert seen and all(t == new_value for t in seen), "the fake GitHub saw another token"


def test_runner_policies(client: Gitpod, no_retry: Gitpod):
    assert len(GROUP_IDS) >= 2, GROUP_IDS
    team, ops = GROUP_IDS[:2]
    r = create_runner(client, "stainless policies").runner
    pol = client.runners.policies

    p = pol.create(runner_id=r.runner_id, group_id=team, role="RUNNER_ROLE_USER").policy
    assert p.group_id == team and p.role == "RUNNER_ROLE_USER"
    p = pol.create(runner_id=r.runner_id, group_id=ops, role="RUNNER_ROLE_ADMIN").policy
    assert p.group_id == ops and p.role == "RUNNER_ROLE_ADMIN"

    listed = {x.group_id: x.role for x in pol.list(runner_id=r.runner_id, page_size=1)}
    assert listed == {team: "RUNNER_ROLE_USER", ops: "RUNNER_ROLE_ADMIN"}

    p = pol.update(runner_id=r.runner_id, group_id=team, role="RUNNER_ROLE_ADMIN").policy
    assert p.group_id == team and p.role == "RUNNER_ROLE_ADMIN"

    with pytest.raises(gitpod.ConflictError) as e:
        no_retry.runners.policies.create(runner_id=r.runner_id, group_id=ops, role="RUNNER_ROLE_USER")
    assert e.value.status_code == 409
    assert e.value.code == "already_exists"

    assert pol.delete(runner_id=r.runner_id, group_id=team) == {}
    listed = {x.group_id: x.role for x in pol.list(runner_id=r.runner_id)}
    assert listed == {ops: "RUNNER_ROLE_ADMIN"}, "the duplicate create must not have changed the role"

    with pytest.raises(gitpod.BadRequestError) as e:
        pol.create(runner_id=r.runner_id, group_id="team", role="RUNNER_ROLE_USER")
    assert e.value.code == "invalid_argument"
    assert "groupId" in e.value.body["message"]


# --- groups, memberships, role assignments, shares (GroupService) -----------------------------


def test_groups_memberships_role_assignments_and_shares(client: Gitpod, no_retry: Gitpod, admin_id):
    org = client.identity.get_authenticated_identity().organization_id
    name = unique("stainless group")
    g = client.groups.create(organization_id=org, name=name, description="made by the Stainless SDK").group
    # Proto3 JSON leaves zero values out: the SDK reads them as None.
    assert (g.name, g.description, g.member_count, g.system_managed) == (name, "made by the Stainless SDK", None, None)
    assert is_uuid(g.id) and g.organization_id == org
    assert client.groups.retrieve(id=g.id).group.name == name
    g = client.groups.update(group_id=g.id, name=name + " renamed", description="renamed").group
    assert (g.name, g.description) == (name + " renamed", "renamed")
    assert g.id in [x.id for x in client.groups.list(page_size=2)], "listed, across pages"
    with pytest.raises(gitpod.BadRequestError) as e:
        no_retry.groups.create(organization_id=org, name=name + " renamed")
    assert e.value.code == "failed_precondition", "group names are unique"

    # Memberships: the admin (a user) joins; listed, got, left.
    subject = {"id": admin_id, "principal": "PRINCIPAL_USER"}
    m = client.groups.memberships.create(group_id=g.id, subject=subject).member
    assert is_uuid(m.id) and m.group_id == g.id and m.subject.id == admin_id and m.name
    assert [x.id for x in client.groups.memberships.list(group_id=g.id)] == [m.id]
    assert client.groups.memberships.retrieve(group_id=g.id, subject=subject).member.id == m.id
    with pytest.raises(gitpod.ConflictError) as e:
        no_retry.groups.memberships.create(group_id=g.id, subject=subject)
    assert e.value.code == "already_exists"
    assert client.groups.memberships.delete(membership_id=m.id) == {}
    with pytest.raises(gitpod.NotFoundError):
        client.groups.memberships.retrieve(group_id=g.id, subject=subject)

    # A role assignment on a runner is its runner policy; one on the organization too.
    r = create_runner(client, "stainless assignments").runner
    ra = client.groups.role_assignments
    a = ra.create(group_id=g.id, resource_type="RESOURCE_TYPE_RUNNER", resource_id=r.runner_id,
                  resource_role="RESOURCE_ROLE_RUNNER_USER").assignment
    assert (a.group_id, a.resource_id, a.resource_role) == (g.id, r.runner_id, "RESOURCE_ROLE_RUNNER_USER")
    assert {x.group_id: x.role for x in client.runners.policies.list(runner_id=r.runner_id)} == {g.id: "RUNNER_ROLE_USER"}
    o = ra.create(group_id=g.id, resource_type="RESOURCE_TYPE_ORGANIZATION", resource_id=org,
                  resource_role="RESOURCE_ROLE_ORG_AUDIT_LOG_READER").assignment
    assert [x.id for x in ra.list(filter={"group_id": g.id}, page_size=1)] == [a.id, o.id]
    assert [x.id for x in ra.list(filter={"resource_types": ["RESOURCE_TYPE_ORGANIZATION"], "group_id": g.id})] == [o.id]
    with pytest.raises(gitpod.BadRequestError) as e:
        ra.create(group_id=g.id, resource_type="RESOURCE_TYPE_PROJECT", resource_id=r.runner_id,
                  resource_role="RESOURCE_ROLE_PROJECT_USER")
    assert e.value.code == "invalid_argument" and "resourceType" in e.value.body["message"]
    assert ra.delete(assignment_id=a.id) == {}
    assert list(client.runners.policies.list(runner_id=r.runner_id)) == []

    # Shares: the runner shared with one user, through a direct-share group, and unshared.
    share = {"resource_type": "RESOURCE_TYPE_RUNNER", "resource_id": r.runner_id, "principal": "PRINCIPAL_USER",
             "principal_id": admin_id}
    assert client.groups.shares.create(**share, role="RESOURCE_ROLE_RUNNER_ADMIN") == {}
    direct = list(client.groups.list(filter={"direct_share": True}))
    assert len(direct) == 1 and direct[0].direct_share and direct[0].member_count == 1
    assert direct[0].id not in [x.id for x in client.groups.list()], "hidden from regular listings"
    assert {x.group_id: x.role for x in client.runners.policies.list(runner_id=r.runner_id)} == {
        direct[0].id: "RUNNER_ROLE_ADMIN"}
    assert client.groups.shares.delete(**share) == {}
    assert list(client.groups.list(filter={"direct_share": True})) == []
    with pytest.raises(gitpod.NotFoundError):
        client.groups.shares.delete(**share)

    assert client.groups.delete(group_id=g.id) == {}
    with pytest.raises(gitpod.NotFoundError):
        client.groups.retrieve(id=g.id)
    assert [x.id for x in ra.list(filter={"group_id": g.id})] == [], "its roles went with it"


# --- empty list pages: strict vs. loose ------------------------------------------------------


@pytest.fixture(scope="module")
def bare_runner(client: Gitpod):
    """A runner with no policies, classes, integrations or tokens."""
    return create_runner(client, "stainless bare").runner


EMPTY_LISTS = {
    "runners": lambda c, r: c.runners.list(filter={"creator_ids": [UNKNOWN_UUID]}),
    "policies": lambda c, r: c.runners.policies.list(runner_id=r),
    "environmentClasses": lambda c, r: c.runners.configurations.environment_classes.list(filter={"runner_ids": [r]}),
    "integrations": lambda c, r: c.runners.configurations.scm_integrations.list(filter={"runner_ids": [r]}),
    "tokens": lambda c, r: c.runners.configurations.host_authentication_tokens.list(filter={"runner_id": r}),
}


@pytest.mark.parametrize("key", list(EMPTY_LISTS))
def test_empty_list_page_loose(loose: Gitpod, bare_runner, key):
    page = EMPTY_LISTS[key](loose, bare_runner.runner_id)
    assert page._get_page_items() == []
    assert list(page) == []


@pytest.mark.parametrize("key", list(EMPTY_LISTS))
def test_empty_list_page_strict(client: Gitpod, bare_runner, key):
    """Strict mode needs the items key even on an empty page (shared/spec/clients.md, item 5):
    the server sends e.g. {"runners": [], "pagination": {}}, not proto3's bare {"pagination": {}}."""
    page = EMPTY_LISTS[key](client, bare_runner.runner_id)
    assert page._get_page_items() == []


# --- users and organizations -------------------------------------------------------------------
# The SDK has no CreatePersonalAccessToken: a token is made with a plain Connect call, as any
# client would, and then read, listed and deleted through the SDK. OrganizationMember marks
# `email` required, which this server leaves empty (omitted from JSON): a strict client refuses
# answers carrying members (docs/decisions.md, "Users, accounts and organizations"), so those
# calls go through `loose`, the SDK's default mode, and the strict refusal is checked.


def create_pat(user_id: str, description: str, token: str = TOKEN) -> str:
    answer = httpx.post(
        f"{BASE_URL}/gitpod.v1.UserService/CreatePersonalAccessToken",
        headers={"authorization": f"Bearer {token}"},
        json={"userId": user_id, "description": description, "validFor": "86400s"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    value = answer.json()["token"]
    issued(f"personal access token {description}", value)
    return value


def test_authenticated_user_and_get_user(client: Gitpod, no_retry: Gitpod):
    me = client.users.get_authenticated_user().user
    identity = client.identity.get_authenticated_identity()
    assert me.id == identity.subject.id
    assert me.organization_id == identity.organization_id
    assert (me.name, me.status) == ("admin", "USER_STATUS_ACTIVE")
    assert client.users.get_user(user_id=me.id).user == me
    assert client.users.get_user(user_id=MEMBER_ONE).user.name == "stainless member one"
    with pytest.raises(gitpod.NotFoundError):
        no_retry.users.get_user(user_id=UNKNOWN_UUID)


def test_personal_access_tokens(client: Gitpod, no_retry: Gitpod):
    me = client.users.get_authenticated_user().user
    value = create_pat(me.id, "stainless pats")
    mine = list(client.users.pats.list(page_size=1))
    assert len(mine) >= 2, "the first start's token and this one, over pages of one"
    pat = next(p for p in mine if p.description == "stainless pats")
    assert (pat.user_id, pat.creator.id, pat.read_only) == (me.id, me.id, None)
    assert pat.expires_at is not None
    assert client.users.pats.get(personal_access_token_id=pat.id).pat.id == pat.id
    as_new = make_client(token=value)
    assert as_new.users.get_authenticated_user().user.id == me.id
    client.users.pats.delete(personal_access_token_id=pat.id)
    with pytest.raises(gitpod.AuthenticationError):
        make_client(token=value, max_retries=0).users.get_authenticated_user()
    with pytest.raises(gitpod.NotFoundError):
        no_retry.users.pats.get(personal_access_token_id=pat.id)


def test_members_roles_suspension_and_removal(client: Gitpod, loose: Gitpod, no_retry: Gitpod):
    org = client.users.get_authenticated_user().user.organization_id
    # Paged by one, the SDK following the tokens.
    members = list(loose.organizations.list_members(organization_id=org, page_size=1))
    names = [m.full_name for m in members]
    assert "admin" in names and "stainless member one" in names, names
    assert len(names) == len(set(names))
    assert all(m.login_provider == "token" for m in members)
    with pytest.raises(gitpod.APIResponseValidationError):
        client.organizations.list_members(organization_id=org, page_size=1)
    found = loose.organizations.list_members(
        organization_id=org, filter={"search": "stainless member", "roles": ["ORGANIZATION_ROLE_MEMBER"]},
        sort={"field": "SORT_FIELD_NAME", "order": "SORT_ORDER_DESC"},
    )
    assert [m.full_name for m in found.members] == ["stainless member two", "stainless member one"]

    client.organizations.set_role(organization_id=org, user_id=MEMBER_ONE, role="ORGANIZATION_ROLE_ADMIN")
    one = loose.organizations.list_members(organization_id=org, filter={"user_ids": [MEMBER_ONE]}).members[0]
    assert one.role == "ORGANIZATION_ROLE_ADMIN"
    client.organizations.set_role(organization_id=org, user_id=MEMBER_ONE, role="ORGANIZATION_ROLE_MEMBER")
    client.users.set_suspended(user_id=MEMBER_ONE, suspended=True)
    assert client.users.get_user(user_id=MEMBER_ONE).user.status == "USER_STATUS_SUSPENDED"
    client.users.set_suspended(user_id=MEMBER_ONE, suspended=False)
    # The only admin stays.
    me = client.users.get_authenticated_user().user
    with pytest.raises(gitpod.APIStatusError) as e:
        no_retry.users.set_suspended(user_id=me.id, suspended=True)
    assert (e.value.status_code, e.value.code) == (400, "failed_precondition")
    client.users.delete_user(user_id=MEMBER_ONE)
    with pytest.raises(gitpod.NotFoundError):
        no_retry.users.get_user(user_id=MEMBER_ONE)
    # A member leaves by itself; its token stops.
    member = make_client(token=MEMBER_TWO_TOKEN, max_retries=0)
    member.organizations.leave(user_id=MEMBER_TWO)
    with pytest.raises(gitpod.AuthenticationError):
        member.users.get_authenticated_user()


def test_organizations(client: Gitpod, loose: Gitpod, no_retry: Gitpod):
    me = client.users.get_authenticated_user().user
    org = client.organizations.retrieve(organization_id=me.organization_id).organization
    assert (org.id, org.tier) == (me.organization_id, "ORGANIZATION_TIER_ENTERPRISE")
    renamed = client.organizations.update(organization_id=org.id, name=unique("renamed")).organization
    assert renamed.name != org.name
    assert client.organizations.update(organization_id=org.id, name=org.name).organization.name == org.name

    # Founded and joined: a token for the new user, made with this one, acts there.
    created = loose.organizations.create(name=unique("stainless org"), join_organization=True)
    assert created.member.role == "ORGANIZATION_ROLE_ADMIN" and created.member.full_name == me.name
    founder = make_client(token=create_pat(created.member.user_id, "stainless founder"), max_retries=0)
    assert founder.organizations.retrieve(organization_id=created.organization.id).organization.name == created.organization.name
    with pytest.raises(gitpod.NotFoundError):
        founder.organizations.retrieve(organization_id=org.id)
    with pytest.raises(gitpod.NotFoundError):
        no_retry.organizations.retrieve(organization_id=created.organization.id)
    with pytest.raises(gitpod.BadRequestError):
        no_retry.organizations.create(name=unique("lonely"), join_organization=False)
    founder.organizations.delete(organization_id=created.organization.id)
    with pytest.raises(gitpod.AuthenticationError):
        founder.users.get_authenticated_user()


def test_id_token_and_exchange_token(client: Gitpod, no_retry: Gitpod):
    """identity.get_id_token: an ES256 token about the caller for the audience asked; and
    identity.exchange_token: a runner's exchange token for its access token, once."""
    me = client.identity.get_authenticated_identity()
    token = client.identity.get_id_token(audience=["https://sts.example.com"]).token
    issued("ID token", token)
    claims = jwt_claims(token)
    assert claims["sub"] == me.subject.id
    assert claims["aud"] == "https://sts.example.com"
    assert claims["organization_id"] == me.organization_id
    assert claims["iss"] == BASE_URL.removesuffix("/api")
    assert claims["exp"] - claims["iat"] == 3600
    with pytest.raises(gitpod.BadRequestError):
        no_retry.identity.get_id_token(audience=[])

    exchange = create_runner(client, "stainless exchange").exchange_token
    access = client.identity.exchange_token(exchange_token=exchange).access_token
    issued("runner access token", access)
    assert access.startswith("gpr_")
    with pytest.raises(gitpod.AuthenticationError):
        no_retry.identity.exchange_token(exchange_token=exchange)


def test_invites_accounts_and_login_providers(client: Gitpod, loose: Gitpod, no_retry: Gitpod):
    """organizations.invites (create, retrieve, get_summary), accounts.retrieve,
    accounts.list_joinable_organizations, accounts.list_login_providers and organizations.join."""
    me = client.users.get_authenticated_user().user
    org = me.organization_id
    # One current invite: made on the first read, replaced by create.
    first = client.organizations.invites.retrieve(organization_id=org).invite.invite_id
    assert is_uuid(first)
    assert client.organizations.invites.retrieve(organization_id=org).invite.invite_id == first
    current = client.organizations.invites.create(organization_id=org).invite.invite_id
    assert current != first and is_uuid(current)
    summary = client.organizations.invites.get_summary(invite_id=current)
    assert summary.organization_id == org
    assert summary.organization_name == client.organizations.retrieve(organization_id=org).organization.name
    assert summary.organization_member_count and summary.organization_member_count >= 1
    with pytest.raises(gitpod.NotFoundError):
        no_retry.organizations.invites.get_summary(invite_id=first)
    # This organization has no SSO configuration: no providers for its invite, paged by the SDK.
    assert list(client.accounts.list_login_providers(filter={"invite_id": current}, page_size=1)) == []
    assert list(client.accounts.list_login_providers(filter={"email": "alice@nowhere.example.com"})) == []

    # The admin made by the first start is its own account, without an email: the strict
    # client refuses the answer for the missing `email` (proto3 JSON leaves "" out).
    account = loose.accounts.retrieve().account
    assert (account.id, account.name, account.organization_id) == (me.id, me.name, org)
    assert [(m.organization_id, m.user_id) for m in account.memberships] == [(org, me.id)]
    with pytest.raises(gitpod.APIResponseValidationError):
        client.accounts.retrieve()
    assert list(client.accounts.list_joinable_organizations(page_size=1)) == []
    # Joining by the invite of its own organization: a member already.
    with pytest.raises(gitpod.ConflictError):
        no_retry.organizations.join(invite_id=current)
    with pytest.raises(gitpod.PermissionDeniedError):
        no_retry.organizations.join(organization_id=UNKNOWN_UUID)
