//! The packaging cannot run here (no Docker, systemd or Kubernetes), so it is checked
//! statically against the binary itself: every flag the Dockerfile, the systemd unit and the
//! Kubernetes manifest pass exists in `runner-server --help`, every environment variable they
//! set is one the server reads or a setting of glibc's allocator (`MALLOC_*`) that all three
//! set alike, and ports, probe paths and users agree.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_yaml::Value;

fn repo(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The long flags and environment variables `--help` lists.
fn help() -> (BTreeSet<String>, BTreeSet<String>) {
    let out = Command::new(env!("CARGO_BIN_EXE_runner-server")).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut flags = BTreeSet::new();
    let mut envs = BTreeSet::new();
    // Only the option headers (`  -h, --help`, `      --listen <LISTEN>`), not flags named in prose.
    for line in text.lines().map(str::trim_start).filter(|l| l.starts_with('-')) {
        for word in line.split([' ', ',']) {
            if let Some(flag) = word.strip_prefix("--") {
                flags.insert(format!("--{}", flag.split(['=', '<']).next().unwrap()));
            }
        }
    }
    for part in text.split("[env: ").skip(1) {
        envs.insert(part.split('=').next().unwrap().to_owned());
    }
    // Documented in the help of --key-file: the key itself, from the environment.
    assert!(text.contains("RUNNER_SERVER_KEY"), "--help mentions RUNNER_SERVER_KEY");
    envs.insert("RUNNER_SERVER_KEY".to_owned());
    (flags, envs)
}

/// Every `--flag` in `args` is a flag of the binary; returns the value of `--listen`.
fn check_args(what: &str, args: &[String], flags: &BTreeSet<String>) -> Result<Option<String>, String> {
    let mut listen = None;
    for (i, a) in args.iter().enumerate() {
        if let Some(flag) = a.strip_prefix("--") {
            let name = format!("--{}", flag.split('=').next().unwrap());
            if !flags.contains(&name) {
                return Err(format!("{what}: {name} is not a flag of runner-server"));
            }
            if name == "--listen" {
                listen = args.get(i + 1).cloned();
            }
        }
    }
    Ok(listen)
}

fn port_of(listen: &str) -> u16 {
    listen.rsplit(':').next().unwrap().parse().unwrap()
}

/// The Kubernetes manifest's rules; `Err` names the first one broken.
fn check_manifest(text: &str, flags: &BTreeSet<String>, envs: &BTreeSet<String>) -> Result<(), String> {
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let kind = |k: &str| docs.iter().find(|d| d["kind"] == k).ok_or(format!("no {k}"));
    let secret = kind("Secret")?;
    let deployment = kind("Deployment")?;
    let service = kind("Service")?;
    if deployment["spec"]["replicas"] != 2 {
        return Err("the Deployment runs 2 replicas".into());
    }
    let pod = &deployment["spec"]["template"]["spec"];
    if pod["securityContext"]["runAsNonRoot"] != true {
        return Err("pods run as non-root".into());
    }
    if pod["terminationGracePeriodSeconds"].as_i64().unwrap_or(0) <= 20 {
        return Err("the grace period exceeds the server's drain time".into());
    }
    let container = &pod["containers"][0];
    let args: Vec<String> =
        container["args"].as_sequence().ok_or("args")?.iter().map(|a| a.as_str().unwrap().to_owned()).collect();
    let listen = check_args("manifest args", &args, flags)?.ok_or("the container passes --listen")?;
    let port = &container["ports"][0];
    if port["containerPort"].as_u64() != Some(u64::from(port_of(&listen))) {
        return Err("containerPort is the --listen port".into());
    }
    let port_name = port["name"].as_str().ok_or("the port is named")?;
    for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        let get = &container[probe]["httpGet"];
        if get["path"] != path || get["port"] != port_name {
            return Err(format!("{probe} is GET {path} on port {port_name}"));
        }
    }
    if service["spec"]["ports"][0]["targetPort"] != port_name {
        return Err("the Service targets the container's port".into());
    }
    let env: Vec<(String, String)> = container["env"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|e| (e["name"].as_str().unwrap().to_owned(), e["value"].as_str().unwrap_or_default().to_owned()))
        .collect();
    check_env("manifest", &env, envs)?;
    let secret_names = secret["stringData"].as_mapping().ok_or("secret data")?.keys();
    if let Some(unknown) = secret_names.map(|k| k.as_str().unwrap()).find(|n| !envs.contains(*n)) {
        return Err(format!("{unknown} is not an environment variable runner-server reads"));
    }
    Ok(())
}

