//! One port, every protocol. The services' handlers are registered once through the
//! generated tonic-compatible builders; the result is one Connect router (JSON and binary,
//! HTTP/1.1 and h2c) and one set of tonic services (gRPC, and gRPC-web through
//! `GrpcWebLayer`), joined by connectrpc-axum's content-type switch. Around the switch:
//! [`classify`](crate::call::classify) (once, outermost; it also removes the `/api` prefix),
//! CORS, telemetry and [`rpc_guard`](crate::layers::rpc_guard).

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::middleware::{from_fn_with_state, map_request};
use axum::routing::get;
use connectrpc_axum::MakeServiceBuilder;
use gitpod_api::gitpod::v1::identity_service_connect::IdentityServiceTonicCompatibleBuilder;
use gitpod_api::gitpod::v1::runner_configuration_service_connect::RunnerConfigurationServiceTonicCompatibleBuilder;
use gitpod_api::gitpod::v1::runner_interaction_service_connect::RunnerInteractionServiceTonicCompatibleBuilder;
use gitpod_api::gitpod::v1::runner_service_connect::RunnerServiceTonicCompatibleBuilder;
use http::{HeaderName, HeaderValue, Method};
use tonic_web::GrpcWebLayer;
use tower::Layer;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::handlers::{configuration, host_tokens, llm, runner_side, runners, scm, scm_questions};
use crate::layers::{EmptyLists, Limits, fill_empty_lists, rpc_guard};
use crate::state::AppState;

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

/// Builds the whole application: every protocol for both services, health and reflection.
pub fn app(state: AppState, options: &MountOptions) -> Router {
    let (store, health_state) = (state.store.clone(), state.health.clone());
    let public_url = state.public_url.clone();
    let metrics_store = store.clone();
    // Installed before anything records (the health monitor's first ping, below).
    let metrics = crate::telemetry::metrics_handle();
    let (runner_router, runner_grpc) = RunnerServiceTonicCompatibleBuilder::new()
        .create_runner(runners::create_runner)
        .get_runner(runners::get_runner)
        .list_runners(runners::list_runners)
        .update_runner(runners::update_runner)
        .delete_runner(runners::delete_runner)
        .create_runner_token(runners::create_runner_token)
        .create_runner_logs_token(runners::create_runner_logs_token)
        .parse_context_url(scm_questions::parse_context_url)
        .search_repositories(scm_questions::search_repositories)
        .list_scm_organizations(scm_questions::list_scm_organizations)
        .check_authentication_for_host(scm_questions::check_authentication_for_host)
        .check_repository_access(scm_questions::check_repository_access)
        .list_runner_policies(runners::list_runner_policies)
        .create_runner_policy(runners::create_runner_policy)
        .update_runner_policy(runners::update_runner_policy)
        .delete_runner_policy(runners::delete_runner_policy)
        .with_state(state.clone())
        .build();

    let (config_router, config_grpc) = RunnerConfigurationServiceTonicCompatibleBuilder::new()
        .create_host_authentication_token(host_tokens::create_host_authentication_token)
        .get_host_authentication_token(host_tokens::get_host_authentication_token)
        .list_host_authentication_tokens(host_tokens::list_host_authentication_tokens)
        .update_host_authentication_token(host_tokens::update_host_authentication_token)
        .delete_host_authentication_token(host_tokens::delete_host_authentication_token)
        .get_runner_configuration_schema(configuration::get_runner_configuration_schema)
        .create_scm_integration(scm::create_scm_integration)
        .get_scm_integration(scm::get_scm_integration)
        .list_scm_integrations(scm::list_scm_integrations)
        .update_scm_integration(scm::update_scm_integration)
        .delete_scm_integration(scm::delete_scm_integration)
        .create_environment_class(configuration::create_environment_class)
        .get_environment_class(configuration::get_environment_class)
        .list_environment_classes(configuration::list_environment_classes)
        .update_environment_class(configuration::update_environment_class)
        .validate_runner_configuration(configuration::validate_runner_configuration)
        .create_llm_integration(llm::create_llm_integration)
        .get_llm_integration(llm::get_llm_integration)
        .list_llm_integrations(llm::list_llm_integrations)
        .update_llm_integration(llm::update_llm_integration)
        .delete_llm_integration(llm::delete_llm_integration)
        .with_state(state.clone())
        .build();

    // The runner side (our own services): what a runner process calls about itself.
    let (identity_router, identity_grpc) = IdentityServiceTonicCompatibleBuilder::new()
        .exchange_token(runner_side::exchange_token)
        .refresh_runner_access_token(runner_side::refresh_runner_access_token)
        .with_state(state.clone())
        .build();
    let (interaction_router, interaction_grpc) = RunnerInteractionServiceTonicCompatibleBuilder::new()
        .signup(runner_side::signup)
        .update_runner_status(runner_side::update_runner_status)
        .update_runner_configuration_schema(runner_side::update_runner_configuration_schema)
        .list_runner_environment_classes(runner_side::list_runner_environment_classes)
        .list_runner_scm_integrations(runner_side::list_runner_scm_integrations)
        .get_host_authentication_token_value(runner_side::get_host_authentication_token_value)
        .mark_runner_deleted(runner_side::mark_runner_deleted)
        .with_state(state)
        .build();

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
    let interaction_grpc = grpc_limits!(interaction_grpc);

    let (health_reporter, health) = tonic_health::server::health_reporter();
    crate::health::spawn_monitor(store, &health_state, health_reporter, options.health_interval);
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(gitpod_api::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .expect("descriptor set is valid");
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(gitpod_api::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .expect("descriptor set is valid");

    // Inside connectrpc-axum's compression, so it sees the JSON as the handlers wrote it.
    let lists = from_fn_with_state(EmptyLists::from_descriptors(gitpod_api::FILE_DESCRIPTOR_SET), fill_empty_lists);
    let runner_router = runner_router.layer(lists.clone());
    let config_router = config_router.layer(lists.clone());
    let interaction_router = interaction_router.layer(lists);

    let web = GrpcWebLayer::new();
    let switch = MakeServiceBuilder::new()
        .receive_max_bytes(max)
        .add_router(runner_router)
        .add_router(config_router)
        .add_router(identity_router)
        .add_router(interaction_router)
        .add_grpc_service(web.layer(runner_grpc))
        .add_grpc_service(web.layer(config_grpc))
        .add_grpc_service(web.layer(identity_grpc))
        .add_grpc_service(web.layer(interaction_grpc))
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
        );
    let api = Router::new()
        .merge(probes)
        .fallback_service(switch)
        .layer(from_fn_with_state(limits, rpc_guard))
        .layer(axum::middleware::from_fn(crate::telemetry::observe))
        .layer(cors(&options.cors_origins));
    let app = match &options.console_dir {
        Some(dir) => crate::console::serve(api, dir.clone()),
        None => crate::console::explain(api, &public_url),
    };
    // Outermost: every layer above sees the request classified and without the `/api` prefix.
    app.layer(map_request(|req| async move { Ok::<_, std::convert::Infallible>(crate::call::classify(req)) }))
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
