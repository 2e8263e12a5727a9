//! How a runner's spec and status are stored: protobuf bytes of messages private to the store
//! (columns `spec_proto` and `status_proto`, migration `20261212000019`), decoded without a text
//! parser on every read. They were JSON text before (columns `spec` and `status`), which each
//! GetRunner and each runner of a ListRunners page parsed (serde_json was 20% of ListRunners'
//! profile, docs/performance.md); a row written before the migration has no bytes and still
//! reads from its JSON, until its next write.
//!
//! The messages are the domain types (`runner_core::model`) field for field, not the API's
//! (`gitpod.v1.RunnerSpec` has the metrics password in plaintext, the store keeps it encrypted),
//! and enums are stored by their API numbers (`ApiEnum::number`), which never change. Field
//! numbers are never reused: a field added later is absent from older rows and reads as its
//! default, as protobuf does.

use prost::Message;
use runner_core::model::{
    ApiEnum, FieldValue, GatewayInfo, MetricsConfiguration, RunnerCapability, RunnerConfiguration, RunnerPhase,
    RunnerSpec, RunnerStatus, UpdateWindow,
};
use runner_core::store::StoreError;
use runner_core::time::Timestamp;

use crate::error::corrupt;

#[derive(Clone, PartialEq, Message)]
struct StoredSpec {
    #[prost(int32, optional, tag = "1")]
    desired_phase: Option<i32>,
    #[prost(message, optional, tag = "2")]
    configuration: Option<StoredConfiguration>,
    #[prost(int32, optional, tag = "3")]
    variant: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
struct StoredConfiguration {
    #[prost(string, tag = "1")]
    region: String,
    #[prost(int32, optional, tag = "2")]
    release_channel: Option<i32>,
    #[prost(bool, tag = "3")]
    auto_update: bool,
    #[prost(message, optional, tag = "4")]
    metrics: Option<StoredMetrics>,
    #[prost(int32, optional, tag = "5")]
    log_level: Option<i32>,
    #[prost(bool, tag = "6")]
    devcontainer_image_cache_enabled: bool,
    #[prost(message, optional, tag = "7")]
    update_window: Option<StoredUpdateWindow>,
    #[prost(bytes = "vec", tag = "8")]
    encrypted_honeycomb_api_key: Vec<u8>,
    #[prost(bool, tag = "9")]
    continuous_profiling: bool,
}

#[derive(Clone, PartialEq, Message)]
struct StoredMetrics {
    #[prost(bool, tag = "1")]
    enabled: bool,
    #[prost(string, tag = "2")]
    url: String,
    #[prost(string, tag = "3")]
    username: String,
    #[prost(bytes = "vec", tag = "4")]
    encrypted_password: Vec<u8>,
    #[prost(bool, tag = "5")]
    managed_metrics_enabled: bool,
    #[prost(bool, tag = "6")]
    include_verbose_metrics: bool,
}

#[derive(Clone, PartialEq, Message)]
struct StoredUpdateWindow {
    #[prost(uint32, tag = "1")]
    start_hour: u32,
    #[prost(uint32, tag = "2")]
    end_hour: u32,
}

#[derive(Clone, PartialEq, Message)]
struct StoredStatus {
    /// Microseconds since the Unix epoch.
    #[prost(int64, optional, tag = "1")]
    updated_at: Option<i64>,
    #[prost(string, tag = "2")]
    version: String,
    #[prost(string, tag = "3")]
    system_details: String,
    /// Always written: no phase has the number 0.
    #[prost(int32, tag = "4")]
    phase: i32,
    #[prost(string, tag = "5")]
    log_url: String,
    #[prost(string, tag = "6")]
    message: String,
    #[prost(string, tag = "7")]
    region: String,
    #[prost(message, repeated, tag = "8")]
    additional_info: Vec<StoredFieldValue>,
    #[prost(int32, repeated, tag = "9")]
    capabilities: Vec<i32>,
    #[prost(message, optional, tag = "10")]
    gateway_info: Option<StoredGatewayInfo>,
    #[prost(string, tag = "11")]
    llm_url: String,
    #[prost(bytes = "vec", tag = "12")]
    public_key: Vec<u8>,
    #[prost(string, tag = "13")]
    support_bundle_url: String,
}

#[derive(Clone, PartialEq, Message)]
struct StoredFieldValue {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, Message)]
struct StoredGatewayInfo {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    url: String,
    #[prost(string, tag = "3")]
    region: String,
    #[prost(int64, optional, tag = "4")]
    latency_micros: Option<i64>,
}

