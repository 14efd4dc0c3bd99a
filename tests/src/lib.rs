//! Helpers for mugai's end-to-end tests: the real `mugai` binary and the
//! sample corpus, as a user or a peer MTA would meet them.

pub mod peers;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_owned()
}

/// A file under samples/.
pub fn sample(rel: &str) -> PathBuf {
    root().join("samples").join(rel)
}

/// Path to a freshly built `mugai` binary (built once per test run, in the
/// same profile and target directory as the tests).
pub fn mugai_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "mugai", "--bin", "mugai"])
            .current_dir(root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building mugai failed");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("target"));
        target.join("debug").join("mugai")
    })
}

/// A `mugai` command ready to run.
pub fn mugai() -> Command {
    Command::new(mugai_bin())
}
