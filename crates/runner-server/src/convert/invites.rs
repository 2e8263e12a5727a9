//! OrganizationService's invitations and joining, AccountService's account and ways to sign in.

use gitpod_api::gitpod::v1 as pb;
use runner_core::identity::OrganizationInvite;
use runner_core::invites::{
    AccountView, InviteSummary, JoinInput, JoinableOrganization, LoginProvider, LoginProvidersFilter,
};
use runner_core::page::Page;

use super::{pagination, timestamp};

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

pub fn join_organization(r: pb::JoinOrganizationRequest) -> JoinInput {
    use pb::join_organization_request::JoinId;
    match r.join_id {
        Some(JoinId::OrganizationId(id)) => JoinInput::OrganizationId(id),
        Some(JoinId::InviteId(id)) => JoinInput::InviteId(id),
        None => JoinInput::Missing,
    }
}

pub fn joinable_organization(j: JoinableOrganization) -> pb::JoinableOrganization {
    pb::JoinableOrganization {
        organization_id: j.organization.id.to_string(),
        organization_name: j.organization.name,
        organization_member_count: i32::try_from(j.member_count).unwrap_or(i32::MAX),
    }
}

pub fn joinable_organizations(page: Page<JoinableOrganization>) -> pb::ListJoinableOrganizationsResponse {
    pb::ListJoinableOrganizationsResponse {
        joinable_organizations: page.items.into_iter().map(joinable_organization).collect(),
        pagination: pagination(page.next_token),
    }
}

pub fn account(v: AccountView) -> pb::Account {
    let memberships = v
        .memberships
        .into_iter()
        .map(|m| pb::AccountMembership {
            user_id: m.member.id.to_string(),
            user_role: m.member.role.number(),
            organization_id: m.organization.id.to_string(),
            organization_name: m.organization.name,
            organization_member_count: i32::try_from(m.member_count).unwrap_or(i32::MAX),
            // A self-hosted server has no billing plans (identity::ORGANIZATION_TIER).
            organization_tier: pb::OrganizationTier::Enterprise as i32,
        })
        .collect();
    #[allow(deprecated)] // `joinables`: still filled for clients that read it (ListJoinableOrganizations replaces it).
    pb::Account {
        id: v.account.id.to_string(),
        name: v.account.name,
        avatar_url: v.account.avatar_url,
        email: v.account.email,
        created_at: Some(timestamp(v.account.created_at)),
        updated_at: Some(timestamp(v.account.updated_at)),
        memberships,
        joinables: v.joinables.into_iter().map(joinable_organization).collect(),
        public_email_provider: v.public_email_provider,
        organization_id: Some(v.organization_id.to_string()),
    }
}
