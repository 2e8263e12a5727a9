//! What every handler can reach.

use std::sync::Arc;

use runner_core::identity_admin::Identity;
use runner_core::page::PageTokens;
use runner_core::policies::Policies;
use runner_core::runners::Runners;
use runner_core::secrets;
use runner_core::store::Store;

/// Shared, cheap to clone; no mutable state lives here, so any replica can answer any call.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub identity: Identity,
    pub runners: Runners,
    pub policies: Policies,
}

impl AppState {
    /// State over `store`, with keys derived from the server's master key.
    pub fn new(store: Arc<dyn Store>, master_key: &[u8; 32]) -> Self {
        let page_tokens = PageTokens::new(secrets::derive_key(
            master_key,
            "gitpod-runner-api page tokens v1",
        ));
        let runners = Runners::new(store.clone(), page_tokens.clone());
        let policies = Policies::new(store.clone(), runners.clone(), page_tokens);
        Self {
            identity: Identity::new(store.clone()),
            store,
            runners,
            policies,
        }
    }
}
