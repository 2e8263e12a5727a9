//! `IdentityRepo` and `AccessTokenRepo`: organizations, members, groups and personal access
//! tokens.

use std::sync::Arc;

use runner_core::identity::*;
use runner_core::model::*;
use runner_core::store::{MemberChange, MemberChanged, Store, StoreError};
use runner_core::time::Timestamp;
use uuid::Uuid;

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(organizations_are_created_whole_and_unique: create_organization, get_organization, list_organizations),
        case!(organizations_are_renamed_and_deleted_whole: update_organization, delete_organization),
        case!(members_round_trip: create_member, get_member, list_members, change_member),
        case!(the_last_active_admin_stays: change_member),
        case!(concurrent_changes_leave_an_admin: change_member),
        case!(groups_round_trip: create_group, get_group, list_groups, add_group_member),
        case!(group_members_are_counted: count_group_members, list_group_memberships),
        case!(access_tokens_resolve_with_their_groups: insert_access_token, resolve_access_token, list_access_tokens),
        case!(access_tokens_of_members: get_access_token, list_member_access_tokens, delete_access_token, touch_access_token),
    ]
}

pub(super) fn sample_member(org: &Organization, principal: Principal, name: &str) -> Member {
    Member::new(org.id, principal, name, OrgRole::Member, Timestamp::now())
}

