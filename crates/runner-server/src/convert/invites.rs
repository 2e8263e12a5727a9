//! OrganizationService's invitations and AccountService's ways to sign in.

use gitpod_api::gitpod::v1 as pb;
use runner_core::identity::OrganizationInvite;
use runner_core::invites::{InviteSummary, LoginProvider, LoginProvidersFilter};
use runner_core::page::Page;

use super::pagination;

pub fn organization_invite(i: OrganizationInvite) -> pb::OrganizationInvite {
    pb::OrganizationInvite { invite_id: i.id.to_string() }
}

pub fn invite_summary(s: InviteSummary) -> pb::GetOrganizationInviteSummaryResponse {
    pb::GetOrganizationInviteSummaryResponse {
        organization_id: s.organization.id.to_string(),
        organization_name: s.organization.name,
        organization_member_count: i32::try_from(s.member_count).unwrap_or(i32::MAX),
    }
}

pub fn list_login_providers(r: &mut pb::ListLoginProvidersRequest) -> LoginProvidersFilter {
    let filter = r.filter.take().unwrap_or_default();
    LoginProvidersFilter { invite_id: filter.invite_id, email: filter.email }
}

pub fn login_providers(page: Page<LoginProvider>) -> pb::ListLoginProvidersResponse {
    pb::ListLoginProvidersResponse {
        pagination: pagination(page.next_token),
        login_providers: page
            .items
            .into_iter()
            .map(|p| pb::LoginProvider { login_url: p.login_url, provider: p.provider })
            .collect(),
        // An email address always leads to its domain's configuration (GetSSOLoginURL).
        allow_custom: true,
    }
}
