//! The real binary: starts on port 0, prints where it listens, serves, and on SIGTERM lets a
//! call in flight finish before it exits 0.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use runner_testkit::{ServerProcess, admin, list_status};

use crate::{BIN, bin};

#[test]
fn sigterm_lets_the_call_in_flight_finish() {
    // First start prints the admin token, then where it listens.
    let mut server = ServerProcess::fresh(bin(), &["--shutdown-seconds", "10"]);
    let (token, addr) = (server.token().to_owned(), server.addr.clone());
    assert!(token.starts_with("gpat_"), "first start prints the admin token");

    // Headers and half of the body of a CreateRunner call.
    let body = br#"{"name":"In Flight","provider":"RUNNER_PROVIDER_GCP"}"#;
    let mut conn = TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /api/gitpod.v1.RunnerService/CreateRunner HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    conn.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(200));

    server.signal("TERM").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(server.try_wait().unwrap().is_none(), "still serving the call in flight");

    conn.write_all(&body[10..]).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    // Read until the server closes the connection (it is shutting down).
    while let Ok(n) = conn.read(&mut buf) {
        if n == 0 {
            break;
        }
        response.extend_from_slice(&buf[..n]);
    }
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"exchangeToken\""), "{response}");

    let exit = server.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}

/// SIGTERM ends open WatchEvents streams cleanly (a normal end of stream: gRPC status OK in the
/// trailers, Connect's end-of-stream message without an error; no reset), well within the drain
/// deadline, over gRPC, gRPC-web (HTTP/1.1 and HTTP/2) and Connect (HTTP/1.1 and HTTP/2), and
/// the process exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_watch_streams_cleanly_within_the_drain_deadline() {
    use futures::StreamExt;
    use gitpod_api::gitpod::v1::{WatchEventsRequest, WatchEventsResponse, watch_events_request::Scope};
    use runner_testkit::{Client, ClientOptions, Protocol, es};
    const DRAIN: u64 = 20;
    let mut server = ServerProcess::fresh(bin(), &["--shutdown-seconds", &DRAIN.to_string()]);
    let token = server.token().to_owned();
    let h2 = ClientOptions { http2: true, ..Default::default() };
    let mut streams = Vec::new();
    for (name, protocol, options) in [
        ("gRPC", Protocol::Grpc, ClientOptions::default()),
        ("gRPC-web", Protocol::GrpcWeb, ClientOptions::default()),
        ("gRPC-web over HTTP/2", Protocol::GrpcWeb, h2.clone()),
        ("Connect", Protocol::ConnectProto, ClientOptions::default()),
        ("Connect over HTTP/2", Protocol::ConnectJson, h2),
    ] {
        let client = Client::connect(protocol, &server.url, Some(&token), options).await.unwrap();
        let req = WatchEventsRequest { scope: Some(Scope::Organization(true)), resource_type_filters: vec![] };
        let stream = client.server_stream::<_, WatchEventsResponse>(&es("WatchEvents"), req).await.unwrap();
        streams.push((name, client, stream));
    }
    let signalled = Instant::now();
    server.signal("TERM").unwrap();
    for (name, _client, stream) in &mut streams {
        let end = tokio::time::timeout(Duration::from_secs(DRAIN), stream.next()).await;
        let end = end.unwrap_or_else(|_| panic!("{name}: the stream did not end within the drain deadline"));
        // `None` is a clean end; an error (a reset, a cut connection) would be an `Err` item.
        assert!(end.is_none(), "{name}: {end:?}");
    }
    let ended = signalled.elapsed();
    assert!(ended < Duration::from_secs(DRAIN / 2), "the streams took {ended:?} to end");
    let exit = tokio::task::spawn_blocking(move || server.wait()).await.unwrap().unwrap();
    assert!(exit.success(), "{exit:?}");
    assert!(signalled.elapsed() < Duration::from_secs(DRAIN), "the server took {:?} to exit", signalled.elapsed());
}

