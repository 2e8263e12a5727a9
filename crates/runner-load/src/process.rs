//! Child processes that print `listening on http://ADDR` once they serve: the server under
//! test and the benchmark's ceiling server.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// A serving child process; SIGTERM on drop if still running.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    /// Starts `command` with its stdout and stderr in `dir/NAME.out` and `dir/NAME.err`, and
    /// waits (up to 120 s) for its `listening on http://ADDR` line.
    pub fn start(mut command: Command, dir: &Path, name: &str) -> anyhow::Result<Self> {
        let out_path = dir.join(format!("{name}.out"));
        let err_path = dir.join(format!("{name}.err"));
        let child = command
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_path)?)
            .stderr(std::fs::File::create(&err_path)?)
            .spawn()
            .with_context(|| format!("cannot start {:?}", command.get_program()))?;
        let mut server = Self { child, url: String::new() };
        let started = Instant::now();
        loop {
            let out = std::fs::read_to_string(&out_path).unwrap_or_default();
            if let Some(addr) = out.lines().find_map(|l| l.strip_prefix("listening on http://")) {
                server.url = format!("http://{}", addr.trim());
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                let err = std::fs::read_to_string(&err_path).unwrap_or_default();
                bail!("{name} exited ({status}) before listening:\n{out}{err}");
            }
            if started.elapsed() > Duration::from_secs(120) {
                bail!("{name} did not print its address within 120 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The runner-server binary on `database_url`, with its key file in `dir`.
    pub fn runner_server(bin: &Path, database_url: &str, dir: &Path, log: &str) -> Command {
        let mut command = Command::new(bin);
        command
            .args(["--listen", "127.0.0.1:0", "--database-url", database_url])
            .arg("--key-file")
            .arg(dir.join("server.key"))
            .env("RUST_LOG", log);
        command
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then the exit status (SIGKILL after 30 s).
    pub fn stop(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status);
        }
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status()?;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        Ok(self.child.wait()?)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// One reading of a process's `/proc` entries.
#[derive(Debug, Clone, Copy)]
pub struct ProcStat {
    pub rss_kib: u64,
    /// Peak RSS so far (`VmHWM`).
    pub peak_rss_kib: u64,
    pub fds: u64,
    /// User plus system CPU time consumed so far.
    pub cpu: Duration,
}

pub fn proc_stat(pid: u32) -> anyhow::Result<ProcStat> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("the process is gone")?;
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .with_context(|| format!("no {key} in /proc/{pid}/status"))
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).context("reading /proc/PID/fd")?.count() as u64;
    // Fields 14 and 15 of /proc/PID/stat (utime, stime) in clock ticks, counted after the
    // parenthesised command name, which may itself hold spaces.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).context("the process is gone")?;
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).context("malformed /proc/PID/stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).context("malformed /proc/PID/stat");
    // After the name, field 3 (state) is at index 0, so utime (14) is at 11 and stime at 12.
    let total_ticks = ticks(11)? + ticks(12)?;
    // USER_HZ: 100 on every Linux architecture (the kernel's ABI for /proc, whatever CONFIG_HZ).
    let per_second = 100u64;
    Ok(ProcStat {
        rss_kib: kib("VmRSS:")?,
        peak_rss_kib: kib("VmHWM:")?,
        fds,
        cpu: Duration::from_micros(total_ticks * 1_000_000 / per_second),
    })
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Nearest-rank percentile of sorted latencies in microseconds, in milliseconds.
pub fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    f64::from(sorted_us[rank.clamp(1, sorted_us.len()) - 1]) / 1000.0
}

/// A fresh temporary directory for one run's database, logs and files.
pub fn temp_dir(prefix: &str) -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Removes a run's directory, unless asked to keep it or the run failed (then says where it is).
pub fn finish<T>(dir: &Path, keep: bool, result: anyhow::Result<T>) -> anyhow::Result<T> {
    if keep || result.is_err() {
        println!("kept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}
