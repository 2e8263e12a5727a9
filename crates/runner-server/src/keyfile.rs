//! The server's master key file: 32 random bytes as 64 hex digits, created with mode 0600 on
//! first start. Replicas of one deployment share the file (or its content).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};

/// The environment variable that, when set, holds the key itself (64 hex digits), for
/// deployments that hand secrets to processes that way; it wins over the key file.
pub const KEY_ENV: &str = "RUNNER_SERVER_KEY";

/// The server key: from [`KEY_ENV`] when set, otherwise from the key file (created if missing).
pub fn load(path: &Path) -> anyhow::Result<[u8; 32]> {
    match std::env::var(KEY_ENV) {
        Ok(hex) => parse(&hex).with_context(|| format!("{KEY_ENV} is not 64 hex digits")),
        Err(_) => load_or_create(path),
    }
}

/// A public, one-way fingerprint of the key (HMAC of a fixed label), which the database keeps
/// so that every replica can check that it has the same key as the first one.
pub fn fingerprint(key: &[u8; 32]) -> String {
    let derived = runner_core::secrets::derive_key(key, "gitpod-runner-api key fingerprint v1");
    derived[..16].iter().map(|b| format!("{b:02x}")).collect()
}

pub fn load_or_create(path: &Path) -> anyhow::Result<[u8; 32]> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text).with_context(|| format!("key file {} is not 64 hex digits", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(e) => Err(e).with_context(|| format!("cannot read key file {}", path.display())),
    }
}

fn parse(text: &str) -> anyhow::Result<[u8; 32]> {
    let hex = text.trim();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("bad key format");
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)?;
    }
    Ok(key)
}

fn create(path: &Path) -> anyhow::Result<[u8; 32]> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let key = runner_core::secrets::random_key();
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(format!("{hex}\n").as_bytes())?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "created a new server key");
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(path),
        Err(e) => Err(e).with_context(|| format!("cannot create key file {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_with_private_mode_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/server.key");
        let a = load_or_create(&path).unwrap();
        let b = load_or_create(&path).unwrap();
        assert_eq!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, "nope").unwrap();
        assert!(load_or_create(&path).is_err());
    }
}
