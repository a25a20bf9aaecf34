//! keepalived's LVS blocks in the import: virtual servers (address, fwmark,
//! group), real servers and checkers convert to `[[virtual_server]]` with
//! keepalived's meaning; what vrrpd lacks is named.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ipvs_netlink::{ForwardMethod, ServiceKey, Tunnel, TunnelFlags, TunnelType};
use vrrpd::config::load_str;
use vrrpd::config::lvs::RsCheckKind;
use vrrpd::import::import_file;

const CONF: &str = r#"
global_defs {
    lvs_sync_daemon eth0 VI_1 id 51 maxlen 1400
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.10/24
    }
}
virtual_server_group WEB {
    192.0.2.20 80
    192.0.2.21 80
    192.0.2.30-40 80
}
virtual_server 192.0.2.10 80 {
    delay_loop 6
    lb_algo rr
    lb_kind NAT
    persistence_timeout 50
    protocol TCP
    quorum 2
    hysteresis 1
    sorry_server 10.0.0.99 80
    alpha
    snmp_name web
    real_server 10.0.0.11 80 {
        weight 1
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 3
            retry 2
            delay_before_retry 1
        }
    }
    real_server 10.0.0.12 80 {
        weight 2
        notify_down "/usr/bin/logger down"
        HTTP_GET {
            url {
                path /health
                status_code 200-299 503
                digest 9b3a0c85a887a256d6939da88aabd8cd
            }
            nb_get_retry 4
        }
    }
}
virtual_server fwmark 7 {
    lb_algo wlc
    lb_kind DR
    sorry_server 10.0.0.98 80
    sorry_server_lvs_method NAT
    real_server 10.0.0.22 {
        lvs_method TUN type gue port 6080 csum
        uthreshold 100
        lthreshold 10
    }
    real_server 10.0.0.21 {
        MISC_CHECK {
            misc_path "/usr/local/bin/check 10.0.0.21"
            misc_timeout 4
            misc_dynamic
        }
    }
}
virtual_server 192.0.2.50 443 {
    lb_kind DR
    protocol TCP
    sorry_server 10.0.0.97 8443
    real_server 10.0.0.51 8443 {
    }
    real_server 10.0.0.52 8443 {
        lvs_method NAT
    }
}
virtual_server group WEB {
    lb_algo sh
    real_server 10.0.0.31 80 {
        SMTP_CHECK {
        }
    }
}
"#;

