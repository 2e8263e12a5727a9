//! The audit log's own queries. Entries of writes are inserted by the write methods of the
//! other traits, in the write's transaction (`crate::audit`); these are the entries that record
//! no write (secret values read, authorization failures), the reads of ListAuditLogs and
//! GetAuditLog, and retention.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use crate::audit::{AuditEntry, AuditFilter};
use crate::time::Timestamp;

#[async_trait]
pub trait AuditRepo: Send + Sync {
    /// Inserts an entry that records no write of its own, alone.
    async fn insert_audit_entry(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    async fn get_audit_entry(&self, id: Uuid) -> Result<Option<AuditEntry>, StoreError>;
    /// Entries of `org_id` that match `filter`, ordered by id (the order they were created
    /// in: ids are UUIDv7), newest first unless `filter.oldest_first`, after `after` in that
    /// order, at most `limit`.
    async fn list_audit_entries(
        &self,
        org_id: Uuid,
        filter: &AuditFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;
    /// Deletes the entries created before `before`; how many.
    async fn prune_audit_entries(&self, before: Timestamp) -> Result<u64, StoreError>;
}
