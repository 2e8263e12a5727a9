//! The fixtures every fake provider shares, before each one's naming and JSON.

use super::*;

pub(crate) struct User {
    pub login: &'static str,
    pub name: &'static str,
    pub id: u64,
    pub email: &'static str,
    /// Bitbucket-style `{uuid}` and Azure DevOps ids.
    pub uuid: &'static str,
}

pub(crate) const USERS: [User; 3] = [
    User {
        login: ALICE,
        name: "Alice Liddell",
        id: 1001,
        email: "alice@example.com",
        uuid: "3f1c9a2e-6b4d-4e8f-9a1b-2c3d4e5f6a01",
    },
    User {
        login: BOB,
        name: "Bob Builder",
        id: 1002,
        email: "bob@example.com",
        uuid: "7d2e8b3f-1a5c-4d6e-8f9a-0b1c2d3e4f02",
    },
    User {
        login: CAROL,
        name: "Carol Danvers",
        id: 1003,
        email: "carol@example.com",
        uuid: "9e4f0c5a-2b6d-4f7a-8b9c-1d2e3f4a5b03",
    },
];

pub(crate) fn user(login: &str) -> &'static User {
    USERS.iter().find(|u| u.login == login).unwrap_or(&USERS[0])
}

/// The user a token of `tokens` (ALICE, BOB, CAROL) belongs to.
pub(crate) fn user_of(token: Option<&str>, tokens: [&str; 3]) -> Option<&'static User> {
    let token = token?;
    tokens.iter().position(|t| *t == token).map(|i| &USERS[i])
}

/// What a user may do with a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Visible,
    Hidden,
    Forbidden,
}

#[derive(Clone)]
pub(crate) struct Repo {
    pub id: u64,
    /// The provider's owner: GitHub owner, GitLab namespace path, Bitbucket workspace, or
    /// Azure DevOps `org/project`.
    pub owner: String,
    pub name: String,
    pub description: String,
    pub private: bool,
    /// Users with membership (listed by `/user/repos`, `membership=true`, `role=member`).
    pub members: Vec<&'static str>,
    /// Users answered 403.
    pub forbidden: Vec<&'static str>,
    /// The repository this one is a fork of (an index).
    pub fork_of: Option<usize>,
    /// Whether it has the pull requests and the issue.
    pub main: bool,
    pub updated_at: String,
    pub language: &'static str,
}

impl Repo {
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    pub fn access(&self, login: &str) -> Access {
        if self.forbidden.contains(&login) {
            Access::Forbidden
        } else if !self.private || self.members.contains(&login) {
            Access::Visible
        } else {
            Access::Hidden
        }
    }

    pub fn is(&self, owner: &str, name: &str) -> bool {
        self.owner.eq_ignore_ascii_case(owner) && self.name.eq_ignore_ascii_case(name)
    }

    pub fn branches(&self) -> Vec<(&'static str, &'static str)> {
        let mut b = vec![
            ("main", MAIN_SHA),
            ("feature/login", FEATURE_LOGIN_SHA),
            ("feature/login/oauth", FEATURE_OAUTH_SHA),
            ("release-1.0", INITIAL_SHA),
        ];
        if self.fork_of.is_some() {
            b.push((FORK_BRANCH, FORK_SHA));
        }
        b
    }

    pub fn branch(&self, name: &str) -> Option<&'static str> {
        self.branches().into_iter().find(|(b, _)| *b == name).map(|(_, sha)| sha)
    }
}

/// Tags: (name, commit, tag object for annotated tags).
pub(crate) const TAG_LIST: [(&str, &str, Option<&str>); 2] =
    [("v1.0.0", INITIAL_SHA, None), ("releases/2024.1", RELEASE_2024_SHA, Some(TAG_OBJECT_SHA))];

pub(crate) fn tag(name: &str) -> Option<(&'static str, &'static str, Option<&'static str>)> {
    TAG_LIST.iter().copied().find(|(t, _, _)| *t == name)
}