#[test]
fn lvs_blocks_convert_and_the_rest_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keepalived.conf");
    std::fs::write(&path, CONF).unwrap();
    let imported = import_file(&path).unwrap();
    let cfg =
        load_str(&imported.toml, "imported").unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));
    let lvs = &cfg.lvs;
    let sync = lvs.sync_daemon.as_ref().unwrap();
    assert_eq!(
        (sync.interface.as_str(), sync.instance.as_str(), sync.id),
        ("eth0", "VI_1", 51)
    );
    let vss = &lvs.virtual_servers;
    let web = &vss[0];
    assert_eq!(
        web.key,
        ServiceKey::tcp("192.0.2.10".parse::<std::net::IpAddr>().unwrap(), 80)
    );
    assert_eq!(
        (web.scheduler.as_str(), web.persistence_timeout),
        ("rr", Some(50))
    );
    assert_eq!((web.quorum, web.hysteresis, web.alpha), (2, 1, true));
    assert_eq!(web.delay_loop, Duration::from_secs(6));
    assert_eq!(web.sorry_server, Some("10.0.0.99:80".parse().unwrap()));
    let rs1 = &web.real_servers[0];
    assert!(rs1.inhibit_on_failure);
    assert_eq!(rs1.checks[0].retry, 2);
    assert_eq!(rs1.checks[0].connect_timeout, Duration::from_secs(3));
    let rs2 = &web.real_servers[1];
    assert_eq!(rs2.weight, 2);
    assert_eq!(rs2.checks[0].retry, 4);
    match &rs2.checks[0].kind {
        RsCheckKind::Http { urls, tls, .. } => {
            assert!(!tls);
            assert_eq!(urls[0].status, [(200, 299), (503, 503)]);
            assert!(urls[0].digest.is_some());
        }
        k => panic!("{k:?}"),
    }
    let fwm = &vss[1];
    assert_eq!(fwm.key, ServiceKey::fwmark(7));
    assert_eq!(fwm.forward, ForwardMethod::Route);
    assert_eq!(fwm.sorry_forward, ForwardMethod::Masq);
    let tun = &fwm.real_servers[0];
    assert_eq!(
        tun.forward,
        ForwardMethod::Tunnel(Tunnel {
            kind: TunnelType::Gue,
            port: 6080,
            flags: TunnelFlags::CSUM
        })
    );
    assert_eq!((tun.upper_threshold, tun.lower_threshold), (100, 10));
    assert_eq!(fwm.real_servers[1].forward, ForwardMethod::Route);
    assert!(matches!(
        &fwm.real_servers[1].checks[0].kind,
        RsCheckKind::Misc { dynamic: true, .. }
    ));
    // DR: keepalived gives real servers (and the sorry server) the
    // virtual port; a NAT real server keeps its own.
    let dr = &vss[2];
    let ports: Vec<u16> = dr.real_servers.iter().map(|r| r.addr.port()).collect();
    assert_eq!(ports, [443, 8443]);
    assert_eq!(dr.sorry_server.map(|s| s.port()), Some(443));
    // The group: one virtual server per address, a range's too.
    assert_eq!(vss.len(), 3 + 2 + 11, "{}", imported.toml);
    let udp80 = |a: &str| ServiceKey::udp(a.parse::<std::net::IpAddr>().unwrap(), 80);
    assert_eq!(vss[3].key, udp80("192.0.2.20"));
    assert_eq!(vss[5].key, udp80("192.0.2.30"));
    assert_eq!(vss[15].key, udp80("192.0.2.40"));
    assert!(vss[3..].iter().all(|v| v.scheduler == "sh"));
    // No `protocol`: keepalived's UDP.
    assert!(matches!(
        vss[4].key,
        ServiceKey::Addr {
            protocol: ipvs_netlink::Protocol::Udp,
            ..
        }
    ));
    let notes: Vec<String> = imported.notes.iter().map(|n| n.message.clone()).collect();
    let named = |w: &str| notes.iter().any(|n| n.contains(w));
    assert!(named("snmp_name"), "{notes:?}");
    assert!(named("SMTP_CHECK"), "{notes:?}");
    assert!(named("192.0.2.30-40: 11 virtual servers"), "{notes:?}");
    assert!(named("maxlen"), "{notes:?}");
    assert!(named("written as 443"), "{notes:?}");
    assert!(!named("LVS pending"), "{notes:?}");
}

/// keepalived's `SSL_GET` with `enable_sni` / `sni_name`.
const SSL_CONF: &str = r#"
virtual_server 192.0.2.40 443 {
    protocol TCP
    virtualhost vs.example.test
    real_server 10.0.0.41 443 {
        SSL_GET {
            url {
                path /health
                digest 9b3a0c85a887a256d6939da88aabd8cd
            }
            enable_sni
        }
    }
    real_server 10.0.0.42 443 {
        SSL_GET {
            url {
                path /
            }
            sni_name rs.example.test
        }
    }
    real_server 10.0.0.43 443 {
        SSL_GET {
            url {
                path /
            }
            sni_name rs.example.test
            enable_sni off
        }
    }
    real_server 10.0.0.44 443 {
        HTTP_GET {
            url {
                path /
            }
            enable_sni
        }
    }
}
"#;

