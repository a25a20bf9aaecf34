//! Arbitrary IPv4/IPv6 datagrams → `Packet::new_checked` → `Advert::parse`;
//! on success, emit → parse must round-trip and the bytes must match the
//! input except the checksum, v3 reserved bits and ignored v2 auth data
//! (see `vrrp_proto::fuzzing::advert_parse`). Checksums are not verified
//! under `cfg(fuzzing)`, which cargo-fuzz sets.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    vrrp_proto::fuzzing::advert_parse(data);
});
