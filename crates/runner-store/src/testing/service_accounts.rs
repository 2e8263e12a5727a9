//! `ServiceAccountRepo`: service accounts and their details, which go with the member.

use std::sync::Arc;

use runner_core::identity::*;
use runner_core::model::*;
use runner_core::store::{MemberChange, MemberChanged, Store, StoreError};
use runner_core::time::Timestamp;
use uuid::Uuid;

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(service_accounts_round_trip: create_service_account, get_service_account, list_service_accounts),
        case!(service_accounts_are_updated_in_part: update_service_account),
        case!(a_service_account_goes_with_its_details: get_service_account, list_service_accounts),
        case!(concurrent_updates_wait_their_turn: update_service_account),
    ]
}

fn sample_account(org: &Organization, name: &str) -> ServiceAccount {
    let now = Timestamp::now();
    ServiceAccount {
        member: Member::new(org.id, Principal::ServiceAccount, name, OrgRole::Member, now),
        details: ServiceAccountDetails {
            description: format!("{name} does the builds"),
            creator: Some(Subject { id: Uuid::now_v7(), principal: Principal::User }),
            valid_until: Some(now.plus_seconds(86_400)),
        },
    }
}

async fn service_accounts_round_trip(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let (other, _) = new_org(&store).await;
    let ci = sample_account(&org, "ci");
    store.create_service_account(&ci).await.unwrap();
    assert_eq!(store.get_service_account(ci.member.id).await.unwrap(), Some(ci.clone()), "every field");
    assert_eq!(store.get_member(ci.member.id).await.unwrap(), Some(ci.member.clone()), "a member too");
    assert_eq!(store.get_service_account(Uuid::now_v7()).await.unwrap(), None);
    // Without the optional details.
    let bare = ServiceAccount {
        details: ServiceAccountDetails { description: String::new(), creator: None, valid_until: None },
        ..sample_account(&org, "bare")
    };
    store.create_service_account(&bare).await.unwrap();
    assert_eq!(store.get_service_account(bare.member.id).await.unwrap(), Some(bare.clone()));
    // One name per organization, and a failed create leaves nothing behind.
    let twin = sample_account(&org, "ci");
    assert!(matches!(store.create_service_account(&twin).await, Err(StoreError::AlreadyExists)));
    assert_eq!(store.get_member(twin.member.id).await.unwrap(), None);
    // A service account made as a bare member (before details were kept) has the defaults.
    let old = Member { id: Uuid::now_v7(), account_id: Uuid::now_v7(), name: "old".into(), ..ci.member.clone() };
    store.create_member(&old).await.unwrap();
    let got = store.get_service_account(old.id).await.unwrap().unwrap();
    assert_eq!(got, ServiceAccount { member: old.clone(), details: ServiceAccountDetails::default() });
    // A user is no service account.
    let user = Member {
        id: Uuid::now_v7(),
        account_id: Uuid::now_v7(),
        principal: Principal::User,
        name: "alice".into(),
        ..ci.member.clone()
    };
    store.create_member(&user).await.unwrap();
    assert_eq!(store.get_service_account(user.id).await.unwrap(), None);
    let theirs = sample_account(&other, "ci");
    store.create_service_account(&theirs).await.unwrap();
    // The organization's, by id, users left out.
    let listed = store.list_service_accounts(org.id).await.unwrap();
    assert_eq!(listed, vec![ci, bare, ServiceAccount { member: old, details: ServiceAccountDetails::default() }]);
    assert_eq!(store.list_service_accounts(other.id).await.unwrap(), vec![theirs]);
    assert_eq!(store.list_service_accounts(Uuid::now_v7()).await.unwrap(), vec![]);
}

