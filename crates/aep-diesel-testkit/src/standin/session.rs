//! One client session: TLS and startup, cleartext authentication turned into SCRAM upstream, then the
//! relay of simple and extended queries with the platform's rules applied on the way.
//!
//! Extended-protocol messages are collected up to Sync (or Flush) and judged in order. When message
//! *i* is refused, the server is emulated: the messages before *i* are forwarded and answered, then the
//! refusal is raised *inside PostgreSQL* (a prepared `DO … RAISE` with the refusal's SQLSTATE), so the
//! implicit or explicit transaction fails exactly as a server-side error would fail it, and the rest up
//! to Sync is skipped as PostgreSQL skips it. The raised error is replaced on its way to the client by
//! the refusal's own ErrorResponse.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use aep_diesel::Password;
use openssl::ssl::SslStream;

use super::composite::{self, Shape, Shapes};
use super::rules::{self, Limit, Refused, Rules, Verdict, placeholder_set, raise_sql};
use super::upstream::{self, UpError};
use super::wire::{
    self, Body, CANCEL_REQUEST, Column, Conn, Fields, GSSENC_REQUEST, Msg, SSL_REQUEST, Severity,
    Stream, error_body, error_field, retag,
};
use super::{BinaryResults, RefusalKind, Shared, StartupOptions};

/// Names of the stand-in's own upstream statements; a client would have to choose these exact names
/// to collide with them.
const SIDE_STATEMENT: &[u8] = b"aep_standin_side";
const RAISE_PREFIX: &str = "aep_standin_raise_";

/// PostgreSQL's first OID for user objects: type OIDs below it are built in and never change.
const FIRST_NORMAL_OID: u32 = 16_384;

/// What the upstream owes for a forwarded message, in order.
#[derive(Debug)]
enum Expect {
    /// `raise`: this Parse prepares the raise statement for that SQLSTATE.
    Parse {
        swallow: bool,
        raise: Option<&'static str>,
    },
    Bind {
        swallow: bool,
    },
    /// `portal`: the portal described (None for a statement).
    Describe {
        portal: Option<Vec<u8>>,
        swallow: bool,
    },
    Execute {
        portal: Vec<u8>,
    },
    Close,
    Sync,
}

/// A prepared statement's row limit, from its SQL.
#[derive(Clone, Copy)]
struct StmtInfo {
    limit: Limit,
}

/// A portal: whether the row cap applies, which columns need the composite rewrite, and how many rows
/// it has sent.
#[derive(Default)]
struct PortalInfo {
    limited: bool,
    rewrite: Vec<(usize, u32)>,
    has_rows: bool,
    sent: u64,
    exec_sent: u64,
    truncated: bool,
}

/// Serve one client connection to its end. The BackendKeyData handed to the client is left in
/// `cancel_key` so the caller can forget it.
pub(crate) fn serve(
    tcp: TcpStream,
    id: u64,
    shared: &Arc<Shared>,
    cancel_key: &mut Option<(i32, i32)>,
) {
    if let Err(e) = start(tcp, id, shared, cancel_key) {
        // A client that hangs up is no failure.
        if !matches!(
            e.kind(),
            io::ErrorKind::UnexpectedEof
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::NotConnected
        ) {
            shared.failure(format!("session {id}: {e}"));
        }
    }
}

fn fatal(client: &mut Conn<Stream>, code: &str, message: &str) -> io::Result<()> {
    client.send(b'E', &error_body(Severity::Fatal, code, message))?;
    client.flush()
}

/// Frees a session slot when the session ends.
struct Slot<'a>(&'a Shared);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.release();
    }
}

