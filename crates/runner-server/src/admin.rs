//! The `admin` subcommands: identity management straight against the database. Members and
//! groups are given by id or by name (looked up in `--org`, or in every organization); lists
//! are tab-separated with a header line.

use anyhow::Context;
use runner_core::accounts::{Accounts, NewServiceAccount};
use runner_core::identity::OrgRole;
use runner_core::model::{ApiEnum, Principal};
use runner_core::time::Timestamp;
use uuid::Uuid;

use crate::config::{AdminCommand, ListArg, RoleArg};

fn role(r: RoleArg) -> OrgRole {
    match r {
        RoleArg::Admin => OrgRole::Admin,
        RoleArg::Member => OrgRole::Member,
    }
}

/// Runs one admin command, printing its result on stdout.
pub async fn run(identity: &Accounts, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateOrg { name } => {
            let org = identity.create_organization(&name).await?;
            println!("organization {} {}", org.id, org.name);
        }
        AdminCommand::CreateUser { org, name, email, role: r } => {
            create_user(identity, &org, &name, email.as_deref(), r).await?
        }
        AdminCommand::CreateServiceAccount { org, name, role: r } => {
            // The use case CreateServiceAccount stores through; no creator, valid without end.
            let org = identity.organization(&org).await?;
            let new = NewServiceAccount::without_details(org.id, &name, role(r));
            let member = identity.create_service_account(new).await?.member;
            println!("{} {} {} ({})", member.principal.as_str(), member.id, member.name, member.role.as_str());
        }
        AdminCommand::CreateGroup { org, name } => {
            let org = identity.organization(&org).await?;
            let group = identity.create_group(org.id, &name).await?;
            println!("group {} {}", group.id, group.name);
        }
        AdminCommand::AddMember { group, member, org } => {
            let group = find(identity, Kind::Group, &group, org.as_deref()).await?;
            let member = find(identity, Kind::Member, &member, org.as_deref()).await?;
            identity.add_group_member(group.id, member.id).await?;
            println!("added {member} to group {group}");
        }
        AdminCommand::SetRole { member, org, role: r } => {
            let member = find(identity, Kind::Member, &member, org.as_deref()).await?;
            identity.set_member_role(member.id, role(r)).await?;
            println!("{member} is now {}", role(r).as_str());
        }
        AdminCommand::Suspend { member, org, lift } => {
            let member = find(identity, Kind::Member, &member, org.as_deref()).await?;
            identity.set_suspended(member.id, !lift).await?;
            println!("{member} is {}", if lift { "no longer suspended" } else { "suspended" });
        }
        AdminCommand::SetRunnersAdmin { group, org, revoke } => {
            let group = find(identity, Kind::Group, &group, org.as_deref()).await?;
            identity.set_group_runners_admin(group.id, !revoke).await?;
            println!("group {group} {} the runners-admin role", if revoke { "no longer has" } else { "has" });
        }
        AdminCommand::IssueToken { member, org, description, expires_in_days } => {
            let member = find(identity, Kind::Member, &member, org.as_deref()).await?;
            let issued =
                identity.issue_token(member.id, &description, expires_in_days.map(|d| i64::from(d) * 86_400)).await?;
            // The only time the token is shown.
            println!("token {} (id {})", issued.token, issued.info.id);
        }
        AdminCommand::RevokeToken { token_id } => {
            identity.delete_token(token_id).await?;
            println!("deleted token {token_id}");
        }
        AdminCommand::List { what, org } => list(identity, what, org).await?,
    }
    Ok(())
}

async fn create_user(
    identity: &Accounts,
    org: &str,
    name: &str,
    email: Option<&str>,
    r: RoleArg,
) -> anyhow::Result<()> {
    let org = identity.organization(org).await?;
    let member = match email {
        Some(email) => identity.create_user_with_email(org.id, name, email, role(r)).await?,
        None => identity.create_member(org.id, Principal::User, name, role(r)).await?,
    };
    println!("{} {} {} ({})", member.principal.as_str(), member.id, member.name, member.role.as_str());
    Ok(())
}

/// What an argument names: a member (user or service account) or a group.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Member,
    Group,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Member => "user or service account",
            Kind::Group => "group",
        }
    }

    fn list(self) -> &'static str {
        match self {
            Kind::Member => "members",
            Kind::Group => "groups",
        }
    }
}

