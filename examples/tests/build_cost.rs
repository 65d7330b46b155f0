//! What `cargo run --example shop` builds: the examples' dependencies, and of
//! what their tests need only the std-only `traced-peers` (cargo builds an
//! example with the package's dev-dependencies). No test harness, TLS
//! certificate generator or snapshot tool before the demo's first line.

use std::collections::BTreeSet;
use std::process::Command;

/// The packages `cargo tree` lists for this package over `edges`, as
/// `cargo run --example` resolves them (this package alone).
fn packages(edges: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["tree", "--locked", "-p", "traced-examples", "-e", edges])
        .args(["--prefix", "none", "--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running cargo tree");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cargo tree failed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_demo_builds_its_dependencies_and_one_std_only_test_crate() {
    let run = packages("normal,build");
    let with_dev = packages("normal,build,dev");
    for needed in ["traced", "axum", "tonic", "reqwest", "tokio"] {
        assert!(run.contains(needed), "{needed} missing from {run:?}");
    }
    let added: Vec<&String> = with_dev.difference(&run).collect();
    assert_eq!(
        added,
        ["traced-peers"],
        "what the examples' tests add to `cargo run --example`"
    );
    for harness in [
        "traced-tests",
        "rcgen",
        "pem",
        "trybuild",
        "insta",
        "criterion",
    ] {
        assert!(!with_dev.contains(harness), "{harness} built by the demo");
    }
}
