//! `SessionRepo`: SSO sign-ins in progress and console sessions.

use std::sync::Arc;

use runner_core::identity::*;
use runner_core::model::*;
use runner_core::store::{MemberChange, Store, StoreError};
use runner_core::time::Timestamp;
use uuid::Uuid;

use super::identity::sample_member;
use super::sso::{fresh_domain, sample_sso};
use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(login_states_are_taken_once_until_they_expire: insert_login_state, take_login_state),
        case!(sessions_resolve_until_they_expire_or_end: insert_session, resolve_session, delete_session),
        case!(sessions_end_when_their_member_is_suspended_or_deleted: insert_session, resolve_session, change_member),
        case!(expired_sessions_and_sign_ins_are_pruned: prune_sessions, insert_session, insert_login_state),
    ]
}

fn hash() -> Vec<u8> {
    Uuid::new_v4().as_bytes().repeat(2)
}

async fn login_states_are_taken_once_until_they_expire(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let config = sample_sso(&org, &[&fresh_domain()]);
    store.insert_sso_configuration(&config).await.unwrap();
    let now = Timestamp::now();
    let state = SsoLoginState {
        configuration_id: config.id,
        nonce: "n-1".to_owned(),
        pkce_verifier_ciphertext: vec![9, 0, 255],
        invite_id: Some(Uuid::new_v4()),
        return_to: "https://runner.example.com/#/runners".to_owned(),
        created_at: now,
        expires_at: now.plus_seconds(600),
    };
    let h = hash();
    store.insert_login_state(&state, &h).await.unwrap();
    assert!(matches!(store.insert_login_state(&state, &h).await, Err(StoreError::AlreadyExists)));
    // Once, with every field; then gone.
    assert_eq!(store.take_login_state(&h, now).await.unwrap(), Some(state.clone()));
    assert_eq!(store.take_login_state(&h, now).await.unwrap(), None);
    assert_eq!(store.take_login_state(&hash(), now).await.unwrap(), None);
    // Without an invite.
    let plain = SsoLoginState { invite_id: None, ..state.clone() };
    let h2 = hash();
    store.insert_login_state(&plain, &h2).await.unwrap();
    assert_eq!(store.take_login_state(&h2, now).await.unwrap(), Some(plain));
    // An expired one is not given, and is gone too.
    let h3 = hash();
    store.insert_login_state(&state, &h3).await.unwrap();
    assert_eq!(store.take_login_state(&h3, state.expires_at).await.unwrap(), None);
    assert_eq!(store.take_login_state(&h3, now).await.unwrap(), None);
    // A state needs its configuration, and goes with it.
    let h4 = hash();
    let orphan = SsoLoginState { configuration_id: Uuid::now_v7(), ..state.clone() };
    assert!(store.insert_login_state(&orphan, &h4).await.is_err());
    store.insert_login_state(&state, &h4).await.unwrap();
    assert!(store.delete_sso_configuration(config.id).await.unwrap());
    assert_eq!(store.take_login_state(&h4, now).await.unwrap(), None);
}

fn session_of(member: &Member, now: Timestamp) -> ConsoleSession {
    ConsoleSession {
        id: Uuid::now_v7(),
        member_id: member.id,
        org_id: member.org_id,
        created_at: now,
        expires_at: now.plus_seconds(3600),
    }
}

async fn sessions_resolve_until_they_expire_or_end(store: Arc<dyn Store>) {
    let (org, members) = new_org(&store).await;
    let alice = sample_member(&org, Principal::User, "alice");
    store.create_member(&alice).await.unwrap();
    let team = Group::new(org.id, "team", "", Timestamp::now());
    store.create_group(&team).await.unwrap();
    store.add_group_member(team.id, alice.id).await.unwrap();
    let now = Timestamp::now();
    let session = session_of(&alice, now);
    let h = hash();
    store.insert_session(&session, &h).await.unwrap();
    // With its member and every group of it, the org-members group included, by id.
    let mut groups = vec![members.clone(), team.clone()];
    groups.sort_by_key(|g| g.id);
    assert_eq!(store.resolve_session(&h, now).await.unwrap(), Some((session.clone(), alice.clone(), groups)));
    assert_eq!(store.resolve_session(&hash(), now).await.unwrap(), None);
    // Not at or after its expiry.
    assert_eq!(store.resolve_session(&h, session.expires_at).await.unwrap(), None);
    // A token hash is one session's.
    let twin = session_of(&alice, now);
    assert!(matches!(store.insert_session(&twin, &h).await, Err(StoreError::AlreadyExists)));
    // A session needs its member.
    let stranger = Member { id: Uuid::now_v7(), ..alice.clone() };
    assert!(store.insert_session(&session_of(&stranger, now), &hash()).await.is_err());
    // Ended: once.
    assert!(store.delete_session(&h).await.unwrap());
    assert_eq!(store.resolve_session(&h, now).await.unwrap(), None);
    assert!(!store.delete_session(&h).await.unwrap());
}

