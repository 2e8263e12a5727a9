//! Compiles every `.proto` file under `proto/` (the reconstructed `gitpod.v1` package and our own
//! `runnerside.v1`) into `OUT_DIR`, and nothing else.
//!
//! protox (pure Rust) parses the protos, so no system `protoc` is ever run: the descriptor set is
//! written where connectrpc-axum-build tells prost and tonic to look, and `skip_protoc_run` makes
//! them read it. CI builds once with `PROTOC=/nonexistent` to prove it.

use std::{env, fs, path::PathBuf};

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let proto_root = PathBuf::from("proto");
    let mut protos = Vec::new();
    find_protos(&proto_root, &mut protos)?;
    protos.sort();
    println!("cargo:rerun-if-changed=proto");
    for proto in &protos {
        println!("cargo:rerun-if-changed={}", proto.display());
    }

    let descriptor = protox::compile(&protos, [&proto_root])?.encode_to_vec();
    // Our own copy, exported as FILE_DESCRIPTOR_SET (for reflection and the wire test).
    fs::write(out_dir.join("gitpod_descriptor.bin"), &descriptor)?;
    // The path connectrpc-axum-build hands to prost, and a copy for the two tonic passes.
    fs::write(out_dir.join("descriptor.bin"), &descriptor)?;
    let tonic_fds = out_dir.join("tonic_descriptor.bin");
    fs::write(&tonic_fds, &descriptor)?;
    let (server_fds, client_fds) = (tonic_fds.clone(), tonic_fds);

    connectrpc_axum_build::compile_protos(&protos, &[proto_root])
        .with_prost_config(|config| {
            config.skip_protoc_run();
            config.extern_path(".google.protobuf.Timestamp", "crate::wkt::Timestamp");
        })
        .with_pbjson_config(|builder| {
            builder.ignore_unknown_fields();
            builder.extern_path(".google.protobuf.Timestamp", "crate::wkt::Timestamp");
        })
        .with_tonic()
        .with_tonic_prost_config(move |b| b.file_descriptor_set_path(&server_fds).skip_protoc_run())
        .with_tonic_client()
        .with_tonic_client_config(move |b| b.file_descriptor_set_path(&client_fds).skip_protoc_run())
        .include_file("protos.rs")
        .compile()?;
    Ok(())
}

/// Every `.proto` file under `dir`, at any depth.
fn find_protos(dir: &std::path::Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            find_protos(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            out.push(path);
        }
    }
    Ok(())
}
