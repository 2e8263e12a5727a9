// The quick start of gitpod-api, also in its crate docs and the README. Run it with
// a runner-server on 127.0.0.1:8080 (`cargo run -p runner-server`) and the admin token it prints:
//   cargo run --example runner_client -- http://127.0.0.1:8080 "$TOKEN"   # or GITPOD_API_KEY=…
// It needs only `gitpod-api` (feature `client`) and `tokio`, as tests/downstream/ checks.

use gitpod_api::gitpod::v1::runner_service_client::RunnerServiceClient;
use gitpod_api::gitpod::v1::{
    CreateRunnerRequest, GetRunnerRequest, ListRunnersRequest, PaginationRequest, RunnerConfiguration, RunnerPhase,
    RunnerProvider, RunnerSpec,
};
use gitpod_api::tonic::{Code, Request, metadata::MetadataValue, transport::Endpoint};
use gitpod_api::tonic_types::StatusExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    let token =
        args.next().or_else(|| std::env::var("GITPOD_API_KEY").ok()).ok_or("pass a token or set GITPOD_API_KEY")?;
    let bearer: MetadataValue<_> = format!("Bearer {token}").parse()?;
    let channel = Endpoint::from_shared(url)?.connect().await?;
    // Every call carries the personal access token.
    let mut client = RunnerServiceClient::with_interceptor(channel, move |mut req: Request<()>| {
        req.metadata_mut().insert("authorization", bearer.clone());
        Ok(req)
    });

    let created = client
        .create_runner(CreateRunnerRequest {
            name: "Example Runner".to_owned(),
            provider: RunnerProvider::Gcp as i32,
            spec: Some(RunnerSpec {
                configuration: Some(RunnerConfiguration { region: "us-central1".to_owned(), ..Default::default() }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?
        .into_inner();
    let runner = created.runner.ok_or("CreateRunner returned no runner")?;
    println!(
        "created {} ({}), exchange token issued: {}",
        runner.runner_id,
        runner.name,
        !created.exchange_token.is_empty()
    );

    // Pages: pass the previous page's `next_token` until it comes back empty.
    let mut token = String::new();
    let mut listed = 0;
    loop {
        let page = client
            .list_runners(ListRunnersRequest {
                pagination: Some(PaginationRequest { page_size: 50, token }),
                filter: None,
            })
            .await?
            .into_inner();
        listed += page.runners.len();
        token = page.pagination.map(|p| p.next_token).unwrap_or_default();
        if token.is_empty() {
            break;
        }
    }
    println!("listed {listed} runners");

    let fetched = client
        .get_runner(GetRunnerRequest { runner_id: runner.runner_id.clone() })
        .await?
        .into_inner()
        .runner
        .ok_or("GetRunner returned no runner")?;
    let phase = fetched.status.as_ref().map(|s| s.phase()).unwrap_or(RunnerPhase::Unspecified);
    println!("got {} in phase {}", fetched.runner_id, phase.as_str_name());
    if fetched != runner {
        return Err("GetRunner differs from what CreateRunner returned".into());
    }

    // Invalid input is `invalid_argument` with a `google.rpc.BadRequest` detail naming the field
    // (in its JSON form, `runnerId`).
    let status = match client.get_runner(GetRunnerRequest { runner_id: "not-a-uuid".to_owned() }).await {
        Ok(_) => return Err("GetRunner accepted the runner id \"not-a-uuid\"".into()),
        Err(status) => status,
    };
    let violations = status.get_details_bad_request().map(|b| b.field_violations).unwrap_or_default();
    println!("{:?}: {}", status.code(), status.message());
    for violation in &violations {
        println!("  {}: {}", violation.field, violation.description);
    }
    if status.code() != Code::InvalidArgument || !violations.iter().any(|v| v.field == "runnerId") {
        return Err(format!("expected invalid_argument with a BadRequest naming runnerId, got {status:?}").into());
    }
    Ok(())
}