/// Waits up to `secs` for `server`'s stderr to contain `needle`; returns what it logged.
fn wait_for_log(server: &ServerProcess, needle: &str, secs: u64) -> String {
    let started = Instant::now();
    loop {
        let logged = server.stderr();
        if logged.contains(needle) || started.elapsed() > Duration::from_secs(secs) {
            return logged;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn shutdown_says_what_it_waits_for_and_a_second_signal_stops_at_once() {
    let mut server = ServerProcess::fresh(bin(), &["--shutdown-seconds", "30"]);
    let (token, addr) = (server.token().to_owned(), server.addr.clone());
    // A client that stalls half-way through its body.
    let mut conn = TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /api/gitpod.v1.RunnerService/ListRunners HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{{"
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));

    // The first signal: how many calls it waits for, how long, and how to stop at once.
    server.signal("INT").unwrap();
    let logged = wait_for_log(&server, "1 call in flight", 10);
    assert!(logged.contains("SIGINT"), "{logged}");
    assert!(logged.contains("1 call in flight") && logged.contains("30 s"), "{logged}");
    assert!(logged.contains("again to stop at once"), "{logged}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.try_wait().unwrap().is_none(), "still draining the stalled call");

    // The second one (either signal) ends the process at once, non-zero, and says so.
    let second = Instant::now();
    server.signal("TERM").unwrap();
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(second.elapsed() < Duration::from_secs(5), "a second signal stops the server at once");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success(), "{status:?}");
    assert_eq!(status.code(), Some(128 + 15), "{status:?}");
    let logged = server.stderr();
    assert!(logged.contains("SIGTERM received while shutting down: stopping at once"), "{logged}");
    drop(conn);
}

#[test]
fn bad_configuration_fails_with_one_clear_line() {
    let output = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--database-url", "mysql://nope"])
        .arg("--key-file")
        .arg(tempfile::tempdir().unwrap().path().join("k"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot open database"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn admin_commands_manage_identities_and_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    // The server creates the database on its first start; the admin commands work on it while
    // it serves.
    let command = ServerProcess::command(bin(), &db, &dir.path().join("server.key"));
    let server = ServerProcess::start(command, dir.path(), "server").unwrap();
    assert!(server.admin_token.is_some(), "a first start prints the admin token");
    assert!(admin(bin(), &db, &["create-org", "acme"]).starts_with("organization "));
    let user = admin(bin(), &db, &["create-user", "--org", "acme", "alice", "--role", "admin"]);
    let user_id = user.split_whitespace().nth(1).unwrap().to_owned();
    let sa = admin(bin(), &db, &["create-service-account", "--org", "acme", "ci-bot"]);
    let sa_id = sa.split_whitespace().nth(1).unwrap().to_owned();
    let group = admin(bin(), &db, &["create-group", "--org", "acme", "platform"]);
    let group_id = group.split_whitespace().nth(1).unwrap().to_owned();
    admin(bin(), &db, &["add-member", "--group", &group_id, "--member", &sa_id]);
    admin(bin(), &db, &["set-runners-admin", "--group", &group_id]);
    admin(bin(), &db, &["set-role", "--member", &sa_id, "member"]);
    let issued = admin(bin(), &db, &["issue-token", "--member", &user_id, "--description", "laptop"]);
    let token = issued.split_whitespace().nth(1).unwrap().to_owned();
    let token_id = issued.trim().trim_end_matches(')').rsplit(' ').next().unwrap().to_owned();
    let members = admin(bin(), &db, &["list", "members", "--org", "acme"]);
    assert!(members.contains("alice") && members.contains("ci-bot"), "{members}");
    assert!(admin(bin(), &db, &["list", "groups", "--org", "acme"]).contains("runners-admin\tplatform"));
    let tokens = admin(bin(), &db, &["list", "tokens", "--org", "acme"]);
    assert!(tokens.contains("active\tnever\tlaptop"), "{tokens}");
    assert!(!tokens.contains(&token), "tokens are never listed: {tokens}");

    assert_eq!(list_status(&server.addr, &token), "HTTP/1.1 200 OK");
    // Suspension: the last admin of acme (alice) cannot be suspended; another user can, and its
    // token is refused (within --token-cache-ms, from this other process) until it is lifted.
    let (ok, _, err) = admin_output(&db, &["suspend", "--member", &user_id]);
    assert!(!ok && err.contains("last organization admin"), "{err}");
    let bob = admin(bin(), &db, &["create-user", "--org", "acme", "bob"]);
    let bob_id = bob.split_whitespace().nth(1).unwrap().to_owned();
    let bob_token =
        admin(bin(), &db, &["issue-token", "--member", &bob_id]).split_whitespace().nth(1).unwrap().to_owned();
    assert_eq!(list_status(&server.addr, &bob_token), "HTTP/1.1 200 OK");
    assert!(admin(bin(), &db, &["suspend", "--member", "bob", "--org", "acme"]).contains("suspended"));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(list_status(&server.addr, &bob_token), "HTTP/1.1 401 Unauthorized");
    assert!(admin(bin(), &db, &["suspend", "--member", &bob_id, "--lift"]).contains("no longer suspended"));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(list_status(&server.addr, &bob_token), "HTTP/1.1 200 OK");

    admin(bin(), &db, &["revoke-token", "--token-id", &token_id]);
    // Another process revoked it: the server trusts its cached token for at most
    // --token-cache-ms (1 s by default; runner_core::token_cache), then refuses it.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(list_status(&server.addr, &token), "HTTP/1.1 401 Unauthorized");
}

/// `runner-server --database-url DB admin ARGS`: its exit status, stdout and stderr.
fn admin_output(db: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(["--database-url", db, "admin"]).args(args).output().unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn admin_lists_have_headers_and_expiry_and_members_and_groups_go_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let mut server =
        ServerProcess::start(ServerProcess::command(bin(), &db, &dir.path().join("server.key")), dir.path(), "server")
            .unwrap();
    server.stop().unwrap();
    admin(bin(), &db, &["create-org", "acme"]);
    let alice =
        admin(bin(), &db, &["create-user", "--org", "acme", "alice"]).split_whitespace().nth(1).unwrap().to_owned();
    admin(bin(), &db, &["create-service-account", "--org", "acme", "ci-bot"]);
    admin(bin(), &db, &["create-group", "--org", "acme", "platform"]);

    // Names where ids go: members and groups, like --org.
    assert!(admin(bin(), &db, &["add-member", "--group", "platform", "--member", "ci-bot"]).contains("ci-bot"));
    assert!(admin(bin(), &db, &["set-role", "--member", "alice", "admin"]).contains("alice"));
    admin(bin(), &db, &["set-runners-admin", "--group", "platform"]);
    // A name in several organizations needs --org; an unknown one says where to look.
    admin(bin(), &db, &["create-user", "--org", "default", "alice"]);
    let (ok, _, err) = admin_output(&db, &["set-role", "--member", "alice", "member"]);
    assert!(!ok && err.contains("acme") && err.contains("default") && err.contains("--org"), "{err}");
    assert!(admin(bin(), &db, &["set-role", "--member", "alice", "--org", "acme", "admin"]).contains("admin"));
    let (ok, _, err) = admin_output(&db, &["issue-token", "--member", "nobody"]);
    assert!(!ok && err.contains("\"nobody\"") && err.contains("admin list members"), "{err}");
    let (ok, _, err) = admin_output(&db, &["add-member", "--group", "org-members", "--member", &alice]);
    assert!(!ok && err.contains("--org"), "the org-members group is in every organization: {err}");

    // A token must live at least a day; one that never expires says so.
    let (ok, _, err) = admin_output(&db, &["issue-token", "--member", &alice, "--expires-in-days", "0"]);
    assert!(!ok && err.contains("--expires-in-days") && err.contains("at least 1"), "{err}");
    assert_eq!(err.lines().filter(|l| !l.trim().is_empty()).count(), 2, "clap's short error: {err}");
    admin(
        bin(),
        &db,
        &["issue-token", "--member", "alice", "--org", "acme", "--description", "laptop", "--expires-in-days", "30"],
    );
    admin(bin(), &db, &["issue-token", "--member", "ci-bot", "--description", "forever"]);
    // One that expired (issued through the library: the command refuses a lifetime under a day).
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = runner_store::open_existing(&db).await.unwrap().unwrap().store;
        let accounts = runner_core::accounts::Accounts::new(store);
        accounts.issue_token(alice.parse().unwrap(), "short-lived", Some(1)).await.unwrap();
    });
    std::thread::sleep(std::time::Duration::from_millis(1100));

    // Every list starts with a header; tokens show their expiry and state.
    let orgs = admin(bin(), &db, &["list", "orgs"]);
    assert_eq!(orgs.lines().next(), Some("ID\tNAME"), "{orgs}");
    let members = admin(bin(), &db, &["list", "members", "--org", "acme"]);
    assert_eq!(members.lines().next(), Some("ID\tKIND\tROLE\tNAME"), "{members}");
    assert!(members.contains("\tuser\tadmin\talice"), "{members}");
    let groups = admin(bin(), &db, &["list", "groups", "--org", "acme"]);
    assert_eq!(groups.lines().next(), Some("ID\tROLES\tNAME"), "{groups}");
    assert!(groups.contains("runners-admin\tplatform"), "{groups}");
    let tokens = admin(bin(), &db, &["list", "tokens", "--org", "acme"]);
    let mut lines = tokens.lines();
    assert_eq!(lines.next(), Some("ID\tMEMBER\tSTATE\tEXPIRES\tDESCRIPTION"), "{tokens}");
    let row = |description: &str| {
        tokens
            .lines()
            .find(|l| l.ends_with(&format!("\t{description}")))
            .unwrap_or_else(|| panic!("{tokens}"))
            .to_owned()
    };
    let cells = |row: String| row.split('\t').map(str::to_owned).collect::<Vec<_>>();
    let laptop = cells(row("laptop"));
    assert_eq!((laptop[1].as_str(), laptop[2].as_str()), ("alice", "active"), "{tokens}");
    assert!(laptop[3].ends_with('Z') && laptop[3].len() >= 20, "an RFC 3339 expiry: {tokens}");
    let forever = cells(row("forever"));
    assert_eq!((forever[1].as_str(), forever[2].as_str(), forever[3].as_str()), ("ci-bot", "active", "never"));
    let short = cells(row("short-lived"));
    assert_eq!(short[2], "expired", "{tokens}");
}

#[test]
fn listen_resolves_host_names() {
    let dir = tempfile::tempdir().unwrap();
    let args = |listen: &str| {
        let mut command = in_dir(dir.path(), &["--listen", listen, "--database-url"]);
        command.arg(runner_testkit::process::sqlite_url(dir.path())).arg("--key-file").arg(dir.path().join("k"));
        command
    };
    let server = ServerProcess::start(args("localhost:0"), dir.path(), "localhost").unwrap();
    assert!(server.url.starts_with("http://127.0.0.1:") || server.url.starts_with("http://[::1]:"), "{}", server.url);
    assert_eq!(list_status(&server.addr, server.token()), "HTTP/1.1 200 OK");
    // A name that does not resolve, or no port: one line saying so, before anything starts.
    for bad in ["no-such-host.invalid:8080", "localhost"] {
        let out = args(bad).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("--listen") && stderr.contains(bad), "{stderr}");
    }
}

/// `runner-server ARGS` in `dir`, with no database, key or configuration from the environment.
fn in_dir(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir).args(args);
    for var in ["DATABASE_URL", "RUNNER_SERVER_KEY", "RUNNER_SERVER_KEY_FILE", "RUNNER_SERVER_CONFIG"] {
        command.env_remove(var);
    }
    command
}

#[test]
fn admin_commands_refuse_a_missing_database_and_the_server_says_which_it_opened() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().canonicalize().unwrap().join("data/runners.db");
    // In a directory where the server never ran: refused, naming the file, creating nothing.
    let out = in_dir(dir.path(), &["admin", "list", "orgs"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(&file.display().to_string()) && stderr.contains("does not exist"), "{stderr}");
    assert!(stderr.contains("--database-url") && stderr.contains("first start"), "{stderr}");
    assert!(!dir.path().join("data").exists(), "nothing created");

    // The server's first start there creates it, and says so.
    let mut server =
        ServerProcess::start(in_dir(dir.path(), &["--listen", "127.0.0.1:0"]), dir.path(), "first").unwrap();
    let logged = server.stderr();
    assert!(logged.contains(&format!("created a new database file {}", file.display())), "{logged}");
    assert!(server.admin_token.is_some());

    // Now the admin commands work on it, and name it (on stderr: stdout stays the answer).
    let out = in_dir(dir.path(), &["admin", "list", "orgs"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("database sqlite://data/runners.db ({})", file.display())), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("default"));

    // A restart opens the existing one.
    server.stop().unwrap();
    let server = ServerProcess::start(in_dir(dir.path(), &["--listen", "127.0.0.1:0"]), dir.path(), "again").unwrap();
    let logged = server.stderr();
    assert!(logged.contains(&format!("opened the existing database file {}", file.display())), "{logged}");
    assert!(server.admin_token.is_none());
}

#[test]
fn a_replica_with_another_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let start = |key: &str, env_key: Option<&str>| {
        let mut command = ServerProcess::command(bin(), &db, &dir.path().join(key));
        if let Some(k) = env_key {
            command.env("RUNNER_SERVER_KEY", k);
        }
        ServerProcess::start(command, dir.path(), key)
    };
    // The first replica records its key's fingerprint.
    let first = start("a.key", None).unwrap();
    // Another key is refused with one clear line; the same key (from the environment) is not.
    let refused = start("b.key", None).err().expect("a replica with another key is refused");
    assert!(refused.status.is_some_and(|s| !s.success()), "{refused}");
    assert!(refused.stderr.contains("is not the key this database was first used with"), "{refused}");
    let hex = std::fs::read_to_string(dir.path().join("a.key")).unwrap();
    let same = start("unused.key", Some(hex.trim())).unwrap();
    assert!(!dir.path().join("unused.key").exists(), "the key came from the environment");
    drop((first, same));
}

