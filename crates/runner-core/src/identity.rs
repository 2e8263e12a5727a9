//! Who calls: organizations, their users, service accounts and groups, and the caller of one
//! request with everything authorization needs to know about it.

use uuid::Uuid;

use crate::model::{Principal, ResourceKind, ResourceRole, Subject};
use crate::time::Timestamp;

/// Name of the system group every organization has; it holds all the organization's members.
pub const ORG_MEMBERS_GROUP: &str = "org-members";

/// The tier every organization of this server reports: a self-hosted server has no billing plans,
/// and every organization has every feature the server offers.
pub const ORGANIZATION_TIER: &str = "ORGANIZATION_TIER_ENTERPRISE";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An organization's invite: the link an admin shares (`{public_url}/#/join/<id>`), whose id is
/// its secret. An organization has at most one current invite, as the hosted product has:
/// CreateOrganizationInvite replaces it (the old id stops working at once), and
/// GetOrganizationInvite returns it, making one when there is none. Invites go with their
/// organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationInvite {
    pub id: Uuid,
    pub org_id: Uuid,
    /// Who made it.
    pub creator: Subject,
    pub created_at: Timestamp,
}

impl OrganizationInvite {
    /// A new invite of `org_id` made by `creator`, with a fresh random id (version 4: the id is
    /// the link's secret, so none of it is a timestamp or a counter).
    pub fn new(org_id: Uuid, creator: Subject, now: Timestamp) -> Self {
        OrganizationInvite { id: Uuid::new_v4(), org_id, creator, created_at: now }
    }
}

/// A role in an organization, held by a user or service account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgRole {
    Admin,
    Member,
}

impl OrgRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Admin => "admin",
            OrgRole::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(OrgRole::Admin),
            "member" => Some(OrgRole::Member),
            _ => None,
        }
    }

    /// Its number in the API (`OrganizationRole`).
    pub fn number(self) -> i32 {
        match self {
            OrgRole::Admin => 1,
            OrgRole::Member => 2,
        }
    }

    pub fn from_number(n: i32) -> Option<Self> {
        [OrgRole::Admin, OrgRole::Member].into_iter().find(|r| r.number() == n)
    }
}

/// A user or service account of an organization. A user belongs to exactly one organization
/// (the API's `User.organization_id`); a person in two organizations is two users of one
/// account (`account_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: Uuid,
    pub org_id: Uuid,
    /// The account (the person) this member is of; a member made alone is its own account.
    pub account_id: Uuid,
    /// `Principal::User` or `Principal::ServiceAccount`.
    pub principal: Principal,
    pub name: String,
    pub role: OrgRole,
    /// A suspended member's tokens do not authenticate.
    pub suspended: bool,
    pub created_at: Timestamp,
}

impl Member {
    /// A new member of `org_id`, its own account, not suspended.
    pub fn new(org_id: Uuid, principal: Principal, name: &str, role: OrgRole, now: Timestamp) -> Self {
        let id = Uuid::now_v7();
        Member { id, org_id, account_id: id, principal, name: name.to_owned(), role, suspended: false, created_at: now }
    }

    pub fn subject(&self) -> Subject {
        Subject { id: self.id, principal: self.principal }
    }

    /// An admin who is not suspended: of these an organization keeps at least one user.
    pub fn is_active_admin(&self) -> bool {
        self.role == OrgRole::Admin && !self.suspended
    }
}