fn sample_token(member: &Member, now: Timestamp) -> AccessTokenInfo {
    AccessTokenInfo {
        id: Uuid::now_v7(),
        org_id: member.org_id,
        member_id: member.id,
        description: "d".into(),
        creator: None,
        created_at: now,
        expires_at: Some(now.plus_seconds(60)),
        revoked_at: None,
        last_used_at: None,
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
    let dup = Organization { id: Uuid::now_v7(), name: org.name.clone(), created_at: now, updated_at: now };
    let dup_group = Group { system: true, ..Group::new(dup.id, ORG_MEMBERS_GROUP, "", now) };
    let dup_local = runner_core::accounts::local_configuration_runner(dup.id, now);
    let dup_admin = Member { role: OrgRole::Admin, ..sample_member(&dup, Principal::User, "founder") };
    let created = store.create_organization(&dup, &dup_group, &dup_local, Some(&dup_admin)).await;
    assert!(matches!(created, Err(StoreError::AlreadyExists)));
    assert_eq!(store.get_runner(dup_local.id).await.unwrap(), None);
    assert_eq!(store.get_group(dup_group.id).await.unwrap(), None);
    assert_eq!(store.get_member(dup_admin.id).await.unwrap(), None);
    assert_eq!(store.get_organization(dup.id).await.unwrap(), None);
    assert_eq!(store.list_organizations().await.unwrap(), listed);

    // With a first member, of an account that has a user elsewhere already.
    assert_eq!(store.get_organization(org.id).await.unwrap(), Some(org.clone()));
    let alice = sample_member(&org, Principal::User, "alice");
    store.create_member(&alice).await.unwrap();
    let third = Organization { id: Uuid::now_v7(), name: format!("third {}", Uuid::new_v4()), ..dup.clone() };
    let founder = Member {
        account_id: alice.account_id,
        role: OrgRole::Admin,
        ..sample_member(&third, Principal::User, "alice")
    };
    let third_group = Group { system: true, ..Group::new(third.id, ORG_MEMBERS_GROUP, "", now) };
    let third_local = runner_core::accounts::local_configuration_runner(third.id, now);
    store.create_organization(&third, &third_group, &third_local, Some(&founder)).await.unwrap();
    assert_eq!(store.get_organization(third.id).await.unwrap(), Some(third.clone()));
    assert_eq!(store.list_members(third.id).await.unwrap(), vec![founder.clone()]);
    assert_eq!(store.get_member(founder.id).await.unwrap().unwrap().account_id, alice.id);
}

async fn organizations_are_renamed_and_deleted_whole(store: Arc<dyn Store>) {
    let (org, members) = new_org(&store).await;
    let (other, _) = new_org(&store).await;
    let later = org.created_at.plus_seconds(5);
    let renamed = Organization { name: "renamed".into(), updated_at: later, ..org.clone() };
    assert!(store.update_organization(&renamed).await.unwrap());
    assert_eq!(store.get_organization(org.id).await.unwrap(), Some(renamed.clone()));
    let taken = Organization { name: "renamed".into(), ..other.clone() };
    assert!(matches!(store.update_organization(&taken).await, Err(StoreError::AlreadyExists)));
    let missing = Organization { id: Uuid::now_v7(), name: "nobody".into(), ..org.clone() };
    assert!(!store.update_organization(&missing).await.unwrap());

    // Everything of the organization goes with it; the other organization keeps its own.
    let alice = sample_member(&org, Principal::User, "alice");
    let stranger = sample_member(&other, Principal::User, "stranger");
    for m in [&alice, &stranger] {
        store.create_member(m).await.unwrap();
    }
    let team = sample_group(&org, "team");
    store.create_group(&team).await.unwrap();
    store.add_group_member(team.id, alice.id).await.unwrap();
    let now = Timestamp::now();
    let (token, theirs) = (sample_token(&alice, now), sample_token(&stranger, now));
    store.insert_access_token(&token, b"org-a").await.unwrap();
    store.insert_access_token(&theirs, b"org-b").await.unwrap();
    let runner = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let kept = add_runner(&store, &other, RunnerProvider::Gcp).await;
    let assignment = RoleAssignment {
        id: Uuid::now_v7(),
        org_id: org.id,
        group_id: team.id,
        resource_kind: ResourceKind::Runner,
        resource_id: runner.id,
        role: ResourceRole::RunnerUser,
        created_at: now,
    };
    store.insert_role_assignment(&assignment).await.unwrap();

    assert!(store.delete_organization(org.id).await.unwrap());
    assert!(!store.delete_organization(org.id).await.unwrap(), "deleting twice");
    assert_eq!(store.get_organization(org.id).await.unwrap(), None);
    assert_eq!(store.get_member(alice.id).await.unwrap(), None);
    assert_eq!(store.get_group(team.id).await.unwrap(), None);
    assert_eq!(store.get_group(members.id).await.unwrap(), None);
    assert_eq!(store.get_runner(runner.id).await.unwrap(), None);
    assert_eq!(store.get_role_assignment(assignment.id).await.unwrap(), None);
    assert!(store.resolve_access_token(b"org-a").await.unwrap().is_none());
    assert_eq!(store.list_organizations().await.unwrap(), vec![other.clone()]);
    assert_eq!(store.get_member(stranger.id).await.unwrap(), Some(stranger));
    assert!(store.resolve_access_token(b"org-b").await.unwrap().is_some());
    assert_eq!(store.get_runner(kept.id).await.unwrap().map(|r| r.id), Some(kept.id));
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

    // Role and suspension, and back; a suspended member is created as such too.
    let done = |m: &Member| MemberChanged::Done(m.clone());
    assert_eq!(store.change_member(alice.id, MemberChange::Role(OrgRole::Admin)).await.unwrap(), done(&alice));
    let admin = Member { role: OrgRole::Admin, ..alice.clone() };
    assert_eq!(store.get_member(alice.id).await.unwrap(), Some(admin.clone()));
    assert_eq!(store.get_member(bot.id).await.unwrap().unwrap().role, OrgRole::Member);
    let missing = Uuid::now_v7();
    for change in [MemberChange::Role(OrgRole::Admin), MemberChange::Suspended(true), MemberChange::Delete] {
        assert_eq!(store.change_member(missing, change).await.unwrap(), MemberChanged::NotFound);
    }
    // Two admins: either may be suspended or demoted while the other is an active admin.
    let bob = Member { role: OrgRole::Admin, ..sample_member(&org, Principal::User, "bob") };
    store.create_member(&bob).await.unwrap();
    assert_eq!(store.change_member(alice.id, MemberChange::Suspended(true)).await.unwrap(), done(&admin));
    let suspended_admin = Member { suspended: true, ..admin.clone() };
    assert_eq!(store.get_member(alice.id).await.unwrap(), Some(suspended_admin.clone()));
    assert!(!store.get_member(bot.id).await.unwrap().unwrap().suspended);
    assert_eq!(store.change_member(alice.id, MemberChange::Suspended(false)).await.unwrap(), done(&suspended_admin));
    assert_eq!(store.change_member(alice.id, MemberChange::Role(OrgRole::Member)).await.unwrap(), done(&admin));
    assert_eq!(store.get_member(alice.id).await.unwrap(), Some(alice.clone()));
    let carol = Member { suspended: true, ..sample_member(&org, Principal::User, "carol") };
    store.create_member(&carol).await.unwrap();
    assert_eq!(store.get_member(carol.id).await.unwrap(), Some(carol.clone()));

    // Deleting a member takes its tokens, memberships and the host tokens it owns with it.
    let team = sample_group(&org, "team");
    store.create_group(&team).await.unwrap();
    store.add_group_member(team.id, alice.id).await.unwrap();
    let now = Timestamp::now();
    store.insert_access_token(&sample_token(&alice, now), b"alice-token").await.unwrap();
    let runner = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let hers = sample_host_token(&runner, "github.com", alice.id, HostTokenSource::Pat);
    let bots = sample_host_token(&runner, "github.com", bot.id, HostTokenSource::Pat);
    for t in [&hers, &bots] {
        store.insert_host_token(t).await.unwrap();
    }
    // A runner shared directly with her: her direct-share group holds her and the role.
    let share = Group { direct_share: true, ..sample_group(&org, &format!("direct-share-{}", alice.id)) };
    store.create_group(&share).await.unwrap();
    store.add_group_member(share.id, alice.id).await.unwrap();
    let shared = RoleAssignment {
        id: Uuid::now_v7(),
        org_id: org.id,
        group_id: share.id,
        resource_kind: ResourceKind::Runner,
        resource_id: runner.id,
        role: ResourceRole::RunnerUser,
        created_at: now,
    };
    store.insert_role_assignment(&shared).await.unwrap();
    assert_eq!(store.change_member(alice.id, MemberChange::Delete).await.unwrap(), done(&alice));
    assert_eq!(store.get_member(alice.id).await.unwrap(), None);
    assert_eq!(store.get_group(share.id).await.unwrap(), None, "her direct-share group goes");
    assert_eq!(store.get_role_assignment(shared.id).await.unwrap(), None);
    assert!(store.get_group(team.id).await.unwrap().is_some(), "other groups stay");
    assert!(store.resolve_access_token(b"alice-token").await.unwrap().is_none());
    assert_eq!(store.count_group_members(org.id).await.unwrap(), vec![]);
    assert_eq!(store.get_host_token(hers.id).await.unwrap(), None);
    assert!(store.get_host_token(bots.id).await.unwrap().is_some());
    assert_eq!(store.list_members(org.id).await.unwrap(), vec![bot, bob, carol]);
}

/// The last user of an organization who is an admin and not suspended cannot be demoted,
/// suspended or deleted; a suspended admin or a service account admin does not count.
async fn the_last_active_admin_stays(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let (other, _) = new_org(&store).await;
    let admin =
        |o: &Organization, p: Principal, name: &str| Member { role: OrgRole::Admin, ..sample_member(o, p, name) };
    let (alice, sleeping, robot) = (
        admin(&org, Principal::User, "alice"),
        Member { suspended: true, ..admin(&org, Principal::User, "sleeping") },
        admin(&org, Principal::ServiceAccount, "robot"),
    );
    let elsewhere = admin(&other, Principal::User, "alice");
    for m in [&alice, &sleeping, &robot, &elsewhere] {
        store.create_member(m).await.unwrap();
    }
    for change in [MemberChange::Role(OrgRole::Member), MemberChange::Suspended(true), MemberChange::Delete] {
        assert_eq!(store.change_member(alice.id, change).await.unwrap(), MemberChanged::LastAdmin(alice.clone()));
    }
    assert_eq!(store.get_member(alice.id).await.unwrap(), Some(alice.clone()), "nothing changed");
    // What leaves an active admin in place is allowed.
    for change in [MemberChange::Role(OrgRole::Admin), MemberChange::Suspended(false)] {
        assert_eq!(store.change_member(alice.id, change).await.unwrap(), MemberChanged::Done(alice.clone()));
    }
    // Others may change: the suspended admin, the service account.
    assert_eq!(
        store.change_member(sleeping.id, MemberChange::Role(OrgRole::Member)).await.unwrap(),
        MemberChanged::Done(sleeping.clone())
    );
    assert_eq!(store.change_member(robot.id, MemberChange::Delete).await.unwrap(), MemberChanged::Done(robot));
    // Once another user is an active admin, alice may go.
    let bob = admin(&org, Principal::User, "bob");
    store.create_member(&bob).await.unwrap();
    assert_eq!(store.change_member(alice.id, MemberChange::Delete).await.unwrap(), MemberChanged::Done(alice));
    assert_eq!(
        store.change_member(bob.id, MemberChange::Suspended(true)).await.unwrap(),
        MemberChanged::LastAdmin(bob)
    );
}

/// Two concurrent changes that each take one of the last two admins away: one is done, the
/// other refused, and the organization keeps an active admin (on PostgreSQL the two run in
/// two connections at once).
async fn concurrent_changes_leave_an_admin(store: Arc<dyn Store>) {
    let changes = [MemberChange::Role(OrgRole::Member), MemberChange::Suspended(true), MemberChange::Delete];
    for round in 0..12 {
        let (org, _) = new_org(&store).await;
        let admin = |name: &str| Member { role: OrgRole::Admin, ..sample_member(&org, Principal::User, name) };
        let (a, b) = (admin("a"), admin("b"));
        for m in [&a, &b] {
            store.create_member(m).await.unwrap();
        }
        let (first, second) = (changes[round % 3], changes[(round / 3) % 3]);
        let (x, y) = tokio::join!(store.change_member(a.id, first), store.change_member(b.id, second));
        let outcomes = [x.unwrap(), y.unwrap()];
        let done = outcomes.iter().filter(|o| matches!(o, MemberChanged::Done(_))).count();
        let refused = outcomes.iter().filter(|o| matches!(o, MemberChanged::LastAdmin(_))).count();
        assert_eq!((done, refused), (1, 1), "round {round}: {outcomes:?}");
        let active: Vec<Member> =
            store.list_members(org.id).await.unwrap().into_iter().filter(|m| m.is_active_admin()).collect();
        assert_eq!(active.len(), 1, "round {round}: {active:?}");
    }
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
    // The memberships themselves, of the organization's groups only.
    let mut expected = vec![(team.id, alice.id), (team.id, bot.id), (idle.id, bot.id)];
    expected.sort_by_key(|(g, m)| (g.to_string(), m.to_string()));
    assert_eq!(store.list_group_memberships(org.id).await.unwrap(), expected);
    assert_eq!(store.list_group_memberships(other.id).await.unwrap(), vec![(foreign.id, stranger.id)]);
    assert_eq!(store.list_group_memberships(Uuid::now_v7()).await.unwrap(), vec![]);
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
        creator: Some(Subject { id: alice.id, principal: Principal::User }),
        ..sample_token(&alice, now)
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

    assert_eq!(store.list_access_tokens(org.id).await.unwrap(), vec![token, bot_token]);
    assert_eq!(store.list_access_tokens(other.id).await.unwrap(), vec![theirs]);
}

async fn access_tokens_of_members(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let (other, _) = new_org(&store).await;
    let now = Timestamp::now();
    let alice = sample_member(&org, Principal::User, "alice");
    let bot = sample_member(&org, Principal::ServiceAccount, "bot");
    let stranger = sample_member(&other, Principal::User, "stranger");
    for m in [&alice, &bot, &stranger] {
        store.create_member(m).await.unwrap();
    }
    let mut alices = Vec::new();
    for i in 0..5 {
        let t = AccessTokenInfo { description: format!("t{i}"), ..sample_token(&alice, now) };
        store.insert_access_token(&t, format!("alice-{i}").as_bytes()).await.unwrap();
        alices.push(t);
    }
    let bots = AccessTokenInfo { creator: Some(alice.subject()), ..sample_token(&bot, now) };
    store.insert_access_token(&bots, b"bot").await.unwrap();
    let theirs = sample_token(&stranger, now);
    store.insert_access_token(&theirs, b"stranger").await.unwrap();
    // A revoked token of an earlier version is not listed.
    let revoked = AccessTokenInfo { revoked_at: Some(now), ..sample_token(&alice, now) };
    store.insert_access_token(&revoked, b"revoked").await.unwrap();

    assert_eq!(store.get_access_token(bots.id).await.unwrap(), Some(bots.clone()));
    assert_eq!(store.get_access_token(Uuid::now_v7()).await.unwrap(), None);
    // By member, ordered by id, paged with `after` and `limit`.
    let list = |ids: Vec<Uuid>, after: Option<Uuid>, limit: u32| {
        let store = store.clone();
        async move { store.list_member_access_tokens(&ids, after, limit).await.unwrap() }
    };
    assert_eq!(list(vec![alice.id], None, 100).await, alices);
    assert_eq!(list(vec![alice.id], None, 2).await, alices[..2]);
    assert_eq!(list(vec![alice.id], Some(alices[1].id), 2).await, alices[2..4]);
    assert_eq!(list(vec![alice.id], Some(alices[4].id), 2).await, vec![]);
    let mut both = alices.clone();
    both.push(bots.clone());
    assert_eq!(list(vec![bot.id, alice.id], None, 100).await, both);
    assert_eq!(list(vec![], None, 100).await, vec![], "no members, no tokens");
    assert_eq!(list(vec![Uuid::now_v7()], None, 100).await, vec![]);

    // Last use, recorded when asked.
    let later = now.plus_seconds(90);
    store.touch_access_token(alices[0].id, later).await.unwrap();
    let touched = store.get_access_token(alices[0].id).await.unwrap().unwrap();
    assert_eq!(touched, AccessTokenInfo { last_used_at: Some(later), ..alices[0].clone() });
    assert_eq!(store.resolve_access_token(b"alice-0").await.unwrap().unwrap().0.last_used_at, Some(later));
    assert_eq!(store.get_access_token(alices[1].id).await.unwrap().unwrap().last_used_at, None);

    // Deleting: gone for good, and it no longer authenticates.
    assert!(store.delete_access_token(alices[0].id).await.unwrap());
    assert!(!store.delete_access_token(alices[0].id).await.unwrap(), "deleting twice");
    assert_eq!(store.get_access_token(alices[0].id).await.unwrap(), None);
    assert!(store.resolve_access_token(b"alice-0").await.unwrap().is_none());
    assert_eq!(list(vec![alice.id], None, 100).await, alices[1..]);
    assert_eq!(store.get_access_token(theirs.id).await.unwrap(), Some(theirs));
}
