//! Compiles `proto/gitpod/v1/*.proto` into `OUT_DIR` and nothing else.
//!
//! Vendored files under `proto/` (`buf/validate/validate.proto`) are compiled only as imports:
//! they stay in the descriptor set (`FILE_DESCRIPTOR_SET`, so reflection and the run-time
//! validation read the `buf.validate` options), but no Rust code is generated for them.
//!
//! protox (pure Rust) parses the protos, so no system `protoc` is ever run: the descriptor set is
//! written where connectrpc-axum-build tells prost and tonic to look, and `skip_protoc_run` makes
//! them read it. CI builds once with `PROTOC=/nonexistent` to prove it.

use std::{env, fs, path::PathBuf};

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

    let mut compiler = protox::Compiler::new([&proto_root])?;
    compiler.include_source_info(true).include_imports(true).open_files(&protos)?;
    // Our own copy, exported as FILE_DESCRIPTOR_SET (for reflection, validation and the wire
    // test). Encoded by protox itself, which keeps the options' extensions (`buf.validate`) that
    // prost-types' descriptor structs would drop.
    fs::write(out_dir.join("gitpod_descriptor.bin"), compiler.encode_file_descriptor_set())?;
    // Code is generated for every file in the set it is given: leave the vendored ones out.
    let mut descriptor = compiler.file_descriptor_set();
    descriptor.file.retain(|file| !file.name().starts_with("buf/"));
    let descriptor = descriptor.encode_to_vec();
    // The path connectrpc-axum-build hands to prost, and a copy for the two tonic passes.
    fs::write(out_dir.join("descriptor.bin"), &descriptor)?;
    let tonic_fds = out_dir.join("tonic_descriptor.bin");
    fs::write(&tonic_fds, &descriptor)?;
    let (server_fds, client_fds) = (tonic_fds.clone(), tonic_fds);

    connectrpc_axum_build::compile_protos(&protos, &[proto_root])
        .with_prost_config(|config| {
            config.skip_protoc_run();
            // `prost::Name` (the full proto name) for every message: validation looks rules up by it.
            config.enable_type_names();
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
