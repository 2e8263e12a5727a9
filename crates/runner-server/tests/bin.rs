//! The real binary: starts on port 0, prints where it listens, serves, and on SIGTERM lets a
//! call in flight finish before it exits 0.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn sigterm_lets_the_call_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_runner-server"))
        .args(["--listen", "127.0.0.1:0", "--shutdown-seconds", "10"])
        .arg("--database-url")
        .arg(format!(
            "sqlite://{}",
            dir.path().join("db.sqlite").display()
        ))
        .arg("--key-file")
        .arg(dir.path().join("server.key"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .expect("listening line")
        .to_owned();

    // Headers and half of the body of a CreateRunner call.
    let body = br#"{"name":"In Flight","provider":"RUNNER_PROVIDER_GCP"}"#;
    let mut conn = TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /api/gitpod.v1.RunnerService/CreateRunner HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    conn.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still serving the call in flight"
    );

    conn.write_all(&body[10..]).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
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

    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn bad_configuration_fails_with_one_clear_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_runner-server"))
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
