//! Compiles `proto/gitpod/v1/*.proto` into `OUT_DIR` and nothing else.
//!
//! protox (pure Rust) parses the protos, so no system `protoc` is ever run: the descriptor set is
//! written where connectrpc-axum-build tells prost and tonic to look, and `skip_protoc_run` makes
//! them read it. CI builds once with `PROTOC=/nonexistent` to prove it.
//!
//! What is generated follows the crate's features: the messages (prost types and their pbjson
//! serde impls) always; the tonic clients with `client`; the tonic server traits and the Connect
//! builders (which are axum routers) with `server`. connectrpc-axum-build has no switch to put a
//! `#[cfg]` on the Connect modules, so the choice is made here, where Cargo tells the build script
//! which features are on (`CARGO_FEATURE_*`), rather than with attributes in the generated code.

use std::{env, fs, path::PathBuf};

use connectrpc_axum_build::{CompileBuilder, Enabled, WithSource};
use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let proto_root = PathBuf::from("proto");
    let mut protos: Vec<PathBuf> =
        fs::read_dir(proto_root.join("gitpod/v1"))?.map(|entry| entry.map(|e| e.path())).collect::<Result<_, _>>()?;
    protos.retain(|p| p.extension().is_some_and(|ext| ext == "proto"));
    protos.sort();
    println!("cargo:rerun-if-changed=proto");
    for proto in &protos {
        println!("cargo:rerun-if-changed={}", proto.display());
    }

    let descriptor = protox::compile(&protos, [&proto_root])?.encode_to_vec();
    // Our own copy, exported as FILE_DESCRIPTOR_SET (for reflection and the wire test).
    fs::write(out_dir.join("gitpod_descriptor.bin"), &descriptor)?;
    // The path connectrpc-axum-build hands to prost, and a copy for the tonic passes.
    fs::write(out_dir.join("descriptor.bin"), &descriptor)?;
    let tonic_fds = out_dir.join("tonic_descriptor.bin");
    fs::write(&tonic_fds, &descriptor)?;

    let messages = connectrpc_axum_build::compile_protos(&protos, &[proto_root])
        .with_prost_config(|config| {
            config.skip_protoc_run();
            config.extern_path(".google.protobuf.Timestamp", "crate::wkt::Timestamp");
        })
        .with_pbjson_config(|builder| {
            builder.ignore_unknown_fields();
            builder.extern_path(".google.protobuf.Timestamp", "crate::wkt::Timestamp");
        })
        .include_file("protos.rs");
    let client = env::var_os("CARGO_FEATURE_CLIENT").is_some();
    let server = env::var_os("CARGO_FEATURE_SERVER").is_some();
    // Each tonic pass reads the descriptor set protox wrote instead of running protoc.
    let tonic_config = move |b: tonic_prost_build::Builder| b.file_descriptor_set_path(&tonic_fds).skip_protoc_run();
    if server {
        // The Connect builders, with their tonic-compatible variants, and the tonic server traits.
        let server = messages.with_tonic().with_tonic_prost_config(tonic_config.clone());
        if client { with_client(server, tonic_config).compile()? } else { server.compile()? }
    } else {
        let messages = messages.no_connect_server();
        if client { with_client(messages, tonic_config).compile()? } else { messages.compile()? }
    }
    Ok(())
}

/// Adds the tonic clients to whatever `builder` already generates.
fn with_client<C, T>(
    builder: CompileBuilder<WithSource, C, T>,
    tonic_config: impl Fn(tonic_prost_build::Builder) -> tonic_prost_build::Builder + 'static,
) -> CompileBuilder<WithSource, C, T, Enabled> {
    builder.with_tonic_client().with_tonic_client_config(tonic_config)
}
