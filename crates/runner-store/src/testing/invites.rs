//! `InviteRepo`: the current invite of each organization.

use std::sync::Arc;

use runner_core::audit::AuditFilter;
use runner_core::identity::OrganizationInvite;
use runner_core::store::Store;
use uuid::Uuid;

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(an_organization_has_one_current_invite: create_invite, get_invite),
        case!(the_current_invite_is_made_once: get_or_create_invite, get_invite),
        case!(invites_go_with_their_organization: create_invite, get_or_create_invite, get_invite),
    ]
}

fn sample_invite(org: &Organization) -> OrganizationInvite {
    let creator = Subject { id: Uuid::now_v7(), principal: Principal::User };
    OrganizationInvite::new(org.id, creator, Timestamp::now())
}

/// How many audit log entries name the organization.
async fn entries_of(store: &Arc<dyn Store>, org: &Organization) -> usize {
    let filter = AuditFilter { subject_ids: vec![org.id], ..Default::default() };
    store.list_audit_entries(org.id, &filter, None, 1000).await.unwrap().len()
}

async fn an_organization_has_one_current_invite(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let (other_org, _) = new_org(&store).await;
    let before = entries_of(&store, &org).await;
    let first = sample_invite(&org);
    store.create_invite(&first).await.unwrap();
    assert_eq!(store.get_invite(first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(store.get_invite(Uuid::new_v4()).await.unwrap(), None);
    assert_eq!(entries_of(&store, &org).await, before + 1, "one entry, naming the organization");
    let elsewhere = sample_invite(&other_org);
    store.create_invite(&elsewhere).await.unwrap();

    // A new invite replaces the current one: the old id is no longer found; the other
    // organization's invite stays.
    let service_account = Subject { id: Uuid::now_v7(), principal: Principal::ServiceAccount };
    let second = OrganizationInvite { creator: service_account, ..sample_invite(&org) };
    store.create_invite(&second).await.unwrap();
    assert_eq!(store.get_invite(first.id).await.unwrap(), None);
    assert_eq!(store.get_invite(second.id).await.unwrap(), Some(second.clone()));
    assert_eq!(store.get_invite(elsewhere.id).await.unwrap(), Some(elsewhere));
    assert_eq!(store.get_or_create_invite(&sample_invite(&org)).await.unwrap(), second);
    assert_eq!(entries_of(&store, &org).await, before + 2);

    // An invite needs its organization; nothing is stored or recorded for one that is not.
    let orphan = OrganizationInvite { org_id: Uuid::now_v7(), ..sample_invite(&org) };
    assert!(store.create_invite(&orphan).await.is_err());
    assert_eq!(store.get_invite(orphan.id).await.unwrap(), None);
    assert_eq!(store.get_invite(second.id).await.unwrap(), Some(second));
}

async fn the_current_invite_is_made_once(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let before = entries_of(&store, &org).await;
    let candidate = sample_invite(&org);
    let made = store.get_or_create_invite(&candidate).await.unwrap();
    assert_eq!(made, candidate, "an organization without an invite gets the candidate");
    assert_eq!(store.get_invite(candidate.id).await.unwrap(), Some(candidate.clone()));
    // Later calls get the same invite and store nothing.
    let later = sample_invite(&org);
    assert_eq!(store.get_or_create_invite(&later).await.unwrap(), candidate);
    assert_eq!(store.get_invite(later.id).await.unwrap(), None);
    assert_eq!(entries_of(&store, &org).await, before + 1, "only the write is recorded");

    // Callers at once all get one invite, the one stored first.
    let (org, _) = new_org(&store).await;
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let candidate = sample_invite(&org);
            tokio::spawn(async move { store.get_or_create_invite(&candidate).await.unwrap() })
        })
        .collect();
    let mut got = Vec::new();
    for call in calls {
        got.push(call.await.unwrap());
    }
    assert!(got.iter().all(|i| *i == got[0]), "every caller got the same invite: {got:?}");
    assert_eq!(store.get_invite(got[0].id).await.unwrap(), Some(got[0].clone()));

    // An organization that does not exist gets none.
    let orphan = OrganizationInvite { org_id: Uuid::now_v7(), ..sample_invite(&org) };
    assert!(store.get_or_create_invite(&orphan).await.is_err());
    assert_eq!(store.get_invite(orphan.id).await.unwrap(), None);
}

async fn invites_go_with_their_organization(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let (other_org, _) = new_org(&store).await;
    let invite = sample_invite(&org);
    store.create_invite(&invite).await.unwrap();
    let kept = store.get_or_create_invite(&sample_invite(&other_org)).await.unwrap();
    assert!(store.delete_organization(org.id).await.unwrap());
    assert_eq!(store.get_invite(invite.id).await.unwrap(), None);
    assert_eq!(store.get_invite(kept.id).await.unwrap(), Some(kept));
}
