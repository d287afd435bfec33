//! The stand-in's own connection to the real PostgreSQL behind it: TLS verified against the local
//! server's CA, the client's startup parameters, and SCRAM-SHA-256 with the password the client gave
//! in cleartext.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use aep_diesel::Password;
use openssl::ssl::{SslConnector, SslStream};

use super::scram::Scram;
use super::wire::{Body, Conn, Fields, Msg, PROTOCOL_3, SSL_REQUEST, error_field};

/// Why the upstream connection failed.
pub(crate) enum UpError {
    /// The password (or the role) was refused.
    Auth,
    /// The server refused the session after authentication (unknown database, …); the ErrorResponse.
    Server(Vec<u8>),
    /// Network, TLS or protocol trouble; the text never holds the password.
    Other(String),
}

impl From<io::Error> for UpError {
    fn from(e: io::Error) -> Self {
        UpError::Other(e.to_string())
    }
}

/// An authenticated upstream session, ready for queries.
pub(crate) struct Upstream {
    pub conn: Conn<SslStream<TcpStream>>,
    /// The plain socket under the TLS stream, kept to cut the session when the stand-in stops.
    pub socket: TcpStream,
    /// ParameterStatus values, in the order the server sent them.
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
    /// The server's BackendKeyData (process id, secret), for forwarding cancel requests.
    pub key: (i32, i32),
    pub status: u8,
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connect to `127.0.0.1:port` and authenticate with `params` (startup parameters, already filtered)
/// and `password`.
pub(crate) fn connect(
    port: u16,
    connector: &SslConnector,
    params: &[(Vec<u8>, Vec<u8>)],
    password: &Password,
) -> Result<Upstream, UpError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let tcp = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
    tcp.set_nodelay(true)?;
    let socket = tcp.try_clone()?;
    // Bound the handshake so a wedged server cannot hold the client forever; lifted afterwards.
    tcp.set_read_timeout(Some(CONNECT_TIMEOUT))?;
    let mut plain = Conn::new(tcp);
    plain.send_raw(&Body::new().i32(8).i32(SSL_REQUEST).done())?;
    plain.flush()?;
    if plain.read_byte()? != b'S' {
        return Err(UpError::Other("the upstream server refused TLS".into()));
    }
    let tcp = plain.into_inner();
    let tls = connector
        .connect("localhost", tcp)
        .map_err(|e| UpError::Other(format!("upstream TLS handshake: {e}")))?;
    let mut conn = Conn::new(tls);

    let mut startup = Body::new().i32(PROTOCOL_3);
    for (k, v) in params {
        startup = startup.cstr(k).cstr(v);
    }
    let startup = startup.u8(0).done();
    conn.send_raw(&(startup.len() as i32 + 4).to_be_bytes())?;
    conn.send_raw(&startup)?;
    conn.flush()?;

    let mut scram: Option<Scram> = None;
    loop {
        let m = conn.read_message()?;
        match m.tag {
            b'R' => {
                let mut f = Fields::new(&m.body);
                match f.i32()? {
                    0 => break,
                    3 => {
                        conn.send(b'p', &Body::new().cstr(password.expose().as_bytes()).done())?;
                        conn.flush()?;
                    }
                    10 => {
                        let mut offered = false;
                        while let Ok(mech) = f.cstr() {
                            if mech.is_empty() {
                                break;
                            }
                            offered |= mech == b"SCRAM-SHA-256";
                        }
                        if !offered {
                            return Err(UpError::Other(
                                "the upstream server does not offer SCRAM-SHA-256".into(),
                            ));
                        }
                        let s = Scram::new();
                        let first = s.client_first();
                        conn.send(
                            b'p',
                            &Body::new()
                                .cstr(b"SCRAM-SHA-256")
                                .i32(first.len() as i32)
                                .bytes(first.as_bytes())
                                .done(),
                        )?;
                        conn.flush()?;
                        scram = Some(s);
                    }
                    11 => {
                        let s = scram
                            .as_mut()
                            .ok_or_else(|| UpError::Other("SCRAM continue without start".into()))?;
                        let server_first = String::from_utf8_lossy(f.rest()).into_owned();
                        let fin = s
                            .client_final(&server_first, password.expose().as_bytes())
                            .map_err(|e| UpError::Other(format!("SCRAM: {}", e.0)))?;
                        conn.send(b'p', fin.as_bytes())?;
                        conn.flush()?;
                    }
                    12 => {
                        let s = scram
                            .as_ref()
                            .ok_or_else(|| UpError::Other("SCRAM final without start".into()))?;
                        s.verify_server(&String::from_utf8_lossy(f.rest()))
                            .map_err(|e| UpError::Other(format!("SCRAM: {}", e.0)))?;
                    }
                    other => {
                        return Err(UpError::Other(format!(
                            "unsupported upstream authentication request {other}"
                        )));
                    }
                }
            }
            b'E' => {
                return Err(match error_field(&m.body, b'C') {
                    Some(b"28P01") | Some(b"28000") => UpError::Auth,
                    _ => UpError::Server(m.body),
                });
            }
            b'N' | b'v' => {}
            other => {
                return Err(UpError::Other(format!(
                    "unexpected upstream message {:?} during authentication",
                    other as char
                )));
            }
        }
    }

    let mut up = Upstream {
        conn,
        socket,
        params: Vec::new(),
        key: (0, 0),
        status: b'I',
    };
    loop {
        let m: Msg = up.conn.read_message()?;
        match m.tag {
            b'S' => {
                let mut f = Fields::new(&m.body);
                let name = f.cstr()?.to_vec();
                let value = f.cstr()?.to_vec();
                up.params.push((name, value));
            }
            b'K' => {
                let mut f = Fields::new(&m.body);
                up.key = (f.i32()?, f.i32()?);
            }
            b'Z' => {
                up.status = *m.body.first().unwrap_or(&b'I');
                break;
            }
            b'E' => return Err(UpError::Server(m.body)),
            b'N' => {}
            other => {
                return Err(UpError::Other(format!(
                    "unexpected upstream message {:?} after authentication",
                    other as char
                )));
            }
        }
    }
    up.socket.set_read_timeout(None)?;
    Ok(up)
}

/// Send a CancelRequest for `key` to the server, as libpq does: a fresh plaintext connection carrying
/// only the 16-byte request (PostgreSQL accepts it before any TLS or authentication).
pub(crate) fn cancel(port: u16, key: (i32, i32)) -> io::Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut conn = Conn::new(TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?);
    conn.send_raw(
        &Body::new()
            .i32(16)
            .i32(super::wire::CANCEL_REQUEST)
            .i32(key.0)
            .i32(key.1)
            .done(),
    )?;
    conn.flush()
}
