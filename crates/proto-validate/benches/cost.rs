//! What a check costs (docs/performance.md): `cargo bench -p proto-validate --bench cost` prints
//! nanoseconds per check of a few requests on the real descriptor set. Under `cargo test` (no
//! `--bench` argument) each request is checked once, as a smoke test.

use gitpod_api::gitpod::v1::*;
use proto_validate::Validator;

const UUID: &str = "018f0c5e-1b2a-7c3d-8e4f-a0b1c2d3e4f5";

fn main() {
    let v = Validator::new(gitpod_api::FILE_DESCRIPTOR_SET).expect("every rule of the API is understood");
    let get = GetRunnerRequest { runner_id: UUID.into() };
    let list = ListRunnersRequest {
        pagination: Some(PaginationRequest { page_size: 50, token: "t".repeat(120) }),
        filter: Some(list_runners_request::Filter {
            creator_ids: vec![UUID.into(); 3],
            kinds: vec![2],
            providers: vec![1, 5],
        }),
    };
    let create = CreateRunnerRequest { name: "Frankfurt build fleet".into(), provider: 1, ..Default::default() };
    let n: u32 = if std::env::args().any(|a| a == "--bench") { 1_000_000 } else { 1 };
    for (what, run) in [
        ("GetRunnerRequest", &(|| v.validate(&get).is_ok()) as &dyn Fn() -> bool),
        ("ListRunnersRequest, filter of 6 values", &|| v.validate(&list).is_ok()),
        ("CreateRunnerRequest", &|| v.validate(&create).is_ok()),
        ("RunnerSpec (no rules)", &|| v.validate(&RunnerSpec::default()).is_ok()),
    ] {
        let start = std::time::Instant::now();
        for _ in 0..n {
            assert!(std::hint::black_box(run()), "{what} is valid");
        }
        println!("{what}: {:.0} ns per check ({n} checks)", start.elapsed().as_nanos() as f64 / f64::from(n));
    }
}
