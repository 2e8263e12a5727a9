//! Compiles every `.proto` file under `proto/` (the reconstructed `gitpod.v1` package and our own
//! `runnerside.v1`) into `OUT_DIR`, and nothing else.
//!
//! Vendored files under `proto/` (`buf/validate/validate.proto`) are compiled only as imports:
//! they stay in the descriptor set (`FILE_DESCRIPTOR_SET`, so reflection and the run-time
//! validation read the `buf.validate` options), but no Rust code is generated for them.
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

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::{env, fs, path::Path, path::PathBuf};

use connectrpc_axum_build::{CompileBuilder, Enabled, WithSource};
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
    // The path connectrpc-axum-build hands to prost, and a copy for the tonic passes.
    fs::write(out_dir.join("descriptor.bin"), &descriptor)?;
    let tonic_fds = out_dir.join("tonic_descriptor.bin");
    fs::write(&tonic_fds, &descriptor)?;

    let messages = connectrpc_axum_build::compile_protos(&protos, &[proto_root])
        .with_prost_config(|config| {
            config.skip_protoc_run();
            // `prost::Name` (the full proto name) for every message: validation looks rules up by it.
            config.enable_type_names();
            config.extern_path(".google.protobuf.Timestamp", "crate::wkt::Timestamp");
        })
        .with_pbjson_config(|builder| {
            builder.ignore_unknown_fields();
            builder.extern_path(".google.protobuf.Timestamp", "crate::wkt::Timestamp");
        });
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
    write_module_tree(&out_dir, &descriptor)
}

/// Writes `protos.rs`, the module tree of the generated code (`gitpod.v1` becomes
/// `pub mod gitpod { pub mod v1 { include!(…) } }`) for every proto package that has a generated
/// file, like connectrpc-axum-build's `include_file`, but with a doc comment on each module: the
/// crate warns on missing docs, and CI denies warnings.
fn write_module_tree(out_dir: &Path, descriptor: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
    let files = prost_types::FileDescriptorSet::decode(descriptor)?.file;
    let packages: BTreeSet<String> = files
        .iter()
        .map(|file| file.package().to_owned())
        .filter(|package| !package.is_empty() && out_dir.join(format!("{package}.rs")).is_file())
        .collect();
    let mut tree = String::from("// @generated by build.rs\n");
    render_modules(&mut tree, "", &packages);
    fs::write(out_dir.join("protos.rs"), tree)?;
    Ok(())
}

/// Every `.proto` file under `dir`, at any depth.
fn find_protos(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
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

/// Appends the modules under the package prefix `parent` ("" for the root).
fn render_modules(out: &mut String, parent: &str, packages: &BTreeSet<String>) {
    let children: BTreeSet<&str> = packages
        .iter()
        .filter_map(|package| {
            if parent.is_empty() { Some(package.as_str()) } else { package.strip_prefix(parent)?.strip_prefix('.') }
        })
        .map(|rest| rest.split('.').next().unwrap_or(rest))
        .collect();
    for child in children {
        let package = if parent.is_empty() { child.to_owned() } else { format!("{parent}.{child}") };
        if packages.contains(&package) {
            writeln!(
                out,
                "/// The `{package}` proto package: its messages and enums (prost, with pbjson proto3 JSON),"
            )
            .unwrap();
            writeln!(
                out,
                "/// and for its services the tonic clients (`*_client`, feature `client`), the tonic server"
            )
            .unwrap();
            writeln!(out, "/// traits (`*_server`) and the Connect builders (`*_connect`, both feature `server`).")
                .unwrap();
            writeln!(out, "pub mod {child} {{ include!(concat!(env!(\"OUT_DIR\"), \"/{package}.rs\"));").unwrap();
        } else {
            writeln!(out, "/// The proto packages under `{package}`.\npub mod {child} {{").unwrap();
        }
        render_modules(out, &package, packages);
        out.push_str("}\n");
    }
}

/// Adds the tonic clients to whatever `builder` already generates.
fn with_client<C, T>(
    builder: CompileBuilder<WithSource, C, T>,
    tonic_config: impl Fn(tonic_prost_build::Builder) -> tonic_prost_build::Builder + 'static,
) -> CompileBuilder<WithSource, C, T, Enabled> {
    builder.with_tonic_client().with_tonic_client_config(tonic_config)
}
