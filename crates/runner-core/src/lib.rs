//! The meaning of the runner API, free of transport and SQL.
//!
//! The modules form layers. This map names them in order, and a module uses only modules
//! named before it: those of lower layers, and those of its own layer listed earlier. The
//! unit test `layers` below reads this map and every module's source to check it, so no
//! import cycle can come back.
//!
//! 1. **Leaves**: values and rules, with no storage behind them.
//!    - [`time`]: timestamps at the precision every backend stores;
//!    - [`model`]: the domain types (runners, their spec and status, integrations) and the
//!      enums of the API;
//!    - [`error`]: [`CoreError`], the one error type handlers return, and field violations;
//!    - [`validate`]: input rules shared by every RPC (ids, lengths, URLs, hosts, page sizes);
//!    - [`crypto`]: sealed boxes to runners and encryption at rest;
//!    - [`identity`]: organizations, members, groups, tokens, and the caller of one request;
//!    - [`audit`]: audit log entries, and the scope of one call that the store's writes take
//!      theirs from.
//! 2. **Rules over the leaves**.
//!    - [`schema`]: the runner configuration schema (types, built-in defaults, checks, patterns);
//!    - [`page`]: self-contained, tamper-evident page tokens;
//!    - [`authz`]: what a caller may do with a runner;
//!    - [`token_cache`]: authenticated personal access tokens, trusted for a short while.
//! 3. **The store port**: [`store`], the storage traits (one per entity; `Store` is all of them)
//!    that the backends (`runner-store`) implement.
//! 4. **The use cases**, over the store, one function per RPC.
//!    - [`turns`]: writers of one row take turns, until the call's deadline;
//!    - [`events`]: the in-process bus committed writes are published on, one bounded buffer per
//!      watcher;
//!    - [`secrets`]: what they share: tokens they mint, secrets they seal to a runner;
//!    - [`runners`]: the runners themselves;
//!    - [`heartbeats`]: a runner whose status reports stop produces an event when it goes stale;
//!    - [`watch`]: WatchEvents: a caller's stream of the events it may see;
//!    - [`accounts`]: authenticating every call's bearer token; organizations, members,
//!      groups, their memberships and roles, and personal access tokens, within one
//!      organization (the `admin` subcommands, and the API's use cases after authorization);
//!    - [`id_tokens`]: signed ID tokens that tell other services who the caller is;
//!    - [`groups`]: GroupService: groups, memberships, role assignments and direct shares, with
//!      who may call what;
//!    - [`service_accounts`]: service accounts and their tokens, as the API manages them;
//!    - [`users`]: users as the API shows them, and their personal access tokens;
//!    - [`organizations`]: the caller's organization, its members and their roles;
//!    - [`sso`]: SSO configurations: the organization's OpenID providers, checked through the
//!      `OidcDiscovery` port, their client secrets encrypted at rest;
//!    - [`invites`]: the organization's invite, what it leads to, and the ways to sign in
//!      (ListLoginProviders);
//!    - [`sso_login`]: signing in through them (the code flow through the `OidcFlow` port),
//!      accounts and users made just in time, and the console sessions that follow;
//!    - [`policies`]: which groups have which role on a runner;
//!    - [`environment_classes`]: environment classes, checked against the runner's schema;
//!    - [`scm_integrations`]: the SCM providers a runner offers, and for which hosts;
//!    - [`host_tokens`]: users' SCM credentials per runner and host, encrypted at rest;
//!    - [`llm_integrations`]: the LLM services a runner's agents may use;
//!    - [`scm`]: context URLs and the SCM questions, asked through the `ScmApi` port;
//!    - [`runner_side`]: what a runner process calls about itself;
//!    - [`audit_logs`]: ListAuditLogs and GetAuditLog, for the organization's auditors.

pub mod accounts;
pub mod audit;
pub mod audit_logs;
pub mod authz;
pub mod crypto;
pub mod environment_classes;
pub mod error;
pub mod events;
pub mod groups;
pub mod heartbeats;
pub mod host_tokens;
pub mod id_tokens;
pub mod identity;
pub mod invites;
pub mod llm_integrations;
pub mod model;
pub mod organizations;
pub mod page;
pub mod policies;
pub mod runner_side;
pub mod runners;
pub mod schema;
pub mod scm;
pub mod scm_integrations;
pub mod secrets;
pub mod service_accounts;
pub mod sso;
pub mod sso_login;
pub mod store;
pub mod time;
pub mod token_cache;
pub mod turns;
pub mod users;
pub mod validate;
pub mod watch;

