//! Benchmark harness crate; the benchmarks are in `benches/benches/`.
