//! `bench-goro <benchmark> [--procs N]`: run one benchmark on goro and print its
//! `RESULT` line (see `goro_bench::harness`).

fn main() -> std::process::ExitCode {
    goro_bench::harness::main("goro", goro_bench::goro_impl::lookup)
}
