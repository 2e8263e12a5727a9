//! RunnerService: runners, their tokens and policies, and the SCM questions (ParseContextURL,
//! SearchRepositories, ListSCMOrganizations, CheckAuthenticationForHost,
//! CheckRepositoryAccess).

use gitpod_api::gitpod::v1 as pb;
use pbjson_types::Duration;
use runner_core::model::{self as m, ApiEnum};
use runner_core::policies::PolicyInput;
use runner_core::runners as uc;
use runner_core::scm::provider::{OrgSummary, PullRequestState};
use runner_core::scm::questions as q;

use super::{enum_number, field_value, subject, timestamp};
use crate::paging::Page;

pub fn runner(r: m::Runner) -> pb::Runner {
    pb::Runner {
        runner_id: super::id(r.id),
        created_at: Some(timestamp(r.created_at)),
        updated_at: Some(timestamp(r.updated_at)),
        name: r.name,
        spec: Some(spec(r.spec)),
        status: Some(status(r.status)),
        creator: r.creator.as_ref().map(subject),
        kind: r.kind.number(),
        provider: enum_number(r.provider),
        runner_manager_id: r.runner_manager_id.map(super::id).unwrap_or_default(),
    }
}

pub fn spec(s: m::RunnerSpec) -> pb::RunnerSpec {
    let c = s.configuration;
    pb::RunnerSpec {
        desired_phase: enum_number(s.desired_phase),
        configuration: Some(pb::RunnerConfiguration {
            region: c.region,
            release_channel: enum_number(c.release_channel),
            auto_update: c.auto_update,
            metrics: c.metrics.map(|m| pb::MetricsConfiguration {
                enabled: m.enabled,
                url: m.url,
                username: m.username,
                // A password is never returned; it is write-only through the API.
                password: String::new(),
                managed_metrics_enabled: m.managed_metrics_enabled,
                include_verbose_metrics: m.include_verbose_metrics,
            }),
            log_level: enum_number(c.log_level),
            devcontainer_image_cache_enabled: c.devcontainer_image_cache_enabled,
            update_window: c
                .update_window
                .map(|w| pb::UpdateWindow { start_hour: Some(w.start_hour), end_hour: Some(w.end_hour) }),
            encrypted_honeycomb_api_key: c.encrypted_honeycomb_api_key,
            continuous_profiling: c.continuous_profiling,
        }),
        variant: enum_number(s.variant),
    }
}

fn status(s: m::RunnerStatus) -> pb::RunnerStatus {
    pb::RunnerStatus {
        updated_at: s.updated_at.map(timestamp),
        version: s.version,
        system_details: s.system_details,
        phase: s.phase.number(),
        log_url: s.log_url,
        message: s.message,
        region: s.region,
        additional_info: s.additional_info.into_iter().map(field_value).collect(),
        capabilities: s.capabilities.into_iter().map(ApiEnum::number).collect(),
        gateway_info: s.gateway_info.map(|g| pb::GatewayInfo {
            gateway: Some(pb::Gateway { name: g.name, url: g.url, region: g.region }),
            latency: g.latency_micros.map(|us| Duration {
                seconds: us.div_euclid(1_000_000),
                nanos: (us.rem_euclid(1_000_000) * 1000) as i32,
            }),
        }),
        llm_url: s.llm_url,
        public_key: s.public_key,
        support_bundle_url: s.support_bundle_url,
    }
}

fn window(w: pb::UpdateWindow) -> uc::UpdateWindowInput {
    uc::UpdateWindowInput { start_hour: w.start_hour, end_hour: w.end_hour }
}

