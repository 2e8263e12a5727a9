//! A fixed workload of the store's runner reads, for instruction counts under callgrind
//! (docs/performance.md, "The runner's stored encoding"): a SQLite file with 1,000 runners seeded
//! as the benchmark seeds them, then `REPS` times every page of 50 (`list`) or every runner by id
//! (`get`). The cost of the reads is the difference between a run with `REPS` and one with 0:
//!
//! ```sh
//! cargo build --release -p runner-store --features testing --example read_cost
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/read_cost list 0
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/read_cost list 10
//! ```
//!
//! Instruction counts do not depend on what else the machine is doing, as times do.

use std::sync::Arc;

use runner_core::authz::Visibility;
use runner_core::model::{Principal, RunnerFilter, Subject};
use runner_core::store::{RunnerRepo, Store};
use runner_store::SqliteStore;

const RUNNERS: usize = 1_000;
const PAGE: u32 = 50;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "list".to_owned());
    let reps: usize = args.next().map(|n| n.parse().expect("REPS is a number")).unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("read-cost.db").display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).await.unwrap());
    let (org, _) = runner_store::testing::new_org(&store).await;
    drop(store);
    let creator = Subject { id: uuid::Uuid::now_v7(), principal: Principal::User };
    let ids = runner_store::testing::seed_runners(&url, org.id, Some(creator), RUNNERS).await.unwrap();
    let store = SqliteStore::open(&url).await.unwrap();
    let visibility = Visibility::All { org_id: org.id };
    let mut read = 0;
    for _ in 0..reps {
        match mode.as_str() {
            "list" => {
                let mut after = None;
                loop {
                    let page = store.list_runners(&visibility, &RunnerFilter::default(), after, PAGE).await.unwrap();
                    read += page.len();
                    match page.last() {
                        Some(last) if page.len() == PAGE as usize => after = Some(last.id),
                        _ => break,
                    }
                }
            }
            "get" => {
                for id in &ids {
                    read += usize::from(store.get_runner(*id).await.unwrap().is_some());
                }
            }
            other => panic!("mode is list or get, not {other}"),
        }
    }
    assert_eq!(read, reps * RUNNERS, "every runner read once per repetition");
    println!("{mode}: read {read} runners");
}
