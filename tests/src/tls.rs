//! TLS in front of the collector for tests: certificates made here (a CA,
//! a server certificate for `localhost` and 127.0.0.1, a client
//! certificate), and a TLS terminator on a free loopback port:
//! `peers/tls_terminator.py`, Python's own `ssl` module, so the tests need
//! nothing but Python 3. It negotiates ALPN `h2` in front of OTLP/gRPC
//! (tonic requires it) and `http/1.1` in front of OTLP/HTTP.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

use traced_peers::{peers_venv, target_dir};

/// PEM files of one test's public key infrastructure.
#[derive(Debug)]
pub struct Certificates {
    /// The CA that signed the server and client certificates.
    pub ca: PathBuf,
    /// The server's certificate chain.
    pub server_certificate: PathBuf,
    /// The server's private key.
    pub server_key: PathBuf,
    /// A client certificate signed by the CA.
    pub client_certificate: PathBuf,
    /// Its private key.
    pub client_key: PathBuf,
    /// Another CA, which signed nothing here.
    pub other_ca: PathBuf,
}

impl Certificates {
    /// Makes a CA, server and client certificates, and an unrelated CA, in a
    /// fresh directory under the target directory.
    pub fn generate() -> Certificates {
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let dir = target_dir().join("tls").join(format!(
            "{}-{}",
            std::process::id(),
            MADE.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("creating the certificate directory");
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("writing a certificate");
            path
        };
        let ca = ca("traced test CA");
        let server_key = KeyPair::generate().expect("a server key");
        let mut server = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        server
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        server
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_certificate = server
            .signed_by(&server_key, &ca)
            .expect("signing the server certificate");
        let client_key = KeyPair::generate().expect("a client key");
        let mut client = CertificateParams::new(Vec::<String>::new()).expect("params");
        client
            .distinguished_name
            .push(DnType::CommonName, "traced test client");
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_certificate = client
            .signed_by(&client_key, &ca)
            .expect("signing the client certificate");
        let other = self::ca("some other CA");
        Certificates {
            ca: write("ca.pem", &ca.pem()),
            server_certificate: write("server.pem", &server_certificate.pem()),
            server_key: write("server.key", &server_key.serialize_pem()),
            client_certificate: write("client.pem", &client_certificate.pem()),
            client_key: write("client.key", &client_key.serialize_pem()),
            other_ca: write("other-ca.pem", &other.pem()),
        }
    }
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("a CA key"))
        .expect("a self-signed CA")
}

/// Whether the terminator asks the client for a certificate signed by the CA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// Server-only TLS.
    None,
    /// Mutual TLS.
    Required,
}

/// A TLS terminator in front of a plain-TCP port on 127.0.0.1; stopped
/// (stdin closed, then killed by pid) when dropped.
#[derive(Debug)]
pub struct Terminator {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    log: PathBuf,
}

impl Terminator {
    /// In front of an OTLP/HTTP port: ALPN `http/1.1`.
    pub fn http(certificates: &Certificates, client_auth: ClientAuth, backend_port: u16) -> Self {
        Terminator::start(certificates, client_auth, backend_port, "http/1.1")
    }

    /// In front of an OTLP/gRPC port: ALPN `h2`, which tonic requires.
    pub fn grpc(certificates: &Certificates, client_auth: ClientAuth, backend_port: u16) -> Self {
        Terminator::start(certificates, client_auth, backend_port, "h2")
    }

    fn start(
        certificates: &Certificates,
        client_auth: ClientAuth,
        backend_port: u16,
        alpn: &str,
    ) -> Self {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let dir = certificates.ca.parent().expect("the certificate directory");
        let log = dir.join(format!(
            "terminator-{backend_port}-{}.log",
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/tls_terminator.py");
        let mut command = Command::new(peers_venv().join("bin/python"));
        command
            .arg("-B")
            .arg(&script)
            .arg("--cert")
            .arg(&certificates.server_certificate)
            .arg("--key")
            .arg(&certificates.server_key)
            .arg("--backend")
            .arg(backend_port.to_string())
            .args(["--alpn", alpn]);
        if client_auth == ClientAuth::Required {
            command.arg("--client-ca").arg(&certificates.ca);
        }
        let file = std::fs::File::create(&log).expect("creating the terminator log");
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|error| panic!("starting {command:?}: {error}"));
        let stdin = child.stdin.take();
        let mut first_line = String::new();
        let _ =
            BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut first_line);
        let announced = first_line.trim().parse::<u16>().ok();
        // Built before the check, so that a failed start is stopped too.
        let terminator = Terminator {
            child,
            stdin,
            port: announced.unwrap_or_default(),
            log,
        };
        assert!(
            announced.is_some(),
            "{command:?} announced no port ({first_line:?}):\n{}",
            terminator.log_text()
        );
        terminator
    }

    /// `https://localhost:PORT`.
    pub fn endpoint(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    /// What the terminator logged: one line per accepted connection, with
    /// the ALPN protocol chosen and the client certificate's common name.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Terminator {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