fn start(
    tcp: TcpStream,
    id: u64,
    shared: &Arc<Shared>,
    cancel_key: &mut Option<(i32, i32)>,
) -> io::Result<()> {
    let cfg = &shared.config;
    let mut client = Conn::new(Stream::Plain(tcp));
    let mut tls = false;
    let (version, packet) = loop {
        let packet = client.read_startup()?;
        let code = Fields::new(&packet).i32()?;
        match code {
            SSL_REQUEST if !tls => {
                if client.has_buffered_input() {
                    return Err(wire::invalid("data sent after SSLRequest, before TLS"));
                }
                client.send_raw(b"S")?;
                client.flush()?;
                let Stream::Plain(tcp) = client.into_inner() else {
                    unreachable!("TLS starts once")
                };
                let ssl = cfg
                    .acceptor
                    .accept(tcp)
                    .map_err(|e| io::Error::other(format!("client TLS handshake: {e}")))?;
                client = Conn::new(Stream::Tls(Box::new(ssl)));
                tls = true;
            }
            GSSENC_REQUEST if !tls => {
                client.send_raw(b"N")?;
                client.flush()?;
            }
            CANCEL_REQUEST => {
                let mut f = Fields::new(&packet[4..]);
                shared.cancel((f.i32()?, f.i32()?));
                return Ok(());
            }
            c if c >> 16 == 3 => break (c, packet),
            _ => {
                shared.refuse(RefusalKind::UnsupportedProtocol, "0A000", "startup packet");
                return fatal(&mut client, "0A000", "unsupported frontend protocol");
            }
        }
    };
    if !tls {
        // platform-facts.md, "TLS": sslmode=disable is not supported. Assumption: the refusal is FATAL
        // 28000 "SSL required" (code and text unknown in platform-facts.md).
        shared.refuse(
            RefusalKind::PlaintextStartup,
            "28000",
            "StartupMessage without TLS",
        );
        return fatal(&mut client, "28000", "SSL required");
    }

    // Startup parameters.
    let mut f = Fields::new(&packet[4..]);
    let mut params: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut unknown_protocol_options: Vec<Vec<u8>> = Vec::new();
    loop {
        let name = f.cstr()?;
        if name.is_empty() {
            break;
        }
        let value = f.cstr()?;
        match name {
            n if n.starts_with(b"_pq_.") => unknown_protocol_options.push(n.to_vec()),
            b"replication" => {
                shared.refuse(RefusalKind::UnsupportedProtocol, "0A000", "replication");
                return fatal(&mut client, "0A000", "Not supported");
            }
            b"options" => match cfg.startup_options {
                StartupOptions::Ignore => {}
                StartupOptions::Forward => params.push((name.to_vec(), value.to_vec())),
                StartupOptions::Refuse => {
                    shared.refuse(RefusalKind::StartupOptions, "0A000", "options");
                    return fatal(&mut client, "0A000", "Not supported");
                }
            },
            b"database" => {
                // platform-facts.md: `?FLATTEN` asks the platform to flatten nested fields. Flattening
                // itself is not emulated; the suffix is dropped so the database name stays real.
                let mut db = value.to_vec();
                if db.len() >= 8 && db[db.len() - 8..].eq_ignore_ascii_case(b"?FLATTEN") {
                    db.truncate(db.len() - 8);
                }
                params.push((name.to_vec(), db));
            }
            _ => params.push((name.to_vec(), value.to_vec())),
        }
    }
    if !params.iter().any(|(k, _)| k == b"user") {
        return fatal(&mut client, "28000", "no user name given");
    }
    if version & 0xffff != 0 || !unknown_protocol_options.is_empty() {
        // Protocol 3.0 only, as PostgreSQL 15 (which this stands in front of) speaks it.
        let mut b = Body::new()
            .i32(PROTOCOL_MINOR)
            .i32(unknown_protocol_options.len() as i32);
        for o in &unknown_protocol_options {
            b = b.cstr(o);
        }
        client.send(b'v', &b.done())?;
    }

    // platform-facts.md, "Authentication": cleartext password inside TLS.
    client.send(b'R', &Body::new().i32(3).done())?;
    client.flush()?;
    let m = client.read_message()?;
    if m.tag != b'p' {
        return fatal(&mut client, "08P01", "expected a password message");
    }
    let raw = Fields::new(&m.body).cstr()?.to_vec();
    let password = Password::verbatim(
        String::from_utf8(raw)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    );

    let up = match upstream::connect(cfg.upstream_port, &cfg.connector, &params, &password) {
        Ok(up) => up,
        Err(UpError::Auth) => {
            shared.refuse(
                RefusalKind::Authentication,
                "28P01",
                "upstream refused the password",
            );
            // Wording after platform-facts.md's "28P01 invalid password / invalid authentication token".
            return fatal(
                &mut client,
                "28P01",
                "invalid password / invalid authentication token",
            );
        }
        Err(UpError::Server(body)) => {
            // Assumption: other startup failures (an unknown database, …) reach the client as
            // PostgreSQL words them (Query Service's wording unknown in platform-facts.md).
            client.send(b'E', &body)?;
            return client.flush();
        }
        Err(UpError::Other(e)) => {
            shared.failure(format!("session {id}: upstream: {e}"));
            return fatal(&mut client, "08006", "the database is not reachable");
        }
    };
    drop(password);
    if !shared.register_socket(id, &up.socket) {
        return Ok(());
    }
    if !shared.admit() {
        // Assumption: no SQLSTATE is documented for "Session Limit Reached" (platform-facts.md), so a
        // generic XX000 makes clients read the text, as they must on the platform.
        shared.refuse(RefusalKind::SessionLimit, "XX000", "Session Limit Reached");
        let mut up = up;
        let _ = up.conn.send(b'X', &[]);
        let _ = up.conn.flush();
        return fatal(&mut client, "XX000", "Session Limit Reached");
    }
    let _slot = Slot(shared.as_ref());

    let mut ours = (id as i32, 0i32);
    let mut secret = [0u8; 4];
    openssl::rand::rand_bytes(&mut secret).map_err(io::Error::other)?;
    ours.1 = i32::from_be_bytes(secret);
    shared.register_cancel_key(ours, up.key);
    *cancel_key = Some(ours);

    let mut session = Session {
        shared: Arc::clone(shared),
        id,
        client,
        up: up.conn,
        born: Instant::now(),
        status: up.status,
        shapes: composite::builtin(),
        known_types: HashSet::new(),
        settings: HashSet::new(),
        types_stale: false,
        at_ready: true,
        stmts: HashMap::new(),
        portals: HashMap::new(),
        raises: HashSet::new(),
        up_skipping: false,
        local_skip: false,
        pending: None,
        auto_to_json: false,
    };
    if let Err(e) = session.load_catalog(true) {
        shared.failure(format!("session {id}: reading types and settings: {e}"));
    }
    session.client.send(b'R', &Body::new().i32(0).done())?;
    for (name, value) in &up.params {
        session.send_parameter_status(name, value)?;
    }
    session
        .client
        .send(b'K', &Body::new().i32(ours.0).i32(ours.1).done())?;
    let status = session.status;
    session.client.send(b'Z', &[status])?;
    session.run()
}

/// The minor protocol version offered back (3.0).
const PROTOCOL_MINOR: i32 = 0;

