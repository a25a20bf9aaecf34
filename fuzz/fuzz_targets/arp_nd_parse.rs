//! Arbitrary Ethernet frames (ARP) and IPv6 datagrams (ICMPv6) through the
//! gratuitous ARP and unsolicited NA codecs, with an emit → parse
//! round-trip oracle (see `vrrp_proto::fuzzing::arp_nd_parse`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    vrrp_proto::fuzzing::arp_nd_parse(data);
});
