//! PostgreSQL protocol v3 framing: buffered reading and writing of messages, and the few message bodies
//! the stand-in builds or takes apart itself.
//!
//! Own buffering (instead of `BufReader`/`BufWriter`) because one TLS stream is both read and written
//! by the same session thread, and because the relay has to know whether a whole message is already
//! buffered before it blocks on a socket (see [`Conn::has_message`]).

use std::io::{self, Read, Write};
use std::net::TcpStream;

/// Largest message accepted from either side; PostgreSQL itself allows up to 1 GB for data, but the
/// stand-in only serves tests, where anything this big is a framing bug.
const MAX_MESSAGE: usize = 256 << 20;
/// Output is pushed to the socket once this much is pending, so big result sets stream.
const FLUSH_AT: usize = 64 << 10;

/// SSLRequest, GSSENCRequest, CancelRequest and protocol 3.0 codes of untyped startup packets.
pub(crate) const SSL_REQUEST: i32 = 80_877_103;
pub(crate) const GSSENC_REQUEST: i32 = 80_877_104;
pub(crate) const CANCEL_REQUEST: i32 = 80_877_102;
pub(crate) const PROTOCOL_3: i32 = 3 << 16;

/// One typed protocol message: its tag byte and body (without the length word).
#[derive(Clone)]
pub(crate) struct Msg {
    pub tag: u8,
    pub body: Vec<u8>,
}

impl Msg {
    pub(crate) fn new(tag: u8, body: Vec<u8>) -> Msg {
        Msg { tag, body }
    }
}

/// The client's socket before and after TLS, so one buffered reader serves the whole session.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<openssl::ssl::SslStream<TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// A buffered protocol connection.
pub(crate) struct Conn<S> {
    stream: S,
    rbuf: Vec<u8>,
    rpos: usize,
    wbuf: Vec<u8>,
}

impl<S: Read + Write> Conn<S> {
    pub(crate) fn new(stream: S) -> Self {
        Conn {
            stream,
            rbuf: Vec::with_capacity(FLUSH_AT),
            rpos: 0,
            wbuf: Vec::with_capacity(FLUSH_AT),
        }
    }

    /// Whether unread bytes are buffered. After an SSLRequest there must be none: bytes sent before the
    /// TLS handshake would otherwise be taken as if they had come through TLS.
    pub(crate) fn has_buffered_input(&self) -> bool {
        self.rpos < self.rbuf.len()
    }

    /// Whether a whole typed message is already buffered, i.e. reading one will not block.
    pub(crate) fn has_message(&self) -> bool {
        let avail = &self.rbuf[self.rpos..];
        avail.len() >= 5 && {
            let len = i32::from_be_bytes([avail[1], avail[2], avail[3], avail[4]]);
            len >= 4 && avail.len() > len as usize
        }
    }

    pub(crate) fn into_inner(self) -> S {
        self.stream
    }

