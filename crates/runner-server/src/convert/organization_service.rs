//! OrganizationService: the caller's organization and its members.

use gitpod_api::gitpod::v1 as pb;
use runner_core::identity::{Member, Organization};
use runner_core::organizations::{ListMembersInput, MembersPage};

use super::{pagination, timestamp, user_status};

pub fn organization(o: Organization) -> pb::Organization {
    pb::Organization {
        id: o.id.to_string(),
        name: o.name,
        created_at: Some(timestamp(o.created_at)),
        updated_at: Some(timestamp(o.updated_at)),
        invite_domains: Some(pb::InviteDomains { domains: Vec::new() }),
        // A self-hosted server has no billing plans (identity::ORGANIZATION_TIER).
        tier: pb::OrganizationTier::Enterprise as i32,
    }
}

pub fn organization_member(m: Member) -> pb::OrganizationMember {
    pb::OrganizationMember {
        user_id: m.id.to_string(),
        role: m.role.number(),
        member_since: Some(timestamp(m.created_at)),
        avatar_url: String::new(),
        status: user_status(&m),
        full_name: m.name,
        email: String::new(),
        // Users of this server sign in with personal access tokens, through no login provider.
        login_provider: "token".to_owned(),
    }
}

pub fn list_members(r: pb::ListMembersRequest) -> ListMembersInput {
    let f = r.filter.unwrap_or_default();
    ListMembersInput {
        organization_id: r.organization_id,
        search: f.search,
        statuses: f.statuses,
        roles: f.roles,
        user_ids: f.user_ids,
        exclude_group_ids: f.exclude_group_ids,
        exclude_members_in_any_team: f.exclude_members_in_any_team,
        email: f.email,
        login_provider: f.login_provider,
        sort: r.sort.map(|s| (s.field, s.order)),
        count: r.count.is_some_and(|c| c.include),
    }
}

pub fn members(page: MembersPage) -> pb::ListMembersResponse {
    pb::ListMembersResponse {
        pagination: pagination(page.next_token),
        members: page.members.into_iter().map(organization_member).collect(),
        count: page.total.map(|n| pb::CountResponse {
            value: i32::try_from(n).unwrap_or(i32::MAX),
            relation: pb::CountResponseRelation::Eq as i32,
        }),
    }
}
