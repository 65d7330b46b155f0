//! Advice printed with an exporter's first failure, chosen by what went
//! wrong: a port that is the other protocol's, or a certificate refused on
//! either side, named with the variable and the file in use.

#![cfg_attr(not(feature = "otlp"), allow(dead_code))]

use super::otlp::{OtlpSettings, Tls, protocol_hint};

/// The advice for one exporter's failures, worked out once from its
/// settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FailureHints {
    /// When the port is the other protocol's well-known one.
    protocol: Option<String>,
    /// When the collector's certificate was refused here.
    server_certificate: String,
    /// When the collector asked for a client certificate and got none.
    client_certificate_wanted: String,
    /// When the collector refused the client certificate sent.
    client_certificate_refused: Option<String>,
}

/// What rustls says of a collector certificate it did not trust.
const REFUSED_HERE: &str = "invalid peer certificate";
/// The TLS alerts a collector sends for a missing or refused client
/// certificate, as rustls names them.
const WANTED: &str = "CertificateRequired";
const REFUSED_THERE: &[&str] = &[
    "BadCertificate",
    "UnknownCA",
    "CertificateUnknown",
    "UnsupportedCertificate",
    "CertificateExpired",
    "CertificateRevoked",
];

impl FailureHints {
    pub(crate) fn new(settings: &OtlpSettings) -> FailureHints {
        let Tls {
            ca_certificate,
            client_identity,
        } = &settings.tls;
        let server_certificate = match ca_certificate {
            Some(ca) => format!(
                "the collector's certificate was checked against {} only, the CA that {} names",
                ca.path.display(),
                ca.variable
            ),
            None => "the collector's certificate was checked against the system's roots and \
                     Mozilla's: for a private CA, set OTEL_EXPORTER_OTLP_CERTIFICATE (or \
                     Config::otlp_certificate) to its PEM file"
                .to_owned(),
        };
        FailureHints {
            protocol: protocol_hint(settings),
            server_certificate,
            client_certificate_wanted: "the collector asks for a client certificate: set \
                                        OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and \
                                        OTEL_EXPORTER_OTLP_CLIENT_KEY (or \
                                        Config::otlp_client_certificate)"
                .to_owned(),
            client_certificate_refused: client_identity.as_ref().map(|(certificate, _)| {
                format!(
                    "the collector refused the client certificate {}, which {} names",
                    certificate.path.display(),
                    certificate.variable
                )
            }),
        }
    }

    /// The advice for a failure that said `error`, if any.
    pub(crate) fn for_error(&self, error: &str) -> Option<&str> {
        if error.contains(REFUSED_HERE) {
            Some(&self.server_certificate)
        } else if error.contains(WANTED) {
            Some(&self.client_certificate_wanted)
        } else if REFUSED_THERE.iter().any(|alert| error.contains(alert)) {
            self.client_certificate_refused
                .as_deref()
                .or(Some(&self.client_certificate_wanted))
        } else {
            self.protocol.as_deref()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::otlp::{self, OtlpOverrides, Signal};
    use crate::config::{Env, Protocol};

    fn settings(endpoint: &str, protocol: Protocol) -> OtlpSettings {
        otlp::resolve(
            OtlpOverrides {
                endpoint: Some(endpoint.to_owned()),
                protocol: Some(protocol),
                ..OtlpOverrides::default()
            },
            &Env::fixed(&[]),
            Signal::Traces,
        )
    }

    #[test]
    fn a_refused_certificate_names_the_roots_or_the_file_and_its_variable() {
        let mut https = settings("https://collector:4317", Protocol::Grpc);
        let unknown = "Operation failed: transport error: invalid peer certificate: UnknownIssuer";
        let hint = FailureHints::new(&https)
            .for_error(unknown)
            .unwrap()
            .to_owned();
        assert!(
            hint.contains("system's roots") && hint.contains("OTEL_EXPORTER_OTLP_CERTIFICATE"),
            "{hint}"
        );
        https.tls.ca_certificate = Some(otlp::Pem {
            path: "/etc/otel/ca.pem".into(),
            variable: "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
            bytes: Vec::new(),
        });
        assert_eq!(
            FailureHints::new(&https).for_error(unknown),
            Some(
                "the collector's certificate was checked against /etc/otel/ca.pem only, the CA \
                 that OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE names"
            )
        );
        let wanted = "received fatal alert: CertificateRequired";
        assert!(
            FailureHints::new(&https)
                .for_error(wanted)
                .unwrap()
                .contains("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE")
        );
        https.tls.client_identity = Some((
            otlp::Pem {
                path: "/etc/otel/client.pem".into(),
                variable: "Config::otlp_client_certificate",
                bytes: Vec::new(),
            },
            otlp::Pem {
                path: "/etc/otel/client.key".into(),
                variable: "Config::otlp_client_certificate",
                bytes: Vec::new(),
            },
        ));
        assert_eq!(
            FailureHints::new(&https).for_error("received fatal alert: UnknownCA"),
            Some(
                "the collector refused the client certificate /etc/otel/client.pem, which \
                 Config::otlp_client_certificate names"
            )
        );
    }

    #[test]
    fn other_failures_get_the_port_hint_or_none() {
        let grpc_to_http = settings("http://collector:4318", Protocol::Grpc);
        let hints = FailureHints::new(&grpc_to_http);
        assert!(
            hints
                .for_error("connection refused")
                .unwrap()
                .contains("4317")
        );
        let fine = settings("http://collector:4317", Protocol::Grpc);
        assert_eq!(
            FailureHints::new(&fine).for_error("connection refused"),
            None
        );
    }
}
