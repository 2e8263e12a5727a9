//! A server as a child process: the `runner-server` binary (or any server that prints
//! `listening on URL` once it serves, like the benchmark's ceiling), its admin subcommands, and
//! a raw HTTP/1.1 call to see whether it answers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a server gets to print its `listening on` line.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// A serving child process; killed (SIGKILL) when dropped if still running.
pub struct ServerProcess {
    child: Child,
    /// `http://ADDR` or `https://ADDR`, as printed.
    pub url: String,
    /// `HOST:PORT`.
    pub addr: String,
    /// The admin token a first start (an empty database) prints.
    pub admin_token: Option<String>,
    stdout: PathBuf,
    stderr: PathBuf,
    /// The temporary directory of a [`fresh`](Self::fresh) start, removed once it is killed.
    _temp: Option<tempfile::TempDir>,
}

/// Why a server did not start: it exited first, or did not print its address in time.
#[derive(Debug)]
pub struct StartError {
    pub reason: String,
    /// The exit status, if it exited.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:\n{}{}", self.reason, self.stdout, self.stderr)
    }
}

impl std::error::Error for StartError {}

impl ServerProcess {
    /// `BIN --listen 127.0.0.1:0 --database-url DATABASE_URL --key-file KEY_FILE`, without a
    /// `RUNNER_SERVER_KEY` from the environment.
    pub fn command(bin: &Path, database_url: &str, key_file: &Path) -> Command {
        let mut command = Command::new(bin);
        command
            .args(["--listen", "127.0.0.1:0", "--database-url", database_url])
            .arg("--key-file")
            .arg(key_file)
            .env_remove("RUNNER_SERVER_KEY");
        command
    }

    /// [`command`](Self::command) with a fresh SQLite database and key file in `dir`.
    pub fn command_in(bin: &Path, dir: &Path) -> Command {
        Self::command(bin, &sqlite_url(dir), &dir.join("server.key"))
    }

    /// Starts `command` with its stdout and stderr in `dir/NAME.out` and `dir/NAME.err`, and
    /// waits for its `listening on URL` line (and the admin token line a first start prints
    /// before it).
    pub fn start(mut command: Command, dir: &Path, name: &str) -> Result<Self, StartError> {
        let (stdout, stderr) = (dir.join(format!("{name}.out")), dir.join(format!("{name}.err")));
        let fail = |reason: String, status| StartError {
            reason,
            status,
            stdout: std::fs::read_to_string(&stdout).unwrap_or_default(),
            stderr: std::fs::read_to_string(&stderr).unwrap_or_default(),
        };
        let files = std::fs::File::create(&stdout).and_then(|o| Ok((o, std::fs::File::create(&stderr)?)));
        let (out, err) =
            files.map_err(|e| fail(format!("cannot create {name}'s log files in {}: {e}", dir.display()), None))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| fail(format!("cannot start {:?}: {e}", command.get_program()), None))?;
        let mut server = Self {
            child,
            url: String::new(),
            addr: String::new(),
            admin_token: None,
            stdout: stdout.clone(),
            stderr: stderr.clone(),
            _temp: None,
        };
        let started = Instant::now();
        loop {
            let printed = server.stdout();
            if let Some(url) = printed.lines().find_map(|l| l.strip_prefix("listening on ")) {
                server.url = url.trim().to_owned();
                server.addr = server.url.split("://").nth(1).unwrap_or_default().to_owned();
                server.admin_token = printed
                    .lines()
                    .find_map(|l| l.strip_prefix("admin token (shown once): "))
                    .map(|t| t.trim().to_owned());
                return Ok(server);
            }
            match server.child.try_wait() {
                Ok(Some(status)) => {
                    return Err(fail(format!("{name} exited ({status}) before listening"), Some(status)));
                }
                Ok(None) => {}
                Err(e) => return Err(fail(format!("{name}: {e}"), None)),
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(fail(format!("{name} did not print its address within {START_TIMEOUT:?}"), None));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A first start of `bin` with `args` on a fresh SQLite database and key file in a
    /// temporary directory it keeps; panics if it does not start.
    pub fn fresh(bin: &Path, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Self::command_in(bin, dir.path());
        command.args(args);
        let mut server = Self::start(command, dir.path(), "server").unwrap_or_else(|e| panic!("{e}"));
        server._temp = Some(dir);
        server
    }

    /// The admin token its first start printed; panics if it printed none.
    pub fn token(&self) -> &str {
        self.admin_token.as_deref().expect("a first start prints the admin token")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it printed on stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// What it logged on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Sends `signal` (a `kill` name like `TERM`).
    pub fn signal(&self, signal: &str) -> std::io::Result<()> {
        let status = Command::new("kill").arg(format!("-{signal}")).arg(self.child.id().to_string()).status()?;
        if status.success() { Ok(()) } else { Err(std::io::Error::other(format!("kill -{signal}: {status}"))) }
    }

    /// Its exit status, if it exited.
    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Waits for it to exit.
    pub fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait()
    }

    /// SIGKILL: no draining, no clean close of the database.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then the exit status (SIGKILL after 30 s).
    pub fn stop(&mut self) -> std::io::Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status);
        }
        self.signal("TERM")?;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.child.kill()?;
        self.child.wait()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `sqlite://DIR/db.sqlite`.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("db.sqlite").display())
}

/// Runs `BIN --database-url DB admin ARGS…` and returns what it printed; panics if it fails.
pub fn admin(bin: &Path, db: &str, args: &[&str]) -> String {
    let out = Command::new(bin).args(["--database-url", db, "admin"]).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A complete Connect JSON ListRunners request over HTTP/1.1 with `Connection: CONNECTION`.
pub fn list_request(addr: &str, token: &str, connection: &str) -> String {
    format!(
        "POST /gitpod.v1.RunnerService/ListRunners HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: {connection}\r\n\r\n{{}}"
    )
}

/// The status line of a ListRunners call on a new plain-text connection to `addr`
/// (`HTTP/1.1 200 OK`), or what little came back within 5 s.
pub fn list_status(addr: &str, token: &str) -> String {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    conn.write_all(list_request(addr, token, "close").as_bytes()).unwrap();
    let mut response = String::new();
    let _ = conn.read_to_string(&mut response);
    response.lines().next().unwrap_or_default().to_owned()
}
