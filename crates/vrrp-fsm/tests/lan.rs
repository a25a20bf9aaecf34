//! The deterministic simulated LAN: scenarios, failover timing, property
//! tests and the fuzz engine run on random inputs. The harness itself is
//! `vrrp_fsm::sim` (feature `sim`), shared with the fuzz target and the
//! benchmarks; the scenarios live in `tests/sim/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim;
