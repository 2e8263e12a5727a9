//! The quick start is one program shown in three places: `examples/runner_client.rs` (built by
//! `cargo test`, and run against a live server by `scripts/test.sh` through `tests/downstream/`),
//! the crate documentation (which includes the file and compiles it as a doctest), and the
//! README's "From Rust" section, which is a copy. This test keeps the copy exact.

const EXAMPLE: &str = include_str!("../examples/runner_client.rs");
const README: &str = include_str!("../README.md");

#[test]
fn readme_shows_the_example() {
    let (_, section) = README.split_once("\n### From Rust\n").expect("README has a `### From Rust` section");
    let (_, block) = section.split_once("\n```rust\n").expect("the section has a ```rust block");
    let (code, _) = block.split_once("\n```\n").expect("the ```rust block ends");
    assert_eq!(
        format!("{code}\n"),
        EXAMPLE,
        "the README's Rust quick start differs from examples/runner_client.rs: copy the file into it"
    );
}
