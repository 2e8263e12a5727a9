//! `AuditRepo`, and the audit log entries every write method inserts in its own transaction.

use std::sync::Arc;

use runner_core::audit::{self, AuditEntry, AuditFilter, AuditScope};
use runner_core::identity::{Caller, Organization};
use runner_core::model::*;
use runner_core::store::{MemberChange, Store, StoreError, WriteOutcome};
use runner_core::time::Timestamp;
use uuid::Uuid;

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(audit_entries_round_trip: insert_audit_entry, get_audit_entry),
        case!(audit_entry_lists_filter_sort_and_page: list_audit_entries),
        case!(audit_entries_are_pruned_by_age: prune_audit_entries),
        case!(
            committed_writes_have_one_entry_and_failed_writes_none: insert_runner,
            update_runner,
            delete_runner,
            insert_llm_integration,
            update_llm_integration,
            delete_llm_integration,
            create_group,
            add_group_member,
            delete_membership,
            create_member,
            change_member,
            insert_role_assignment,
            delete_role_assignment,
        ),
    ]
}

fn caller(org: &Organization) -> Caller {
    Caller {
        org_id: org.id,
        subject: Subject { id: Uuid::now_v7(), principal: Principal::User },
        org_admin: true,
        runners_admin: false,
        groups: Vec::new(),
    }
}

fn sample_entry(org: &Organization, at: Timestamp) -> AuditEntry {
    AuditEntry {
        id: Uuid::now_v7(),
        org_id: org.id,
        actor: Some((Uuid::now_v7(), Principal::User)),
        subject: Some((Uuid::now_v7(), AuditSubject::HostToken)),
        action: "gitpod.v1.RunnerInteractionService/GetHostAuthenticationTokenValue".to_owned(),
        created_at: at,
        kind: AuditKind::CredentialAccess,
    }
}

async fn all_of(store: &Arc<dyn Store>, org: &Organization) -> Vec<AuditEntry> {
    store
        .list_audit_entries(org.id, &AuditFilter { oldest_first: true, ..Default::default() }, None, 10_000)
        .await
        .unwrap()
}

async fn audit_entries_round_trip(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let entry = sample_entry(&org, Timestamp::now());
    store.insert_audit_entry(&entry).await.unwrap();
    assert_eq!(store.get_audit_entry(entry.id).await.unwrap(), Some(entry.clone()));
    assert_eq!(store.get_audit_entry(Uuid::now_v7()).await.unwrap(), None);
    // An entry of the server itself, or naming no resource, reads back the same.
    let bare = AuditEntry {
        id: Uuid::now_v7(),
        actor: None,
        subject: None,
        kind: AuditKind::AuthorizationDenied,
        ..entry.clone()
    };
    store.insert_audit_entry(&bare).await.unwrap();
    assert_eq!(store.get_audit_entry(bare.id).await.unwrap(), Some(bare));
    assert!(matches!(store.insert_audit_entry(&entry).await, Err(StoreError::AlreadyExists)));
}

