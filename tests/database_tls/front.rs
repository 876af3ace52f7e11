//! A TLS endpoint of the test's own in front of the machine's PostgreSQL or MariaDB (whose own
//! TLS set-up is shared and left alone): it listens on an address of this machine, speaks each
//! database's way of starting TLS to the console, ends TLS with a certificate the test made
//! (rcgen), and relays the rest to the real server in the clear. So verified, unverified,
//! wrong-host and private-CA connections are real handshakes before real logins.

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, copy_bidirectional};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// How the front answers a client that asks for TLS.
#[derive(Clone)]
pub enum Offer {
    /// Ends TLS with this certificate.
    Tls(TlsAcceptor),
    /// Says it has no TLS (PostgreSQL answers `N`; MySQL's greeting lacks the SSL flag).
    NoTls,
    /// Passes every byte through: the real server answers for itself.
    Relay,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Postgres,
    Mysql,
}

/// A running front; stops when dropped.
pub struct Front {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Front {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Front {
    /// Listens on `ip` (port chosen by the system) in front of `upstream`.
    pub async fn start(wire: Wire, offer: Offer, ip: IpAddr, upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind((ip, 0))
            .await
            .unwrap_or_else(|e| panic!("bind {ip}:0 for the TLS front: {e}"));
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let offer = offer.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = match wire {
                        Wire::Postgres => postgres(client, server, offer).await,
                        Wire::Mysql => mysql(client, server, offer).await,
                    };
                });
            }
        });
        Self { addr, task }
    }

    pub fn host(&self) -> String {
        self.addr.ip().to_string()
    }
}

/// PostgreSQL: the client's first 8 bytes are an SSLRequest when it wants TLS; the answer is one
/// byte, `S` (then the TLS handshake) or `N`. The startup message follows, which the real
/// server takes in the clear.
async fn postgres(
    mut client: TcpStream,
    mut server: TcpStream,
    offer: Offer,
) -> std::io::Result<()> {
    const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    if matches!(offer, Offer::Relay) {
        copy_bidirectional(&mut client, &mut server).await?;
        return Ok(());
    }
    let mut first = [0u8; 8];
    client.read_exact(&mut first).await?;
    if first != SSL_REQUEST {
        server.write_all(&first).await?;
        copy_bidirectional(&mut client, &mut server).await?;
        return Ok(());
    }
    match offer {
        Offer::Tls(acceptor) => {
            client.write_all(b"S").await?;
            let mut tls = acceptor.accept(client).await?;
            copy_bidirectional(&mut tls, &mut server).await?;
        }
        Offer::NoTls | Offer::Relay => {
            client.write_all(b"N").await?;
            copy_bidirectional(&mut client, &mut server).await?;
        }
    }
    Ok(())
}

/// MySQL's SSL capability flag.
const CLIENT_SSL: u32 = 0x0800;

/// MySQL / MariaDB: the server greets first, its capabilities saying whether it has TLS; a
/// client that wants TLS answers with a short SSLRequest packet (sequence 1), shakes hands, and
/// sends its login packet (sequence 2) over TLS. The real server saw no SSLRequest, so the login
/// goes to it as sequence 1 without the SSL flag; the sequence numbers after it agree again.
async fn mysql(mut client: TcpStream, mut server: TcpStream, offer: Offer) -> std::io::Result<()> {
    if matches!(offer, Offer::Relay) {
        copy_bidirectional(&mut client, &mut server).await?;
        return Ok(());
    }
    let (seq, mut greeting) = read_packet(&mut server).await?;
    // protocol version, server version (NUL-terminated), thread id (4), scramble (8), filler (1)
    let version_end = greeting[1..]
        .iter()
        .position(|b| *b == 0)
        .map(|p| p + 1)
        .ok_or_else(|| std::io::Error::other("greeting without a server version"))?;
    let at = version_end + 1 + 4 + 8 + 1;
    let mut caps = u16::from_le_bytes([greeting[at], greeting[at + 1]]) as u32;
    match offer {
        Offer::Tls(_) => caps |= CLIENT_SSL,
        _ => caps &= !CLIENT_SSL,
    }
    greeting[at..at + 2].copy_from_slice(&(caps as u16).to_le_bytes());
    write_packet(&mut client, seq, &greeting).await?;
    let Offer::Tls(acceptor) = offer else {
        copy_bidirectional(&mut client, &mut server).await?;
        return Ok(());
    };
    let (seq, packet) = read_packet(&mut client).await?;
    let wants_tls =
        packet.len() >= 4 && u32::from_le_bytes(packet[..4].try_into().unwrap()) & CLIENT_SSL != 0;
    if !wants_tls {
        write_packet(&mut server, seq, &packet).await?;
        copy_bidirectional(&mut client, &mut server).await?;
        return Ok(());
    }
    let mut tls = acceptor.accept(client).await?;
    let (seq, mut login) = read_packet(&mut tls).await?;
    let caps = u32::from_le_bytes(login[..4].try_into().unwrap()) & !CLIENT_SSL;
    login[..4].copy_from_slice(&caps.to_le_bytes());
    write_packet(&mut server, seq.wrapping_sub(1), &login).await?;
    copy_bidirectional(&mut tls, &mut server).await?;
    Ok(())
}