#[test]
fn configuration_precedence_flag_then_env_then_file_then_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("server.toml");
    std::fs::write(
        &file,
        "shutdown_seconds = 7\nheartbeat_timeout_seconds = 30\nlog_format = \"json\"\n\
         cors_origins = [\"https://a.example\", \"https://b.example\"]\n\
         database_url = \"postgres://runner:hunter2@db.internal:5432/runners\"\n",
    )
    .unwrap();
    let output = Command::new(BIN)
        .args(["--log-format", "pretty", "--print-config", "--config"])
        .arg(&file)
        .env("RUNNER_SERVER_HEARTBEAT_TIMEOUT_SECONDS", "40")
        .env_remove("DATABASE_URL")
        .env_remove("RUNNER_SERVER_KEY")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8(output.stdout).unwrap();
    for line in [
        "shutdown_seconds = 7",                                              // file
        "heartbeat_timeout_seconds = 40",                                    // env beats file
        "log_format = \"pretty\"",                                           // flag beats file
        "runner_token_ttl_seconds = 3600",                                   // default
        "database_url = \"postgres://runner:***@db.internal:5432/runners\"", // redacted
    ] {
        assert!(printed.lines().any(|l| l == line), "{line:?} not in:\n{printed}");
    }
    assert!(printed.contains("https://b.example"), "{printed}");
    assert!(!printed.contains("hunter2"), "{printed}");

    // A bad file fails with one clear line, never a panic.
    std::fs::write(&file, "no_such_setting = 1\n").unwrap();
    let output = Command::new(BIN).arg("--config").arg(&file).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("unknown setting \"no_such_setting\""), "{stderr}");
}

