//! What the agent keeps on disk: its X25519 secret key and its current access token, each in
//! a file only its user can read.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use crypto_box::SecretKey;
use serde::{Deserialize, Serialize};

const KEY_FILE: &str = "runner.key";
const TOKEN_FILE: &str = "access-token.json";

/// The access token the agent got for its exchange token, and for which runner.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredToken {
    pub runner_id: String,
    pub access_token: String,
    /// Seconds since the epoch.
    pub expires_at: i64,
}

impl std::fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredToken")
            .field("runner_id", &self.runner_id)
            .field("access_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// The directory, created with mode 0700 if missing.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).with_context(|| format!("cannot create state directory {}", dir.display()))?;
        Ok(Self { dir: dir.to_owned() })
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.join(KEY_FILE)
    }

    /// The runner's secret key, generated from the OS random source on first use.
    pub fn key(&self) -> anyhow::Result<SecretKey> {
        let path = self.key_path();
        match std::fs::read(&path) {
            Ok(bytes) => {
                let bytes: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| anyhow::anyhow!("{} is not a 32-byte X25519 secret key", path.display()))?;
                Ok(SecretKey::from(bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretKey::generate(&mut crypto_box::aead::OsRng);
                write_private(&path, &key.to_bytes())?;
                Ok(key)
            }
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// The stored access token, if there is one for `runner_id`.
    pub fn token(&self, runner_id: &str) -> anyhow::Result<Option<StoredToken>> {
        let path = self.dir.join(TOKEN_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let token: StoredToken = serde_json::from_slice(&bytes)
                    .with_context(|| format!("{} is not a stored access token", path.display()))?;
                Ok(Some(token).filter(|t| t.runner_id == runner_id))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    pub fn save_token(&self, token: &StoredToken) -> anyhow::Result<()> {
        write_private(&self.dir.join(TOKEN_FILE), &serde_json::to_vec(token)?)
    }

    /// Forgets the runner: its key and token are of no use once it is deleted.
    pub fn clear(&self) -> anyhow::Result<()> {
        for file in [KEY_FILE, TOKEN_FILE] {
            match std::fs::remove_file(self.dir.join(file)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        Ok(())
    }
}

/// Writes a file readable by its owner only, replacing it atomically.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    if !path.is_file() {
        bail!("{} was not written", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_and_token_persist_privately() {
        let dir = std::env::temp_dir().join(format!("runner-agent-state-{}", std::process::id()));
        let state = StateDir::open(&dir).unwrap();
        let key = state.key().unwrap();
        assert_eq!(state.key().unwrap().to_bytes(), key.to_bytes(), "the key is kept");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(state.key_path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let token = StoredToken { runner_id: "r1".into(), access_token: "gpr_x".into(), expires_at: 5 };
        state.save_token(&token).unwrap();
        assert_eq!(state.token("r1").unwrap().unwrap().access_token, "gpr_x");
        assert!(state.token("r2").unwrap().is_none());
        assert!(!format!("{token:?}").contains("gpr_x"));
        state.clear().unwrap();
        assert!(state.token("r1").unwrap().is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
