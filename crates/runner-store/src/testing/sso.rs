//! `SsoRepo`: SSO configurations of organizations and their email domains.

use std::sync::Arc;

use runner_core::identity::{SsoConfiguration, SsoDetails};
use runner_core::store::{Store, StoreError, WriteOutcome};
use uuid::Uuid;

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(sso_configurations_round_trip: insert_sso_configuration, get_sso_configuration),
        case!(sso_email_domains_belong_to_one_configuration: insert_sso_configuration, find_sso_configuration_by_domain),
        case!(sso_configuration_lists_are_per_organization_and_paged: list_sso_configurations),
        case!(sso_configuration_updates_are_conditional: update_sso_configuration, find_sso_configuration_by_domain),
        case!(sso_configurations_are_deleted_once_with_their_domains: delete_sso_configuration, find_sso_configuration_by_domain),
    ]
}

/// A configuration of `org` with every field set and the given domains.
pub(super) fn sample_sso(org: &Organization, domains: &[&str]) -> SsoConfiguration {
    let now = Timestamp::now();
    SsoConfiguration {
        id: Uuid::now_v7(),
        org_id: org.id,
        client_id: "client-1".to_owned(),
        client_secret_ciphertext: vec![1, 2, 3, 0, 255],
        issuer_url: "https://idp.example.com".to_owned(),
        active: true,
        email_domains: domains.iter().map(|d| d.to_string()).collect(),
        details: SsoDetails {
            display_name: "Example IdP".to_owned(),
            additional_scopes: vec!["groups".to_owned(), "offline_access".to_owned()],
            claims: [("department".to_owned(), "dept".to_owned())].into_iter().collect(),
        },
        created_at: now,
        updated_at: now,
        revision: 1,
    }
}

/// A domain no other case or run uses.
pub(super) fn fresh_domain() -> String {
    format!("d{}.example.com", Uuid::new_v4().simple())
}

async fn sso_configurations_round_trip(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let (a, b) = (fresh_domain(), fresh_domain());
    // Domains keep their order (the first is the one the API shows as `emailDomain`).
    let config = sample_sso(&org, &[&b, &a]);
    store.insert_sso_configuration(&config).await.unwrap();
    assert_eq!(store.get_sso_configuration(config.id).await.unwrap(), Some(config.clone()));
    assert_eq!(store.get_sso_configuration(Uuid::now_v7()).await.unwrap(), None);
    let bare = SsoConfiguration {
        id: Uuid::now_v7(),
        active: false,
        email_domains: vec![fresh_domain()],
        details: SsoDetails::default(),
        ..config.clone()
    };
    store.insert_sso_configuration(&bare).await.unwrap();
    assert_eq!(store.get_sso_configuration(bare.id).await.unwrap(), Some(bare));
    // Ids are unique; a configuration needs its organization.
    let again = SsoConfiguration { email_domains: vec![fresh_domain()], ..config.clone() };
    assert!(matches!(store.insert_sso_configuration(&again).await, Err(StoreError::AlreadyExists)));
    let orphan =
        SsoConfiguration { id: Uuid::now_v7(), org_id: Uuid::now_v7(), email_domains: vec![fresh_domain()], ..config };
    assert!(store.insert_sso_configuration(&orphan).await.is_err());
    assert_eq!(store.get_sso_configuration(orphan.id).await.unwrap(), None);
}

async fn sso_email_domains_belong_to_one_configuration(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let (other_org, _) = new_org(&store).await;
    let (a, b) = (fresh_domain(), fresh_domain());
    let first = sample_sso(&org, &[&a, &b]);
    store.insert_sso_configuration(&first).await.unwrap();
    assert_eq!(store.find_sso_configuration_by_domain(&a).await.unwrap(), Some(first.clone()));
    assert_eq!(store.find_sso_configuration_by_domain(&b).await.unwrap(), Some(first.clone()));
    assert_eq!(store.find_sso_configuration_by_domain(&fresh_domain()).await.unwrap(), None);
    // Another configuration, of any organization, cannot take one of them; nothing of it is written.
    let clash = sample_sso(&other_org, &[&fresh_domain(), &b]);
    assert!(matches!(store.insert_sso_configuration(&clash).await, Err(StoreError::AlreadyExists)));
    assert_eq!(store.get_sso_configuration(clash.id).await.unwrap(), None);
    assert_eq!(store.find_sso_configuration_by_domain(&clash.email_domains[0]).await.unwrap(), None);
    assert_eq!(store.find_sso_configuration_by_domain(&b).await.unwrap(), Some(first));
}