async fn read_packet(r: &mut (impl AsyncRead + Unpin)) -> std::io::Result<(u8, Vec<u8>)> {
    let mut header = [0u8; 4];
    r.read_exact(&mut header).await?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await?;
    Ok((header[3], payload))
}

async fn write_packet(
    w: &mut (impl AsyncWrite + Unpin),
    seq: u8,
    payload: &[u8],
) -> std::io::Result<()> {
    let len = (payload.len() as u32).to_le_bytes();
    w.write_all(&[len[0], len[1], len[2], seq]).await?;
    w.write_all(payload).await?;
    w.flush().await
}

/// An address of this machine other than loopback: the console treats loopback as "the data
/// does not leave the machine", so the TLS defaults and warnings need another one. The system's
/// choice of source address toward an outside address (a UDP "connect" sends nothing).
pub fn this_machines_address() -> IpAddr {
    for probe in [
        "192.0.2.1:9",
        "10.0.0.1:9",
        "172.16.0.1:9",
        "192.168.0.1:9",
        "8.8.8.8:9",
    ] {
        let Ok(socket) = std::net::UdpSocket::bind("0.0.0.0:0") else {
            continue;
        };
        if socket.connect(probe).is_err() {
            continue;
        }
        if let Ok(local) = socket.local_addr()
            && !local.ip().is_loopback()
            && !local.ip().is_unspecified()
        {
            return local.ip();
        }
    }
    panic!(
        "these TLS tests need an IPv4 address of this machine other than loopback (the console \
         judges TLS differently for a server on this machine), and none was found"
    )
}

/// A private CA: its certificate in a PEM file (what `database.sslRootCert` names) and the
/// server certificates it signs.
pub struct PrivateCa {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
    pub pem_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl PrivateCa {
    pub fn new() -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Clinic test CA");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        let issuer = rcgen::CertifiedIssuer::self_signed(params, key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let pem_path = dir.path().join("clinic-ca.pem");
        std::fs::write(&pem_path, issuer.pem()).unwrap();
        Self {
            issuer,
            pem_path,
            _dir: dir,
        }
    }

    pub fn pem_path(&self) -> String {
        self.pem_path.to_string_lossy().into_owned()
    }

    /// A server certificate for `names` (host names or IP addresses), signed by this CA.
    pub fn server(&self, names: &[&str]) -> Offer {
        let params = server_params(names);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &*self.issuer).unwrap();
        offer(cert.der().clone(), &key)
    }
}

/// A self-signed server certificate for `names`: encrypts, but nothing vouches for it.
pub fn self_signed(names: &[&str]) -> Offer {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = server_params(names).self_signed(&key).unwrap();
    offer(cert.der().clone(), &key)
}

fn server_params(names: &[&str]) -> rcgen::CertificateParams {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "clinic database");
    params
}

fn offer(cert: CertificateDer<'static>, key: &rcgen::KeyPair) -> Offer {
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap();
    Offer::Tls(TlsAcceptor::from(Arc::new(config)))
}
