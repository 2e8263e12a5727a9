//! The `admin` subcommands: identity management straight against the database.

use anyhow::Context;
use runner_core::accounts::Accounts;
use runner_core::identity::OrgRole;
use runner_core::model::{ApiEnum, Principal};

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
        AdminCommand::CreateUser { org, name, role: r } => {
            create_member(identity, &org, Principal::User, &name, r).await?
        }
        AdminCommand::CreateServiceAccount { org, name, role: r } => {
            create_member(identity, &org, Principal::ServiceAccount, &name, r).await?
        }
        AdminCommand::CreateGroup { org, name } => {
            let org = identity.organization(&org).await?;
            let group = identity.create_group(org.id, &name).await?;
            println!("group {} {}", group.id, group.name);
        }
        AdminCommand::AddMember { group, member } => {
            identity.add_group_member(group, member).await?;
            println!("added {member} to group {group}");
        }
        AdminCommand::SetRole { member, role: r } => {
            identity.set_member_role(member, role(r)).await?;
            println!("{member} is now {}", role(r).as_str());
        }
        AdminCommand::SetRunnersAdmin { group, revoke } => {
            identity.set_group_runners_admin(group, !revoke).await?;
            println!("group {group} {} the runners-admin role", if revoke { "no longer has" } else { "has" });
        }
        AdminCommand::IssueToken { member, description, expires_in_days } => {
            let issued =
                identity.issue_token(member, &description, expires_in_days.map(|d| i64::from(d) * 86_400)).await?;
            // The only time the token is shown.
            println!("token {} (id {})", issued.token, issued.info.id);
        }
        AdminCommand::RevokeToken { token_id } => {
            identity.revoke_token(token_id).await?;
            println!("revoked token {token_id}");
        }
        AdminCommand::List { what, org } => list(identity, what, org).await?,
    }
    Ok(())
}

async fn create_member(
    identity: &Accounts,
    org: &str,
    principal: Principal,
    name: &str,
    r: RoleArg,
) -> anyhow::Result<()> {
    let org = identity.organization(org).await?;
    let member = identity.create_member(org.id, principal, name, role(r)).await?;
    println!("{} {} {} ({})", principal.as_str(), member.id, member.name, member.role.as_str());
    Ok(())
}

async fn list(identity: &Accounts, what: ListArg, org: Option<String>) -> anyhow::Result<()> {
    if let ListArg::Orgs = what {
        for o in identity.organizations().await? {
            println!("{}\t{}", o.id, o.name);
        }
        return Ok(());
    }
    let org = identity.organization(org.as_deref().context("--org is required")?).await?;
    match what {
        ListArg::Orgs => {}
        ListArg::Members => {
            for m in identity.members(org.id).await? {
                println!("{}\t{}\t{}\t{}", m.id, m.principal.as_str(), m.role.as_str(), m.name);
            }
        }
        ListArg::Groups => {
            for g in identity.groups(org.id).await? {
                let roles = match (g.system, g.runners_admin) {
                    (true, true) => "system,runners-admin",
                    (true, false) => "system",
                    (false, true) => "runners-admin",
                    (false, false) => "-",
                };
                println!("{}\t{}\t{}", g.id, roles, g.name);
            }
        }
        ListArg::Tokens => {
            for t in identity.tokens(org.id).await? {
                let state = if t.revoked_at.is_some() { "revoked" } else { "active" };
                println!("{}\t{}\t{}\t{}", t.id, t.member_id, state, t.description);
            }
        }
    }
    Ok(())
}