async fn sso_configuration_lists_are_per_organization_and_paged(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let (other_org, _) = new_org(&store).await;
    let mut all = Vec::new();
    for _ in 0..3 {
        let c = sample_sso(&org, &[&fresh_domain()]);
        store.insert_sso_configuration(&c).await.unwrap();
        all.push(c);
        store.insert_sso_configuration(&sample_sso(&other_org, &[&fresh_domain()])).await.unwrap();
    }
    assert_eq!(store.list_sso_configurations(org.id, None, 100).await.unwrap(), all, "ordered by id");
    assert_eq!(store.list_sso_configurations(org.id, None, 2).await.unwrap(), all[..2]);
    assert_eq!(store.list_sso_configurations(org.id, Some(all[0].id), 100).await.unwrap(), all[1..]);
    assert_eq!(store.list_sso_configurations(org.id, Some(all[2].id), 100).await.unwrap(), []);
    assert_eq!(store.list_sso_configurations(Uuid::now_v7(), None, 100).await.unwrap(), []);
}

async fn sso_configuration_updates_are_conditional(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let (a, b, c) = (fresh_domain(), fresh_domain(), fresh_domain());
    let config = sample_sso(&org, &[&a, &b]);
    store.insert_sso_configuration(&config).await.unwrap();
    let other = sample_sso(&org, &[&c]);
    store.insert_sso_configuration(&other).await.unwrap();

    let d = fresh_domain();
    let changed = SsoConfiguration {
        client_id: "client-2".to_owned(),
        client_secret_ciphertext: vec![7; 40],
        issuer_url: "https://other.example.com/realms/x".to_owned(),
        active: false,
        email_domains: vec![d.clone(), a.clone()],
        details: SsoDetails { display_name: "Renamed".to_owned(), ..SsoDetails::default() },
        updated_at: config.updated_at.plus_seconds(1),
        revision: 2,
        ..config.clone()
    };
    assert_eq!(store.update_sso_configuration(&changed).await.unwrap(), WriteOutcome::Written);
    assert_eq!(store.get_sso_configuration(config.id).await.unwrap(), Some(changed.clone()));
    // The domains were replaced: the dropped one is free, the new one found.
    assert_eq!(store.find_sso_configuration_by_domain(&b).await.unwrap(), None);
    assert_eq!(store.find_sso_configuration_by_domain(&d).await.unwrap(), Some(changed.clone()));
    // A stale revision writes nothing.
    let stale = SsoConfiguration { client_id: "stale".to_owned(), ..changed.clone() };
    assert_eq!(store.update_sso_configuration(&stale).await.unwrap(), WriteOutcome::Conflict);
    let gone = SsoConfiguration { id: Uuid::now_v7(), revision: 2, ..changed.clone() };
    assert_eq!(store.update_sso_configuration(&gone).await.unwrap(), WriteOutcome::Conflict);
    // Taking another configuration's domain fails whole.
    let clash = SsoConfiguration {
        client_id: "clash".to_owned(),
        email_domains: vec![c.clone()],
        revision: 3,
        ..changed.clone()
    };
    assert!(matches!(store.update_sso_configuration(&clash).await, Err(StoreError::AlreadyExists)));
    assert_eq!(store.get_sso_configuration(config.id).await.unwrap(), Some(changed));
    assert_eq!(store.find_sso_configuration_by_domain(&c).await.unwrap(), Some(other));
}

async fn sso_configurations_are_deleted_once_with_their_domains(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let a = fresh_domain();
    let config = sample_sso(&org, &[&a]);
    store.insert_sso_configuration(&config).await.unwrap();
    assert!(store.delete_sso_configuration(config.id).await.unwrap());
    assert!(!store.delete_sso_configuration(config.id).await.unwrap());
    assert_eq!(store.get_sso_configuration(config.id).await.unwrap(), None);
    assert_eq!(store.find_sso_configuration_by_domain(&a).await.unwrap(), None);
    // The domain is free again.
    let next = sample_sso(&org, &[&a]);
    store.insert_sso_configuration(&next).await.unwrap();
    // And configurations go with their organization.
    assert!(store.delete_organization(org.id).await.unwrap());
    assert_eq!(store.get_sso_configuration(next.id).await.unwrap(), None);
    assert_eq!(store.find_sso_configuration_by_domain(&a).await.unwrap(), None);
}
