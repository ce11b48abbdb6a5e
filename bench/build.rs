//! Records, for the results table, the versions of goro, may and tokio this build
//! links (from the workspace's Cargo.lock) and of the Rust compiler.

use std::path::Path;
use std::process::Command;

/// The version of package `name` in a Cargo.lock, if it has exactly one.
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let wanted = format!("name = \"{name}\"");
    let mut versions = Vec::new();
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            if let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
            {
                versions.push(v.trim_matches('"').to_string());
            }
        }
    }
    match versions.len() {
        1 => versions.pop(),
        0 => None,
        _ => Some(versions.join(" / ")),
    }
}

/// The Cargo profile this build uses: the name of the directory under the
/// target directory (`OUT_DIR` is `<target>/<profile>/build/...`).
fn profile_name() -> String {
    let out_dir = std::env::var("OUT_DIR").unwrap_or_default();
    let parts: Vec<&str> = Path::new(&out_dir)
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .collect();
    parts
        .iter()
        .position(|&p| p == "build")
        .and_then(|i| i.checked_sub(1))
        .map_or_else(|| "unknown".to_string(), |i| parts[i].to_string())
}

fn main() {
    println!("cargo:rustc-env=BENCH_PROFILE={}", profile_name());
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let lock_path = Path::new(&manifest_dir).join("../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    println!("cargo:rerun-if-changed=build.rs");
    let lock = std::fs::read_to_string(&lock_path).unwrap_or_default();
    for (name, var) in [
        ("goro", "BENCH_GORO_VERSION"),
        ("may", "BENCH_MAY_VERSION"),
        ("tokio", "BENCH_TOKIO_VERSION"),
    ] {
        let version = locked_version(&lock, name).unwrap_or_else(|| "unknown".to_string());
        println!("cargo:rustc-env={var}={version}");
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let rustc_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=BENCH_RUSTC_VERSION={rustc_version}");
}