/// A member or group an argument named, for messages: `NAME (ID)`, or the id alone.
struct Found {
    id: Uuid,
    name: Option<String>,
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} ({})", self.id),
            None => write!(f, "{}", self.id),
        }
    }
}

/// The member or group `value` names: its id, or its name in `org` (id or name), or in the one
/// organization that has it when `org` is not given.
async fn find(identity: &Accounts, kind: Kind, value: &str, org: Option<&str>) -> anyhow::Result<Found> {
    if let Ok(id) = Uuid::parse_str(value) {
        return Ok(Found { id, name: None });
    }
    let orgs = match org {
        Some(org) => vec![identity.organization(org).await?],
        None => identity.organizations().await?,
    };
    let mut found: Vec<(Uuid, String)> = Vec::new();
    for o in &orgs {
        let ids: Vec<Uuid> = match kind {
            Kind::Member => {
                identity.members(o.id).await?.into_iter().filter(|m| m.name == value).map(|m| m.id).collect()
            }
            Kind::Group => identity.groups(o.id).await?.into_iter().filter(|g| g.name == value).map(|g| g.id).collect(),
        };
        found.extend(ids.into_iter().map(|id| (id, o.name.clone())));
    }
    let (noun, list) = (kind.noun(), kind.list());
    let scope = org.map(|o| format!(" in organization {o:?}")).unwrap_or_default();
    match found.as_slice() {
        [(id, _)] => Ok(Found { id: *id, name: Some(value.to_owned()) }),
        [] => anyhow::bail!(
            "no {noun} named {value:?}{scope}: expected a {noun} id or name; see `admin list {list} --org ORG`"
        ),
        many => {
            let mut in_orgs: Vec<&str> = many.iter().map(|(_, o)| o.as_str()).collect();
            in_orgs.dedup();
            anyhow::bail!(
                "{} {list} are named {value:?} (in {}): give --org, or the id from `admin list {list} --org ORG`",
                many.len(),
                in_orgs.join(", ")
            )
        }
    }
}

async fn list(identity: &Accounts, what: ListArg, org: Option<String>) -> anyhow::Result<()> {
    if let ListArg::Orgs = what {
        println!("ID\tNAME");
        for o in identity.organizations().await? {
            println!("{}\t{}", o.id, o.name);
        }
        return Ok(());
    }
    let org = identity.organization(org.as_deref().context("--org is required")?).await?;
    match what {
        ListArg::Orgs => {}
        ListArg::Members => {
            println!("ID\tKIND\tROLE\tNAME");
            for m in identity.members(org.id).await? {
                println!("{}\t{}\t{}\t{}", m.id, m.principal.as_str(), m.role.as_str(), m.name);
            }
        }
        ListArg::Groups => {
            println!("ID\tROLES\tNAME");
            let runners_admins = identity.runners_admin_groups(org.id).await?;
            for g in identity.groups(org.id).await? {
                let roles = match (g.system, runners_admins.contains(&g.id)) {
                    (true, true) => "system,runners-admin",
                    (true, false) => "system",
                    (false, true) => "runners-admin",
                    (false, false) => "-",
                };
                println!("{}\t{}\t{}", g.id, roles, g.name);
            }
        }
        ListArg::Tokens => {
            let names: std::collections::HashMap<Uuid, String> =
                identity.members(org.id).await?.into_iter().map(|m| (m.id, m.name)).collect();
            let now = Timestamp::now();
            println!("ID\tMEMBER\tSTATE\tEXPIRES\tDESCRIPTION");
            for t in identity.tokens(org.id).await? {
                let state = match (t.revoked_at, t.expires_at) {
                    (Some(_), _) => "revoked",
                    (None, Some(expires)) if expires <= now => "expired",
                    (None, _) => "active",
                };
                let expires = t.expires_at.map_or_else(|| "never".to_owned(), Timestamp::rfc3339);
                let member = names.get(&t.member_id).cloned().unwrap_or_else(|| t.member_id.to_string());
                println!("{}\t{member}\t{state}\t{expires}\t{}", t.id, t.description);
            }
        }
    }
    Ok(())
}
