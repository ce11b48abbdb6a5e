//! `goro-bench`: the benchmark runner.
//!
//! Runs each selected benchmark (DESIGN.md §3) in goro, Go, may and tokio.
//! The Rust implementations are the sibling binaries `bench-goro`,
//! `bench-may` and `bench-tokio` in the runner's own directory (this program
//! builds no Rust); the Go program in `bench/go/` is built once per run with
//! the Go toolchain into the same directory. Within each repetition every
//! implementation runs once, one after the other (the first one rotates
//! between repetitions), never two at a time. Each program reports one
//! `RESULT` line (two when another registry entry is reported by the same
//! run, e.g. `timers` and `timers_cpu`), or `UNSUPPORTED`; the runner prints a markdown table of the medians and the
//! goro/peer ratios and writes it to `--out`. It exits non-zero if any run
//! failed (crashed, timed out, or reported no valid result).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use goro_bench::result;
use goro_bench::runner::cli::{self, Options};
use goro_bench::runner::table::{self, BenchResult, Report, Sample};
use goro_bench::runner::{exec, gotool, sysinfo, Impl};
use goro_bench::spec::{self, Benchmark, Procs};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::parse(&args) {
        Ok(cli::Command::Run(options)) => run(options),
        Ok(cli::Command::Help) => {
            println!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Ok(cli::Command::List) => {
            for b in spec::BENCHMARKS {
                let mut procs = match b.procs {
                    Procs::Configurable => String::new(),
                    Procs::Fixed(n) => format!(", procs always {n}"),
                };
                if let Some(parent) = b.reported_by {
                    procs.push_str(&format!(", from the {parent} run"));
                }
                println!(
                    "{:<15} {} ({} is better{procs}): {}",
                    b.name,
                    b.unit,
                    b.better.as_str(),
                    b.summary
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("goro-bench: {e}\n\n{}", cli::USAGE);
            ExitCode::from(2)
        }
    }
}

/// Why a program failed, from its standard error: its own `INVALID RESULT`
/// line if it printed one, else the last few lines (a panic, a crash).
fn failure_reason(stderr: &str) -> String {
    if let Some(line) = stderr.lines().rev().find(|l| l.contains("INVALID RESULT")) {
        return line.trim().to_string();
    }
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(4)..].join("\n")
}

/// Run `program` once for `entries[0]` and turn what it printed into one
/// sample per entry (`entries[1..]` are the entries the same run reports).
fn run_once(
    program: &Path,
    entries: &[&'static Benchmark],
    procs: usize,
    timeout: Duration,
) -> Vec<Sample> {
    let bench = entries[0];
    let all = |sample: Sample| vec![sample; entries.len()];
    let mut command = Command::new(program);
    command
        .arg(bench.name)
        .arg("--procs")
        .arg(procs.to_string())
        .env("GOMAXPROCS", procs.to_string())
        .env("GORO_MAXPROCS", procs.to_string());
    let finished = match exec::run(command, timeout) {
        Ok(f) => f,
        Err(e) => return all(Sample::Failed(e)),
    };
    if !finished.status.success() {
        return all(Sample::Failed(format!(
            "{}: {}",
            finished.status,
            failure_reason(&finished.stderr)
        )));
    }
    if let Some(why) = result::parse_unsupported(&finished.stdout, bench.name) {
        return all(Sample::Unsupported(why));
    }
    let names: Vec<&str> = entries.iter().map(|b| b.name).collect();
    match result::parse_all(&finished.stdout, &names) {
        Ok(reported) => reported
            .into_iter()
            .zip(entries)
            .map(|(r, b)| {
                if r.unit == b.unit {
                    Sample::Ok(r.value)
                } else {
                    Sample::Failed(format!("reported unit {:?}, expected {:?}", r.unit, b.unit))
                }
            })
            .collect(),
        Err(e) => all(Sample::Failed(e)),
    }
}

/// The programs to run, and what could not be run.
struct Programs {
    /// Benchmark program of each runnable implementation.
    paths: BTreeMap<Impl, PathBuf>,
    /// Implementations that cannot run, and why.
    unavailable: Vec<(Impl, String)>,
    /// The Go toolchain, if found and the Go program built.
    go: Option<gotool::GoTool>,
}

/// Locate (and for Go, build) each requested implementation's program.
fn find_programs(options: &Options, exe_dir: &Path) -> Programs {
    let mut programs = Programs {
        paths: BTreeMap::new(),
        unavailable: Vec::new(),
        go: None,
    };
    for &imp in &options.impls {
        let path = exe_dir.join(imp.binary());
        if imp == Impl::Go {
            let built = gotool::find().and_then(|go| {
                eprintln!(
                    "Go: {} ({}, found via {})",
                    go.version,
                    go.path.display(),
                    go.found_via
                );
                let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("go");
                let work = exe_dir.parent().unwrap_or(exe_dir).join("go-bench");
                gotool::build(&go, &src, &path, &work)?;
                programs.go = Some(go);
                Ok(())
            });
            if let Err(why) = built {
                eprintln!("goro-bench: skipping the Go column: {why}");
                programs.unavailable.push((imp, why));
                continue;
            }
        } else if !path.is_file() {
            let why = format!(
                "{} is missing (build it with `cargo build --release -p goro-bench --bins`)",
                path.display()
            );
            eprintln!("goro-bench: skipping the {} column: {why}", imp.label());
            programs.unavailable.push((imp, why));
            continue;
        }
        programs.paths.insert(imp, path);
    }
    programs
}

/// Mappings a stackful runtime needs for `spawn`'s 1,000,000 goroutines if
/// they are all alive at once: two per stack, plus headroom.
const SPAWN_MAP_COUNT: u64 = 2_200_000;

/// Say so up front when `spawn` is likely to fail for goro and may because
/// the kernel limits memory mappings (see [`sysinfo::max_map_count`]).
fn warn_about_map_count(options: &Options) {
    let runs_spawn = options.benchmarks.iter().any(|b| b.name == "spawn");
    let stackful = options
        .impls
        .iter()
        .any(|i| matches!(i, Impl::Goro | Impl::May));
    if let Some(limit) = sysinfo::max_map_count().filter(|&n| n < SPAWN_MAP_COUNT) {
        if runs_spawn && stackful {
            eprintln!(
                "goro-bench: warning: vm.max_map_count is {limit}: goro and may map every \
                 goroutine stack separately and may fail `spawn` once about {} goroutines \
                 are alive; `sysctl -w vm.max_map_count={SPAWN_MAP_COUNT}` lifts the limit \
                 (bench/run.sh does it when BENCH_RAISE_MAP_COUNT=1)",
                limit / 2
            );
        }
    }
}

/// Say so when the machine is already busy: the figures would be skewed.
fn warn_if_busy(load: &str) {
    let one_minute = load
        .split_whitespace()
        .next()
        .and_then(|v| v.parse::<f64>().ok());
    if one_minute.is_some_and(|l| l >= 0.5) {
        eprintln!(
            "goro-bench: warning: the machine is busy (load average {load}); \
             figures will be noisy"
        );
    }
}

fn facts(
    options: &Options,
    go: Option<&gotool::GoTool>,
    load_before: String,
) -> Vec<(String, String)> {
    let machine = sysinfo::Machine::detect();
    let fixed: Vec<String> = options
        .benchmarks
        .iter()
        .filter_map(|b| match b.procs {
            Procs::Fixed(n) => Some(format!("{} always runs with {n}", b.name)),
            Procs::Configurable => None,
        })
        .collect();
    let mut procs = format!(
        "{} (GOMAXPROCS for Go, goro procs, may workers, tokio worker threads)",
        options.procs
    );
    if !fixed.is_empty() {
        procs.push_str(&format!("; {}", fixed.join(", ")));
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut facts = vec![
        ("date".to_string(), sysinfo::utc_now()),
        (
            "machine".to_string(),
            format!(
                "{} CPUs (nproc), {}, {} RAM, {}",
                machine.cpus, machine.cpu_model, machine.memory, machine.kernel
            ),
        ),
        ("load average before the run".to_string(), load_before),
        (
            "vm.max_map_count".to_string(),
            sysinfo::max_map_count().map_or_else(|| "unknown".to_string(), |n| n.to_string()),
        ),
        ("procs".to_string(), procs),
        (
            "repetitions".to_string(),
            format!(
                "{} per benchmark and implementation, implementations run one at a \
                 time and alternately (the first one rotates each repetition); \
                 figures are medians",
                options.reps
            ),
        ),
        (
            "goro".to_string(),
            format!(
                "{} ({})",
                env!("BENCH_GORO_VERSION"),
                sysinfo::git_revision(&workspace)
            ),
        ),
    ];
    if let Some(go) = go {
        facts.push((
            "Go".to_string(),
            format!("{} (found via {})", go.version, go.found_via),
        ));
    }
    facts.push(("may".to_string(), env!("BENCH_MAY_VERSION").to_string()));
    facts.push((
        "tokio".to_string(),
        format!(
            "{} (multi-thread runtime; current-thread where procs is fixed at 1)",
            env!("BENCH_TOKIO_VERSION")
        ),
    ));
    let profile = if cfg!(debug_assertions) {
        "DEBUG build: figures are not meaningful, use bench/run.sh".to_string()
    } else {
        match env!("BENCH_PROFILE") {
            "bench-release" => {
                "bench-release profile (release + fat LTO, one codegen unit)".to_string()
            }
            other => format!("{other} profile"),
        }
    };
    facts.push((
        "rustc".to_string(),
        format!("{}, {profile}", env!("BENCH_RUSTC_VERSION")),
    ));
    facts
}

fn run(options: Options) -> ExitCode {
    let exe_dir = match std::env::current_exe() {
        Ok(exe) => exe.parent().map(Path::to_path_buf).unwrap_or_default(),
        Err(e) => {
            eprintln!("goro-bench: cannot find my own directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The machine's state before this run loads it.
    let load_before = sysinfo::load_average();
    warn_if_busy(&load_before);
    let programs = find_programs(&options, &exe_dir);
    warn_about_map_count(&options);
    let facts = facts(&options, programs.go.as_ref(), load_before);
    let order: Vec<Impl> = programs.paths.keys().copied().collect();

    let mut results = Vec::new();
    for &bench in options
        .benchmarks
        .iter()
        .filter(|b| b.reported_by.is_none())
    {
        // This program run's own entry first, then those it also reports.
        let mut entries = vec![bench];
        entries.extend(
            options
                .benchmarks
                .iter()
                .copied()
                .filter(|b| b.reported_by == Some(bench.name)),
        );
        let procs = bench.procs.resolve(options.procs);
        let mut entry_results: Vec<BenchResult> = entries
            .iter()
            .map(|&b| BenchResult::new(b, procs))
            .collect();
        for rep in 0..options.reps {
            for i in 0..order.len() {
                let imp = order[(rep + i) % order.len()];
                let samples = run_once(&programs.paths[&imp], &entries, procs, options.timeout);
                let mut shown: Vec<String> = samples
                    .iter()
                    .zip(&entries)
                    .map(|(sample, b)| match sample {
                        Sample::Ok(v) => format!("{} {}", table::format_value(*v), b.unit),
                        Sample::Failed(why) => format!("FAILED: {why}"),
                        Sample::Unsupported(why) => format!("unsupported: {why}"),
                    })
                    .collect();
                shown.dedup();
                eprintln!(
                    "[{} {}/{}] {:<5} {}",
                    bench.name,
                    rep + 1,
                    options.reps,
                    imp.label(),
                    shown.join(", ")
                );
                for (result, sample) in entry_results.iter_mut().zip(samples) {
                    result.samples.entry(imp).or_default().push(sample);
                }
            }
        }
        results.extend(entry_results);
    }

    let failed = results
        .iter()
        .flat_map(|r| r.samples.values().flatten())
        .any(|s| matches!(s, Sample::Failed(_)));
    let mut report = Report {
        facts,
        impls: options.impls.clone(),
        unavailable: programs.unavailable,
        results,
    };
    report.facts.push((
        "load average after the run".to_string(),
        sysinfo::load_average(),
    ));
    let markdown = table::render(&report);
    println!("{markdown}");
    if let Some(dir) = options.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&options.out, &markdown) {
        Ok(()) => eprintln!("goro-bench: wrote {}", options.out.display()),
        Err(e) => {
            eprintln!("goro-bench: cannot write {}: {e}", options.out.display());
            return ExitCode::FAILURE;
        }
    }
    if failed {
        eprintln!("goro-bench: some runs failed (see Failures in the table)");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
