//! How packets reach a real server: `lb_kind` and its `tunnel` options,
//! with keepalived's rules (`lvs_method TUN type gue port 6080 csum`,
//! keepalived's check_parser.c).

use ipvs_netlink::{ForwardMethod, Tunnel, TunnelFlags, TunnelType};
use toml::Spanned;

use super::lvs::RawTunnel;
use super::validate::Cx;

impl Cx {
    /// The forwarding method `kind` and `tunnel` name, or `default` (the
    /// virtual server's) for what they leave out. `what` names the keys
    /// in messages (`lb_kind` or `sorry_server_lb_kind`).
    pub(crate) fn forwarding(
        &mut self,
        kind: Option<&Spanned<String>>,
        tunnel: Option<&Spanned<RawTunnel>>,
        default: ForwardMethod,
        what: &str,
    ) -> ForwardMethod {
        let base = match kind {
            None => default,
            Some(k) => match k.get_ref().to_ascii_uppercase().as_str() {
                "NAT" => ForwardMethod::Masq,
                "DR" => ForwardMethod::Route,
                // keepalived: `TUN` without options is IP-in-IP.
                "TUN" => ForwardMethod::Tunnel(Tunnel::IPIP),
                other => {
                    self.at(k, format!("{what} must be NAT, DR or TUN, not {other:?}"));
                    return default;
                }
            },
        };
        let Some(t) = tunnel else {
            return base;
        };
        if !matches!(base, ForwardMethod::Tunnel(_)) {
            self.at(t, format!("`tunnel` options need {what} = \"TUN\""));
            return base;
        }
        self.tunnel(t).map_or(base, ForwardMethod::Tunnel)
    }

    /// `tunnel = { type, port, checksum }`: GUE needs a port and only GUE
    /// has one; IP-in-IP has no checksum option; GRE has no remote
    /// checksum offload (the kernel's and keepalived's rules).
    fn tunnel(&mut self, spanned: &Spanned<RawTunnel>) -> Option<Tunnel> {
        let t = spanned.get_ref();
        let kind = match t.kind.as_ref() {
            None => TunnelType::Ipip,
            Some(k) => match k.get_ref().to_ascii_lowercase().as_str() {
                "ipip" => TunnelType::Ipip,
                "gue" => TunnelType::Gue,
                "gre" => TunnelType::Gre,
                other => {
                    self.at(
                        k,
                        format!("tunnel type must be ipip, gue or gre, not {other:?}"),
                    );
                    return None;
                }
            },
        };
        let port = t.port.as_ref().map_or(0, |p| *p.get_ref());
        let mut ok = true;
        if (kind == TunnelType::Gue) != (port != 0) {
            let at = t.port.as_ref().map_or(spanned.span(), Spanned::span);
            self.error(
                &at,
                "a gue tunnel needs `port` (1-65535), and only a gue tunnel has one",
            );
            ok = false;
        }
        let flags = match t.checksum.as_ref() {
            None => TunnelFlags::NOCSUM,
            Some(c) => {
                let f = match c.get_ref().to_ascii_lowercase().as_str() {
                    "nocsum" => Some(TunnelFlags::NOCSUM),
                    "csum" => Some(TunnelFlags::CSUM),
                    "remcsum" => Some(TunnelFlags::REMCSUM),
                    _ => None,
                };
                let allowed = match (kind, f) {
                    (_, None) => Err("checksum must be nocsum, csum or remcsum"),
                    (TunnelType::Ipip, Some(f)) if f != TunnelFlags::NOCSUM => {
                        Err("an ipip tunnel has no checksum option")
                    }
                    (TunnelType::Gre, Some(TunnelFlags::REMCSUM)) => {
                        Err("a gre tunnel has no remote checksum offload (remcsum)")
                    }
                    (_, Some(f)) => Ok(f),
                };
                match allowed {
                    Ok(f) => f,
                    Err(m) => {
                        self.at(c, m);
                        ok = false;
                        TunnelFlags::NOCSUM
                    }
                }
            }
        };
        ok.then_some(Tunnel { kind, port, flags })
    }
}

#[cfg(test)]
mod tests {
    use ipvs_netlink::{ForwardMethod, Tunnel, TunnelFlags, TunnelType};

