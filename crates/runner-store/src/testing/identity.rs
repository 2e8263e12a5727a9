//! `IdentityRepo` and `AccessTokenRepo`: organizations, members, groups and personal access
//! tokens.

use std::sync::Arc;

use runner_core::identity::*;
use runner_core::model::*;
use runner_core::store::{Store, StoreError};
use runner_core::time::Timestamp;
use uuid::Uuid;

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(organizations_are_created_whole_and_unique: create_organization, list_organizations),
        case!(members_round_trip: create_member, get_member, list_members, set_member_role, set_member_suspended),
        case!(groups_round_trip: create_group, get_group, list_groups, add_group_member),
        case!(group_members_are_counted: count_group_members),
        case!(access_tokens_resolve_with_their_groups: insert_access_token, resolve_access_token, revoke_access_token, list_access_tokens),
    ]
}

pub(super) fn sample_member(org: &Organization, principal: Principal, name: &str) -> Member {
    Member {
        id: Uuid::now_v7(),
        org_id: org.id,
        principal,
        name: name.to_owned(),
        role: OrgRole::Member,
        suspended: false,
        created_at: Timestamp::now(),
    }
}

async fn organizations_are_created_whole_and_unique(store: Arc<dyn Store>) {
    let (org, members) = new_org(&store).await;
    let (second, _) = new_org(&store).await;
    let now = Timestamp::now();
    let listed = store.list_organizations().await.unwrap();
    assert_eq!(listed, vec![org.clone(), second.clone()], "in creation order");
    // With its org-members group and its one local-configuration runner.
    assert_eq!(store.get_group(members.id).await.unwrap(), Some(members.clone()));
    assert_eq!(store.list_groups(org.id).await.unwrap(), vec![members]);
    let local = RunnerFilter { kinds: vec![RunnerKind::LocalConfiguration], ..Default::default() };
    let locals = store.list_runners(&everything(&org), &local, None, 10).await.unwrap();
    assert_eq!(locals.len(), 1);
    assert_eq!(locals[0].org_id, org.id);

    // Organization names are unique, and a failed create leaves nothing behind.
    let dup = Organization { id: Uuid::now_v7(), name: org.name.clone(), created_at: now };
    let dup_group = Group { system: true, ..Group::new(dup.id, ORG_MEMBERS_GROUP, "", now) };
    let dup_local = runner_core::accounts::local_configuration_runner(dup.id, now);
    assert!(matches!(store.create_organization(&dup, &dup_group, &dup_local).await, Err(StoreError::AlreadyExists)));
    assert_eq!(store.get_runner(dup_local.id).await.unwrap(), None);
    assert_eq!(store.get_group(dup_group.id).await.unwrap(), None);
    assert_eq!(store.list_organizations().await.unwrap(), listed);
}