/// The allocator settings every deployment sets: glibc's arenas capped (docs/performance.md).
const LIBC_ENV: [(&str, &str); 1] = [("MALLOC_ARENA_MAX", "2")];

/// `env` (name, value) sets variables runner-server reads, and exactly [`LIBC_ENV`] of glibc's.
fn check_env(what: &str, env: &[(String, String)], envs: &BTreeSet<String>) -> Result<(), String> {
    let (libc, server): (Vec<_>, Vec<_>) = env.iter().partition(|(name, _)| name.starts_with("MALLOC_"));
    if let Some((unknown, _)) = server.iter().find(|(n, _)| !envs.contains(n)) {
        return Err(format!("{what}: {unknown} is not an environment variable runner-server reads"));
    }
    let libc: Vec<(&str, &str)> = libc.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    if libc != LIBC_ENV {
        return Err(format!("{what}: glibc settings {libc:?}, not {LIBC_ENV:?}"));
    }
    Ok(())
}

/// `NAME=value` pairs of lines that start with `prefix` (`Environment=`, `ENV `).
fn env_lines(text: &str, prefix: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix)?.split_once('='))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn packaging_matches_the_binary() {
    let (flags, envs) = help();
    assert!(flags.contains("--listen") && envs.contains("DATABASE_URL"), "{flags:?} {envs:?}");

    // Kubernetes.
    let manifest = repo("deploy/kubernetes/runner-server.yaml");
    check_manifest(&manifest, &flags, &envs).unwrap();
    // Not vacuous: a wrong probe path or an unknown flag is caught.
    assert!(check_manifest(&manifest.replace("/readyz", "/ready"), &flags, &envs).is_err());
    assert!(check_manifest(&manifest.replace("--shutdown-seconds", "--shutdown-secs"), &flags, &envs).is_err());
    assert!(check_manifest(&manifest.replace("value: \"2\"", "value: \"4\""), &flags, &envs).is_err());
    assert!(check_manifest(&manifest.replace("RUNNER_SERVER_LOG_FORMAT", "RUNNER_LOG_FORMAT"), &flags, &envs).is_err());

    // Dockerfile: the runtime stage's CMD, port and user.
    let dockerfile = repo("Dockerfile");
    let runtime = dockerfile.rsplit("\nFROM ").next().unwrap();
    let cmd = runtime.lines().find_map(|l| l.strip_prefix("CMD ")).expect("CMD");
    let cmd: Vec<String> = serde_yaml::from_str(cmd).unwrap();
    let listen = check_args("Dockerfile CMD", &cmd, &flags).unwrap().expect("CMD passes --listen");
    assert!(runtime.contains(&format!("EXPOSE {}", port_of(&listen))), "the image exposes the --listen port");
    let user = runtime.lines().find_map(|l| l.strip_prefix("USER ")).expect("USER");
    assert!(user.trim() != "root" && user.trim() != "0", "the image runs as a non-root user");
    // Where the runtime stage installs the binary: the destination of the COPY of runner-server.
    let installed = runtime
        .lines()
        .filter_map(|l| l.strip_prefix("COPY "))
        .filter_map(|l| l.split_whitespace().last())
        .find(|dest| dest.ends_with("/runner-server"))
        .expect("the runtime stage copies runner-server");
    assert_eq!(installed, "/usr/local/bin/runner-server", "the image installs the binary in /usr/local/bin");
    check_env("Dockerfile", &env_lines(runtime, "ENV "), &envs).unwrap();

    // systemd.
    let unit = repo("deploy/systemd/runner-server.service");
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("ExecStart");
    let words: Vec<String> = exec.split_whitespace().map(str::to_owned).collect();
    assert_eq!(words[0], installed, "the unit runs the binary where the Dockerfile installs it");
    check_args("systemd ExecStart", &words[1..], &flags).unwrap().expect("ExecStart passes --listen");
    check_env("systemd", &env_lines(&unit, "Environment="), &envs).unwrap();
    let stop: u64 = unit.lines().find_map(|l| l.strip_prefix("TimeoutStopSec=")).unwrap().parse().unwrap();
    assert!(stop > 20, "systemd waits longer than the server drains");
}