async fn audit_entry_lists_filter_sort_and_page(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let (other, _) = new_org(&store).await;
    let before = all_of(&store, &org).await;
    let t0 = Timestamp::now().plus_seconds(-100);
    let mut mine = Vec::new();
    for n in 0..6 {
        let mut e = sample_entry(&org, t0.plus_seconds(n * 10));
        if n % 2 == 0 {
            e.actor = Some((
                mine.first().map_or(Uuid::now_v7(), |f: &AuditEntry| f.actor.unwrap().0),
                Principal::ServiceAccount,
            ));
            e.subject = Some((Uuid::now_v7(), AuditSubject::Runner));
        }
        store.insert_audit_entry(&e).await.unwrap();
        mine.push(e);
    }
    store.insert_audit_entry(&sample_entry(&other, t0)).await.unwrap();
    let list = |filter: AuditFilter, after: Option<Uuid>, limit: u32| {
        let store = store.clone();
        let org = org.id;
        async move { store.list_audit_entries(org, &filter, after, limit).await.unwrap() }
    };
    // Newest first by default, oldest first when asked; one organization's only.
    let newest: Vec<Uuid> = list(AuditFilter::default(), None, 100).await.iter().map(|e| e.id).collect();
    let mut expected: Vec<Uuid> = before.iter().chain(&mine).map(|e| e.id).collect();
    expected.reverse();
    assert_eq!(newest, expected);
    let oldest = list(AuditFilter { oldest_first: true, ..Default::default() }, None, 100).await;
    assert_eq!(oldest.len(), expected.len());
    assert_eq!(oldest.last().unwrap().id, mine[5].id);
    // Pages continue after the last id served, in either order.
    for oldest_first in [false, true] {
        let filter = AuditFilter { oldest_first, ..Default::default() };
        let mut walked = Vec::new();
        let mut after = None;
        loop {
            let page = list(filter.clone(), after, 2).await;
            if page.is_empty() {
                break;
            }
            after = Some(page.last().unwrap().id);
            walked.extend(page.into_iter().map(|e| e.id));
        }
        let mut want = expected.clone();
        if oldest_first {
            want.reverse();
        }
        assert_eq!(walked, want, "oldest first: {oldest_first}");
    }
    // Filters: every condition given must hold.
    let ids = |v: Vec<AuditEntry>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let by_actor = AuditFilter { actor_ids: vec![mine[0].actor.unwrap().0], oldest_first: true, ..Default::default() };
    assert_eq!(ids(list(by_actor, None, 100).await), vec![mine[0].id, mine[2].id, mine[4].id]);
    let by_principal =
        AuditFilter { actor_principals: vec![Principal::ServiceAccount], oldest_first: true, ..Default::default() };
    assert_eq!(ids(list(by_principal, None, 100).await), vec![mine[0].id, mine[2].id, mine[4].id]);
    let by_subject =
        AuditFilter { subject_ids: vec![mine[1].subject.unwrap().0, mine[2].subject.unwrap().0], ..Default::default() };
    assert_eq!(ids(list(by_subject, None, 100).await), vec![mine[2].id, mine[1].id]);
    let by_type =
        AuditFilter { subject_types: vec![AuditSubject::HostToken], oldest_first: true, ..Default::default() };
    assert_eq!(ids(list(by_type, None, 100).await), vec![mine[1].id, mine[3].id, mine[5].id]);
    let window = AuditFilter {
        from: Some(t0.plus_seconds(10)),
        to: Some(t0.plus_seconds(30)),
        oldest_first: true,
        ..Default::default()
    };
    assert_eq!(ids(list(window, None, 100).await), vec![mine[1].id, mine[2].id], "from inclusive, to exclusive");
    let both = AuditFilter {
        subject_types: vec![AuditSubject::Runner],
        from: Some(t0.plus_seconds(15)),
        oldest_first: true,
        ..Default::default()
    };
    assert_eq!(ids(list(both, None, 100).await), vec![mine[2].id, mine[4].id]);
}

async fn audit_entries_are_pruned_by_age(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let now = Timestamp::now();
    let old = sample_entry(&org, now.plus_seconds(-3 * 86_400));
    let recent = sample_entry(&org, now.plus_seconds(-3_600));
    store.insert_audit_entry(&old).await.unwrap();
    store.insert_audit_entry(&recent).await.unwrap();
    let pruned = store.prune_audit_entries(now.plus_seconds(-86_400)).await.unwrap();
    assert!(pruned >= 1, "the old entry goes");
    assert_eq!(store.get_audit_entry(old.id).await.unwrap(), None);
    assert_eq!(store.get_audit_entry(recent.id).await.unwrap(), Some(recent));
    assert_eq!(store.prune_audit_entries(now.plus_seconds(-86_400)).await.unwrap(), 0);
}

/// The entries of `subject`, oldest first.
async fn of(store: &Arc<dyn Store>, org: &Organization, subject: Uuid) -> Vec<AuditEntry> {
    let filter = AuditFilter { subject_ids: vec![subject], oldest_first: true, ..Default::default() };
    store.list_audit_entries(org.id, &filter, None, 100).await.unwrap()
}