    /// One virtual server with `vs` keys and one real server with `rs`
    /// keys: its forwarding methods (virtual, real, sorry), or the errors.
    fn load(vs: &str, rs: &str) -> Result<(ForwardMethod, ForwardMethod, ForwardMethod), String> {
        let text = format!(
            "[[virtual_server]]\naddress = \"192.0.2.1\"\nport = 80\n{vs}\n\
             [[virtual_server.real_server]]\naddress = \"10.0.0.1\"\n{rs}\n"
        );
        let c = crate::config::load_str(&text, "t.toml").map_err(|e| e.to_string())?;
        let v = &c.lvs.virtual_servers[0];
        Ok((v.forward, v.real_servers[0].forward, v.sorry_forward))
    }

    fn tun(kind: TunnelType, port: u16, flags: TunnelFlags) -> ForwardMethod {
        ForwardMethod::Tunnel(Tunnel { kind, port, flags })
    }

    #[test]
    fn real_servers_inherit_or_override_the_virtual_server_s_method() {
        let gue = tun(TunnelType::Gue, 6080, TunnelFlags::REMCSUM);
        assert_eq!(
            load(
                "lb_kind = \"TUN\"\ntunnel = { type = \"gue\", port = 6080, checksum = \"remcsum\" }",
                ""
            ),
            Ok((gue, gue, gue))
        );
        let gre = tun(TunnelType::Gre, 0, TunnelFlags::CSUM);
        assert_eq!(
            load(
                "lb_kind = \"DR\"\nsorry_server_lb_kind = \"NAT\"",
                "lb_kind = \"TUN\"\ntunnel = { type = \"gre\", checksum = \"csum\" }"
            ),
            Ok((ForwardMethod::Route, gre, ForwardMethod::Masq))
        );
        assert_eq!(
            load("lb_kind = \"tun\"", ""),
            Ok((
                ForwardMethod::Tunnel(Tunnel::IPIP),
                ForwardMethod::Tunnel(Tunnel::IPIP),
                ForwardMethod::Tunnel(Tunnel::IPIP)
            ))
        );
    }

    #[test]
    fn keepalived_s_tunnel_rules_are_errors_with_positions() {
        let err = |vs: &str, rs: &str| load(vs, rs).err().unwrap_or_default();
        let e = err("lb_kind = \"TUN\"\ntunnel = { type = \"gue\" }", "");
        assert!(e.contains("a gue tunnel needs `port`"), "{e}");
        assert!(e.contains("t.toml:5:10"), "{e}");
        let e = err(
            "lb_kind = \"TUN\"\ntunnel = { type = \"gre\", port = 1 }",
            "",
        );
        assert!(e.contains("only a gue tunnel has one"), "{e}");
        let e = err("lb_kind = \"TUN\"\ntunnel = { checksum = \"csum\" }", "");
        assert!(e.contains("an ipip tunnel has no checksum option"), "{e}");
        let e = err(
            "lb_kind = \"TUN\"\ntunnel = { type = \"gre\", checksum = \"remcsum\" }",
            "",
        );
        assert!(e.contains("no remote checksum offload"), "{e}");
        let e = err("", "tunnel = { type = \"gre\" }");
        assert!(e.contains("`tunnel` options need lb_kind = \"TUN\""), "{e}");
        let e = err("lb_kind = \"TUN\"\ntunnel = { type = \"vxlan\" }", "");
        assert!(e.contains("ipip, gue or gre"), "{e}");
        let e = err("lb_kind = \"DR\"", "port = 8080");
        assert!(
            e.contains("receives the virtual port 80: give port 80 or none"),
            "{e}"
        );
        let e = err("lb_kind = \"TUN\"\nsorry_server = \"10.0.0.9:81\"", "");
        assert!(
            e.contains("the sorry server receives the virtual port 80"),
            "{e}"
        );
        assert!(load("lb_kind = \"DR\"", "port = 80\nlb_kind = \"NAT\"").is_ok());
        assert!(load("", "port = 8080").is_ok(), "NAT translates the port");
        let e = err("sorry_server_lb_kind = \"FNAT\"", "");
        assert!(
            e.contains("sorry_server_lb_kind must be NAT, DR or TUN"),
            "{e}"
        );
    }
}
