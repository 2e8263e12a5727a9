//! One port, every protocol. The services' handlers are registered once through the
//! generated tonic-compatible builders; the result is one Connect router (JSON and binary,
//! HTTP/1.1 and h2c) and one set of tonic services (gRPC, and gRPC-web through
//! `GrpcWebLayer`), joined by connectrpc-axum's content-type switch. Around the switch:
//! [`classify`](crate::call::classify) (once, outermost; it also removes the `/api` prefix),
//! CORS, and one layer for telemetry, the audit scope and the guard
//! ([`call`](crate::layers::call)).

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::middleware::{from_fn_with_state, map_request};
use axum::routing::get;
use connectrpc_axum::MakeServiceBuilder;
use gitpod_api::gitpod::v1::account_service_connect::AccountServiceTonicCompatibleBuilder;
use gitpod_api::gitpod::v1::event_service_connect::EventServiceTonicCompatibleBuilder;
use gitpod_api::gitpod::v1::group_service_connect::GroupServiceTonicCompatibleBuilder;
use gitpod_api::gitpod::v1::identity_service_connect::IdentityServiceTonicCompatibleBuilder;
use gitpod_api::gitpod::v1::organization_service_connect::OrganizationServiceTonicCompatibleBuilder;
use gitpod_api::gitpod::v1::runner_configuration_service_connect::RunnerConfigurationServiceTonicCompatibleBuilder;
use gitpod_api::gitpod::v1::runner_service_connect::RunnerServiceTonicCompatibleBuilder;
use gitpod_api::gitpod::v1::service_account_service_connect::ServiceAccountServiceTonicCompatibleBuilder;
use gitpod_api::gitpod::v1::user_service_connect::UserServiceTonicCompatibleBuilder;
use gitpod_api::runnerside::v1::runner_interaction_service_connect::RunnerInteractionServiceTonicCompatibleBuilder;
use http::{HeaderName, HeaderValue, Method};
use tonic_web::GrpcWebLayer;
use tower::Layer;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::call::{Rpc, rpc_taking};
use crate::handlers::{
    configuration, events, groups, host_tokens, identity, invites, llm, organizations, runner_side, runners, scm,
    scm_questions, service_accounts, sso, sso_login, users,
};
use crate::layers::{CallLayer, EmptyLists, Limits, fill_empty_lists};
use crate::state::AppState;

/// The services this server mounts: the `gitpod.v1` services with handlers (a subset of
/// [`gitpod_api::SERVICE_NAMES`]) and our runner side
/// ([`gitpod_api::RUNNER_SIDE_SERVICE_NAMES`]). The other services of the API are in the
/// descriptor set but not served: a call to one gets `unimplemented` ([`is_served`]), never a
/// stub's answer. A unit test checks the list against what [`services`] registers.
pub const SERVED_SERVICES: [&str; 10] = [
    "gitpod.v1.RunnerService",
    "gitpod.v1.RunnerConfigurationService",
    "gitpod.v1.IdentityService",
    "gitpod.v1.GroupService",
    "gitpod.v1.ServiceAccountService",
    "gitpod.v1.UserService",
    "gitpod.v1.OrganizationService",
    "gitpod.v1.EventService",
    "gitpod.v1.AccountService",
    "runnerside.v1.RunnerInteractionService",
];

/// Settings of the mount.
#[derive(Debug, Clone)]
pub struct MountOptions {
    /// Largest request message accepted, in bytes; larger ones get `resource_exhausted`.
    pub max_message_bytes: usize,
    /// Origins allowed to call from a browser; empty means any origin.
    pub cors_origins: Vec<HeaderValue>,
    /// How often the database is pinged for health.
    pub health_interval: Duration,
    /// The built web console to serve at `/` (GET and HEAD of non-API paths), if any.
    pub console_dir: Option<PathBuf>,
}

impl Default for MountOptions {
    fn default() -> Self {
        Self {
            max_message_bytes: 4 * 1024 * 1024,
            cors_origins: Vec::new(),
            health_interval: Duration::from_secs(2),
            console_dir: None,
        }
    }
}