#[test]
fn console_dir_from_the_config_file_must_hold_a_built_console() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("server.toml");
    let console = dir.path().join("dist");
    std::fs::create_dir(&console).unwrap();
    std::fs::write(&file, format!("console_dir = {:?}\n", console.display().to_string())).unwrap();
    let printed = Command::new(BIN)
        .args(["--print-config", "--config"])
        .arg(&file)
        .env_remove("RUNNER_SERVER_CONSOLE_DIR")
        .output()
        .unwrap();
    let printed = String::from_utf8(printed.stdout).unwrap();
    assert!(printed.contains(&format!("console_dir = {:?}", console.display().to_string())), "{printed}");

    // Without index.html (not built): one line saying how to build it.
    let output = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--config"])
        .arg(&file)
        .arg("--database-url")
        .arg(format!("sqlite://{}", dir.path().join("db.sqlite").display()))
        .arg("--key-file")
        .arg(dir.path().join("server.key"))
        .env_remove("RUNNER_SERVER_CONSOLE_DIR")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("has no index.html") && stderr.contains("npm run build"), "{stderr}");
    assert!(!dir.path().join("db.sqlite").exists(), "refused before opening the database");
}

#[test]
fn the_openapi_subcommand_prints_or_writes_the_served_document() {
    // No database, key or port: it only describes.
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin()).arg("openapi").current_dir(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed, runner_server::openapi::json());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "it creates no database or key file");
    let file = dir.path().join("openapi.json");
    let status = Command::new(bin()).args(["openapi", "--out"]).arg(&file).status().unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), printed);
    let yaml = Command::new(bin()).args(["openapi", "--yaml"]).output().unwrap();
    let from_yaml: serde_json::Value = serde_yaml::from_slice(&yaml.stdout).unwrap();
    assert_eq!(&from_yaml, runner_server::openapi::document());
}

