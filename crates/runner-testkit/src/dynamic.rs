//! Messages known only by their descriptors (`gitpod_api::FILE_DESCRIPTOR_SET`): proto3 JSON to
//! bytes and back, and a tonic codec for bytes already encoded. For [`Client::call_json`](crate::Client::call_json).

use std::sync::OnceLock;

use bytes::{Buf, BufMut};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(gitpod_api::FILE_DESCRIPTOR_SET).expect("the API's descriptors decode"))
}

/// The request and response types of the method at `path` (`/<service>/<method>`).
pub fn method(path: &str) -> (MessageDescriptor, MessageDescriptor) {
    let (service, name) =
        path.trim_start_matches('/').split_once('/').unwrap_or_else(|| panic!("not a method path: {path}"));
    let service = pool().get_service_by_name(service).unwrap_or_else(|| panic!("no service {service}"));
    let method = service.methods().find(|m| m.name() == name).unwrap_or_else(|| panic!("no method {path}"));
    (method.input(), method.output())
}

/// A message in proto3 JSON, encoded.
pub fn encode(desc: &MessageDescriptor, json: &serde_json::Value) -> Vec<u8> {
    DynamicMessage::deserialize(desc.clone(), json)
        .unwrap_or_else(|e| panic!("{json} is not a {}: {e}", desc.full_name()))
        .encode_to_vec()
}

/// Encoded bytes of a message, in proto3 JSON.
pub fn to_json(desc: &MessageDescriptor, bytes: &[u8]) -> serde_json::Value {
    let message = DynamicMessage::decode(desc.clone(), bytes)
        .unwrap_or_else(|e| panic!("an answer that is no {}: {e}", desc.full_name()));
    serde_json::to_value(&message).expect("a message serializes")
}

/// Passes encoded messages through.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}