/// A group of members. The `org-members` system group holds every member implicitly; other
/// groups list their members. What a group may do is in its role assignments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub description: String,
    pub system: bool,
    /// A group made to share resources directly with one user or service account.
    pub direct_share: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Group {
    /// A new group of `org_id`, not a system group.
    pub fn new(org_id: Uuid, name: &str, description: &str, now: Timestamp) -> Self {
        Group {
            id: Uuid::now_v7(),
            org_id,
            name: name.to_owned(),
            description: description.to_owned(),
            system: false,
            direct_share: false,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A member's place in a (non-system) group: GroupService's `GroupMembership`, with its own id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    pub id: Uuid,
    pub group_id: Uuid,
    pub member_id: Uuid,
}

/// A group's role on a resource: the one record of access. A runner policy is an assignment of
/// a runner role on the runner; the organization-level roles of groups are assignments on the
/// organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignment {
    pub id: Uuid,
    pub org_id: Uuid,
    pub group_id: Uuid,
    pub resource_kind: ResourceKind,
    pub resource_id: Uuid,
    pub role: ResourceRole,
    pub created_at: Timestamp,
}

/// Which role assignments of an organization to list; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoleAssignmentFilter {
    pub group_id: Option<Uuid>,
    /// Assignments of the groups this member is in (the `org-members` group included).
    pub member_id: Option<Uuid>,
    pub resource_ids: Vec<Uuid>,
    pub resource_kinds: Vec<ResourceKind>,
    pub roles: Vec<ResourceRole>,
}

/// A personal access token's record (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenInfo {
    pub id: Uuid,
    pub org_id: Uuid,
    pub member_id: Uuid,
    pub description: String,
    /// Who created it (none for tokens of the `admin` subcommands and the first start).
    pub creator: Option<Subject>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    /// Tokens of earlier versions could be revoked in place; they do not authenticate.
    pub revoked_at: Option<Timestamp>,
    /// When it last authenticated, to the minute ([`crate::accounts::LAST_USED_RESOLUTION_SECS`]).
    pub last_used_at: Option<Timestamp>,
}

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub org_id: Uuid,
    pub subject: Subject,
    /// Organization admin.
    pub org_admin: bool,
    /// Member of a group holding the runners-admin role.
    pub runners_admin: bool,
    /// Every group the caller is in, the `org-members` group included.
    pub groups: Vec<Uuid>,
}

impl Caller {
    /// The principal of a runner process: no roles, no groups.
    pub fn runner(org_id: Uuid, runner_id: Uuid) -> Self {
        Caller {
            org_id,
            subject: Subject { id: runner_id, principal: Principal::Runner },
            org_admin: false,
            runners_admin: false,
            groups: Vec::new(),
        }
    }

    /// A user of `org_id` with no roles and no groups, for the unit tests of this crate.
    #[cfg(test)]
    pub(crate) fn test_user(org_id: Uuid) -> Self {
        Caller {
            org_id,
            subject: Subject { id: Uuid::now_v7(), principal: Principal::User },
            org_admin: false,
            runners_admin: false,
            groups: Vec::new(),
        }
    }

    /// The runner whose own principal the caller is, if it is one.
    pub fn runner_id(&self) -> Option<Uuid> {
        (self.subject.principal == Principal::Runner).then_some(self.subject.id)
    }

    /// Admin of every runner of the organization (org admin or runners admin).
    pub fn admin_of_all_runners(&self) -> bool {
        self.org_admin || self.runners_admin
    }
}

/// What a service account has beside its member record. A service account made before these
/// were kept (or by `admin create-service-account` without them) has the defaults: no
/// description, no creator, valid without end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceAccountDetails {
    pub description: String,
    /// Who created it through the API.
    pub creator: Option<Subject>,
    /// After this its tokens do not authenticate.
    pub valid_until: Option<Timestamp>,
}

/// A service account: a member with principal `ServiceAccount`, and its details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccount {
    pub member: Member,
    pub details: ServiceAccountDetails,
}

/// An organization's OpenID Connect provider (an SSO configuration): its people sign in
/// through it. The client secret is stored only encrypted ([`crate::crypto::AtRestKey`], bound
/// to the configuration's id) and never returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoConfiguration {
    pub id: Uuid,
    pub org_id: Uuid,
    pub client_id: String,
    pub client_secret_ciphertext: Vec<u8>,
    /// The issuer exactly as its discovery document names it.
    pub issuer_url: String,
    /// Whether new sign-ins through it are admitted.
    pub active: bool,
    /// Lower case, unique on the whole server, at least one.
    pub email_domains: Vec<String>,
    pub details: SsoDetails,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub revision: i64,
}

