//! TLS in front of the collector for tests: certificates made here (a CA,
//! a server certificate for `localhost` and 127.0.0.1, a client
//! certificate), and the TLS terminators of Debian's packages on free
//! loopback ports: stunnel for OTLP/HTTP, haproxy (`mode tcp`, `alpn h2`) for
//! OTLP/gRPC, since stunnel negotiates no ALPN and tonic requires h2.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

use traced_peers::target_dir;

/// PEM files of one test's public key infrastructure.
#[derive(Debug)]
pub struct Certificates {
    /// The CA that signed the server and client certificates.
    pub ca: PathBuf,
    /// The server's certificate chain.
    pub server_certificate: PathBuf,
    /// The server's private key.
    pub server_key: PathBuf,
    /// Certificate and key in one file, as haproxy wants them.
    pub server_combined: PathBuf,
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
            server_combined: write(
                "server-combined.pem",
                &format!("{}{}", server_certificate.pem(), server_key.serialize_pem()),
            ),
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

/// A TLS terminator in front of a plain-TCP port; killed (by pid) when
/// dropped.
#[derive(Debug)]
pub struct Terminator {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Terminator {
    /// stunnel on a free port, forwarding to `backend_port` (OTLP/HTTP).
    pub fn stunnel(
        certificates: &Certificates,
        client_auth: ClientAuth,
        backend_port: u16,
    ) -> Self {
        let port = free_port();
        let dir = certificates.ca.parent().expect("the certificate directory");
        let mut config = format!(
            "foreground = yes\npid =\n[otlp-http]\naccept = 127.0.0.1:{port}\nconnect = \
             127.0.0.1:{backend_port}\ncert = {}\nkey = {}\n",
            certificates.server_certificate.display(),
            certificates.server_key.display()
        );
        if client_auth == ClientAuth::Required {
            config.push_str(&format!(
                "CAfile = {}\nverifyChain = yes\n",
                certificates.ca.display()
            ));
        }
        let path = dir.join(format!("stunnel-{port}.conf"));
        std::fs::write(&path, config).expect("writing the stunnel configuration");
        Terminator::start(Command::new("stunnel").arg(&path), port, dir)
    }

    /// haproxy in `mode tcp` with ALPN h2 on a free port, forwarding to
    /// `backend_port` (OTLP/gRPC).
    pub fn haproxy(
        certificates: &Certificates,
        client_auth: ClientAuth,
        backend_port: u16,
    ) -> Self {
        let port = free_port();
        let dir = certificates.ca.parent().expect("the certificate directory");
        let verify = match client_auth {
            ClientAuth::None => String::new(),
            ClientAuth::Required => {
                format!(" ca-file {} verify required", certificates.ca.display())
            }
        };
        let config = format!(
            "global\n    maxconn 256\ndefaults\n    mode tcp\n    timeout connect 5s\n    \
             timeout client 60s\n    timeout server 60s\nfrontend otlp_grpc\n    bind \
             127.0.0.1:{port} ssl crt {} alpn h2{verify}\n    default_backend rotel\nbackend \
             rotel\n    server rotel 127.0.0.1:{backend_port}\n",
            certificates.server_combined.display()
        );
        let path = dir.join(format!("haproxy-{port}.cfg"));
        std::fs::write(&path, config).expect("writing the haproxy configuration");
        Terminator::start(
            Command::new("haproxy").arg("-db").arg("-f").arg(&path),
            port,
            dir,
        )
    }

    fn start(command: &mut Command, port: u16, dir: &Path) -> Self {
        let log = dir.join(format!("terminator-{port}.log"));
        let file = std::fs::File::create(&log).expect("creating the terminator log");
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("sharing the log"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|error| {
                panic!("starting {command:?} ({error}); install it with: apt-get install -y stunnel4 haproxy")
            });
        let mut terminator = Terminator { child, port, log };
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = terminator.child.try_wait() {
                panic!("{command:?} exited ({status}):\n{}", terminator.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "{command:?} did not listen on {address}:\n{}",
                terminator.log_text()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        terminator
    }

    /// `https://localhost:PORT`.
    pub fn endpoint(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    /// What the terminator logged.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Terminator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("finding a free loopback port")
}