async fn service_accounts_are_updated_in_part(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let ci = sample_account(&org, "ci");
    let deploy = sample_account(&org, "deploy");
    store.create_service_account(&ci).await.unwrap();
    store.create_service_account(&deploy).await.unwrap();
    let id = ci.member.id;
    let get = || async { store.get_service_account(id).await.unwrap().unwrap() };

    assert!(store.update_service_account(id, Some("builds"), None).await.unwrap());
    let renamed = get().await;
    assert_eq!(renamed.member.name, "builds");
    assert_eq!(renamed.details, ci.details, "the description stays");
    assert!(store.update_service_account(id, None, Some("")).await.unwrap());
    let described = get().await;
    assert_eq!((described.member.name.as_str(), described.details.description.as_str()), ("builds", ""));
    assert_eq!(described.details.valid_until, ci.details.valid_until);
    assert!(store.update_service_account(id, Some("ci"), Some("again")).await.unwrap());
    let both = get().await;
    assert_eq!((both.member.name.as_str(), both.details.description.as_str()), ("ci", "again"));
    // Nothing given changes nothing.
    assert!(store.update_service_account(id, None, None).await.unwrap());
    assert_eq!(get().await, both);

    // Another's name is taken, and the whole update fails.
    assert!(matches!(
        store.update_service_account(id, Some("deploy"), Some("lost")).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(get().await, both);
    // An unknown id, or a user's, is not updated.
    assert!(!store.update_service_account(Uuid::now_v7(), Some("x"), None).await.unwrap());
    let user =
        Member { id: Uuid::now_v7(), account_id: Uuid::now_v7(), principal: Principal::User, ..ci.member.clone() };
    store.create_member(&user).await.unwrap();
    assert!(!store.update_service_account(user.id, Some("x"), Some("y")).await.unwrap());
    assert_eq!(store.get_member(user.id).await.unwrap().unwrap().name, "ci");
    // One made without details gets them on its first description.
    let old = Member { id: Uuid::now_v7(), account_id: Uuid::now_v7(), name: "old".into(), ..ci.member.clone() };
    store.create_member(&old).await.unwrap();
    assert!(store.update_service_account(old.id, None, Some("now described")).await.unwrap());
    let got = store.get_service_account(old.id).await.unwrap().unwrap();
    assert_eq!(got.details.description, "now described");
    assert_eq!((got.details.creator, got.details.valid_until), (None, None));
}

async fn a_service_account_goes_with_its_details(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let ci = sample_account(&org, "ci");
    let keep = sample_account(&org, "keep");
    store.create_service_account(&ci).await.unwrap();
    store.create_service_account(&keep).await.unwrap();
    // Deleted as every member is; its details go with it.
    let deleted = store.change_member(ci.member.id, MemberChange::Delete).await.unwrap();
    assert_eq!(deleted, MemberChanged::Done(ci.member.clone()));
    assert_eq!(store.get_service_account(ci.member.id).await.unwrap(), None);
    assert_eq!(store.list_service_accounts(org.id).await.unwrap(), vec![keep]);
    // A member made again with its id has none of them.
    store.create_member(&ci.member).await.unwrap();
    let again = store.get_service_account(ci.member.id).await.unwrap().unwrap();
    assert_eq!(again.details, ServiceAccountDetails::default());
}

/// Many writers at once: an update that reads before it writes (a service account's) waits its
/// turn rather than fail (SQLite: a deferred transaction cannot take the write lock once another
/// writer committed after its read; `SQLITE_BUSY` at once, whatever the busy timeout).
async fn concurrent_updates_wait_their_turn(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let mut ids = Vec::new();
    for i in 0..8 {
        let account = sample_account(&org, &format!("writer {i}"));
        store.create_service_account(&account).await.unwrap();
        ids.push(account.member.id);
    }
    let writers = ids.iter().enumerate().map(|(i, &id)| {
        let store = store.clone();
        tokio::spawn(async move {
            for n in 0..25 {
                let name = format!("writer {i} {n}");
                let updated = store.update_service_account(id, Some(&name), Some(&name)).await;
                assert!(updated.as_ref().is_ok_and(|u| *u), "writer {i}, update {n}: {updated:?}");
            }
        })
    });
    for writer in writers.collect::<Vec<_>>() {
        writer.await.unwrap();
    }
    for (i, id) in ids.into_iter().enumerate() {
        assert_eq!(store.get_service_account(id).await.unwrap().unwrap().member.name, format!("writer {i} 24"));
    }
}