/// Builds the whole application: every protocol for the [`SERVED_SERVICES`], health and
/// reflection.
pub fn app(state: AppState, options: &MountOptions) -> Router {
    let (store, health_state) = (state.store.clone(), state.health.clone());
    let public_url = state.public_url.clone();
    let metrics_store = store.clone();
    let audit_store = store.clone();
    // Installed before anything records (the health monitor's first ping, below).
    let metrics = crate::telemetry::metrics_handle();
    // The declared input rules, read now so that one the validator cannot check stops start-up.
    crate::validation::rules();
    let mut mounted = Mounted::default();
    let services = services(&mut mounted);
    let (runner_router, runner_grpc) = services.runner.with_state(state.clone()).build();
    let (config_router, config_grpc) = services.configuration.with_state(state.clone()).build();
    let (identity_router, identity_grpc) = services.identity.with_state(state.clone()).build();
    let (group_router, group_grpc) = services.groups.with_state(state.clone()).build();
    let (sa_router, sa_grpc) = services.service_accounts.with_state(state.clone()).build();
    let (user_router, user_grpc) = services.users.with_state(state.clone()).build();
    let (org_router, org_grpc) = services.organizations.with_state(state.clone()).build();
    let (interaction_router, interaction_grpc) = services.interaction.with_state(state.clone()).build();
    let (events_router, events_grpc) = services.events.with_state(state.clone()).build();
    let (account_router, account_grpc) = services.accounts.with_state(state.clone()).build();
    // The browser's round trip through an SSO provider: plain HTTP (crate::handlers::sso_login).
    let sso_http = Router::new()
        .route(sso_login::START_PATH, get(sso_login::start))
        .route(sso_login::CALLBACK_PATH, get(sso_login::callback))
        .route(sso_login::LOGOUT_PATH, axum::routing::post(sso_login::logout))
        .with_state(state.clone());
    let issuer = Router::new()
        .route(identity::DISCOVERY_PATH, get(identity::openid_configuration))
        .route(identity::JWKS_PATH, get(identity::jwks))
        .with_state(state.clone());
    let state_for_gets = state;

    let max = options.max_message_bytes;
    // gRPC: gzip-compressed requests are accepted, and answers are gzip when the client says it
    // accepts it (grpc-accept-encoding), as Connect does.
    let gzip = tonic::codec::CompressionEncoding::Gzip;
    macro_rules! grpc_limits {
        ($svc:expr) => {
            $svc.max_decoding_message_size(max)
                .max_encoding_message_size(max)
                .accept_compressed(gzip)
                .send_compressed(gzip)
        };
    }
    let runner_grpc = grpc_limits!(runner_grpc);
    let config_grpc = grpc_limits!(config_grpc);
    let identity_grpc = grpc_limits!(identity_grpc);
    let group_grpc = grpc_limits!(group_grpc);
    let sa_grpc = grpc_limits!(sa_grpc);
    let user_grpc = grpc_limits!(user_grpc);
    let org_grpc = grpc_limits!(org_grpc);
    let interaction_grpc = grpc_limits!(interaction_grpc);
    let events_grpc = grpc_limits!(events_grpc);
    let account_grpc = grpc_limits!(account_grpc);

    let (health_reporter, health) = tonic_health::server::health_reporter();
    crate::health::spawn_monitor(store, &health_state, health_reporter, options.health_interval);
    let reflection_v1 = reflection().build_v1().expect("descriptor set is valid");
    let reflection_v1alpha = reflection().build_v1alpha().expect("descriptor set is valid");

    // Inside connectrpc-axum's compression, so it sees the JSON as the handlers wrote it.
    let lists = from_fn_with_state(EmptyLists::from_descriptors(gitpod_api::FILE_DESCRIPTOR_SET), fill_empty_lists);
    let runner_router = runner_router.layer(lists.clone());
    let config_router = config_router.layer(lists.clone());
    let identity_router = identity_router.layer(lists.clone());
    let group_router = group_router.layer(lists.clone());
    let sa_router = sa_router.layer(lists.clone());
    let user_router = user_router.layer(lists.clone());
    let org_router = org_router.layer(lists.clone());
    let interaction_router = interaction_router.layer(lists.clone());
    let events_router = events_router.layer(lists.clone());
    let account_router = account_router.layer(lists.clone());

    let gets = mounted.gets.with_state(state_for_gets).layer(lists.clone());
    let web = GrpcWebLayer::new();
    let switch = MakeServiceBuilder::new()
        .receive_max_bytes(max)
        .add_router(gets)
        .add_router(runner_router)
        .add_router(config_router)
        .add_router(identity_router)
        .add_router(group_router)
        .add_router(sa_router)
        .add_router(user_router)
        .add_router(org_router)
        .add_router(interaction_router)
        .add_router(events_router)
        .add_router(account_router)
        .add_grpc_service(web.layer(runner_grpc))
        .add_grpc_service(web.layer(config_grpc))
        .add_grpc_service(web.layer(identity_grpc))
        .add_grpc_service(web.layer(group_grpc))
        .add_grpc_service(web.layer(sa_grpc))
        .add_grpc_service(web.layer(user_grpc))
        .add_grpc_service(web.layer(org_grpc))
        .add_grpc_service(web.layer(interaction_grpc))
        .add_grpc_service(web.layer(events_grpc))
        .add_grpc_service(web.layer(account_grpc))
        .add_grpc_service(web.layer(health))
        .add_grpc_service(web.layer(reflection_v1))
        .add_grpc_service(web.layer(reflection_v1alpha))
        .build();

    let limits = Limits { max_message_bytes: max };
    let probes = Router::new()
        .route("/healthz", get(crate::health::healthz))
        .route("/readyz", get(crate::health::readyz))
        .with_state(health_state)
        .merge(
            Router::new()
                .route("/metrics", get(crate::telemetry::metrics_endpoint))
                .with_state((metrics, metrics_store)),
        )
        .route("/openapi.json", get(crate::openapi::json_endpoint))
        .route("/openapi.yaml", get(crate::openapi::yaml_endpoint))
        .merge(issuer)
        .merge(sso_http);
    let api = Router::new().merge(probes).fallback_service(switch);
    // The layers every request passes, outermost first, as one stack of services around the
    // routes: `Router::layer` would box each layer around every route, and each call would
    // clone the nested boxes (docs/performance.md).
    let front = crate::console::Front::new(options.console_dir.as_deref(), &public_url);
    let layered = tower::ServiceBuilder::new()
        // Every layer below sees the request classified and without the `/api` prefix.
        .layer(map_request(|req| async move { Ok::<_, std::convert::Infallible>(crate::call::classify(req)) }))
        .layer(from_fn_with_state(front, crate::console::front))
        .layer(cors(&options.cors_origins))
        .layer(from_fn_with_state(CallLayer { limits, store: audit_store }, crate::layers::call))
        .service(api);
    Router::new().fallback_service(layered)
}

