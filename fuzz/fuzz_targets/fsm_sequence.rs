//! Arbitrary input sequences into the simulated LAN of `vrrp_fsm::sim`
//! (2 to 8 routers exchanging real encoded adverts; crashes, restarts,
//! partitions, priority changes, link and check faults, switchovers,
//! maintenance, shutdowns; loss, duplication and reordering), with the
//! harness invariants checked after every step and convergence required
//! once the script ends. Nothing may panic and no invariant may fail (see
//! `vrrp_fsm::sim::run_script` for the input format).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = vrrp_fsm::sim::run_script(std::time::Instant::now(), data) {
        panic!("{e}");
    }
});
