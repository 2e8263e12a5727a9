//! WatchEvents exactness under load (`runner_testkit::exactness`): 10,000 writes (another count
//! with `RUNNER_TEST_WATCH_WRITES`, see below) from 8 writers
//! (two organization admins; mostly runner updates, runners created, updated and deleted, groups
//! and service accounts created and updated) while 50 watchers read, over every protocol, with
//! different filters (types, resource ids, creator ids, several entries, none matching) and
//! callers (the two admins; two plain members who see only the runners their group has a
//! policy on, and the organization's groups and service accounts). Each watcher receives
//! exactly what it may see: nothing lost, nothing duplicated, in commit order.

use std::collections::HashSet;

use gitpod_api::gitpod::v1::*;
use runner_core::identity::OrgRole;
use runner_testkit::exactness::{Side, Sight, Watcher, Writer, filter, new_runner, run};
use runner_testkit::{ALL, Protocol, TestServer};

use crate::events::member_of;

/// The writes, shared evenly by the writers: the 10,000, about 208,000 deliveries to
/// these 50 watchers. Measured on 2026-12-07 in a debug build on the shared 2-core machine: 28 s
/// alone, 50 s beside the rest of the api suite on 4 test threads (each delivery costs the
/// server encoding and writing it and the test's client reading it, all in this process, and the
/// plain members' watchers check each runner event they may not see against the store). Until
/// then the default was 2,400 writes, when 10,000 took over two minutes.
/// `RUNNER_TEST_WATCH_WRITES` runs another count (any multiple of the writers).
const WRITES: usize = 10_000;

fn writes() -> usize {
    match std::env::var("RUNNER_TEST_WATCH_WRITES") {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("RUNNER_TEST_WATCH_WRITES={v:?}: a number")),
        Err(_) => WRITES,
    }
}
const WRITERS: usize = 8;
/// Runners each writer keeps updating (made before the watchers start).
const RUNNERS_PER_WRITER: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_writes_reach_fifty_watchers_exactly() {
    let server = TestServer::start().await;
    let admin = server.client(Protocol::ConnectJson).await;
    let (second_id, second_token) = server.member("second admin", OrgRole::Admin).await;
    let (first_id, second_id) = (server.admin_id.to_string(), second_id.to_string());
    let org = server.org.id.to_string();

    // Writers 0..4 write as the first admin, 4..8 as the second; even ones write groups too,
    // odd ones service accounts. Each over its own connection, over every protocol.
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (token, principal_id) =
            if w < WRITERS / 2 { (&server.admin_token, &first_id) } else { (&second_token, &second_id) };
        let client = server.client_as(ALL[w % ALL.len()], Some(token)).await;
        let mut runners = Vec::new();
        for r in 0..RUNNERS_PER_WRITER {
            runners.push(new_runner(&client, &format!("writer {w} runner {r}")).await);
        }
        let side = if w % 2 == 0 { Side::Group } else { Side::ServiceAccount };
        writers.push(Writer {
            client,
            principal_id: principal_id.clone(),
            organization_id: org.clone(),
            runners,
            side,
        });
    }
    let all: Vec<String> = writers.iter().flat_map(|w| w.runners.clone()).collect();
    // Member A's group has a policy on every fourth runner, member B's on the runners after those.
    let (a_runners, b_runners): (Vec<String>, Vec<String>) =
        (all.iter().step_by(4).cloned().collect(), all.iter().skip(1).step_by(4).cloned().collect());
    let a_token = member_of(&server, &admin, "member a", &a_runners).await;
    let b_token = member_of(&server, &admin, "member b", &b_runners).await;
    let a_sight = Sight::Runners(a_runners.iter().cloned().collect::<HashSet<_>>());
    let b_sight = Sight::Runners(b_runners.iter().cloned().collect::<HashSet<_>>());

    use ResourceType as T;
    let nobody = uuid::Uuid::now_v7().to_string();
    // (who, token, sight, filters, how many such watchers)
    let mut kinds: Vec<(&str, &str, Sight, Vec<watch_events_request::ResourceTypeFilter>, usize)> = vec![
        ("admin, everything", &server.admin_token, Sight::All, vec![], 8),
        ("admin, runners", &server.admin_token, Sight::All, vec![filter(T::Runner, &[], &[])], 4),
        (
            "admin, groups and service accounts",
            &server.admin_token,
            Sight::All,
            vec![filter(T::Group, &[], &[]), filter(T::ServiceAccount, &[], &[])],
            2,
        ),
        (
            "admin, runners of the second admin",
            &server.admin_token,
            Sight::All,
            vec![filter(T::Runner, &[], std::slice::from_ref(&second_id))],
            3,
        ),
        (
            "admin, runners of the first admin",
            &server.admin_token,
            Sight::All,
            vec![filter(T::Runner, &[], std::slice::from_ref(&first_id))],
            3,
        ),
        (
            "admin, service accounts of the first admin",
            &server.admin_token,
            Sight::All,
            vec![filter(T::ServiceAccount, &[], std::slice::from_ref(&first_id))],
            1,
        ),
        (
            "admin, a creator that made nothing",
            &server.admin_token,
            Sight::All,
            vec![filter(T::Runner, &[], &[nobody])],
            1,
        ),
        ("admin, environments", &server.admin_token, Sight::All, vec![filter(T::Environment, &[], &[])], 1),
        ("second admin, everything", &second_token, Sight::All, vec![], 2),
        ("member a, everything", &a_token, a_sight.clone(), vec![], 5),
        ("member b, everything", &b_token, b_sight.clone(), vec![], 3),
        ("member a, runners", &a_token, a_sight.clone(), vec![filter(T::Runner, &[], &[])], 3),
        (
            "member a, every long-lived runner by id",
            &a_token,
            a_sight.clone(),
            vec![filter(T::Runner, &all[..24], &[])],
            2,
        ),
        ("member b, groups", &b_token, b_sight.clone(), vec![filter(T::Group, &[], &[])], 2),
        (
            "member a, runners of the second admin",
            &a_token,
            a_sight,
            vec![filter(T::Runner, &[], std::slice::from_ref(&second_id))],
            2,
        ),
    ];
    // One watcher per writer's runners, by id, as the admin.
    for w in &writers {
        kinds.push((
            "admin, one writer's runners by id",
            &server.admin_token,
            Sight::All,
            vec![filter(T::Runner, &w.runners, &[])],
            1,
        ));
    }
    let mut watchers = Vec::new();
    for (who, token, sight, filters, count) in kinds {
        for _ in 0..count {
            let protocol = ALL[watchers.len() % ALL.len()];
            let client = server.client_as(protocol, Some(token)).await;
            let name = format!("watcher {} ({who}, {protocol:?})", watchers.len());
            watchers.push(Watcher { name, client, filters: filters.clone(), sight: sight.clone() });
        }
    }
    assert_eq!(watchers.len(), 50);
    let report = run(writers, watchers, writes()).await;
    eprintln!("exactness on SQLite: {report}");
}
