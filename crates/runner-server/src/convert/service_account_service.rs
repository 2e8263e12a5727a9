//! ServiceAccountService: service accounts and their tokens.

use gitpod_api::gitpod::v1 as pb;
use runner_core::CoreError;
use runner_core::identity::ServiceAccount;
use runner_core::page::Page;
use runner_core::service_accounts::{CreateServiceAccountInput, ListServiceAccountsInput, ServiceAccountToken};

use super::{from_timestamp, pagination, subject, timestamp};

pub fn create_service_account(r: pb::CreateServiceAccountRequest) -> Result<CreateServiceAccountInput, CoreError> {
    Ok(CreateServiceAccountInput {
        name: r.name,
        description: r.description,
        valid_until: from_timestamp("validUntil", r.valid_until)?,
    })
}

pub fn list_service_accounts(filter: Option<pb::list_service_accounts_request::Filter>) -> ListServiceAccountsInput {
    let f = filter.unwrap_or_default();
    ListServiceAccountsInput {
        include_suspended: f.include_suspended,
        service_account_ids: f.service_account_ids,
        search: f.search,
    }
}

pub fn service_account(a: ServiceAccount) -> pb::ServiceAccount {
    let ServiceAccount { member, details } = a;
    pb::ServiceAccount {
        id: member.id.to_string(),
        organization_id: member.org_id.to_string(),
        name: member.name,
        description: details.description,
        creator: details.creator.as_ref().map(subject),
        created_at: Some(timestamp(member.created_at)),
        valid_until: details.valid_until.map(timestamp),
        suspended: member.suspended,
        system_managed: false,
    }
}

pub fn service_accounts(page: Page<ServiceAccount>) -> pb::ListServiceAccountsResponse {
    pb::ListServiceAccountsResponse {
        pagination: pagination(page.next_token),
        service_accounts: page.items.into_iter().map(service_account).collect(),
    }
}

pub fn service_account_token(t: ServiceAccountToken) -> pb::ServiceAccountToken {
    let t = t.info;
    pb::ServiceAccountToken {
        id: t.id.to_string(),
        service_account_id: t.member_id.to_string(),
        description: t.description,
        creator: t.creator.as_ref().map(subject),
        created_at: Some(timestamp(t.created_at)),
        expires_at: t.expires_at.map(timestamp),
        last_used: t.last_used_at.map(timestamp),
    }
}

pub fn service_account_tokens(page: Page<ServiceAccountToken>) -> pb::ListServiceAccountTokensResponse {
    pb::ListServiceAccountTokensResponse {
        pagination: pagination(page.next_token),
        tokens: page.items.into_iter().map(service_account_token).collect(),
    }
}
