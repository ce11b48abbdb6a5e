//! `bench-tokio <benchmark> [--procs N]`: run one benchmark on tokio and print its
//! `RESULT` line (see `goro_bench::harness`).

fn main() -> std::process::ExitCode {
    goro_bench::harness::main("tokio", goro_bench::tokio_impl::lookup)
}
