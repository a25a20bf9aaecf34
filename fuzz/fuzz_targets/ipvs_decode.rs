//! Arbitrary generic netlink payloads through every IPVS answer decoder
//! (service, destination, sync daemon, timeouts, info, controller), with
//! an encode → decode round-trip oracle for what decodes (see
//! `ipvs_netlink::wire::fuzz_decode`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ipvs_netlink::wire::fuzz_decode(data);
});
