//! Interface state (a veth pair in a namespace of our own) and tracked files.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Netns, TempDir, drive, inner, sh};
use healthcheck::{
    CheckKind, CheckSpec, Contribution, Detail, FileSpec, InterfaceSpec, Runner, Status,
};

#[test]
fn interface_follows_link_state() {
    let Some(ns) = Netns::new("hc-if") else {
        return;
    };
    assert!(ns.ip(&[
        "link", "add", "hc-v0", "type", "veth", "peer", "name", "hc-v1"
    ]));
    assert!(ns.ip(&["link", "set", "hc-v0", "up"]));
    assert!(ns.ip(&["link", "set", "hc-v1", "up"]));
    ns.run_inner_test("inner_interface_in_namespace");
}

#[test]
#[ignore = "runs inside the hc-if namespace, started by interface_follows_link_state"]
fn inner_interface_in_namespace() {
    if !inner() {
        return;
    }
    let mut r = Runner::new().unwrap();
    let now = Instant::now();
    let spec = |name: &str, ifname: &str| {
        CheckSpec::new(name, CheckKind::Interface(InterfaceSpec::new(ifname)))
            .interval(Duration::from_millis(10))
            .weight(-20)
    };
    let v0 = r.checker().add(spec("v0", "hc-v0"), now).unwrap();
    let lo = r.checker().add(spec("lo", "lo").weight(5), now).unwrap();
    let gone = r.checker().add(spec("gone", "hc-nothere"), now).unwrap();
    let wait_status = |r: &mut Runner, want: Status| {
        let (_, ok) = drive(r, Duration::from_secs(5), |c, _| {
            c.state(v0).unwrap().status() == want && c.state(v0).unwrap().results() > 0
        });
        assert!(
            ok,
            "hc-v0 never became {want}: {:?}",
            r.checker().last_result(v0)
        );
    };
    wait_status(&mut r, Status::Ok);
    assert!(matches!(
        &r.checker().last_result(v0).unwrap().detail,
        Detail::Operstate { operstate, carrier: Some(true) } if operstate == "up"
    ));
    // lo reports "unknown" with carrier 1: OK.
    assert_eq!(r.checker().state(lo).unwrap().status(), Status::Ok);
    assert_eq!(r.checker().state(gone).unwrap().status(), Status::Failed);

    // Peer down: hc-v0 loses carrier (lowerlayerdown).
    assert!(sh(&["ip", "link", "set", "hc-v1", "down"]));
    wait_status(&mut r, Status::Failed);
    let d = r.checker().last_result(v0).unwrap().detail.clone();
    assert!(
        matches!(&d, Detail::Operstate { operstate, .. } if operstate == "lowerlayerdown"),
        "{d}"
    );
    let b = r.checker().breakdown(100, &[v0.into(), lo.into()]);
    assert_eq!(b.effective, 85, "{b}");

    assert!(sh(&["ip", "link", "set", "hc-v1", "up"]));
    wait_status(&mut r, Status::Ok);
    // Our side administratively down.
    assert!(sh(&["ip", "link", "set", "hc-v0", "down"]));
    wait_status(&mut r, Status::Failed);
    let d = r.checker().last_result(v0).unwrap().detail.clone();
    assert!(
        matches!(&d, Detail::Operstate { operstate, .. } if operstate == "down"),
        "{d}"
    );
    println!("inner interface ok");
}