#[test]
fn ssl_get_sni_converts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keepalived.conf");
    std::fs::write(&path, SSL_CONF).unwrap();
    let imported = import_file(&path).unwrap();
    let cfg =
        load_str(&imported.toml, "imported").unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));
    let rss = &cfg.lvs.virtual_servers[0].real_servers;
    let kind = |i: usize| match &rss[i].checks[0].kind {
        RsCheckKind::Http { tls, sni, urls, .. } => (*tls, sni.clone(), urls[0].digest.is_some()),
        k => panic!("{k:?}"),
    };
    // enable_sni: the virtual server's virtualhost, as keepalived sends it.
    assert_eq!(kind(0), (true, Some("vs.example.test".into()), true));
    assert_eq!(kind(1), (true, Some("rs.example.test".into()), false));
    // The last word counts: `enable_sni off` after `sni_name`.
    assert_eq!(kind(2), (true, None, false));
    assert_eq!(kind(3), (false, None, false));
    let notes: Vec<String> = imported.notes.iter().map(|n| n.message.clone()).collect();
    assert_eq!(
        notes
            .iter()
            .filter(|n| n.contains("sni"))
            .collect::<Vec<_>>(),
        ["`enable_sni` in HTTP_GET has no effect (no TLS)"],
        "{notes:?}"
    );
}

/// keepalived's e-mail alerts of LVS: which servers mail is the same after
/// the import (keepalived 2.2's defaults: real servers mail, virtual
/// servers do not, and `smtp_alert_vrrp` is not theirs).
#[test]
fn lvs_e_mail_alerts_convert_with_keepalived_s_defaults() {
    let conf = |globals: &str| {
        format!(
            "global_defs {{\n  notification_email {{\n    ops@example.com\n  }}\n  smtp_server 192.0.2.25\n{globals}}}\n\
             virtual_server 192.0.2.10 80 {{\n  protocol TCP\n  real_server 10.0.0.11 80 {{\n    TCP_CHECK {{\n    }}\n  }}\n  real_server 10.0.0.12 80 {{\n    smtp_alert off\n  }}\n}}\n\
             virtual_server 192.0.2.10 81 {{\n  protocol TCP\n  smtp_alert\n  real_server 10.0.0.13 81 {{\n    smtp_alert yes\n  }}\n}}\n"
        )
    };
    // (global_defs lines) -> who mails: [vs 80, rs .11, rs .12, vs 81, rs .13]
    let rows: [(&str, [bool; 5]); 4] = [
        ("", [false, true, false, true, true]),
        ("  smtp_alert_vrrp\n", [false, true, false, true, true]),
        ("  smtp_alert_vrrp off\n", [false, true, false, true, true]),
        (
            "  smtp_alert_checker off\n  smtp_alert on\n",
            [false, false, false, true, true],
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (globals, want) in rows {
        let p = dir.path().join("k.conf");
        std::fs::write(&p, conf(globals)).unwrap();
        let imported = import_file(&p).unwrap();
        let cfg = load_str(&imported.toml, "imported")
            .unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));
        let m = &cfg.global.mail;
        let vss = &cfg.lvs.virtual_servers;
        let got = [
            m.virtual_server_alerts(vss[0].smtp_alert),
            m.real_server_alerts(vss[0].real_servers[0].smtp_alert),
            m.real_server_alerts(vss[0].real_servers[1].smtp_alert),
            m.virtual_server_alerts(vss[1].smtp_alert),
            m.real_server_alerts(vss[1].real_servers[0].smtp_alert),
        ];
        assert_eq!(got, want, "{globals:?}\n{}", imported.toml);
        assert!(
            !imported.notes.iter().any(|n| n.message.contains("smtp")),
            "{:#?}",
            imported.notes
        );
    }
    // no_checker_emails and smtp_alert_checker are carried over as they are.
    let p = dir.path().join("k.conf");
    std::fs::write(&p, conf("  no_checker_emails\n  smtp_alert_checker\n")).unwrap();
    let imported = import_file(&p).unwrap();
    let cfg = load_str(&imported.toml, "imported").unwrap();
    assert!(cfg.global.mail.no_checker_emails);
    assert_eq!(cfg.global.mail.checker_default, Some(true));
}

