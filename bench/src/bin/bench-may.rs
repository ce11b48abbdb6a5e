//! `bench-may <benchmark> [--procs N]`: run one benchmark on may and print its
//! `RESULT` line (see `goro_bench::harness`).

fn main() -> std::process::ExitCode {
    goro_bench::harness::main("may", goro_bench::may_impl::lookup)
}
