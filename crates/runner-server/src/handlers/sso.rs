//! OrganizationService's SSO configurations: an organization's OpenID providers.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;

use super::{Reply, check, reply};
use crate::auth::Authenticated;
use crate::call::CallDeadline;
use crate::convert;
use crate::paging::Paging;
use crate::state::AppState;

pub async fn create_sso_configuration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateSsoConfigurationRequest>,
) -> Reply<CreateSsoConfigurationResponse> {
    reply(check(&r), async move {
        let config = s.sso.create(&caller, convert::create_sso_configuration(r)).await?;
        Ok(CreateSsoConfigurationResponse { sso_configuration: Some(convert::sso_configuration(config)) })
    })
    .await
}

pub async fn get_sso_configuration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetSsoConfigurationRequest>,
) -> Reply<GetSsoConfigurationResponse> {
    reply(check(&r), async move {
        let config = s.sso.get(&caller, &r.sso_configuration_id).await?;
        Ok(GetSsoConfigurationResponse { sso_configuration: Some(convert::sso_configuration(config)) })
    })
    .await
}

pub async fn list_sso_configurations(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListSsoConfigurationsRequest>,
) -> Reply<ListSsoConfigurationsResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
        let page = s.sso.list(&caller, &r.organization_id, page.size, &page.token).await?;
        Ok(convert::sso_configurations(page))
    })
    .await
}

pub async fn update_sso_configuration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    CallDeadline(deadline): CallDeadline,
    ConnectRequest(r): ConnectRequest<UpdateSsoConfigurationRequest>,
) -> Reply<UpdateSsoConfigurationResponse> {
    reply(check(&r), async move {
        s.sso.update(&caller, deadline, convert::update_sso_configuration(r)).await?;
        Ok(UpdateSsoConfigurationResponse {})
    })
    .await
}

pub async fn delete_sso_configuration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<DeleteSsoConfigurationRequest>,
) -> Reply<DeleteSsoConfigurationResponse> {
    reply(check(&r), async move {
        s.sso.delete(&caller, &r.sso_configuration_id).await?;
        Ok(DeleteSsoConfigurationResponse {})
    })
    .await
}