async fn members_round_trip(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let (other, _) = new_org(&store).await;
    let alice = sample_member(&org, Principal::User, "alice");
    store.create_member(&alice).await.unwrap();
    assert_eq!(store.get_member(alice.id).await.unwrap(), Some(alice.clone()));
    assert_eq!(store.get_member(Uuid::now_v7()).await.unwrap(), None);
    // One name per principal kind in an organization.
    assert!(matches!(
        store.create_member(&Member { id: Uuid::now_v7(), ..alice.clone() }).await,
        Err(StoreError::AlreadyExists)
    ));
    let bot = sample_member(&org, Principal::ServiceAccount, "alice");
    store.create_member(&bot).await.unwrap();
    let elsewhere = sample_member(&other, Principal::User, "alice");
    store.create_member(&elsewhere).await.unwrap();
    assert_eq!(store.list_members(org.id).await.unwrap(), vec![alice.clone(), bot.clone()]);
    assert_eq!(store.list_members(other.id).await.unwrap(), vec![elsewhere]);

    assert!(store.set_member_role(alice.id, OrgRole::Admin).await.unwrap());
    assert!(!store.set_member_role(Uuid::now_v7(), OrgRole::Admin).await.unwrap());
    assert_eq!(store.get_member(alice.id).await.unwrap(), Some(Member { role: OrgRole::Admin, ..alice.clone() }));
    assert_eq!(store.get_member(bot.id).await.unwrap().unwrap().role, OrgRole::Member);
    assert!(store.set_member_role(alice.id, OrgRole::Member).await.unwrap());
    assert_eq!(store.get_member(alice.id).await.unwrap(), Some(alice.clone()));

    // Suspension, and back; a suspended member is created as such too.
    assert!(store.set_member_suspended(alice.id, true).await.unwrap());
    assert_eq!(store.get_member(alice.id).await.unwrap(), Some(Member { suspended: true, ..alice.clone() }));
    assert!(!store.get_member(bot.id).await.unwrap().unwrap().suspended);
    assert!(!store.set_member_suspended(Uuid::now_v7(), true).await.unwrap());
    assert!(store.set_member_suspended(alice.id, false).await.unwrap());
    assert_eq!(store.get_member(alice.id).await.unwrap(), Some(alice));
    let suspended = Member { suspended: true, ..sample_member(&org, Principal::User, "carol") };
    store.create_member(&suspended).await.unwrap();
    assert_eq!(store.get_member(suspended.id).await.unwrap(), Some(suspended));
}

async fn groups_round_trip(store: Arc<dyn Store>) {
    let (org, members) = new_org(&store).await;
    let (other, other_members) = new_org(&store).await;
    let team = sample_group(&org, "team");
    store.create_group(&team).await.unwrap();
    assert_eq!(store.get_group(team.id).await.unwrap(), Some(team.clone()));
    assert_eq!(store.get_group(Uuid::now_v7()).await.unwrap(), None);
    // One name per organization.
    assert!(matches!(
        store.create_group(&Group { id: Uuid::now_v7(), ..team.clone() }).await,
        Err(StoreError::AlreadyExists)
    ));
    let theirs = sample_group(&other, "team");
    store.create_group(&theirs).await.unwrap();
    assert_eq!(store.list_groups(org.id).await.unwrap(), vec![members, team.clone()]);
    assert_eq!(store.list_groups(other.id).await.unwrap(), vec![other_members, theirs]);

    let alice = sample_member(&org, Principal::User, "alice");
    store.create_member(&alice).await.unwrap();
    store.add_group_member(team.id, alice.id).await.unwrap();
    assert!(matches!(store.add_group_member(team.id, alice.id).await, Err(StoreError::AlreadyExists)));
    // Every field comes back, the API's too.
    let shared = Group { direct_share: true, description: String::new(), ..sample_group(&org, "share-alice") };
    store.create_group(&shared).await.unwrap();
    assert_eq!(store.get_group(shared.id).await.unwrap(), Some(shared));
    assert_eq!(store.get_group(team.id).await.unwrap(), Some(team));
}

async fn group_members_are_counted(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let (other, _) = new_org(&store).await;
    let (team, idle, foreign) = (sample_group(&org, "team"), sample_group(&org, "idle"), sample_group(&other, "team"));
    for g in [&team, &idle, &foreign] {
        store.create_group(g).await.unwrap();
    }
    assert_eq!(store.count_group_members(org.id).await.unwrap(), vec![], "no memberships yet");
    let alice = sample_member(&org, Principal::User, "alice");
    let bot = sample_member(&org, Principal::ServiceAccount, "bot");
    let stranger = sample_member(&other, Principal::User, "stranger");
    for m in [&alice, &bot, &stranger] {
        store.create_member(m).await.unwrap();
    }
    store.add_group_member(team.id, alice.id).await.unwrap();
    store.add_group_member(team.id, bot.id).await.unwrap();
    store.add_group_member(foreign.id, stranger.id).await.unwrap();
    // Per group of the organization, groups without members left out; another org's apart.
    assert_eq!(store.count_group_members(org.id).await.unwrap(), vec![(team.id, 2)]);
    assert_eq!(store.count_group_members(other.id).await.unwrap(), vec![(foreign.id, 1)]);
    store.add_group_member(idle.id, bot.id).await.unwrap();
    let mut counts = store.count_group_members(org.id).await.unwrap();
    counts.sort();
    let mut expected = vec![(team.id, 2), (idle.id, 1)];
    expected.sort();
    assert_eq!(counts, expected);
    assert_eq!(store.count_group_members(Uuid::now_v7()).await.unwrap(), vec![]);
}