struct Session {
    shared: Arc<Shared>,
    id: u64,
    client: Conn<Stream>,
    up: Conn<SslStream<TcpStream>>,
    born: Instant,
    /// Transaction status from the upstream's last ReadyForQuery.
    status: u8,
    shapes: Shapes,
    /// User-defined type OIDs seen in the catalog (composite or not), to notice new ones.
    known_types: HashSet<u32>,
    /// Lower-case names of PostgreSQL's settings.
    settings: HashSet<String>,
    /// A statement may have created types: read the catalog again at the next idle moment.
    types_stale: bool,
    /// The upstream's last word was ReadyForQuery (no half-done extended batch).
    at_ready: bool,
    stmts: HashMap<Vec<u8>, StmtInfo>,
    portals: HashMap<Vec<u8>, PortalInfo>,
    /// SQLSTATEs whose raise statement is prepared upstream.
    raises: HashSet<&'static str>,
    /// The upstream ignores everything up to Sync after an error.
    up_skipping: bool,
    /// The stand-in answered an error itself (in a failed transaction) and, as PostgreSQL would, now
    /// ignores everything up to Sync.
    local_skip: bool,
    /// The refusal whose raised error is on its way; `true`: replace any error, not only the marker.
    pending: Option<(Refused, bool)>,
    /// `SET auto_to_json`, tracked for a later JSON emulation; no behaviour yet.
    #[allow(dead_code)]
    auto_to_json: bool,
}

fn cstr_body(b: &[u8]) -> &[u8] {
    b.strip_suffix(b"\0").unwrap_or(b)
}