pub use error::{CoreError, FieldViolation};

#[cfg(test)]
pub(crate) mod testing_support {
    use crate::model::*;
    use crate::time::Timestamp;

    pub fn runner(provider: RunnerProvider) -> Runner {
        let now = Timestamp::now();
        Runner {
            id: uuid::Uuid::now_v7(),
            org_id: uuid::Uuid::now_v7(),
            name: "test runner".to_owned(),
            kind: provider.kind(),
            provider: Some(provider),
            runner_manager_id: None,
            creator: None,
            created_at: now,
            updated_at: now,
            spec: RunnerSpec::default(),
            status: RunnerStatus::default(),
            revision: 1,
        }
    }
}

/// Checks the module map of the crate documentation against the sources: every module is in
/// it, and none uses a module the map names after it.
#[cfg(test)]
mod layers {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    fn src() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The `pub mod` declarations of lib.rs.
    fn declared(lib: &str) -> BTreeSet<String> {
        lib.lines().filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';')).map(str::to_owned).collect()
    }

    /// The modules in the order the crate documentation first links them.
    fn map_order(lib: &str, modules: &BTreeSet<String>) -> Vec<String> {
        let doc: Vec<&str> = lib.lines().take_while(|l| l.starts_with("//!")).collect();
        let mut order: Vec<String> = Vec::new();
        for link in doc.join("\n").split("[`").skip(1) {
            let name = link.split('`').next().unwrap_or_default();
            if modules.contains(name) && !order.iter().any(|m| m == name) {
                order.push(name.to_owned());
            }
        }
        order
    }

    /// The files of a module: `src/NAME.rs` and every `.rs` file under `src/NAME/`.
    fn files(module: &str) -> Vec<PathBuf> {
        let file = src().join(format!("{module}.rs"));
        let mut out: Vec<PathBuf> = file.is_file().then_some(file).into_iter().collect();
        let mut dirs: Vec<PathBuf> = Some(src().join(module)).filter(|d| d.is_dir()).into_iter().collect();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
                let path = entry.expect("directory entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        out
    }

    /// The modules of this crate that a file's code names through `crate::`, leaving out
    /// comments and the test module at its end.
    fn uses(path: &Path, modules: &BTreeSet<String>) -> BTreeSet<String> {
        let source = read(path);
        let mut used = BTreeSet::new();
        for line in source.lines().take_while(|l| *l != "#[cfg(test)]") {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            assert!(!line.contains("crate::{"), "{}: one module per `use crate::` line, please", path.display());
            for after in line.split("crate::").skip(1) {
                let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                // The re-exports of lib.rs.
                let name = if name == "CoreError" || name == "FieldViolation" { "error".to_owned() } else { name };
                assert!(modules.contains(&name), "{}: crate::{name} is not a module of the map", path.display());
                used.insert(name);
            }
        }
        used
    }

    #[test]
    fn modules_use_only_modules_before_them_in_the_map() {
        let lib = read(&src().join("lib.rs"));
        let modules = declared(&lib);
        let order = map_order(&lib, &modules);
        assert_eq!(order.iter().cloned().collect::<BTreeSet<_>>(), modules, "the map names every module");
        let on_disk: BTreeSet<String> = std::fs::read_dir(src())
            .expect("src")
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.file_name().is_some_and(|n| n != "lib.rs"))
            .map(|p| p.file_stem().and_then(|s| s.to_str()).expect("a UTF-8 name").to_owned())
            .collect();
        assert_eq!(on_disk, modules, "every file or folder of src/ is a declared module");

        let mut wrong = Vec::new();
        for (i, module) in order.iter().enumerate() {
            let paths = files(module);
            assert!(!paths.is_empty(), "no source for {module}");
            for path in paths {
                for used in uses(&path, &modules) {
                    if order.iter().position(|m| *m == used).expect("in the map") > i {
                        wrong.push(format!("{} uses {used}", path.display()));
                    }
                }
            }
        }
        assert_eq!(wrong, Vec::<String>::new(), "uses of modules that the map names later (a higher layer)");
    }
}