pub fn create_runner(r: pb::CreateRunnerRequest) -> uc::CreateRunnerInput {
    uc::CreateRunnerInput {
        name: r.name,
        kind: r.kind,
        provider: r.provider,
        runner_manager_id: r.runner_manager_id,
        spec: r.spec.map(|s| uc::SpecInput {
            desired_phase: s.desired_phase,
            variant: s.variant,
            configuration: s.configuration.map(|c| uc::ConfigurationInput {
                region: c.region,
                release_channel: c.release_channel,
                auto_update: c.auto_update,
                metrics: c.metrics.map(|m| uc::MetricsInput {
                    enabled: m.enabled,
                    url: m.url,
                    username: m.username,
                    password: m.password,
                    managed_metrics_enabled: m.managed_metrics_enabled,
                    include_verbose_metrics: m.include_verbose_metrics,
                }),
                log_level: c.log_level,
                devcontainer_image_cache_enabled: c.devcontainer_image_cache_enabled,
                update_window: c.update_window.map(window),
                encrypted_honeycomb_api_key: c.encrypted_honeycomb_api_key,
                continuous_profiling: c.continuous_profiling,
            }),
        }),
    }
}

pub fn update_runner(r: pb::UpdateRunnerRequest) -> uc::UpdateRunnerInput {
    uc::UpdateRunnerInput {
        runner_id: r.runner_id,
        name: r.name,
        spec: r.spec.map(|s| uc::SpecPatch {
            desired_phase: s.desired_phase,
            configuration: s.configuration.map(|c| uc::ConfigurationPatch {
                release_channel: c.release_channel,
                auto_update: c.auto_update,
                metrics: c.metrics.map(|m| uc::MetricsPatch {
                    enabled: m.enabled,
                    url: m.url,
                    username: m.username,
                    password: m.password,
                    managed_metrics_enabled: m.managed_metrics_enabled,
                    include_verbose_metrics: m.include_verbose_metrics,
                }),
                log_level: c.log_level,
                devcontainer_image_cache_enabled: c.devcontainer_image_cache_enabled,
                update_window: c.update_window.map(window),
                honeycomb_api_key: c.honeycomb_api_key,
                continuous_profiling: c.continuous_profiling,
            }),
        }),
    }
}

pub fn list_runners(r: pb::ListRunnersRequest, page: crate::paging::Page) -> uc::ListRunnersInput {
    let f = r.filter.unwrap_or_default();
    uc::ListRunnersInput {
        page_size: page.size,
        token: page.token,
        creator_ids: f.creator_ids,
        kinds: f.kinds,
        providers: f.providers,
    }
}

pub fn policy(p: m::RunnerPolicy) -> pb::RunnerPolicy {
    pb::RunnerPolicy { group_id: p.group_id.to_string(), role: p.role.number() }
}

pub fn created_runner(c: uc::CreatedRunner) -> pb::CreateRunnerResponse {
    pb::CreateRunnerResponse { runner: Some(runner(c.runner)), exchange_token: c.exchange_token, ..Default::default() }
}

#[allow(deprecated)] // the deprecated access_token stays empty
pub fn runner_token(exchange_token: String) -> pb::CreateRunnerTokenResponse {
    pb::CreateRunnerTokenResponse { exchange_token, access_token: String::new() }
}

pub fn create_runner_policy(r: pb::CreateRunnerPolicyRequest) -> PolicyInput {
    PolicyInput { runner_id: r.runner_id, group_id: r.group_id, role: r.role }
}

pub fn update_runner_policy(r: pb::UpdateRunnerPolicyRequest) -> PolicyInput {
    PolicyInput { runner_id: r.runner_id, group_id: r.group_id, role: r.role }
}

pub fn delete_runner_policy(r: pb::DeleteRunnerPolicyRequest) -> PolicyInput {
    PolicyInput { runner_id: r.runner_id, group_id: r.group_id, role: 0 }
}

// --- SCM questions ----------------------------------------------------------------------------