    fn fill(&mut self, need: usize) -> io::Result<()> {
        while self.rbuf.len() - self.rpos < need {
            if self.rpos > 0 && self.rpos * 2 >= self.rbuf.len() {
                self.rbuf.drain(..self.rpos);
                self.rpos = 0;
            }
            let start = self.rbuf.len();
            let want = (need - (start - self.rpos)).max(FLUSH_AT);
            self.rbuf.resize(start + want, 0);
            let n = match self.stream.read(&mut self.rbuf[start..]) {
                Ok(n) => n,
                Err(e) => {
                    self.rbuf.truncate(start);
                    return Err(e);
                }
            };
            self.rbuf.truncate(start + n);
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "peer closed the connection",
                ));
            }
        }
        Ok(())
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        let out = self.rbuf[self.rpos..self.rpos + n].to_vec();
        self.rpos += n;
        out
    }

    /// An untyped startup packet (length word, then body); returns the body.
    pub(crate) fn read_startup(&mut self) -> io::Result<Vec<u8>> {
        self.fill(4)?;
        let len = i32::from_be_bytes(
            self.rbuf[self.rpos..self.rpos + 4]
                .try_into()
                .expect("4 bytes"),
        );
        // PostgreSQL's own bound for startup packets.
        if !(8..=10_000).contains(&len) {
            return Err(invalid("invalid startup packet length"));
        }
        self.fill(len as usize)?;
        self.rpos += 4;
        Ok(self.take(len as usize - 4))
    }

    /// One typed message.
    pub(crate) fn read_message(&mut self) -> io::Result<Msg> {
        self.fill(5)?;
        let tag = self.rbuf[self.rpos];
        let len = i32::from_be_bytes(
            self.rbuf[self.rpos + 1..self.rpos + 5]
                .try_into()
                .expect("4 bytes"),
        );
        if len < 4 || len as usize > MAX_MESSAGE {
            return Err(invalid("invalid message length"));
        }
        self.fill(1 + len as usize)?;
        self.rpos += 5;
        let body = self.take(len as usize - 4);
        Ok(Msg { tag, body })
    }

    /// Queue a typed message; pushed out by [`Conn::flush`] or once enough is pending.
    pub(crate) fn send(&mut self, tag: u8, body: &[u8]) -> io::Result<()> {
        self.wbuf.push(tag);
        self.wbuf
            .extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
        self.wbuf.extend_from_slice(body);
        if self.wbuf.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    pub(crate) fn send_msg(&mut self, m: &Msg) -> io::Result<()> {
        self.send(m.tag, &m.body)
    }

    /// Queue raw bytes (untyped startup packets, the one-byte SSL answers).
    pub(crate) fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.wbuf.extend_from_slice(bytes);
        Ok(())
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        if !self.wbuf.is_empty() {
            self.stream.write_all(&self.wbuf)?;
            self.wbuf.clear();
        }
        self.stream.flush()
    }

    /// Read exactly one byte (the answer to an SSLRequest).
    pub(crate) fn read_byte(&mut self) -> io::Result<u8> {
        self.fill(1)?;
        self.rpos += 1;
        Ok(self.rbuf[self.rpos - 1])
    }
}

pub(crate) fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// Builds message bodies.
#[derive(Default)]
pub(crate) struct Body(pub Vec<u8>);

impl Body {
    pub(crate) fn new() -> Self {
        Body(Vec::new())
    }
    pub(crate) fn i16(mut self, v: i16) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn i32(mut self, v: i32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn bytes(mut self, v: &[u8]) -> Self {
        self.0.extend_from_slice(v);
        self
    }
    /// A NUL-terminated string.
    pub(crate) fn cstr(mut self, v: &[u8]) -> Self {
        self.0.extend_from_slice(v);
        self.0.push(0);
        self
    }
    pub(crate) fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    pub(crate) fn done(self) -> Vec<u8> {
        self.0
    }
}

/// Reads message bodies; every accessor fails on truncated input instead of panicking, since bodies
/// come from the network.
pub(crate) struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Fields { buf, pos: 0 }
    }
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }
    pub(crate) fn u8(&mut self) -> io::Result<u8> {
        let v = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| invalid("truncated message"))?;
        self.pos += 1;
        Ok(v)
    }
    pub(crate) fn i16(&mut self) -> io::Result<i16> {
        let b = self.bytes(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }
    pub(crate) fn i32(&mut self) -> io::Result<i32> {
        let b = self.bytes(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(crate) fn bytes(&mut self, n: usize) -> io::Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| invalid("bad length"))?;
        let v = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| invalid("truncated message"))?;
        self.pos = end;
        Ok(v)
    }
    /// A NUL-terminated string (without the NUL).
    pub(crate) fn cstr(&mut self) -> io::Result<&'a [u8]> {
        let rest = &self.buf[self.pos.min(self.buf.len())..];
        let n = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| invalid("unterminated string"))?;
        self.pos += n + 1;
        Ok(&rest[..n])
    }
    /// A length-prefixed value (`-1` = NULL).
    pub(crate) fn value(&mut self) -> io::Result<Option<&'a [u8]>> {
        let len = self.i32()?;
        if len < 0 {
            Ok(None)
        } else {
            self.bytes(len as usize).map(Some)
        }
    }
}

/// Severity of an ErrorResponse the stand-in makes itself.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Severity {
    Error,
    Fatal,
}