async fn sessions_end_when_their_member_is_suspended_or_deleted(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let (alice, bob) = (sample_member(&org, Principal::User, "alice"), sample_member(&org, Principal::User, "bob"));
    store.create_member(&alice).await.unwrap();
    store.create_member(&bob).await.unwrap();
    // An admin who stays, so that the others may be deleted.
    let carol = Member { role: OrgRole::Admin, ..sample_member(&org, Principal::User, "carol") };
    store.create_member(&carol).await.unwrap();
    let now = Timestamp::now();
    let (a, b, other) = (hash(), hash(), hash());
    store.insert_session(&session_of(&alice, now), &a).await.unwrap();
    store.insert_session(&session_of(&bob, now), &b).await.unwrap();
    store.insert_session(&session_of(&bob, now), &other).await.unwrap();
    // Suspension ends them at once, and reinstatement does not bring them back.
    store.change_member(alice.id, MemberChange::Suspended(true)).await.unwrap();
    assert_eq!(store.resolve_session(&a, now).await.unwrap(), None);
    store.change_member(alice.id, MemberChange::Suspended(false)).await.unwrap();
    assert_eq!(store.resolve_session(&a, now).await.unwrap(), None);
    // Other members' sessions stay; a role change ends none.
    store.change_member(bob.id, MemberChange::Role(OrgRole::Admin)).await.unwrap();
    assert!(store.resolve_session(&b, now).await.unwrap().is_some());
    // Deletion ends every one of the member's.
    store.change_member(bob.id, MemberChange::Delete).await.unwrap();
    assert_eq!(store.resolve_session(&b, now).await.unwrap(), None);
    assert_eq!(store.resolve_session(&other, now).await.unwrap(), None);
}

async fn expired_sessions_and_sign_ins_are_pruned(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let alice = sample_member(&org, Principal::User, "alice");
    store.create_member(&alice).await.unwrap();
    let config = sample_sso(&org, &[&fresh_domain()]);
    store.insert_sso_configuration(&config).await.unwrap();
    let now = Timestamp::now();
    // Sessions that end at now - 1, now and now + 1; sign-ins in progress likewise.
    let mut sessions = Vec::new();
    let mut states = Vec::new();
    for offset in [-1, 0, 1] {
        let session =
            ConsoleSession { expires_at: now.plus_seconds(offset), ..session_of(&alice, now.plus_seconds(-60)) };
        let h = hash();
        store.insert_session(&session, &h).await.unwrap();
        sessions.push(h);
        let state = SsoLoginState {
            configuration_id: config.id,
            nonce: format!("n{offset}"),
            pkce_verifier_ciphertext: vec![1],
            invite_id: None,
            return_to: String::new(),
            created_at: now.plus_seconds(-60),
            expires_at: now.plus_seconds(offset),
        };
        let h = hash();
        store.insert_login_state(&state, &h).await.unwrap();
        states.push(h);
    }
    // Two of each are expired at `now`: gone, and only they.
    assert_eq!(store.prune_sessions(now).await.unwrap(), 4);
    assert_eq!(store.prune_sessions(now).await.unwrap(), 0, "nothing left to prune");
    let before = now.plus_seconds(-2);
    assert_eq!(store.resolve_session(&sessions[0], before).await.unwrap(), None, "pruned");
    assert_eq!(store.resolve_session(&sessions[1], before).await.unwrap(), None, "pruned");
    assert!(store.resolve_session(&sessions[2], now).await.unwrap().is_some(), "still valid, kept");
    assert_eq!(store.take_login_state(&states[0], before).await.unwrap(), None, "pruned");
    assert_eq!(store.take_login_state(&states[1], before).await.unwrap(), None, "pruned");
    assert!(store.take_login_state(&states[2], now).await.unwrap().is_some(), "still valid, kept");
}