/// Reflection over the whole descriptor set (every message can be described), listing the
/// services that are served: the [`SERVED_SERVICES`], health and reflection itself.
fn reflection() -> tonic_reflection::server::Builder<'static> {
    let names = SERVED_SERVICES.into_iter().chain([
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ]);
    names.fold(
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(gitpod_api::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET),
        |builder, name| builder.with_service_name(name),
    )
}

/// Every API service with its handlers registered: the one place a service or method is
/// mounted. [`app`] gives them the state and serves them; [`served_rpcs`] lists what they serve
/// (for the OpenAPI document) without a state. A new service is a new field here.
struct Services {
    runner: RunnerServiceTonicCompatibleBuilder<AppState>,
    configuration: RunnerConfigurationServiceTonicCompatibleBuilder<AppState>,
    identity: IdentityServiceTonicCompatibleBuilder<AppState>,
    /// GroupService: all of it.
    groups: GroupServiceTonicCompatibleBuilder<AppState>,
    /// ServiceAccountService: service accounts and their tokens.
    service_accounts: ServiceAccountServiceTonicCompatibleBuilder<AppState>,
    users: UserServiceTonicCompatibleBuilder<AppState>,
    organizations: OrganizationServiceTonicCompatibleBuilder<AppState>,
    /// The runner side (our own service, package runnerside.v1): what a runner process calls
    /// about itself.
    interaction: RunnerInteractionServiceTonicCompatibleBuilder<AppState>,
    /// EventService: WatchEvents and the audit log.
    events: EventServiceTonicCompatibleBuilder<AppState>,
    /// AccountService: the signed-in person, the ways to sign in, and SSO sign-in URLs.
    accounts: AccountServiceTonicCompatibleBuilder<AppState>,
}