fn number<E: ApiEnum>(value: Option<E>) -> Option<i32> {
    value.map(ApiEnum::number)
}

fn from_number<E: ApiEnum>(what: &str, n: i32) -> Result<E, StoreError> {
    E::from_number(n).ok_or_else(|| corrupt(what, n))
}

fn optional<E: ApiEnum>(what: &str, n: Option<i32>) -> Result<Option<E>, StoreError> {
    n.map(|n| from_number(what, n)).transpose()
}

/// The stored bytes of a spec.
pub(crate) fn encode_spec(s: &RunnerSpec) -> Vec<u8> {
    let c = &s.configuration;
    StoredSpec {
        desired_phase: number(s.desired_phase),
        configuration: Some(StoredConfiguration {
            region: c.region.clone(),
            release_channel: number(c.release_channel),
            auto_update: c.auto_update,
            metrics: c.metrics.as_ref().map(|m| StoredMetrics {
                enabled: m.enabled,
                url: m.url.clone(),
                username: m.username.clone(),
                encrypted_password: m.encrypted_password.clone(),
                managed_metrics_enabled: m.managed_metrics_enabled,
                include_verbose_metrics: m.include_verbose_metrics,
            }),
            log_level: number(c.log_level),
            devcontainer_image_cache_enabled: c.devcontainer_image_cache_enabled,
            update_window: c
                .update_window
                .map(|w| StoredUpdateWindow { start_hour: w.start_hour, end_hour: w.end_hour }),
            encrypted_honeycomb_api_key: c.encrypted_honeycomb_api_key.clone(),
            continuous_profiling: c.continuous_profiling,
        }),
        variant: number(s.variant),
    }
    .encode_to_vec()
}

/// A spec from its protobuf bytes, or without them (a row from before the migration) its JSON.
pub(crate) fn decode_spec(proto: Option<&[u8]>, json: &str) -> Result<RunnerSpec, StoreError> {
    const WHAT: &str = "runner spec";
    let Some(bytes) = proto else {
        return serde_json::from_str(json).map_err(|e| corrupt(WHAT, e));
    };
    let s = StoredSpec::decode(bytes).map_err(|e| corrupt(WHAT, e))?;
    let c = s.configuration.unwrap_or_default();
    Ok(RunnerSpec {
        desired_phase: optional(WHAT, s.desired_phase)?,
        configuration: RunnerConfiguration {
            region: c.region,
            release_channel: optional(WHAT, c.release_channel)?,
            auto_update: c.auto_update,
            metrics: c.metrics.map(|m| MetricsConfiguration {
                enabled: m.enabled,
                url: m.url,
                username: m.username,
                encrypted_password: m.encrypted_password,
                managed_metrics_enabled: m.managed_metrics_enabled,
                include_verbose_metrics: m.include_verbose_metrics,
            }),
            log_level: optional(WHAT, c.log_level)?,
            devcontainer_image_cache_enabled: c.devcontainer_image_cache_enabled,
            update_window: c.update_window.map(|w| UpdateWindow { start_hour: w.start_hour, end_hour: w.end_hour }),
            encrypted_honeycomb_api_key: c.encrypted_honeycomb_api_key,
            continuous_profiling: c.continuous_profiling,
        },
        variant: optional(WHAT, s.variant)?,
    })
}

/// The stored bytes of a status.
pub(crate) fn encode_status(s: &RunnerStatus) -> Vec<u8> {
    StoredStatus {
        updated_at: s.updated_at.map(|t| t.0),
        version: s.version.clone(),
        system_details: s.system_details.clone(),
        phase: s.phase.number(),
        log_url: s.log_url.clone(),
        message: s.message.clone(),
        region: s.region.clone(),
        additional_info: s
            .additional_info
            .iter()
            .map(|f| StoredFieldValue { key: f.key.clone(), value: f.value.clone() })
            .collect(),
        capabilities: s.capabilities.iter().map(|c| c.number()).collect(),
        gateway_info: s.gateway_info.as_ref().map(|g| StoredGatewayInfo {
            name: g.name.clone(),
            url: g.url.clone(),
            region: g.region.clone(),
            latency_micros: g.latency_micros,
        }),
        llm_url: s.llm_url.clone(),
        public_key: s.public_key.clone(),
        support_bundle_url: s.support_bundle_url.clone(),
    }
    .encode_to_vec()
}