/// What an SSO configuration has beyond its keys: stored as one JSON document.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SsoDetails {
    #[serde(default)]
    pub display_name: String,
    /// Scopes requested beside `openid email profile`.
    #[serde(default)]
    pub additional_scopes: Vec<String>,
    /// The API's claim mapping, kept as given.
    #[serde(default)]
    pub claims: std::collections::BTreeMap<String, String>,
}

/// A person: the account their users (one per organization they are a member of) belong to
/// (`Member::account_id`). Accounts are made when someone first signs in through an SSO
/// configuration (just in time); members made by the `admin` subcommands or the API alone are
/// their own account and have no row here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: Uuid,
    /// Lower case ([`Account::normalize_email`]), unique on the whole server.
    pub email: String,
    pub name: String,
    pub avatar_url: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Whether the email address was vouched for: by the identity provider of the SSO
    /// configuration that owns its domain, or by the server's administrator (`admin create-user
    /// --email`). Only then may a sign-in be linked to the account by its address.
    pub email_vouched: bool,
}

impl Account {
    /// The form emails are stored and looked up in: trimmed, lower case.
    pub fn normalize_email(email: &str) -> String {
        email.trim().to_lowercase()
    }

    /// The domain of an email address, which picks its SSO configuration: the part after the
    /// last `@` of the normalized address, when the part before is not empty and it is a
    /// domain name as configurations' domains are ([`crate::validate::is_domain_name`]);
    /// otherwise `None`, and the address belongs to no configuration.
    pub fn email_domain(email: &str) -> Option<String> {
        let email = Self::normalize_email(email);
        let (local, domain) = email.rsplit_once('@')?;
        (!local.is_empty() && crate::validate::is_domain_name(domain)).then(|| domain.to_owned())
    }
}

/// The link of an identity at an OpenID provider (the ID token's `iss` and `sub`) to the
/// account it signs in as. An identity is linked to one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountIdentity {
    pub issuer: String,
    pub subject: String,
    pub account_id: Uuid,
    pub created_at: Timestamp,
}

/// A sign-in through an SSO configuration that was started and has not come back yet: what
/// the callback needs. Stored by the hash of its `state` (never the state itself), used once,
/// and only until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoLoginState {
    pub configuration_id: Uuid,
    /// The ID token must carry it.
    pub nonce: String,
    /// The PKCE code verifier, encrypted at rest, bound to the state's hash.
    pub pkce_verifier_ciphertext: Vec<u8>,
    /// The invite the person followed, which admits an email outside the configuration's
    /// domains to the invite's organization.
    pub invite_id: Option<Uuid>,
    /// Where the console goes after signing in (on the server's public origin).
    pub return_to: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A console session: a user signed in through SSO. Its token (the `runner_session` cookie)
/// is stored only as a hash; it ends at `expires_at`, on sign-out, and when its member is
/// suspended or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub id: Uuid,
    pub member_id: Uuid,
    pub org_id: Uuid,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::Account;

    #[test]
    fn an_addresss_domain_is_a_domain_name_after_its_last_at_in_lower_case() {
        assert_eq!(Account::email_domain("Alice@ACME.test"), Some("acme.test".to_owned()));
        assert_eq!(Account::email_domain(" \"a@b\"@Example.COM "), Some("example.com".to_owned()));
        assert_eq!(Account::email_domain("bob@mail.example-1.org"), Some("mail.example-1.org".to_owned()));
        // No domain, no local part, or a domain no SSO configuration could have.
        for bad in ["alice", "@acme.test", "alice@", "alice@localhost", "alice@acme..test", "alice@acme .test"] {
            assert_eq!(Account::email_domain(bad), None, "{bad}");
        }
        for bad in ["alice@-acme.test", "alice@acme.test.", "alice@ÉCOLE.fr", "alice@acme_corp.test"] {
            assert_eq!(Account::email_domain(bad), None, "{bad}");
        }
    }
}
