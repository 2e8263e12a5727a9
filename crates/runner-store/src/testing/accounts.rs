//! `AccountRepo`: accounts, their identities at OpenID providers, their members.

use std::sync::Arc;

use runner_core::identity::*;
use runner_core::model::*;
use runner_core::store::{Store, StoreError};
use runner_core::time::Timestamp;
use uuid::Uuid;

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(accounts_are_created_with_their_first_member: create_account, get_account, find_account_by_email, find_account_by_identity, list_account_members),
        case!(account_identities_are_linked_once: link_account_identity, find_account_by_identity, account_issuers),
        case!(account_profiles_are_updated: update_account_profile, get_account),
    ]
}

/// An account no other case or run uses.
fn sample_account() -> Account {
    let now = Timestamp::now();
    Account {
        id: Uuid::now_v7(),
        email: format!("p{}@example.com", Uuid::new_v4().simple()),
        name: "Pat Example".to_owned(),
        avatar_url: "https://example.com/pat.png".to_owned(),
        created_at: now,
        updated_at: now,
        email_vouched: false,
    }
}

/// A user of `org` that is the first member of `account`.
fn first_user(org: &Organization, account: &Account) -> Member {
    Member {
        account_id: account.id,
        ..Member::new(org.id, Principal::User, &format!("user {}", Uuid::new_v4()), OrgRole::Member, Timestamp::now())
    }
}

fn identity_of(account: &Account, issuer: &str) -> AccountIdentity {
    AccountIdentity {
        issuer: issuer.to_owned(),
        subject: format!("sub-{}", Uuid::new_v4()),
        account_id: account.id,
        created_at: Timestamp::now(),
    }
}

async fn accounts_are_created_with_their_first_member(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let (other_org, _) = new_org(&store).await;
    let account = sample_account();
    let member = first_user(&org, &account);
    let identity = identity_of(&account, "https://idp.example.com");
    store.create_account(&account, &member, Some(&identity)).await.unwrap();
    assert_eq!(store.get_account(account.id).await.unwrap(), Some(account.clone()));
    assert_eq!(store.get_member(member.id).await.unwrap(), Some(member.clone()));
    assert_eq!(store.find_account_by_email(&account.email).await.unwrap(), Some(account.clone()));
    assert_eq!(
        store.find_account_by_identity(&identity.issuer, &identity.subject).await.unwrap(),
        Some(account.clone())
    );
    assert_eq!(store.list_account_members(account.id).await.unwrap(), vec![member.clone()]);
    // Unknown keys; an identity is its issuer and subject together.
    assert_eq!(store.get_account(Uuid::now_v7()).await.unwrap(), None);
    assert_eq!(store.find_account_by_email("nobody@example.com").await.unwrap(), None);
    assert_eq!(store.find_account_by_identity("https://other.example.com", &identity.subject).await.unwrap(), None);
    assert_eq!(store.find_account_by_identity(&identity.issuer, "sub-unknown").await.unwrap(), None);
    assert_eq!(store.list_account_members(Uuid::now_v7()).await.unwrap(), []);

    // Without an identity.
    let plain = sample_account();
    let plain_member = first_user(&org, &plain);
    store.create_account(&plain, &plain_member, None).await.unwrap();
    assert_eq!(store.get_account(plain.id).await.unwrap(), Some(plain.clone()));
    assert_eq!(store.list_account_members(plain.id).await.unwrap(), vec![plain_member]);

    // An email, an identity, a member's name in its organization: each is taken once, and a
    // failed create leaves nothing behind.
    let refused = |clash: Account, identity: Option<AccountIdentity>, member: Option<Member>| {
        let store = store.clone();
        let member = member.unwrap_or_else(|| first_user(&org, &clash));
        async move {
            let r = store.create_account(&clash, &member, identity.as_ref()).await;
            assert!(matches!(r, Err(StoreError::AlreadyExists)), "{r:?}");
            assert_eq!(store.get_account(clash.id).await.unwrap(), None);
            assert_eq!(store.get_member(member.id).await.unwrap(), None);
            if let Some(i) = identity {
                let linked = store.find_account_by_identity(&i.issuer, &i.subject).await.unwrap();
                assert_ne!(linked.map(|a| a.id), Some(clash.id));
            }
        }
    };
    refused(Account { id: Uuid::now_v7(), ..account.clone() }, None, None).await;
    let fresh = sample_account();
    refused(fresh.clone(), Some(AccountIdentity { account_id: fresh.id, ..identity.clone() }), None).await;
    let fresh = sample_account();
    let unlinked = identity_of(&fresh, "https://idp.example.com");
    let same_name = Member { name: member.name.clone(), ..first_user(&org, &fresh) };
    refused(fresh, Some(unlinked.clone()), Some(same_name)).await;
    assert_eq!(store.find_account_by_identity(&unlinked.issuer, &unlinked.subject).await.unwrap(), None);

    // Further members of the account are its users in other organizations, oldest first; it
    // has at most one in each organization.
    let second = Member {
        account_id: account.id,
        ..Member::new(other_org.id, Principal::User, "Pat", OrgRole::Admin, member.created_at.plus_seconds(1))
    };
    store.create_member(&second).await.unwrap();
    assert_eq!(store.list_account_members(account.id).await.unwrap(), vec![member.clone(), second]);
    let twice = Member { account_id: account.id, ..first_user(&org, &sample_account()) };
    assert!(matches!(store.create_member(&twice).await, Err(StoreError::AlreadyExists)));
    assert_eq!(store.get_member(twice.id).await.unwrap(), None);
}

