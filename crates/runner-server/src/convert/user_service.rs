//! UserService: users and their personal access tokens.

use gitpod_api::gitpod::v1 as pb;
use runner_core::identity::{AccessTokenInfo, Member};
use runner_core::organizations::{USER_STATUS_ACTIVE, USER_STATUS_SUSPENDED};
use runner_core::page::Page;
use runner_core::users::CreateTokenInput;

use super::{pagination, subject, timestamp};

/// A user's status in the API: active or suspended (a user who leaves is removed).
pub fn user_status(m: &Member) -> i32 {
    if m.suspended { USER_STATUS_SUSPENDED } else { USER_STATUS_ACTIVE }
}

pub fn user(m: Member) -> pb::User {
    pb::User {
        id: m.id.to_string(),
        organization_id: m.org_id.to_string(),
        status: user_status(&m),
        name: m.name,
        avatar_url: String::new(),
        created_at: Some(timestamp(m.created_at)),
        email: String::new(),
    }
}

pub fn create_personal_access_token(r: pb::CreatePersonalAccessTokenRequest) -> CreateTokenInput {
    CreateTokenInput {
        user_id: r.user_id,
        description: r.description,
        valid_for_seconds: super::valid_for_secs(r.valid_for),
        read_only: r.read_only,
    }
}

pub fn personal_access_token(t: AccessTokenInfo) -> pb::PersonalAccessToken {
    pb::PersonalAccessToken {
        id: t.id.to_string(),
        user_id: t.member_id.to_string(),
        description: t.description,
        creator: t.creator.as_ref().map(subject),
        created_at: Some(timestamp(t.created_at)),
        expires_at: t.expires_at.map(timestamp),
        last_used: t.last_used_at.map(timestamp),
        read_only: false,
    }
}

pub fn personal_access_tokens(page: Page<AccessTokenInfo>) -> pb::ListPersonalAccessTokensResponse {
    pb::ListPersonalAccessTokensResponse {
        pagination: pagination(page.next_token),
        personal_access_tokens: page.items.into_iter().map(personal_access_token).collect(),
    }
}