#[allow(deprecated)] // the deprecated `pr` field is still filled
pub fn parsed_context(p: q::ParsedContext) -> pb::ParseContextUrlResponse {
    use pb::{parse_context_url_response as res, pull_request};
    let g = p.git;
    let pr = p.pull_request.as_ref().map(|pr| res::PullRequest {
        id: pr.info.id.clone(),
        title: pr.info.title.clone(),
        from_branch: pr.info.from_branch.clone(),
        to_branch: pr.info.to_branch.clone(),
    });
    let pull_request = p.pull_request.map(|pr| pb::PullRequest {
        id: pr.info.id,
        title: pr.info.title,
        from_branch: pr.info.from_branch,
        to_branch: pr.info.to_branch,
        url: pr.info.url,
        author: pr.info.author,
        repository: Some(pull_request::Repository {
            clone_url: pr.repository.clone_url,
            host: pr.host,
            owner: pr.repository.owner,
            name: pr.repository.name,
        }),
        draft: pr.info.draft,
        state: match pr.info.state {
            PullRequestState::Open => pull_request::State::Open,
            PullRequestState::Closed => pull_request::State::Closed,
            PullRequestState::Merged => pull_request::State::Merged,
        } as i32,
        head_sha: pr.info.head_sha,
    });
    pb::ParseContextUrlResponse {
        original_context_url: p.original_context_url,
        git: Some(res::GitContext {
            clone_url: g.clone_url,
            branch: g.branch,
            commit: g.commit,
            host: g.host,
            owner: g.owner,
            repo: g.repo,
            upstream_remote_url: g.upstream_remote_url,
            tag: g.tag,
        }),
        pr,
        issue: p.issue.map(|i| res::Issue { id: i.id, title: i.title }),
        pull_request,
        project_ids: Vec::new(),
        scm_id: p.scm_id,
        recommended_environment_classes: p.recommended_environment_classes.iter().map(ToString::to_string).collect(),
    }
}

#[allow(deprecated)] // the deprecated limit is still read
pub fn search_repositories(r: pb::SearchRepositoriesRequest, page: Page) -> q::SearchInput {
    q::SearchInput {
        runner_id: r.runner_id,
        search_string: r.search_string,
        limit: r.limit,
        page_size: page.size,
        token: page.token,
        scm_host: r.scm_host,
        search_mode: r.search_mode,
    }
}

#[allow(deprecated)] // the deprecated lastPage is still filled
pub fn search_result(found: q::SearchResult) -> pb::SearchRepositoriesResponse {
    pb::SearchRepositoriesResponse {
        repositories: found
            .repositories
            .into_iter()
            .map(|r| pb::search_repositories_response::Repository { name: r.name, url: r.url })
            .collect(),
        pagination: super::pagination(found.next_token),
        last_page: found.last_page,
    }
}

pub fn list_scm_organizations(r: pb::ListScmOrganizationsRequest, page: Page) -> q::ListOrgsInput {
    q::ListOrgsInput {
        runner_id: r.runner_id,
        scm_host: r.scm_host,
        query: r.query,
        page_size: page.size,
        token: page.token,
    }
}

#[allow(deprecated)] // isAdmin is deprecated; always false
pub fn organizations(orgs: Vec<OrgSummary>, next_token: String) -> pb::ListScmOrganizationsResponse {
    pb::ListScmOrganizationsResponse {
        organizations: orgs
            .into_iter()
            .map(|o| pb::list_scm_organizations_response::ScmOrganization { name: o.name, url: o.url, is_admin: false })
            .collect(),
        pagination: super::pagination(next_token),
    }
}

#[allow(deprecated)] // authenticationUrl and patSupported are still filled
pub fn authentication_status(status: q::AuthenticationStatus) -> pb::CheckAuthenticationForHostResponse {
    use pb::check_authentication_for_host_response::{
        AuthenticationMethodOAuth2, AuthenticationMethodPersonalAccessToken,
    };
    let m = status.methods;
    pb::CheckAuthenticationForHostResponse {
        authenticated: status.authenticated,
        authentication_url: m.oauth.as_ref().map(|o| o.auth_url.clone()).unwrap_or_default(),
        pat_supported: m.pat.is_some(),
        scm_id: status.scm_id,
        scm_name: status.scm_name,
        supports_oauth2: m.oauth.map(|o| AuthenticationMethodOAuth2 { auth_url: o.auth_url, docs_url: o.docs_url }),
        supports_pat: m.pat.map(|p| AuthenticationMethodPersonalAccessToken {
            create_url: p.create_url,
            docs_url: p.docs_url,
            example: p.example,
            required_scopes: p.required_scopes,
        }),
    }
}

pub fn repository_access(a: q::RepositoryAccess) -> pb::CheckRepositoryAccessResponse {
    pb::CheckRepositoryAccessResponse { has_access: a.has_access, error_message: a.error_message }
}
