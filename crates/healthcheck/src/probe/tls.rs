//! The TLS client of HTTPS checks (keepalived's `SSL_GET`).
//!
//! rustls with the `ring` provider, TLS 1.2 and 1.3. What it does follows
//! keepalived's checker:
//!
//! * The server's certificate is **not verified**: keepalived never asks
//!   OpenSSL to (no `SSL_CTX_set_verify`, so `SSL_VERIFY_NONE`), and the
//!   check is about the service answering, not about its identity; real
//!   servers are often reached by address with self-signed or expired
//!   certificates. The handshake's signatures are still verified with the
//!   certificate's key, as OpenSSL does without verification, so a server
//!   that does not hold the key of the certificate it sends fails.
//! * SNI is sent only when a name is given (keepalived's `enable_sni` /
//!   `sni_name`); otherwise the client hello names no server.
//! * No session resumption: every check is a full handshake, as
//!   keepalived's (a new `SSL` object each time, no client session cache),
//!   so a server that can no longer complete one fails its check.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use rustls::client::Resumption;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, DnsName, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

/// Accepts any certificate chain; checks the handshake signatures.
#[derive(Debug)]
struct AnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // INTEROP: keepalived's SSL_GET does not verify the certificate
        // (OpenSSL's default SSL_VERIFY_NONE); neither do we.
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

fn build_config() -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AnyCertificate(provider.signature_verification_algorithms));
    let mut config =
        ClientConfig::builder_with_provider(Arc::clone(&provider) as Arc<CryptoProvider>)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
    config.resumption = Resumption::disabled();
    // SNI goes out only for a DNS name; checks without one connect with
    // the server's address as its name, which rustls never sends.
    config.enable_sni = true;
    Ok(Arc::new(config))
}

/// The configuration shared by every HTTPS check of the process.
fn config() -> Result<Arc<ClientConfig>, rustls::Error> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if let Some(c) = CONFIG.get() {
        return Ok(Arc::clone(c));
    }
    let c = build_config()?;
    Ok(Arc::clone(CONFIG.get_or_init(|| c)))
}

/// A client session to the server at `addr`, sending `sni` in the client
/// hello when given.
pub(crate) fn connect(sni: Option<&str>, addr: IpAddr) -> Result<ClientConnection, rustls::Error> {
    let name = match sni {
        Some(s) => ServerName::DnsName(
            DnsName::try_from(s.to_owned())
                .map_err(|_| rustls::Error::General(format!("{s:?} is not a DNS name")))?,
        ),
        None => ServerName::IpAddress(addr.into()),
    };
    ClientConnection::new(config()?, name)
}

/// Whether `name` can be sent as SNI: a DNS name (RFC 6066 §3), not an
/// address.
pub(crate) fn is_dns_name(name: &str) -> bool {
    DnsName::try_from(name).is_ok() && name.parse::<IpAddr>().is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sni_names() {
        assert!(is_dns_name("www.example.com"));
        assert!(is_dns_name("localhost"));
        assert!(!is_dns_name("10.0.0.1"));
        assert!(!is_dns_name("::1"));
        assert!(!is_dns_name("www.example.com:443"));
        assert!(!is_dns_name(""));
        assert!(!is_dns_name("a b"));
    }

    #[test]
    fn config_builds_once() {
        let a = config().unwrap();
        let b = config().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(connect(Some("example.com"), IpAddr::from([127, 0, 0, 1])).is_ok());
        assert!(connect(Some("1.2.3.4:5"), IpAddr::from([127, 0, 0, 1])).is_err());
    }
}