async fn access_tokens_resolve_with_their_groups(store: Arc<dyn Store>) {
    let (org, members) = new_org(&store).await;
    let (other, _) = new_org(&store).await;
    let now = Timestamp::now();
    let alice = sample_member(&org, Principal::User, "alice");
    let bot = sample_member(&org, Principal::ServiceAccount, "bot");
    let stranger = sample_member(&other, Principal::User, "alice");
    for m in [&alice, &bot, &stranger] {
        store.create_member(m).await.unwrap();
    }
    let team = sample_group(&org, "team");
    let idle = sample_group(&org, "idle");
    let foreign = sample_group(&other, "team");
    for g in [&team, &idle, &foreign] {
        store.create_group(g).await.unwrap();
    }
    store.add_group_member(team.id, alice.id).await.unwrap();
    store.add_group_member(foreign.id, stranger.id).await.unwrap();

    let token = AccessTokenInfo {
        id: Uuid::now_v7(),
        org_id: org.id,
        member_id: alice.id,
        description: "d".into(),
        created_at: now,
        expires_at: Some(now.plus_seconds(60)),
        revoked_at: None,
    };
    store.insert_access_token(&token, b"hash-a").await.unwrap();
    let (got, member, groups) = store.resolve_access_token(b"hash-a").await.unwrap().unwrap();
    assert_eq!((got, member.clone()), (token.clone(), alice.clone()));
    // The member's groups, the organization's org-members included, and no other.
    let mut expected = vec![members.clone(), team.clone()];
    expected.sort_by_key(|g| g.id);
    assert_eq!(groups, expected);
    // The service account is in org-members only.
    let bot_token = AccessTokenInfo { id: Uuid::now_v7(), member_id: bot.id, expires_at: None, ..token.clone() };
    store.insert_access_token(&bot_token, b"hash-b").await.unwrap();
    let (got, _, groups) = store.resolve_access_token(b"hash-b").await.unwrap().unwrap();
    assert_eq!((got, groups), (bot_token.clone(), vec![members]));
    assert!(store.resolve_access_token(b"nope").await.unwrap().is_none());
    // A hash is stored once.
    let again = AccessTokenInfo { id: Uuid::now_v7(), ..token.clone() };
    assert!(matches!(store.insert_access_token(&again, b"hash-a").await, Err(StoreError::AlreadyExists)));
    let theirs = AccessTokenInfo { id: Uuid::now_v7(), org_id: other.id, member_id: stranger.id, ..token.clone() };
    store.insert_access_token(&theirs, b"hash-c").await.unwrap();

    assert!(store.revoke_access_token(token.id, now).await.unwrap());
    assert!(!store.revoke_access_token(token.id, now.plus_seconds(5)).await.unwrap(), "revoking twice");
    assert!(!store.revoke_access_token(Uuid::now_v7(), now).await.unwrap());
    let revoked = AccessTokenInfo { revoked_at: Some(now), ..token.clone() };
    assert_eq!(store.resolve_access_token(b"hash-a").await.unwrap().unwrap().0, revoked);
    assert_eq!(store.list_access_tokens(org.id).await.unwrap(), vec![revoked, bot_token]);
    assert_eq!(store.list_access_tokens(other.id).await.unwrap(), vec![theirs]);
}