impl Session {
    fn run(&mut self) -> io::Result<()> {
        let mut batch: Vec<Msg> = Vec::new();
        loop {
            if batch.is_empty() && self.types_stale && self.status == b'I' && self.at_ready {
                if let Err(e) = self.load_catalog(false) {
                    self.shared
                        .failure(format!("session {}: re-reading types: {e}", self.id));
                }
            }
            self.client.flush()?;
            let msg = match self.client.read_message() {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    let _ = self.up.send(b'X', &[]);
                    let _ = self.up.flush();
                    return Ok(());
                }
                Err(e) => return Err(e),
            };
            if let Some(life) = self.shared.config.session_life {
                if self.born.elapsed() > life {
                    self.shared.refuse(
                        RefusalKind::SessionExpired,
                        "57P01",
                        "session older than its life",
                    );
                    let _ = self.up.send(b'X', &[]);
                    let _ = self.up.flush();
                    self.client.send(
                        b'E',
                        &error_body(
                            Severity::Fatal,
                            "57P01",
                            "session expired: the session outlived its maximum life; connect again with current credentials",
                        ),
                    )?;
                    return self.client.flush();
                }
            }
            match msg.tag {
                b'P' | b'B' | b'D' | b'E' | b'C' => batch.push(msg),
                b'S' | b'H' => {
                    batch.push(msg);
                    self.extended(std::mem::take(&mut batch))?;
                }
                // After an extended-protocol error PostgreSQL ignores every message up to Sync,
                // simple Queries included; forwarding one would wait forever for its answer.
                tag if tag != b'X' && (self.up_skipping || self.local_skip) => {}
                tag => {
                    if !batch.is_empty() {
                        // The server would have handled these already: answer them as after a Flush.
                        batch.push(Msg::new(b'H', Vec::new()));
                        self.extended(std::mem::take(&mut batch))?;
                    }
                    match tag {
                        b'Q' => self.simple_query(msg)?,
                        b'X' => {
                            self.up.send(b'X', &[])?;
                            self.up.flush()?;
                            return Ok(());
                        }
                        other => {
                            let r = Refused {
                                kind: RefusalKind::UnsupportedMessage,
                                code: "08P01",
                                message: "Unsupported message type".into(),
                                detail: format!("frontend message {:?}", other as char),
                            };
                            self.refuse_standalone(r)?;
                        }
                    }
                }
            }
        }
    }

    fn rules(&self) -> Rules<'_> {
        Rules {
            allow_update_delete: self.shared.config.allow_update_delete,
            limit_max: self.shared.config.limit_max,
            settings: &self.settings,
            keys: &self.shared.config.keys,
            unavailable: &self.shared.config.unavailable_relations,
        }
    }

    fn record(&self, r: &Refused) {
        self.shared.refuse(r.kind, r.code, r.detail.clone());
    }

    fn note_setting(&mut self, key: &str, value: &str) {
        if key == "auto_to_json" {
            self.auto_to_json = value.eq_ignore_ascii_case("true") || value == "1";
        }
    }

    // ---- upstream reading helpers ----

    /// The next upstream message; pending client output goes out first whenever the read may block,
    /// so the client is never kept waiting for rows that are already here.
    fn up_read(&mut self) -> io::Result<Msg> {
        if !self.up.has_message() {
            self.client.flush()?;
        }
        self.up.read_message()
    }

    fn send_parameter_status(&mut self, name: &[u8], value: &[u8]) -> io::Result<()> {
        // platform-facts.md: Query Service reports server_version 0.1.0.
        let value: &[u8] = if name == b"server_version" {
            b"0.1.0"
        } else {
            value
        };
        self.client
            .send(b'S', &Body::new().cstr(name).cstr(value).done())
    }

    fn relay_parameter_status(&mut self, body: &[u8]) -> io::Result<()> {
        let mut f = Fields::new(body);
        let name = f.cstr()?;
        let value = f.cstr()?;
        self.send_parameter_status(name, value)
    }

    /// An upstream ErrorResponse on its way to the client: the raised stand-in for a refusal becomes
    /// the refusal's own clean error.
    fn relay_error(&mut self, body: Vec<u8>) -> io::Result<()> {
        let body = match self.pending.take() {
            Some((r, any))
                if any || error_field(&body, b'M') == Some(rules::RAISE_MARKER.as_bytes()) =>
            {
                error_body(Severity::Error, r.code, &r.message)
            }
            other => {
                self.pending = other;
                body
            }
        };
        self.client.send(b'E', &body)
    }

    /// Columns whose text values need the composite rewrite.
    fn rewrite_columns(&mut self, cols: &[Column]) -> Vec<(usize, u32)> {
        for c in cols {
            if c.type_oid >= FIRST_NORMAL_OID && !self.known_types.contains(&c.type_oid) {
                // Created after the catalog was read; learned at the next idle moment.
                self.types_stale = true;
            }
        }
        cols.iter()
            .enumerate()
            .filter(|(_, c)| c.format == 0 && self.shapes.contains_key(&c.type_oid))
            .map(|(i, c)| (i, c.type_oid))
            .collect()
    }

    fn rewrite_row(&self, body: Vec<u8>, cols: &[(usize, u32)]) -> Vec<u8> {
        if cols.is_empty() {
            return body;
        }
        let Ok(values) = wire::data_row(&body) else {
            return body;
        };
        let mut changed = false;
        let out: Vec<Option<Vec<u8>>> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let v = (*v)?;
                match cols.iter().find(|(c, _)| *c == i) {
                    Some((_, oid)) => match composite::rewrite(v, *oid, &self.shapes) {
                        Some(new) => {
                            changed = true;
                            Some(new)
                        }
                        None => Some(v.to_vec()),
                    },
                    None => Some(v.to_vec()),
                }
            })
            .collect();
        if changed {
            wire::data_row_body(&out)
        } else {
            body
        }
    }

    /// A CommandComplete that may mean new types: DDL, or `CREATE TABLE AS` / `SELECT INTO` (tagged
    /// `SELECT n` without a RowDescription).
    fn note_tag(&mut self, tag: &[u8], had_rows: bool) {
        if tag.starts_with(b"CREATE")
            || tag.starts_with(b"ALTER")
            || tag.starts_with(b"DROP")
            || (tag.starts_with(b"SELECT") && !had_rows)
        {
            self.types_stale = true;
        }
    }

    fn unexpected(&self, tag: u8) -> io::Error {
        wire::invalid(&format!(
            "unexpected upstream message {:?} in session {}",
            tag as char, self.id
        ))
    }

    /// A COPY sub-protocol answer that got past the rules: end the session rather than guess.
    fn copy_escaped(&mut self) -> io::Result<()> {
        self.shared
            .refuse(RefusalKind::Copy, "0A000", "COPY response from upstream");
        let _ = fatal(&mut self.client, "0A000", "Not supported");
        Err(wire::invalid("the upstream started a COPY"))
    }

    // ---- catalog ----

    /// Read composite type shapes (and, at startup, PostgreSQL's setting names) through a named
    /// statement and portal, so the client's unnamed statement is untouched. Only at an idle moment
    /// (status I), so the client's transactions never see the side query fail.
    fn load_catalog(&mut self, with_settings: bool) -> io::Result<()> {
        let mut sql = String::from(
            "SELECT 'c', t.oid::text, coalesce((SELECT string_agg(a.atttypid::text, ',' ORDER BY a.attnum) \
             FROM pg_catalog.pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 \
             AND NOT a.attisdropped), '') FROM pg_catalog.pg_type t WHERE t.typtype = 'c' \
             UNION ALL SELECT 'a', t.oid::text, t.typelem::text FROM pg_catalog.pg_type t \
             JOIN pg_catalog.pg_type e ON e.oid = t.typelem WHERE e.typtype = 'c' AND t.typcategory = 'A' \
             UNION ALL SELECT 'o', t.oid::text, '' FROM pg_catalog.pg_type t WHERE t.oid >= 16384",
        );
        if with_settings {
            sql.push_str(" UNION ALL SELECT 's', lower(name), '' FROM pg_catalog.pg_settings");
        }
        let s = SIDE_STATEMENT;
        let p = SIDE_STATEMENT;
        // Closing first clears leftovers of an earlier failed run; closing a missing one is no error.
        self.up.send(b'C', &Body::new().u8(b'P').cstr(p).done())?;
        self.up.send(b'C', &Body::new().u8(b'S').cstr(s).done())?;
        self.up.send(
            b'P',
            &Body::new().cstr(s).cstr(sql.as_bytes()).i16(0).done(),
        )?;
        self.up.send(
            b'B',
            &Body::new().cstr(p).cstr(s).i16(0).i16(0).i16(0).done(),
        )?;
        self.up.send(b'E', &Body::new().cstr(p).i32(0).done())?;
        self.up.send(b'C', &Body::new().u8(b'P').cstr(p).done())?;
        self.up.send(b'C', &Body::new().u8(b'S').cstr(s).done())?;
        self.up.send(b'S', &[])?;
        self.up.flush()?;
        let mut shapes = composite::builtin();
        let mut known = HashSet::new();
        let mut settings = HashSet::new();
        let mut failed = None;
        loop {
            let m = self.up.read_message()?;
            match m.tag {
                b'D' => {
                    let values = wire::data_row(&m.body)?;
                    let text = |i: usize| {
                        values
                            .get(i)
                            .copied()
                            .flatten()
                            .map(|v| String::from_utf8_lossy(v).into_owned())
                            .unwrap_or_default()
                    };
                    let (kind, key, info) = (text(0), text(1), text(2));
                    let oid = key.parse::<u32>().ok();
                    match (kind.as_str(), oid) {
                        ("c", Some(oid)) => {
                            let fields = info.split(',').filter_map(|s| s.parse().ok()).collect();
                            shapes.insert(oid, Shape::Record(fields));
                        }
                        ("a", Some(oid)) => {
                            if let Ok(elem) = info.parse() {
                                shapes.insert(oid, Shape::Array(elem));
                            }
                        }
                        ("o", Some(oid)) => {
                            known.insert(oid);
                        }
                        ("s", _) => {
                            settings.insert(key);
                        }
                        _ => {}
                    }
                }
                b'E' => {
                    failed = Some(
                        error_field(&m.body, b'M')
                            .map(|m| String::from_utf8_lossy(m).into_owned())
                            .unwrap_or_default(),
                    );
                }
                b'Z' => {
                    self.status = *m.body.first().unwrap_or(&b'I');
                    break;
                }
                // A catalog SELECT changes no setting; and at startup the client must not see a
                // ParameterStatus before AuthenticationOk.
                _ => {}
            }
        }
        if let Some(e) = failed {
            return Err(io::Error::other(e));
        }
        self.shapes = shapes;
        self.known_types = known;
        if with_settings {
            self.settings = settings;
        }
        self.types_stale = false;
        Ok(())
    }

    // ---- simple protocol ----

    fn simple_query(&mut self, msg: Msg) -> io::Result<()> {
        // A simple Query destroys the unnamed statement and portal.
        self.stmts.remove(&b""[..]);
        self.portals.remove(&b""[..]);
        let sql = cstr_body(&msg.body).to_vec();
        let stmts = rules::statements(&sql);
        let verdicts: Vec<Verdict> = {
            let rules = self.rules();
            stmts.iter().map(|s| rules.analyze(&sql, s)).collect()
        };
        if let ([Verdict::SparkSet { key, value }], false) =
            (verdicts.as_slice(), self.status == b'E')
        {
            // platform-facts.md: Spark-style SET works on Query Service; answered here, as PostgreSQL
            // does not know these settings. (In a failed transaction it goes upstream as a placeholder
            // SET, to be refused with 25P02 like any statement there.)
            let (key, value) = (key.clone(), value.clone());
            self.note_setting(&key, &value);
            self.client.send(b'C', b"SET\0")?;
            let status = self.status;
            return self.client.send(b'Z', &[status]);
        }
        let refuse_at = verdicts
            .iter()
            .position(|v| matches!(v, Verdict::Refuse(_)));
        let changed = refuse_at.is_some()
            || verdicts
                .iter()
                .any(|v| matches!(v, Verdict::Rewrite { .. } | Verdict::SparkSet { .. }));
        let mut limits = Vec::new();
        let text: Vec<u8> = if !changed {
            limits.extend(verdicts.iter().map(|v| match v {
                Verdict::Forward { limit } | Verdict::Rewrite { limit, .. } => *limit,
                _ => Limit::None,
            }));
            sql
        } else {
            let mut pieces: Vec<Vec<u8>> = Vec::new();
            for (s, v) in stmts
                .iter()
                .zip(&verdicts)
                .take(refuse_at.unwrap_or(usize::MAX))
            {
                match v {
                    Verdict::Forward { limit } => {
                        pieces.push(sql[s.range.clone()].to_vec());
                        limits.push(*limit);
                    }
                    Verdict::Rewrite { sql, limit } => {
                        pieces.push(sql.clone().into_bytes());
                        limits.push(*limit);
                    }
                    Verdict::SparkSet { key, value } => {
                        pieces.push(placeholder_set(key, value).into_bytes());
                        limits.push(Limit::None);
                        let (key, value) = (key.clone(), value.clone());
                        self.note_setting(&key, &value);
                    }
                    Verdict::Refuse(_) => unreachable!("taken only up to the refusal"),
                }
            }
            if let Some(r) = refuse_at {
                let Verdict::Refuse(refused) = &verdicts[r] else {
                    unreachable!()
                };
                self.record(refused);
                if r == 0 && self.status == b'E' {
                    // In a failed transaction the server answers without running anything.
                    self.client.send(
                        b'E',
                        &error_body(Severity::Error, refused.code, &refused.message),
                    )?;
                    return self.client.send(b'Z', b"E");
                }
                pieces.push(raise_sql(refused.code).into_bytes());
                limits.push(Limit::None);
                self.pending = Some((refused.clone(), false));
            }
            pieces.join(&b";\n"[..])
        };
        let mut body = text;
        body.push(0);
        self.up.send(b'Q', &body)?;
        self.up.flush()?;
        self.relay_simple(&limits)
    }

    fn relay_simple(&mut self, limits: &[Limit]) -> io::Result<()> {
        let cap = self.shared.config.row_cap;
        let mut k = 0;
        let mut rewrite: Vec<(usize, u32)> = Vec::new();
        let mut sent = 0u64;
        let mut truncated = false;
        let mut had_rows = false;
        loop {
            let m = self.up_read()?;
            match m.tag {
                b'T' => {
                    let cols = wire::row_description(&m.body)?;
                    rewrite = self.rewrite_columns(&cols);
                    (sent, truncated, had_rows) = (0, false, true);
                    self.client.send_msg(&m)?;
                }
                b'D' => {
                    let limited = limits.get(k).is_some_and(|l| *l != Limit::None);
                    if !limited && sent >= cap {
                        truncated = true;
                        continue;
                    }
                    sent += 1;
                    let body = self.rewrite_row(m.body, &rewrite);
                    self.client.send(b'D', &body)?;
                }
                b'C' => {
                    let tag = cstr_body(&m.body).to_vec();
                    self.note_tag(&tag, had_rows);
                    if truncated {
                        self.client.send(b'C', &retag(&tag, sent))?;
                    } else {
                        self.client.send_msg(&m)?;
                    }
                    k += 1;
                    (sent, truncated, had_rows) = (0, false, false);
                    rewrite.clear();
                }
                b'I' => {
                    k += 1;
                    self.client.send_msg(&m)?;
                }
                b'E' => self.relay_error(m.body)?,
                b'Z' => {
                    self.status = *m.body.first().unwrap_or(&b'I');
                    self.pending = None;
                    self.at_ready = true;
                    if self.status == b'I' {
                        self.portals.clear();
                    }
                    return self.client.send_msg(&m);
                }
                b'N' | b'A' => self.client.send_msg(&m)?,
                b'S' => self.relay_parameter_status(&m.body)?,
                b'G' => {
                    // COPY FROM STDIN that the rules did not catch: fail it upstream and answer with
                    // the refusal instead of the COPY sub-protocol.
                    let r = Refused::not_supported(RefusalKind::Copy, "COPY FROM STDIN (late)");
                    self.record(&r);
                    self.pending = Some((r, true));
                    self.up
                        .send(b'f', &Body::new().cstr(b"COPY is not supported").done())?;
                    self.up.flush()?;
                }
                b'H' | b'W' => return self.copy_escaped(),
                other => return Err(self.unexpected(other)),
            }
        }
    }

    /// Refuse outside a batch (FunctionCall, stray CopyData, …): raised inside PostgreSQL so an open
    /// transaction fails as it would on a server error, then ReadyForQuery.
    fn refuse_standalone(&mut self, r: Refused) -> io::Result<()> {
        self.record(&r);
        if self.status == b'E' {
            self.client
                .send(b'E', &error_body(Severity::Error, r.code, &r.message))?;
            return self.client.send(b'Z', b"E");
        }
        let mut out = Vec::new();
        let mut expects = VecDeque::new();
        self.raise_messages(&r, &mut out, &mut expects);
        out.push(Msg::new(b'S', Vec::new()));
        expects.push_back(Expect::Sync);
        self.pending = Some((r, false));
        self.send_up(&mut out)?;
        self.relay(&mut expects)
    }

    // ---- extended protocol ----

    /// The messages that raise refusal `r` upstream: Parse of the raise statement (once per session and
    /// SQLSTATE), Bind to the unnamed portal (any portal dies with the failing transaction anyway),
    /// Execute.
    fn raise_messages(&self, r: &Refused, out: &mut Vec<Msg>, expects: &mut VecDeque<Expect>) {
        let name = format!("{RAISE_PREFIX}{}", r.code.to_ascii_lowercase());
        if !self.raises.contains(r.code) {
            out.push(Msg::new(
                b'P',
                Body::new()
                    .cstr(name.as_bytes())
                    .cstr(raise_sql(r.code).as_bytes())
                    .i16(0)
                    .done(),
            ));
            expects.push_back(Expect::Parse {
                swallow: true,
                raise: Some(r.code),
            });
        }
        out.push(Msg::new(
            b'B',
            Body::new()
                .cstr(b"")
                .cstr(name.as_bytes())
                .i16(0)
                .i16(0)
                .i16(0)
                .done(),
        ));
        expects.push_back(Expect::Bind { swallow: true });
        out.push(Msg::new(b'E', Body::new().cstr(b"").i32(0).done()));
        expects.push_back(Expect::Execute {
            portal: b"".to_vec(),
        });
    }

    fn send_up(&mut self, out: &mut Vec<Msg>) -> io::Result<()> {
        for m in out.drain(..) {
            if m.tag != b'S' {
                self.at_ready = false;
            }
            self.up.send_msg(&m)?;
        }
        self.up.flush()
    }

    fn extended(&mut self, batch: Vec<Msg>) -> io::Result<()> {
        let mut out: Vec<Msg> = Vec::new();
        let mut expects: VecDeque<Expect> = VecDeque::new();
        let mut executed = false;
        for (i, msg) in batch.iter().enumerate() {
            match msg.tag {
                b'S' => {
                    out.push(msg.clone());
                    expects.push_back(Expect::Sync);
                    self.local_skip = false;
                }
                b'H' => out.push(msg.clone()),
                _ if self.up_skipping || self.local_skip => {}
                _ => match self.check(msg, batch.get(i + 1)) {
                    Ok(list) => {
                        for (m, e) in list {
                            executed |= matches!(e, Some(Expect::Execute { .. }));
                            out.push(m);
                            expects.extend(e);
                        }
                    }
                    Err(r) => {
                        self.record(&r);
                        if !out.is_empty() {
                            out.push(Msg::new(b'H', Vec::new()));
                            self.send_up(&mut out)?;
                            self.relay(&mut expects)?;
                        }
                        if self.up_skipping {
                            // An earlier message failed: the server never reaches the refused one.
                            continue;
                        }
                        if self.status == b'E' && !executed {
                            // A failed transaction block: PostgreSQL would answer this message with
                            // an error without running anything, so answer here.
                            self.client
                                .send(b'E', &error_body(Severity::Error, r.code, &r.message))?;
                            self.local_skip = true;
                        } else {
                            self.raise_messages(&r, &mut out, &mut expects);
                            out.push(Msg::new(b'H', Vec::new()));
                            self.pending = Some((r, false));
                            self.send_up(&mut out)?;
                            self.relay(&mut expects)?;
                        }
                    }
                },
            }
        }
        self.send_up(&mut out)?;
        self.relay(&mut expects)
    }

    fn named_refusal(&self, what: &str) -> Refused {
        Refused {
            kind: RefusalKind::NamedStatement,
            code: "08P01",
            message: "Unsupported message type".into(),
            detail: what.to_string(),
        }
    }

    /// Judge one extended-protocol message; on success, the messages to forward (it, rewritten, plus
    /// any injected Describe) with what each is owed.
    fn check(
        &mut self,
        msg: &Msg,
        next: Option<&Msg>,
    ) -> Result<Vec<(Msg, Option<Expect>)>, Refused> {
        let named_ok = self.shared.config.named_statements;
        let bad = |_| Refused {
            kind: RefusalKind::UnsupportedMessage,
            code: "08P01",
            message: "Unsupported message type".into(),
            detail: "malformed message".into(),
        };
        match msg.tag {
            b'P' => {
                let mut f = Fields::new(&msg.body);
                let name = f.cstr().map_err(bad)?.to_vec();
                let sql = f.cstr().map_err(bad)?.to_vec();
                let rest = f.rest().to_vec();
                if !name.is_empty() && !named_ok {
                    return Err(self.named_refusal("Parse of a named statement"));
                }
                let verdict = {
                    let rules = self.rules();
                    rules::statements(&sql)
                        .first()
                        .map(|s| rules.analyze(&sql, s))
                        .unwrap_or(Verdict::Forward { limit: Limit::None })
                };
                let (new_sql, limit) = match verdict {
                    Verdict::Forward { limit } => (None, limit),
                    Verdict::Rewrite { sql, limit } => (Some(sql), limit),
                    Verdict::SparkSet { key, value } => {
                        self.note_setting(&key, &value);
                        (Some(placeholder_set(&key, &value)), Limit::None)
                    }
                    Verdict::Refuse(r) => return Err(r),
                };
                self.stmts.insert(name.clone(), StmtInfo { limit });
                let m = match new_sql {
                    None => msg.clone(),
                    Some(s) => Msg::new(
                        b'P',
                        Body::new()
                            .cstr(&name)
                            .cstr(s.as_bytes())
                            .bytes(&rest)
                            .done(),
                    ),
                };
                Ok(vec![(
                    m,
                    Some(Expect::Parse {
                        swallow: false,
                        raise: None,
                    }),
                )])
            }
            b'B' => self.check_bind(msg, next),
            b'D' => {
                let mut f = Fields::new(&msg.body);
                let kind = f.u8().map_err(bad)?;
                let name = f.cstr().map_err(bad)?.to_vec();
                if !name.is_empty() && !named_ok {
                    return Err(self.named_refusal(if kind == b'S' {
                        "Describe of a named statement"
                    } else {
                        "Describe of a named portal"
                    }));
                }
                Ok(vec![(
                    msg.clone(),
                    Some(Expect::Describe {
                        portal: (kind == b'P').then_some(name),
                        swallow: false,
                    }),
                )])
            }
            b'E' => {
                let mut f = Fields::new(&msg.body);
                let portal = f.cstr().map_err(bad)?.to_vec();
                if !portal.is_empty() && !named_ok {
                    return Err(self.named_refusal("Execute of a named portal"));
                }
                Ok(vec![(msg.clone(), Some(Expect::Execute { portal }))])
            }
            b'C' => {
                let mut f = Fields::new(&msg.body);
                let kind = f.u8().map_err(bad)?;
                let name = f.cstr().map_err(bad)?.to_vec();
                if !name.is_empty() && !named_ok {
                    return Err(self.named_refusal("Close of a named statement or portal"));
                }
                if kind == b'S' {
                    self.stmts.remove(&name);
                } else {
                    self.portals.remove(&name);
                }
                Ok(vec![(msg.clone(), Some(Expect::Close))])
            }
            _ => Err(bad(io::Error::other("not an extended-protocol message"))),
        }
    }

    fn check_bind(
        &mut self,
        msg: &Msg,
        next: Option<&Msg>,
    ) -> Result<Vec<(Msg, Option<Expect>)>, Refused> {
        let bad = |_| Refused {
            kind: RefusalKind::UnsupportedMessage,
            code: "08P01",
            message: "Unsupported message type".into(),
            detail: "malformed Bind".into(),
        };
        let cfg = &self.shared.config;
        let mut f = Fields::new(&msg.body);
        let portal = f.cstr().map_err(bad)?.to_vec();
        let stmt = f.cstr().map_err(bad)?.to_vec();
        if !cfg.named_statements && !stmt.is_empty() {
            return Err(self.named_refusal("Bind of a named statement"));
        }
        if !cfg.named_statements && !portal.is_empty() {
            return Err(self.named_refusal("Bind to a named portal"));
        }
        let nfmt = f.i16().map_err(bad)?.max(0) as usize;
        let param_formats: Vec<i16> = (0..nfmt)
            .map(|_| f.i16())
            .collect::<io::Result<_>>()
            .map_err(bad)?;
        let nparams = f.i16().map_err(bad)?.max(0) as usize;
        let mut params = Vec::with_capacity(nparams);
        for _ in 0..nparams {
            params.push(f.value().map_err(bad)?);
        }
        let results_at = f.pos();
        let nres = f.i16().map_err(bad)?.max(0) as usize;
        let result_formats: Vec<i16> = (0..nres)
            .map(|_| f.i16())
            .collect::<io::Result<_>>()
            .map_err(bad)?;

        let mut body = msg.body.clone();
        match cfg.binary_results {
            BinaryResults::Refuse => {
                // Assumption: any binary result format code is refused, even for a statement without
                // result columns (Query Service's check is unknown in platform-facts.md; a server
                // that checks the request, not the columns, is the stricter plausible one).
                if result_formats.contains(&1) {
                    return Err(Refused::not_supported(
                        RefusalKind::BinaryResults,
                        "Bind asks for binary result columns",
                    ));
                }
                if param_formats.contains(&1) {
                    return Err(Refused::not_supported(
                        RefusalKind::BinaryParameters,
                        "Bind sends binary parameters",
                    ));
                }
            }
            BinaryResults::AnswerText => {
                body.truncate(results_at);
                body.extend_from_slice(&(nres as i16).to_be_bytes());
                for _ in 0..nres {
                    body.extend_from_slice(&0i16.to_be_bytes());
                }
            }
            BinaryResults::Honour => {}
        }

        let limited = match self.stmts.get(&stmt).map_or(Limit::None, |s| s.limit) {
            Limit::None => false,
            Limit::Rows(_) => true,
            Limit::Param(_) if !cfg.bound_limit => return Err(Refused::bound_limit()),
            Limit::Param(p) => {
                // A bound `LIMIT $n` (unknown in platform-facts.md): held to the same maximum.
                let format = match param_formats.len() {
                    0 => 0,
                    1 => param_formats[0],
                    _ => param_formats.get(p.wrapping_sub(1)).copied().unwrap_or(0),
                };
                match params.get(p.wrapping_sub(1)).copied().flatten() {
                    Some(v) => {
                        let n = if format == 1 {
                            match v.len() {
                                8 => Some(i64::from_be_bytes(v.try_into().expect("8 bytes"))),
                                4 => {
                                    Some(i32::from_be_bytes(v.try_into().expect("4 bytes")) as i64)
                                }
                                2 => {
                                    Some(i16::from_be_bytes(v.try_into().expect("2 bytes")) as i64)
                                }
                                _ => None,
                            }
                        } else {
                            std::str::from_utf8(v)
                                .ok()
                                .and_then(|s| s.trim().parse().ok())
                        };
                        match n {
                            Some(n) if n > cfg.limit_max as i64 => {
                                return Err(Refused::limit(n as u64, cfg.limit_max));
                            }
                            Some(_) => true,
                            None => false,
                        }
                    }
                    None => false, // LIMIT NULL: no limit
                }
            }
        };
        self.portals.insert(
            portal.clone(),
            PortalInfo {
                limited,
                ..PortalInfo::default()
            },
        );
        let mut out = vec![(Msg::new(b'B', body), Some(Expect::Bind { swallow: false }))];
        // The composite rewrite needs the portal's columns; ask for them if the client does not.
        let described = next.is_some_and(|n| {
            n.tag == b'D' && n.body.first() == Some(&b'P') && cstr_body(&n.body[1..]) == portal
        });
        if !described {
            out.push((
                Msg::new(b'D', Body::new().u8(b'P').cstr(&portal).done()),
                Some(Expect::Describe {
                    portal: Some(portal),
                    swallow: true,
                }),
            ));
        }
        Ok(out)
    }

    /// Relay upstream answers until every expectation is met.
    fn relay(&mut self, expects: &mut VecDeque<Expect>) -> io::Result<()> {
        let cap = self.shared.config.row_cap;
        while let Some(front) = expects.front() {
            let m = self.up_read()?;
            match (m.tag, front) {
                (b'N' | b'A', _) => self.client.send_msg(&m)?,
                (b'S', _) => self.relay_parameter_status(&m.body)?,
                (b'E', _) => {
                    self.relay_error(m.body)?;
                    while expects.front().is_some_and(|e| !matches!(e, Expect::Sync)) {
                        expects.pop_front();
                    }
                    self.up_skipping = true;
                }
                (b'1', Expect::Parse { swallow, raise }) => {
                    if let Some(code) = raise {
                        self.raises.insert(*code);
                    }
                    if !swallow {
                        self.client.send_msg(&m)?;
                    }
                    expects.pop_front();
                }
                (b'2', Expect::Bind { swallow }) => {
                    if !swallow {
                        self.client.send_msg(&m)?;
                    }
                    expects.pop_front();
                }
                (b'3', Expect::Close) => {
                    self.client.send_msg(&m)?;
                    expects.pop_front();
                }
                (b't', Expect::Describe { swallow, .. }) => {
                    if !swallow {
                        self.client.send_msg(&m)?;
                    }
                }
                (b'T' | b'n', Expect::Describe { portal, swallow }) => {
                    let swallow = *swallow;
                    if let Some(p) = portal.clone() {
                        let (rewrite, has_rows) = if m.tag == b'T' {
                            let cols = wire::row_description(&m.body)?;
                            (self.rewrite_columns(&cols), true)
                        } else {
                            (Vec::new(), false)
                        };
                        let info = self.portals.entry(p).or_default();
                        info.rewrite = rewrite;
                        info.has_rows = has_rows;
                    }
                    if !swallow {
                        self.client.send_msg(&m)?;
                    }
                    expects.pop_front();
                }
                (b'D', Expect::Execute { portal }) => {
                    let info = self.portals.entry(portal.clone()).or_default();
                    if !info.limited && info.sent >= cap {
                        info.truncated = true;
                        continue;
                    }
                    info.sent += 1;
                    info.exec_sent += 1;
                    let rewrite = std::mem::take(&mut info.rewrite);
                    let body = self.rewrite_row(m.body, &rewrite);
                    if let Some(info) = self.portals.get_mut(portal) {
                        info.rewrite = rewrite;
                    }
                    self.client.send(b'D', &body)?;
                }
                (b'C' | b's' | b'I', Expect::Execute { portal }) => {
                    let info = self.portals.entry(portal.clone()).or_default();
                    let (truncated, exec_sent, has_rows) =
                        (info.truncated, info.exec_sent, info.has_rows);
                    info.exec_sent = 0;
                    match m.tag {
                        b'C' => {
                            let tag = cstr_body(&m.body).to_vec();
                            self.note_tag(&tag, has_rows);
                            if truncated {
                                self.client.send(b'C', &retag(&tag, exec_sent))?;
                            } else {
                                self.client.send_msg(&m)?;
                            }
                        }
                        // A suspended portal past the cap is finished as far as the client knows.
                        b's' if truncated => {
                            self.client
                                .send(b'C', format!("SELECT {exec_sent}\0").as_bytes())?;
                        }
                        _ => self.client.send_msg(&m)?,
                    }
                    expects.pop_front();
                }
                (b'Z', Expect::Sync) => {
                    self.status = *m.body.first().unwrap_or(&b'I');
                    self.up_skipping = false;
                    self.pending = None;
                    self.at_ready = true;
                    if self.status == b'I' {
                        self.portals.clear();
                    }
                    self.client.send_msg(&m)?;
                    expects.pop_front();
                }
                (b'G' | b'H' | b'W', _) => return self.copy_escaped(),
                (other, _) => return Err(self.unexpected(other)),
            }
        }
        Ok(())
    }
}