pub(crate) struct Commit {
    pub sha: &'static str,
    pub parent: Option<&'static str>,
    pub message: &'static str,
    pub author: &'static str,
    pub date: &'static str,
}

pub(crate) const COMMITS: [Commit; 6] = [
    Commit { sha: INITIAL_SHA, parent: None, message: "Initial commit", author: BOB, date: "2023-11-02T09:14:07Z" },
    Commit {
        sha: RELEASE_2024_SHA,
        parent: Some(INITIAL_SHA),
        message: "Prepare release 2024.1",
        author: BOB,
        date: "2024-01-15T16:40:51Z",
    },
    Commit {
        sha: MAIN_SHA,
        parent: Some(RELEASE_2024_SHA),
        message: "Merge pull request #2 from feature/login\n\nAdd login page",
        author: ALICE,
        date: "2024-03-04T11:02:33Z",
    },
    Commit {
        sha: FEATURE_LOGIN_SHA,
        parent: Some(RELEASE_2024_SHA),
        message: "Add login page",
        author: BOB,
        date: "2024-02-27T08:21:12Z",
    },
    Commit {
        sha: FEATURE_OAUTH_SHA,
        parent: Some(FEATURE_LOGIN_SHA),
        message: "WIP: OAuth login",
        author: ALICE,
        date: "2024-03-06T17:45:00Z",
    },
    Commit {
        sha: FORK_SHA,
        parent: Some(MAIN_SHA),
        message: "Fix typo in README",
        author: ALICE,
        date: "2024-03-05T10:00:19Z",
    },
];

/// The commit a full SHA or a unique prefix of at least 4 hex digits names.
pub(crate) fn commit(sha: &str) -> Option<&'static Commit> {
    let sha = sha.to_ascii_lowercase();
    if sha.len() < 4 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut found = COMMITS.iter().filter(|c| c.sha.starts_with(&sha));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrState {
    Open,
    Merged,
    Closed,
}

pub(crate) struct Pr {
    pub number: u64,
    pub title: &'static str,
    pub author: &'static str,
    pub state: PrState,
    pub draft: bool,
    pub from_branch: &'static str,
    pub head: &'static str,
    pub from_fork: bool,
    pub created: &'static str,
    pub updated: &'static str,
}

pub(crate) const PRS: [Pr; 4] = [
    Pr {
        number: 1,
        title: "Fix typo in README",
        author: ALICE,
        state: PrState::Open,
        draft: false,
        from_branch: FORK_BRANCH,
        head: FORK_SHA,
        from_fork: true,
        created: "2024-03-05T10:02:11Z",
        updated: "2024-03-05T10:02:11Z",
    },
    Pr {
        number: 2,
        title: "Add login page",
        author: BOB,
        state: PrState::Merged,
        draft: false,
        from_branch: "feature/login",
        head: FEATURE_LOGIN_SHA,
        from_fork: false,
        created: "2024-02-27T08:30:00Z",
        updated: "2024-03-04T11:02:33Z",
    },
    Pr {
        number: 3,
        title: "WIP: OAuth login",
        author: ALICE,
        state: PrState::Open,
        draft: true,
        from_branch: "feature/login/oauth",
        head: FEATURE_OAUTH_SHA,
        from_fork: false,
        created: "2024-03-06T17:50:00Z",
        updated: "2024-03-06T17:50:00Z",
    },
    Pr {
        number: 4,
        title: "Backport login fix to 1.0",
        author: BOB,
        state: PrState::Closed,
        draft: false,
        from_branch: "release-1.0",
        head: INITIAL_SHA,
        from_fork: false,
        created: "2024-03-01T12:00:00Z",
        updated: "2024-03-02T09:30:00Z",
    },
];

pub(crate) fn pr(number: &str) -> Option<&'static Pr> {
    let n: u64 = number.parse().ok()?;
    PRS.iter().find(|p| p.number == n)
}