fn services(m: &mut Mounted) -> Services {
    let runner = RunnerServiceTonicCompatibleBuilder::new()
        .create_runner(m.add(runners::create_runner))
        .get_runner(m.add(runners::get_runner))
        .list_runners(m.add(runners::list_runners))
        .update_runner(m.add(runners::update_runner))
        .delete_runner(m.add(runners::delete_runner))
        .create_runner_token(m.add(runners::create_runner_token))
        .create_runner_logs_token(m.add(runners::create_runner_logs_token))
        .parse_context_url(m.add(scm_questions::parse_context_url))
        .search_repositories(m.add(scm_questions::search_repositories))
        .list_scm_organizations(m.add(scm_questions::list_scm_organizations))
        .check_authentication_for_host(m.add(scm_questions::check_authentication_for_host))
        .check_repository_access(m.add(scm_questions::check_repository_access))
        .list_runner_policies(m.add(runners::list_runner_policies))
        .create_runner_policy(m.add(runners::create_runner_policy))
        .update_runner_policy(m.add(runners::update_runner_policy))
        .delete_runner_policy(m.add(runners::delete_runner_policy));

    let configuration = RunnerConfigurationServiceTonicCompatibleBuilder::new()
        .create_host_authentication_token(m.add(host_tokens::create_host_authentication_token))
        .get_host_authentication_token(m.add(host_tokens::get_host_authentication_token))
        .list_host_authentication_tokens(m.add(host_tokens::list_host_authentication_tokens))
        .update_host_authentication_token(m.add(host_tokens::update_host_authentication_token))
        .delete_host_authentication_token(m.add(host_tokens::delete_host_authentication_token))
        .get_runner_configuration_schema(m.add(configuration::get_runner_configuration_schema))
        .create_scm_integration(m.add(scm::create_scm_integration))
        .get_scm_integration(m.add(scm::get_scm_integration))
        .list_scm_integrations(m.add(scm::list_scm_integrations))
        .update_scm_integration(m.add(scm::update_scm_integration))
        .delete_scm_integration(m.add(scm::delete_scm_integration))
        .create_environment_class(m.add(configuration::create_environment_class))
        .get_environment_class(m.add(configuration::get_environment_class))
        .list_environment_classes(m.add(configuration::list_environment_classes))
        .update_environment_class(m.add(configuration::update_environment_class))
        .validate_runner_configuration(m.add(configuration::validate_runner_configuration))
        .create_llm_integration(m.add(llm::create_llm_integration))
        .get_llm_integration(m.add(llm::get_llm_integration))
        .list_llm_integrations(m.add(llm::list_llm_integrations))
        .update_llm_integration(m.add(llm::update_llm_integration))
        .delete_llm_integration(m.add(llm::delete_llm_integration));

    let identity = IdentityServiceTonicCompatibleBuilder::new()
        .get_id_token(m.add(identity::get_id_token))
        .get_authenticated_identity(m.add(identity::get_authenticated_identity))
        .exchange_token(m.add(identity::exchange_token));

    let groups = GroupServiceTonicCompatibleBuilder::new()
        .list_groups(m.add(groups::list_groups))
        .get_group(m.add(groups::get_group))
        .create_group(m.add(groups::create_group))
        .update_group(m.add(groups::update_group))
        .delete_group(m.add(groups::delete_group))
        .create_membership(m.add(groups::create_membership))
        .delete_membership(m.add(groups::delete_membership))
        .get_membership(m.add(groups::get_membership))
        .list_memberships(m.add(groups::list_memberships))
        .create_role_assignment(m.add(groups::create_role_assignment))
        .delete_role_assignment(m.add(groups::delete_role_assignment))
        .list_role_assignments(m.add(groups::list_role_assignments))
        .share_resource_with_principal(m.add(groups::share_resource_with_principal))
        .unshare_resource_with_principal(m.add(groups::unshare_resource_with_principal));

    let service_accounts = ServiceAccountServiceTonicCompatibleBuilder::new()
        .create_service_account(m.add(service_accounts::create_service_account))
        .list_service_accounts(m.add(service_accounts::list_service_accounts))
        .get_service_account(m.add(service_accounts::get_service_account))
        .update_service_account(m.add(service_accounts::update_service_account))
        .delete_service_account(m.add(service_accounts::delete_service_account))
        .create_service_account_access_token(m.add(service_accounts::create_service_account_access_token))
        .create_service_account_token(m.add(service_accounts::create_service_account_token))
        .list_service_account_tokens(m.add(service_accounts::list_service_account_tokens))
        .get_service_account_token(m.add(service_accounts::get_service_account_token))
        .delete_service_account_token(m.add(service_accounts::delete_service_account_token));

    let users = UserServiceTonicCompatibleBuilder::new()
        .get_authenticated_user(m.add(users::get_authenticated_user))
        .get_user(m.add(users::get_user))
        .set_suspended(m.add(users::set_suspended))
        .delete_user(m.add(users::delete_user))
        .create_personal_access_token(m.add(users::create_personal_access_token))
        .get_personal_access_token(m.add(users::get_personal_access_token))
        .list_personal_access_tokens(m.add(users::list_personal_access_tokens))
        .delete_personal_access_token(m.add(users::delete_personal_access_token));

    let organizations = OrganizationServiceTonicCompatibleBuilder::new()
        .create_organization(m.add(organizations::create_organization))
        .get_organization(m.add(organizations::get_organization))
        .update_organization(m.add(organizations::update_organization))
        .delete_organization(m.add(organizations::delete_organization))
        .list_members(m.add(organizations::list_members))
        .set_role(m.add(organizations::set_role))
        .leave_organization(m.add(organizations::leave_organization))
        .create_sso_configuration(m.add(sso::create_sso_configuration))
        .get_sso_configuration(m.add(sso::get_sso_configuration))
        .list_sso_configurations(m.add(sso::list_sso_configurations))
        .update_sso_configuration(m.add(sso::update_sso_configuration))
        .delete_sso_configuration(m.add(sso::delete_sso_configuration))
        .create_organization_invite(m.add(invites::create_organization_invite))
        .get_organization_invite(m.add(invites::get_organization_invite))
        .get_organization_invite_summary(m.add(invites::get_organization_invite_summary))
        .join_organization(m.add(invites::join_organization));

    let interaction = RunnerInteractionServiceTonicCompatibleBuilder::new()
        .refresh_runner_access_token(m.add(runner_side::refresh_runner_access_token))
        .signup(m.add(runner_side::signup))
        .update_runner_status(m.add(runner_side::update_runner_status))
        .update_runner_configuration_schema(m.add(runner_side::update_runner_configuration_schema))
        .list_runner_environment_classes(m.add(runner_side::list_runner_environment_classes))
        .list_runner_scm_integrations(m.add(runner_side::list_runner_scm_integrations))
        .get_host_authentication_token_value(m.add(runner_side::get_host_authentication_token_value))
        .mark_runner_deleted(m.add(runner_side::mark_runner_deleted))
        .check_oauth_state(m.add(runner_side::check_oauth_state))
        .store_oauth_host_token(m.add(runner_side::store_oauth_host_token));

    let events = EventServiceTonicCompatibleBuilder::new()
        .watch_events(m.add(events::watch_events))
        .list_audit_logs(m.add(events::list_audit_logs))
        .get_audit_log(m.add(events::get_audit_log));

    let accounts = AccountServiceTonicCompatibleBuilder::new()
        .get_account(m.add(invites::get_account))
        .list_joinable_organizations(m.add(invites::list_joinable_organizations))
        .list_login_providers(m.add(invites::list_login_providers))
        .get_sso_login_url(m.add(sso_login::get_sso_login_url));

    Services {
        runner,
        configuration,
        identity,
        groups,
        service_accounts,
        users,
        organizations,
        interaction,
        events,
        accounts,
    }
}