#[test]
fn track_file_values() {
    let dir = TempDir::new("file");
    let path = dir.path("prio");
    std::fs::write(&path, "3\n").unwrap();
    let mut r = Runner::new().unwrap();
    let now = Instant::now();
    let f = |name: &str| {
        CheckSpec::new(name, CheckKind::File(FileSpec { path: path.clone() }))
            .interval(Duration::from_millis(10))
    };
    let w10 = r.checker().add(f("w10").weight(10), now).unwrap();
    let w0 = r.checker().add(f("w0"), now).unwrap();
    let rev = r
        .checker()
        .add(f("rev").weight(2).reverse(true), now)
        .unwrap();
    let settle = |r: &mut Runner| {
        // Two full rounds after the write.
        let base: Vec<u64> = [w10, w0, rev]
            .iter()
            .map(|&i| r.checker().state(i).unwrap().results())
            .collect();
        let (_, ok) = drive(r, Duration::from_secs(5), |c, _| {
            [w10, w0, rev]
                .iter()
                .zip(&base)
                .all(|(&i, &b)| c.state(i).unwrap().results() >= b + 2)
        });
        assert!(ok);
    };
    settle(&mut r);
    let c = r.checker();
    assert_eq!(c.state(w10).unwrap().value(), Some(3));
    let b = c.breakdown(100, &[w10.into()]);
    assert_eq!((b.effective, b.fault), (130, false), "{b}");
    // weight 0: a non-zero value is a failure status -> fault.
    assert!(c.breakdown(100, &[w0.into()]).fault);
    let b = c.breakdown(100, &[rev.into()]);
    assert_eq!(b.effective, 94, "{b}");

    std::fs::write(&path, "0").unwrap();
    settle(&mut r);
    let c = r.checker();
    assert_eq!(c.breakdown(100, &[w10.into()]).effective, 100);
    let b = c.breakdown(100, &[w0.into()]);
    assert!(!b.fault, "{b}");

    // -30 * 10 = -300 < -253: fault.
    std::fs::write(&path, " -30 ").unwrap();
    settle(&mut r);
    let b = r.checker().breakdown(200, &[w10.into()]);
    assert!(b.fault, "{b}");
    assert_eq!(b.entries[0].contribution, Contribution::Fault);
    // -20 * 10 = -200: clamped to 1.
    std::fs::write(&path, "-20").unwrap();
    settle(&mut r);
    let b = r.checker().breakdown(150, &[w10.into()]);
    assert_eq!((b.effective, b.fault), (1, false), "{b}");
    // Owner priority never moves.
    assert_eq!(r.checker().breakdown(255, &[w10.into()]).effective, 255);

    // Not an integer, then missing: failed -> fault.
    std::fs::write(&path, "many").unwrap();
    settle(&mut r);
    assert_eq!(r.checker().state(w10).unwrap().status(), Status::Failed);
    assert_eq!(
        r.checker().last_result(w10).unwrap().detail,
        Detail::FileNotInteger
    );
    assert!(r.checker().breakdown(100, &[w10.into()]).fault);
    std::fs::write(&path, "4").unwrap();
    settle(&mut r);
    assert_eq!(r.checker().breakdown(100, &[w10.into()]).effective, 140);
    std::fs::remove_file(&path).unwrap();
    settle(&mut r);
    assert!(r.checker().breakdown(100, &[w10.into()]).fault);
}

#[test]
fn file_value_changes_are_events() {
    let dir = TempDir::new("fev");
    let path = dir.path("v");
    std::fs::write(&path, "1").unwrap();
    let mut r = Runner::new().unwrap();
    let id = r
        .checker()
        .add(
            CheckSpec::new("v", CheckKind::File(FileSpec { path: path.clone() }))
                .interval(Duration::from_millis(10))
                .weight(1),
            Instant::now(),
        )
        .unwrap();
    let (ev, ok) = drive(&mut r, Duration::from_secs(5), |_, ev| !ev.is_empty());
    assert!(ok);
    assert_eq!(ev[0].transition.new_value, Some(1));
    std::fs::write(&path, "7").unwrap();
    let (ev, ok) = drive(&mut r, Duration::from_secs(5), |_, ev| !ev.is_empty());
    assert!(ok);
    assert_eq!(
        (ev[0].transition.old_value, ev[0].transition.new_value),
        (Some(1), Some(7))
    );
    assert_eq!(ev[0].id, id);
    assert!(ev[0].to_string().contains("value 7"), "{}", ev[0]);
}