/// The issue of the main repository: (number, title, author).
pub(crate) const ISSUE: (u64, &str, &str) = (ISSUE_NUMBER, ISSUE_TITLE, BOB);

/// The seven search targets, most recently updated first.
const SEARCH_DESCRIPTIONS: [&str; 7] = [
    "Typed client for the platform API",
    "API reference documentation",
    "Edge gateway in front of the public API",
    "Mock server for API tests",
    "GraphQL facade over the REST API",
    "OpenAPI code generators",
    "A demo of a small REST API",
];

/// The repositories of one provider, in fixture order (most recently updated first): the main
/// repository, ALICE's fork, the private repository, the seven search targets, BOB's own.
pub(crate) fn repos(
    main: (&str, &str),
    fork: (&str, &str),
    private: (&str, &str),
    search_owner: &str,
    bob: (&str, &str),
    first_id: u64,
) -> Vec<Repo> {
    let mut out = Vec::new();
    let mut id = first_id;
    let mut next_id = || {
        id += 1;
        id - 1
    };
    let make =
        |owner: &str, name: &str, description: &str, private: bool, members: Vec<&'static str>, day: usize| Repo {
            id: 0,
            owner: owner.to_owned(),
            name: name.to_owned(),
            description: description.to_owned(),
            private,
            members,
            forbidden: Vec::new(),
            fork_of: None,
            main: false,
            updated_at: format!("2024-03-{:02}T12:00:00Z", 28 - day),
            language: "Go",
        };
    let mut main_repo = make(main.0, main.1, "The developer platform, as code", false, vec![ALICE, BOB], 0);
    main_repo.main = true;
    out.push(main_repo);
    let mut fork_repo = make(fork.0, fork.1, "The developer platform, as code", false, vec![ALICE], 1);
    fork_repo.fork_of = Some(0);
    out.push(fork_repo);
    let mut secret = make(private.0, private.1, "Internal secrets handling", true, vec![ALICE], 2);
    secret.forbidden = vec![CAROL];
    out.push(secret);
    for (i, (name, description)) in SEARCH_REPOS.iter().zip(SEARCH_DESCRIPTIONS).enumerate() {
        let mut r = make(search_owner, name, description, *name == "api-gateway", vec![ALICE], 3 + i);
        r.language = if i % 2 == 0 { "TypeScript" } else { "Go" };
        out.push(r);
    }
    let mut dotfiles = make(bob.0, bob.1, "My dotfiles", false, vec![BOB], 12);
    dotfiles.language = "Shell";
    out.push(dotfiles);
    for r in &mut out {
        r.id = next_id();
    }
    out
}

/// An organization, group or workspace.
pub(crate) struct Org {
    pub slug: &'static str,
    pub name: String,
    pub id: u64,
}

/// The organizations of a user, from a list of ALICE's slugs and BOB's.
pub(crate) fn orgs_of(login: &str, alice: &[&'static str], bob: &[&'static str]) -> Vec<Org> {
    let slugs: &[&'static str] = match login {
        ALICE => alice,
        BOB => bob,
        _ => &[],
    };
    slugs
        .iter()
        .map(|slug| Org {
            slug,
            name: display_name(slug),
            id: 5000 + alice.iter().chain(bob).position(|s| s == slug).unwrap_or(0) as u64,
        })
        .collect()
}

/// `platform-team` -> `Platform Team`.
pub(crate) fn display_name(slug: &str) -> String {
    let last = slug.rsplit('/').next().unwrap_or(slug);
    let words: Vec<String> = last
        .split(['-', '_'])
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect();
    words.join(" ")
}

/// A stable GUID-looking id derived from a number.
pub(crate) fn guid(n: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        n.wrapping_mul(2654435761) as u32,
        n % 0xffff,
        n % 0xfff,
        (n * 7) % 0xfff,
        n * 1_000_003
    )
}

/// A node id like GitHub's.
pub(crate) fn node_id(kind: &str, id: u64) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("0:{kind}{id}"))
}