async fn committed_writes_have_one_entry_and_failed_writes_none(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let who = caller(&org);
    let action = "gitpod.v1.Test/Write";
    let s = store.clone();
    let o = org.clone();
    let checked = audit::scope(AuditScope::new(action), async move {
        let (store, org) = (s, o);
        audit::set_actor(&who);
        let n = |v: Vec<AuditEntry>| v.len();
        // Runners: a create, an update, a conflicting update, a delete, a second delete.
        let mut runner = sample_runner(&org, RunnerProvider::AwsEc2, None);
        store.insert_runner(&runner, &token_for(&runner)).await.unwrap();
        let created = of(&store, &org, runner.id).await;
        assert_eq!(created.len(), 1);
        let e = &created[0];
        assert_eq!((e.org_id, e.actor, e.action.as_str()), (org.id, Some((who.subject.id, Principal::User)), action));
        assert_eq!((e.subject, e.kind), (Some((runner.id, AuditSubject::Runner)), AuditKind::ResourceChange));
        runner.revision += 1;
        assert_eq!(store.update_runner(&runner).await.unwrap(), WriteOutcome::Written);
        assert_eq!(store.update_runner(&runner).await.unwrap(), WriteOutcome::Conflict);
        assert_eq!(n(of(&store, &org, runner.id).await), 2, "the conflicting update wrote nothing");
        let again = sample_runner(&org, RunnerProvider::AwsEc2, None);
        let duplicate = Runner { id: runner.id, ..again };
        assert!(store.insert_runner(&duplicate, &token_for(&duplicate)).await.is_err());
        assert_eq!(n(of(&store, &org, runner.id).await), 2, "a failed create leaves no entry");

        // An integration: the same, through a transaction that fails on its own key.
        let other = add_runner(&store, &org, RunnerProvider::Gcp).await;
        let mut llm = sample_llm_integration(&other);
        store.insert_llm_integration(&llm).await.unwrap();
        assert!(store.insert_llm_integration(&llm).await.is_err());
        assert_eq!(n(of(&store, &org, llm.id).await), 1);
        llm.revision += 1;
        assert_eq!(store.update_llm_integration(&llm).await.unwrap(), WriteOutcome::Written);
        assert!(store.delete_llm_integration(llm.id).await.unwrap());
        assert!(!store.delete_llm_integration(llm.id).await.unwrap());
        let kinds: Vec<_> = of(&store, &org, llm.id).await.into_iter().map(|e| e.subject.unwrap().1).collect();
        assert_eq!(kinds, vec![AuditSubject::LlmIntegration; 3]);
        assert!(store.delete_runner(other.id).await.unwrap());
        assert!(!store.delete_runner(other.id).await.unwrap());
        assert_eq!(n(of(&store, &org, other.id).await), 2, "created and deleted once");

        // Identity and access: groups, members, memberships, role assignments.
        let group = sample_group(&org, "auditors");
        store.create_group(&group).await.unwrap();
        assert!(store.create_group(&Group { id: Uuid::now_v7(), ..group.clone() }).await.is_err(), "a taken name");
        assert_eq!(n(of(&store, &org, group.id).await), 1);
        let member = super::identity::sample_member(&org, Principal::ServiceAccount, "bot");
        store.create_member(&member).await.unwrap();
        let membership = store.add_group_member(group.id, member.id).await.unwrap();
        assert!(store.add_group_member(group.id, member.id).await.is_err(), "already a member");
        assert!(store.delete_membership(membership).await.unwrap());
        assert!(!store.delete_membership(membership).await.unwrap());
        assert_eq!(n(of(&store, &org, membership).await), 2);
        assert!(matches!(
            store.change_member(member.id, MemberChange::Role(OrgRole::Admin)).await.unwrap(),
            runner_core::store::MemberChanged::Done(_)
        ));
        assert!(matches!(
            store.change_member(Uuid::now_v7(), MemberChange::Delete).await.unwrap(),
            runner_core::store::MemberChanged::NotFound
        ));
        let member_entries = of(&store, &org, member.id).await;
        assert_eq!(member_entries.len(), 2);
        assert!(member_entries.iter().all(|e| e.subject.unwrap().1 == AuditSubject::ServiceAccount));
        let assignment = RoleAssignment {
            id: Uuid::now_v7(),
            org_id: org.id,
            group_id: group.id,
            resource_kind: ResourceKind::Organization,
            resource_id: org.id,
            role: ResourceRole::OrgAuditLogReader,
            created_at: Timestamp::now(),
        };
        store.insert_role_assignment(&assignment).await.unwrap();
        assert!(store.delete_role_assignment(assignment.id).await.unwrap());
        assert!(!store.delete_role_assignment(assignment.id).await.unwrap());
        assert_eq!(n(of(&store, &org, assignment.id).await), 2);
        runner
    })
    .await;

    // A call that is not audited (the runner's status reports) writes no entry.
    let mut runner = checked;
    let id = runner.id;
    let before = of(&store, &org, id).await.len();
    let s = store.clone();
    audit::scope(AuditScope::unaudited("gitpod.v1.RunnerInteractionService/UpdateRunnerStatus"), async move {
        runner.revision += 1;
        assert_eq!(s.update_runner(&runner).await.unwrap(), WriteOutcome::Written);
    })
    .await;
    assert_eq!(of(&store, &org, id).await.len(), before);

    // Outside any call (admin subcommands): recorded as the server's.
    let group = sample_group(&org, "by the server");
    store.create_group(&group).await.unwrap();
    let e = of(&store, &org, group.id).await;
    assert_eq!(e.len(), 1);
    assert_eq!((e[0].actor, e[0].action.as_str(), e[0].org_id), (None, audit::SYSTEM_ACTION, org.id));
}