/// keepalived sends no SNI when `enable_sni` has no name to send (no
/// `sni_name`, no virtualhost): the import drops it and says so, and its
/// output loads (vrrpd's own configuration refuses `enable_sni` without a
/// name).
#[test]
fn enable_sni_without_a_name_is_dropped_with_a_note() {
    let conf = "virtual_server 192.0.2.10 443 {\n  protocol TCP\n  lb_kind NAT\n\
                real_server 10.0.0.11 443 {\n    SSL_GET {\n      enable_sni\n      url {\n        path /\n      }\n    }\n  }\n\
                real_server 10.0.0.12 443 {\n    SSL_GET {\n      enable_sni\n      virtualhost rs.example.test\n      url {\n        path /\n      }\n    }\n  }\n}\n";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keepalived.conf");
    std::fs::write(&path, conf).unwrap();
    let imported = import_file(&path).unwrap();
    let cfg =
        load_str(&imported.toml, "imported").unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));
    let rss = &cfg.lvs.virtual_servers[0].real_servers;
    let sni = |i: usize| match &rss[i].checks[0].kind {
        RsCheckKind::Http { tls, sni, .. } => (*tls, sni.clone()),
        k => panic!("{k:?}"),
    };
    assert_eq!(sni(0), (true, None));
    // With a name, enable_sni stays and sends it.
    assert_eq!(sni(1), (true, Some("rs.example.test".into())));
    let notes: Vec<&str> = imported
        .notes
        .iter()
        .filter(|n| n.message.contains("enable_sni"))
        .map(|n| n.message.as_str())
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("keepalived sends no SNI"), "{notes:?}");
}

/// A url's own `virtualhost` is carried: its Host header and, with
/// `enable_sni`, its SNI (keepalived's `check_http.c` / `check_ssl.c`).
/// When only some urls name one, vrrpd cannot send SNI for those alone:
/// `enable_sni` is dropped as a behaviour change.
#[test]
fn a_url_s_virtualhost_carries_over() {
    let conf = |second: &str| {
        format!(
            "virtual_server 192.0.2.10 443 {{\n  protocol TCP\n  lb_kind NAT\n\
             real_server 10.0.0.11 443 {{\n    SSL_GET {{\n      enable_sni\n\
             url {{\n        path /a\n        virtualhost a.example.test\n      }}\n\
             url {{\n        path /b\n{second}      }}\n    }}\n  }}\n}}\n"
        )
    };
    let import = |text: &str| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keepalived.conf");
        std::fs::write(&path, text).unwrap();
        let imported = import_file(&path).unwrap();
        let cfg = load_str(&imported.toml, "imported")
            .unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));
        (imported, cfg)
    };
    let (all, cfg) = import(&conf("        virtualhost b.example.test\n"));
    let RsCheckKind::Http { urls, .. } = &cfg.lvs.virtual_servers[0].real_servers[0].checks[0].kind
    else {
        panic!()
    };
    let got: Vec<_> = urls
        .iter()
        .map(|u| (u.virtualhost.as_deref(), u.sni.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (Some("a.example.test"), Some("a.example.test")),
            (Some("b.example.test"), Some("b.example.test"))
        ]
    );
    assert!(
        !all.notes
            .iter()
            .any(|n| n.message.contains("enable_sni") || n.message.contains("virtualhost")),
        "{:#?}",
        all.notes
    );
    let (some, cfg) = import(&conf(""));
    let RsCheckKind::Http { urls, sni, .. } =
        &cfg.lvs.virtual_servers[0].real_servers[0].checks[0].kind
    else {
        panic!()
    };
    assert_eq!(
        (urls[0].virtualhost.as_deref(), urls[0].sni.as_deref(), sni),
        (Some("a.example.test"), None, &None)
    );
    let notes: Vec<_> = some
        .notes
        .iter()
        .filter(|n| n.message.contains("enable_sni"))
        .collect();
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert_eq!(notes[0].impact, vrrpd::import::Impact::Changes);
}