/// Each option block of `--help`: the long flag and its environment variable, if any.
fn help_options() -> Vec<(String, Option<String>)> {
    let out = Command::new(env!("CARGO_BIN_EXE_runner-server")).arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut options: Vec<(String, Option<String>)> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(flag) =
            trimmed.strip_prefix('-').and_then(|_| trimmed.split_whitespace().find(|w| w.starts_with("--")))
        {
            options.push((flag.trim_end_matches(',').to_owned(), None));
        } else if let (Some(env), Some(last)) = (trimmed.strip_prefix("[env: "), options.last_mut()) {
            last.1 = Some(env.split('=').next().unwrap().to_owned());
        }
    }
    options
}

/// The README's table of server options against `--help`: every flag of the server (all but
/// `--help`, `--version`, `--config` and `--print-config`, which the text above the table
/// explains) has a row naming its environment variable, and every row is a flag. `Err` names
/// the first difference.
fn check_flags_table(readme: &str, options: &[(String, Option<String>)]) -> Result<(), String> {
    let section = readme.split("## Server options").nth(1).ok_or("no Server options section")?;
    let section = section.split("\n## ").next().unwrap();
    let mut rows = std::collections::BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `--")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let flag = cells[1].trim_matches('`').split_whitespace().next().unwrap().to_owned();
        rows.insert(flag, cells[2].trim_matches('`').to_owned());
    }
    for explained in ["--config", "--print-config"] {
        if !section.contains(&format!("`{explained}")) {
            return Err(format!("the text above the table explains {explained}"));
        }
    }
    for (flag, env) in options {
        if ["--help", "--version", "--config", "--print-config"].contains(&flag.as_str()) {
            continue;
        }
        let Some(row_env) = rows.remove(flag) else { return Err(format!("{flag} has no row in the README's table")) };
        if env.as_deref() != Some(row_env.as_str()) {
            return Err(format!("{flag}: the README says {row_env:?}, --help says {env:?}"));
        }
    }
    match rows.keys().next() {
        Some(stale) => Err(format!("{stale} is in the README's table but not a flag of runner-server")),
        None => Ok(()),
    }
}

#[test]
fn the_readme_lists_every_flag_with_its_environment_variable() {
    let options = help_options();
    assert!(
        options.iter().any(|(f, e)| f == "--listen" && e.as_deref() == Some("RUNNER_SERVER_LISTEN")),
        "{options:?}"
    );
    let readme = repo("README.md");
    check_flags_table(&readme, &options).unwrap();
    // Not vacuous: a missing row, a wrong variable and a stale row are each caught.
    let without_listen: String =
        readme.lines().filter(|l| !l.starts_with("| `--listen`")).map(|l| format!("{l}\n")).collect();
    assert!(check_flags_table(&without_listen, &options).unwrap_err().contains("--listen has no row"));
    let wrong = readme.replace("| `--listen` | `RUNNER_SERVER_LISTEN` |", "| `--listen` | `LISTEN` |");
    assert!(check_flags_table(&wrong, &options).is_err());
    let mut extra = options.clone();
    extra.retain(|(f, _)| f != "--listen");
    assert!(check_flags_table(&readme, &extra).unwrap_err().contains("--listen is in the README's table"));
}