/// The paths of every RPC the server mounts (`/gitpod.v1.RunnerService/ListRunners`), sorted:
/// read from the registrations themselves, so a new method or service is listed with no edit.
pub fn served_rpcs() -> Vec<String> {
    let mut mounted = Mounted::default();
    let _ = services(&mut mounted);
    let mut paths: Vec<String> = mounted.rpcs.into_iter().map(|r| r.path.clone()).collect();
    paths.sort();
    paths
}

/// Whether a handler is mounted for the RPC at `path` (`/gitpod.v1.RunnerService/ListRunners`).
pub fn is_served(path: &str) -> bool {
    static SERVED: std::sync::OnceLock<std::collections::HashSet<String>> = std::sync::OnceLock::new();
    SERVED.get_or_init(|| served_rpcs().into_iter().collect()).contains(path)
}

/// What [`services`] registers, seen on its way: each handler passes through [`Mounted::add`],
/// which notes its RPC (by the request type it takes) and, for exactly the methods the
/// descriptors mark `NO_SIDE_EFFECTS` ([`crate::call::Rpc::side_effect_free`]), adds the same
/// handler's Connect GET route (`?connect=v1&encoding=json|proto&message=…`) to a second router.
/// connectrpc-axum's tonic-compatible builders register POST only; axum merges the GET routes
/// with them (shared/spec/stack.md §5.1). A GET of any other method stays 405 with `Allow: POST`.
#[derive(Default)]
struct Mounted {
    gets: Router<AppState>,
    rpcs: Vec<&'static Rpc>,
}