/// An ErrorResponse body with severity, SQLSTATE and message only: what is documented of Query
/// Service's errors, and no PostgreSQL-internal fields (file, line, routine) that would betray the
/// stand-in.
pub(crate) fn error_body(severity: Severity, code: &str, message: &str) -> Vec<u8> {
    let sev: &[u8] = match severity {
        Severity::Error => b"ERROR",
        Severity::Fatal => b"FATAL",
    };
    Body::new()
        .u8(b'S')
        .cstr(sev)
        .u8(b'V')
        .cstr(sev)
        .u8(b'C')
        .cstr(code.as_bytes())
        .u8(b'M')
        .cstr(message.as_bytes())
        .u8(0)
        .done()
}

/// One field of an ErrorResponse/NoticeResponse body (`C` = SQLSTATE, `M` = message).
pub(crate) fn error_field(body: &[u8], field: u8) -> Option<&[u8]> {
    let mut f = Fields::new(body);
    loop {
        let t = f.u8().ok()?;
        if t == 0 {
            return None;
        }
        let v = f.cstr().ok()?;
        if t == field {
            return Some(v);
        }
    }
}

/// A column of a RowDescription: type OID and format code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Column {
    pub type_oid: u32,
    pub format: i16,
}

pub(crate) fn row_description(body: &[u8]) -> io::Result<Vec<Column>> {
    let mut f = Fields::new(body);
    let n = f.i16()?;
    let mut cols = Vec::with_capacity(n.max(0) as usize);
    for _ in 0..n {
        f.cstr()?;
        f.i32()?; // table oid
        f.i16()?; // attnum
        let type_oid = f.i32()? as u32;
        f.i16()?; // typlen
        f.i32()?; // typmod
        let format = f.i16()?;
        cols.push(Column { type_oid, format });
    }
    Ok(cols)
}

/// The values of a DataRow.
pub(crate) fn data_row(body: &[u8]) -> io::Result<Vec<Option<&[u8]>>> {
    let mut f = Fields::new(body);
    let n = f.i16()?;
    (0..n).map(|_| f.value()).collect()
}

pub(crate) fn data_row_body(values: &[Option<Vec<u8>>]) -> Vec<u8> {
    let mut b = Body::new().i16(values.len() as i16);
    for v in values {
        b = match v {
            None => b.i32(-1),
            Some(v) => b.i32(v.len() as i32).bytes(v),
        };
    }
    b.done()
}

/// A CommandComplete tag with its row count replaced (`SELECT 120000` → `SELECT 50000`); tags without
/// a count stay as they are.
pub(crate) fn retag(tag: &[u8], rows: u64) -> Vec<u8> {
    let tag = tag.strip_suffix(b"\0").unwrap_or(tag);
    match tag.iter().rposition(|b| *b == b' ') {
        Some(i) if tag[i + 1..].iter().all(u8::is_ascii_digit) && i + 1 < tag.len() => {
            let mut out = tag[..=i].to_vec();
            out.extend_from_slice(rows.to_string().as_bytes());
            out.push(0);
            out
        }
        _ => {
            let mut out = tag.to_vec();
            out.push(0);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retag_replaces_only_a_trailing_count() {
        assert_eq!(retag(b"SELECT 120000\0", 50_000), b"SELECT 50000\0");
        assert_eq!(retag(b"INSERT 0 7\0", 3), b"INSERT 0 3\0");
        assert_eq!(retag(b"SET\0", 3), b"SET\0");
    }

    #[test]
    fn error_fields_round_trip() {
        let b = error_body(Severity::Fatal, "XX000", "Session Limit Reached");
        assert_eq!(error_field(&b, b'C'), Some(&b"XX000"[..]));
        assert_eq!(error_field(&b, b'M'), Some(&b"Session Limit Reached"[..]));
        assert_eq!(error_field(&b, b'S'), Some(&b"FATAL"[..]));
        assert_eq!(error_field(&b, b'D'), None);
    }

    #[test]
    fn truncated_bodies_fail_instead_of_panicking() {
        assert!(data_row(&[0, 2, 0, 0, 0, 5, b'a']).is_err());
        assert!(row_description(&[0, 1, b'x']).is_err());
        assert!(Fields::new(b"abc").cstr().is_err());
    }
}