/// A status from its protobuf bytes, or without them (a row from before the migration) its JSON.
pub(crate) fn decode_status(proto: Option<&[u8]>, json: &str) -> Result<RunnerStatus, StoreError> {
    const WHAT: &str = "runner status";
    let Some(bytes) = proto else {
        return serde_json::from_str(json).map_err(|e| corrupt(WHAT, e));
    };
    let s = StoredStatus::decode(bytes).map_err(|e| corrupt(WHAT, e))?;
    Ok(RunnerStatus {
        updated_at: s.updated_at.map(Timestamp),
        version: s.version,
        system_details: s.system_details,
        phase: from_number::<RunnerPhase>(WHAT, s.phase)?,
        log_url: s.log_url,
        message: s.message,
        region: s.region,
        additional_info: s.additional_info.into_iter().map(|f| FieldValue { key: f.key, value: f.value }).collect(),
        capabilities: s
            .capabilities
            .into_iter()
            .map(|n| from_number::<RunnerCapability>(WHAT, n))
            .collect::<Result<_, _>>()?,
        gateway_info: s.gateway_info.map(|g| GatewayInfo {
            name: g.name,
            url: g.url,
            region: g.region,
            latency_micros: g.latency_micros,
        }),
        llm_url: s.llm_url,
        public_key: s.public_key,
        support_bundle_url: s.support_bundle_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> runner_core::model::Runner {
        let org = runner_core::identity::Organization {
            id: uuid::Uuid::now_v7(),
            name: "o".to_owned(),
            created_at: Timestamp(1),
            updated_at: Timestamp(1),
        };
        crate::testing::sample_runner(&org, runner_core::model::RunnerProvider::Gcp, None)
    }

    /// Every field survives the round trip; a JSON column beside the bytes is not read.
    #[test]
    fn every_field_round_trips() {
        let mut runner = sample();
        runner.status.updated_at = Some(Timestamp(1_234_567));
        runner.status.gateway_info = Some(GatewayInfo {
            name: "g".to_owned(),
            url: "https://g".to_owned(),
            region: "eu".to_owned(),
            latency_micros: Some(1_500),
        });
        runner.spec.configuration.metrics.as_mut().unwrap().encrypted_password = vec![7; 40];
        for spec in [runner.spec.clone(), RunnerSpec::default()] {
            assert_eq!(decode_spec(Some(&encode_spec(&spec)), "").unwrap(), spec);
        }
        for status in [runner.status.clone(), RunnerStatus::default()] {
            assert_eq!(decode_status(Some(&encode_status(&status)), "").unwrap(), status);
        }
    }

    /// What the store wrote before the migration (serde_json of the domain types) reads the same.
    #[test]
    fn json_of_rows_before_the_migration_reads() {
        let runner = sample();
        let spec = serde_json::to_string(&runner.spec).unwrap();
        let status = serde_json::to_string(&runner.status).unwrap();
        assert_eq!(decode_spec(None, &spec).unwrap(), runner.spec);
        assert_eq!(decode_status(None, &status).unwrap(), runner.status);
        assert_eq!(decode_status(None, "{\"phase\":\"created\"}").unwrap(), RunnerStatus::default());
    }

    /// Bytes that do not decode are corrupt, not a default runner.
    #[test]
    fn garbage_is_corrupt() {
        assert!(decode_status(Some(&[]), "").is_err(), "a status without a phase");
        assert!(decode_spec(Some(&[0xff, 0xff]), "").is_err());
        assert!(decode_spec(None, "{not json").is_err());
        assert!(decode_status(Some(&StoredStatus { phase: 9999, ..Default::default() }.encode_to_vec()), "").is_err());
    }
}