/// `--audit-retention-days`: entries older than that are deleted in the background from the
/// start; newer ones stay. Out-of-range values are refused. Expired console sessions are
/// deleted by the same task (before the audit entries); live ones stay.
#[test]
fn audit_retention_days_prunes_older_entries_and_expired_sessions_go_too() {
    use runner_core::audit::AuditEntry;
    use runner_core::identity::{ConsoleSession, Member, OrgRole};
    use runner_core::model::{AuditKind, AuditSubject, Principal};
    use runner_core::time::Timestamp;

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let entry = |age_secs: i64| AuditEntry {
        id: uuid::Uuid::now_v7(),
        org_id: uuid::Uuid::now_v7(),
        actor: Some((uuid::Uuid::now_v7(), Principal::User)),
        subject: Some((uuid::Uuid::now_v7(), AuditSubject::Runner)),
        action: "gitpod.v1.RunnerService/CreateRunner".to_owned(),
        created_at: Timestamp::now().plus_seconds(-age_secs),
        kind: AuditKind::ResourceChange,
    };
    let (old, recent) = (entry(3 * 86_400), entry(86_400));
    let now = Timestamp::now();
    let (expired, live) = (vec![1u8; 32], vec![2u8; 32]);
    rt.block_on(async {
        let store = runner_store::open(&url).await.unwrap();
        store.insert_audit_entry(&old).await.unwrap();
        store.insert_audit_entry(&recent).await.unwrap();
        let (org, _) = runner_store::testing::new_org(&store).await;
        let alice = Member::new(org.id, Principal::User, "alice", OrgRole::Member, now);
        store.create_member(&alice).await.unwrap();
        let session = |expires_at| ConsoleSession {
            id: uuid::Uuid::now_v7(),
            member_id: alice.id,
            org_id: org.id,
            created_at: now.plus_seconds(-60),
            expires_at,
        };
        store.insert_session(&session(now.plus_seconds(-1)), &expired).await.unwrap();
        store.insert_session(&session(now.plus_seconds(3600)), &live).await.unwrap();
    });
    let mut command = ServerProcess::command_in(bin(), dir.path());
    command.args(["--audit-retention-days", "2"]);
    let server = ServerProcess::start(command, dir.path(), "server").unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let (old_left, recent_left) = loop {
        let left = rt.block_on(async {
            let store = runner_store::open(&url).await.unwrap();
            (store.get_audit_entry(old.id).await.unwrap(), store.get_audit_entry(recent.id).await.unwrap())
        });
        if left.0.is_none() || Instant::now() > deadline {
            break left;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(server);
    assert_eq!(old_left, None, "the entry older than 2 days is deleted");
    assert_eq!(recent_left, Some(recent), "the one of yesterday stays");
    rt.block_on(async {
        let store = runner_store::open(&url).await.unwrap();
        assert_eq!(store.prune_sessions(now).await.unwrap(), 0, "the expired session was deleted already");
        assert!(store.resolve_session(&live, now).await.unwrap().is_some(), "the live session stays");
    });

    let out = Command::new(bin()).args(["--audit-retention-days", "0", "--print-config"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--audit-retention-days"));
}

/// `--admin-email` and `admin create-user --email`: users that are the accounts of people with
/// an address, which GetAccount answers with (the Stainless SDK's strict client requires one).
/// An address is one with a domain name, and no other account's.
#[test]
fn the_first_admin_and_admin_made_users_may_have_an_email_address() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let mut command = ServerProcess::command(bin(), &db, &dir.path().join("server.key"));
    command.args(["--admin-email", " Admin@Acme.TEST "]);
    let server = ServerProcess::start(command, dir.path(), "server").unwrap_or_else(|e| panic!("{e}"));
    let admin_token = server.admin_token.clone().expect("a first start prints the admin token");
    let carol = admin(bin(), &db, &["create-user", "--org", "default", "carol", "--email", "carol@acme.test"]);
    let carol_id = carol.split_whitespace().nth(1).unwrap().to_owned();
    let carol_token =
        admin(bin(), &db, &["issue-token", "--member", &carol_id]).split_whitespace().nth(1).unwrap().to_owned();
    let (ok, _, err) = admin_output(&db, &["create-user", "--org", "default", "carl", "--email", "CAROL@acme.test"]);
    assert!(!ok && err.contains("carol@acme.test") && err.contains("already exists"), "{err}");
    let (ok, _, err) = admin_output(&db, &["create-user", "--org", "default", "dave", "--email", "dave@localhost"]);
    assert!(!ok && err.contains("email"), "{err}");
    assert!(!admin(bin(), &db, &["list", "members", "--org", "default"]).contains("dave"), "nothing was made");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let email_of = |token: &str| {
        let request = reqwest::Client::new()
            .post(format!("http://{}/gitpod.v1.AccountService/GetAccount", server.addr))
            .bearer_auth(token)
            .json(&serde_json::json!({}));
        rt.block_on(async {
            let answer: serde_json::Value =
                request.send().await.unwrap().error_for_status().unwrap().json().await.unwrap();
            answer["account"]["email"].as_str().unwrap_or_default().to_owned()
        })
    };
    assert_eq!(email_of(&admin_token), "admin@acme.test", "stored normalized");
    assert_eq!(email_of(&carol_token), "carol@acme.test");
}