async fn account_identities_are_linked_once(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let account = sample_account();
    store.create_account(&account, &first_user(&org, &account), None).await.unwrap();
    let identity = identity_of(&account, "https://idp.example.com");
    assert!(store.link_account_identity(&identity).await.unwrap());
    assert_eq!(
        store.find_account_by_identity(&identity.issuer, &identity.subject).await.unwrap(),
        Some(account.clone())
    );
    // The same subject at another issuer is another identity.
    let elsewhere = AccountIdentity { issuer: "https://other.example.com".to_owned(), ..identity.clone() };
    assert!(store.link_account_identity(&elsewhere).await.unwrap());
    assert_eq!(
        store.find_account_by_identity(&elsewhere.issuer, &elsewhere.subject).await.unwrap(),
        Some(account.clone())
    );
    // Its issuers, each once, in order; an account without identities has none.
    let again = AccountIdentity { subject: format!("sub-{}", Uuid::new_v4()), ..identity.clone() };
    assert!(store.link_account_identity(&again).await.unwrap());
    assert_eq!(
        store.account_issuers(account.id).await.unwrap(),
        vec!["https://idp.example.com".to_owned(), "https://other.example.com".to_owned()]
    );
    // An identity is linked to one account.
    let other = sample_account();
    store.create_account(&other, &first_user(&org, &other), None).await.unwrap();
    let stolen = AccountIdentity { account_id: other.id, ..identity.clone() };
    assert!(matches!(store.link_account_identity(&stolen).await, Err(StoreError::AlreadyExists)));
    assert_eq!(store.account_issuers(other.id).await.unwrap(), Vec::<String>::new());
    assert_eq!(
        store.find_account_by_identity(&identity.issuer, &identity.subject).await.unwrap(),
        Some(account.clone())
    );
    // No account, no link.
    let orphan = AccountIdentity { account_id: Uuid::now_v7(), ..identity_of(&account, "https://idp.example.com") };
    assert!(!store.link_account_identity(&orphan).await.unwrap());
    assert_eq!(store.find_account_by_identity(&orphan.issuer, &orphan.subject).await.unwrap(), None);
}

async fn account_profiles_are_updated(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let account = sample_account();
    store.create_account(&account, &first_user(&org, &account), None).await.unwrap();
    let changed = Account {
        name: "Pat Renamed".to_owned(),
        avatar_url: String::new(),
        updated_at: account.updated_at.plus_seconds(5),
        ..account.clone()
    };
    assert!(store.update_account_profile(&changed).await.unwrap());
    assert_eq!(store.get_account(account.id).await.unwrap(), Some(changed.clone()));
    // The email and creation time are not part of the profile.
    let sneaky = Account { email: "else@example.com".to_owned(), created_at: Timestamp(1), ..changed.clone() };
    assert!(store.update_account_profile(&sneaky).await.unwrap());
    assert_eq!(store.get_account(account.id).await.unwrap(), Some(changed.clone()));
    assert!(!store.update_account_profile(&sample_account()).await.unwrap());
    // The email's vouch mark is set, and never removed.
    let vouched = Account { email_vouched: true, ..changed.clone() };
    assert!(store.update_account_profile(&vouched).await.unwrap());
    assert_eq!(store.get_account(account.id).await.unwrap(), Some(vouched.clone()));
    assert!(store.update_account_profile(&changed).await.unwrap());
    assert_eq!(store.get_account(account.id).await.unwrap(), Some(vouched), "still vouched");
    // Created vouched, read vouched.
    let born = Account { email_vouched: true, ..sample_account() };
    store.create_account(&born, &first_user(&org, &born), None).await.unwrap();
    assert_eq!(store.get_account(born.id).await.unwrap(), Some(born));
}