impl Mounted {
    fn add<F, T, Req, Resp>(&mut self, handler: F) -> F
    where
        connectrpc_axum::handler::ConnectHandlerWrapper<F, Req, Resp>: axum::handler::Handler<T, AppState>,
        F: Clone + Send + Sync + 'static,
        T: 'static,
        Req: prost::Name,
    {
        let rpc = rpc_taking(&Req::full_name())
            .unwrap_or_else(|| panic!("no API method takes {}: a handler mounted for no RPC", Req::full_name()));
        self.rpcs.push(rpc);
        if rpc.side_effect_free && rpc.is_unary() {
            let route = connectrpc_axum::handler::get_connect::<F, T, AppState, Req, Resp>(handler.clone());
            self.gets = std::mem::take(&mut self.gets).route(&rpc.path, route);
        }
        handler
    }
}

/// CORS for browser clients of all three protocols, including preflight.
fn cors(origins: &[HeaderValue]) -> CorsLayer {
    let allow_origin =
        if origins.is_empty() { AllowOrigin::mirror_request() } else { AllowOrigin::list(origins.to_vec()) };
    let headers = |names: &[&'static str]| names.iter().map(|n| HeaderName::from_static(n)).collect::<Vec<_>>();
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(headers(&[
            "content-type",
            "authorization",
            "connect-protocol-version",
            "connect-timeout-ms",
            "connect-accept-encoding",
            "connect-content-encoding",
            "content-encoding",
            "accept-encoding",
            "grpc-timeout",
            "grpc-accept-encoding",
            "grpc-encoding",
            "x-grpc-web",
            "x-user-agent",
            "x-request-id",
            "traceparent",
        ]))
        .expose_headers(headers(&[
            "grpc-status",
            "grpc-message",
            "grpc-status-details-bin",
            "grpc-encoding",
            "grpc-accept-encoding",
            "connect-content-encoding",
            "connect-accept-encoding",
            "content-encoding",
            "x-request-id",
        ]))
        .max_age(Duration::from_secs(7200))
}

#[cfg(test)]
mod tests {
    /// [`super::SERVED_SERVICES`] names exactly the services something is registered for.
    #[test]
    fn the_served_services_are_those_with_handlers() {
        let mut registered: Vec<String> = super::served_rpcs()
            .iter()
            .map(|path| path.trim_start_matches('/').split('/').next().unwrap().to_owned())
            .collect();
        registered.dedup();
        let mut listed: Vec<String> = super::SERVED_SERVICES.iter().map(|s| s.to_string()).collect();
        listed.sort();
        assert_eq!(registered, listed);
    }
}
