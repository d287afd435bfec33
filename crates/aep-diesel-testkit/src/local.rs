//! The throwaway PostgreSQL server ([`LocalServer`]).

use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aep_diesel::{ConnectOptions, Engine, Password, RootCert, SslMode};
use diesel::connection::SimpleConnection;

use crate::error::{Error, Result};

/// The platform-shaped role every local server has.
pub const PLATFORM_USER: &str = "ACME@AdobeOrg";
/// The platform-shaped database every local server has.
pub const PLATFORM_DB: &str = "prod:all";
const ADMIN_USER: &str = "aep_admin";

fn setup(message: impl Into<String>) -> Error {
    Error::Setup {
        message: message.into(),
    }
}

fn client(context: &'static str) -> impl FnOnce(aep_diesel::Error) -> Error {
    move |source| Error::Client { context, source }
}

fn query(context: &'static str) -> impl FnOnce(diesel::result::Error) -> Error {
    move |e| Error::Client {
        context,
        source: aep_diesel::Error::Query(e),
    }
}

/// Options for [`LocalServer`].
#[derive(Debug, Clone)]
#[must_use = "call .start()"]
pub struct LocalServerBuilder {
    ssl: bool,
    settings: Vec<(String, String)>,
}

impl LocalServerBuilder {
    /// Serve TLS. Default: on. Off gives a server that only speaks plaintext, for downgrade tests: every
    /// aep-diesel connection to it must fail with [`aep_diesel::Error::Tls`].
    pub fn ssl(mut self, on: bool) -> Self {
        self.ssl = on;
        self
    }

    /// An extra server setting (`postgres -c name=value`). Default: none.
    pub fn setting(mut self, name: &str, value: &str) -> Self {
        self.settings.push((name.into(), value.into()));
        self
    }

    /// Create, start and prepare the server. Takes a second or two.
    pub fn start(self) -> Result<LocalServer> {
        LocalServer::launch(self)
    }
}

struct Running {
    child: Child,
}

/// A running throwaway PostgreSQL server with TLS, for examples, tests and benchmarks.
///
/// [`LocalServer::start`] runs `initdb` and `postgres` from the machine's PostgreSQL server binaries
/// (Debian: `apt-get install -y postgresql`) in a fresh temporary directory:
/// - `ssl=on` with a CA and server certificate made here (for `localhost`, `127.0.0.1` and `::1`),
/// - scram-sha-256 passwords, `hostssl` only: plaintext connections are rejected by `pg_hba.conf`,
/// - a platform-shaped role `ACME@AdobeOrg` with a random password containing `:`, owning database
///   `prod:all`,
/// - TCP on a free loopback port, no Unix socket.
///
/// As root the server runs as the `postgres` user. Everything is removed when the [`LocalServer`] is
/// dropped; a watchdog process also stops the server and removes the directory if this process dies
/// without dropping it (a panic in a shared server, `abort`, `SIGKILL`).
pub struct LocalServer {
    dir: PathBuf,
    bindir: PathBuf,
    port: u16,
    ssl: bool,
    run_as: Option<(u32, u32)>,
    args: Vec<String>,
    admin_password: Password,
    platform_password: Mutex<Password>,
    running: Mutex<Option<Running>>,
    watchdog: Mutex<Option<(Child, ChildStdin)>>,
}

impl std::fmt::Debug for LocalServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalServer")
            .field("dir", &self.dir)
            .field("port", &self.port)
            .field("ssl", &self.ssl)
            .finish_non_exhaustive()
    }
}

impl LocalServer {
    /// A builder with the defaults (TLS on).
    pub fn builder() -> LocalServerBuilder {
        LocalServerBuilder {
            ssl: true,
            settings: Vec::new(),
        }
    }

    /// Start a TLS server with the defaults.
    pub fn start() -> Result<LocalServer> {
        Self::builder().start()
    }

    /// One TLS server shared by the whole process (one per test binary), started on first use. Its
    /// directory and process are removed by the watchdog when the process exits.
    pub fn shared() -> Result<&'static LocalServer> {
        static SHARED: OnceLock<std::result::Result<LocalServer, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| LocalServer::start().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|m| setup(m.clone()))
    }

    fn launch(opts: LocalServerBuilder) -> Result<LocalServer> {
        let bindir = find_bindir()?;
        let tmp = tempfile::Builder::new()
            .prefix("aep-diesel-pg-")
            .tempdir()
            .map_err(|e| Error::io("creating the server directory", e))?;
        let dir = tmp.keep();
        // From here on the watchdog owns the directory's removal.
        let watchdog = spawn_watchdog(&dir)?;
        let mut server = LocalServer {
            dir: dir.clone(),
            bindir,
            port: 0,
            ssl: opts.ssl,
            run_as: None,
            args: Vec::new(),
            admin_password: Password::verbatim(random_token(24)),
            platform_password: Mutex::new(Password::verbatim(format!(
                "tech-acct-{}:{}/+={}",
                random_token(6),
                random_token(20),
                random_token(8)
            ))),
            running: Mutex::new(None),
            watchdog: Mutex::new(Some(watchdog)),
        };
        let is_root = fs::metadata(&dir)
            .map_err(|e| Error::io("reading the server directory", e))?
            .uid()
            == 0;
        if is_root {
            server.run_as = Some(postgres_user()?);
        }
        server.init(&opts)?;
        let mut last = None;
        for _ in 0..5 {
            server.port = free_port()?;
            server.args = server.server_args(&opts);
            match server.start_process() {
                Ok(()) => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        if let Some(e) = last {
            return Err(e);
        }
        if server.ssl {
            server.prepare_roles()?;
        }
        Ok(server)
    }

    fn init(&self, opts: &LocalServerBuilder) -> Result<()> {
        let data = self.dir.join("data");
        let pwfile = self.dir.join("pwfile");
        write_private(&pwfile, self.admin_password.expose().as_bytes())?;
        if opts.ssl {
            let (ca_pem, cert_pem, key_pem) = make_certs()?;
            fs::write(self.dir.join("ca.crt"), &ca_pem)
                .map_err(|e| Error::io("writing ca.crt", e))?;
            fs::write(self.dir.join("server.crt"), &cert_pem)
                .map_err(|e| Error::io("writing server.crt", e))?;
            write_private(&self.dir.join("server.key"), &key_pem)?;
        }
        self.chown_all()?;
        let out = self
            .command(&self.bindir.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                ADMIN_USER,
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "-N",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .map_err(|e| Error::io("running initdb", e))?;
        if !out.status.success() {
            return Err(Error::Server {
                message: "initdb failed".into(),
                log: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        let _ = fs::remove_file(&pwfile);
        let hba = if opts.ssl {
            "# aep-diesel local server: TLS and scram only\n\
             hostssl all all 127.0.0.0/8 scram-sha-256\n\
             hostssl all all ::1/128 scram-sha-256\n\
             hostnossl all all 0.0.0.0/0 reject\n\
             hostnossl all all ::/0 reject\n"
        } else {
            "# aep-diesel local server without TLS (downgrade tests only)\n\
             host all all 127.0.0.0/8 scram-sha-256\n\
             host all all ::1/128 scram-sha-256\n"
        };
        fs::write(data.join("pg_hba.conf"), hba)
            .map_err(|e| Error::io("writing pg_hba.conf", e))?;
        self.chown_all()
    }

    fn server_args(&self, opts: &LocalServerBuilder) -> Vec<String> {
        let mut settings: Vec<(String, String)> = vec![
            ("listen_addresses".into(), "127.0.0.1,127.0.0.2".into()),
            ("port".into(), self.port.to_string()),
            ("unix_socket_directories".into(), String::new()),
            ("lc_messages".into(), "C".into()),
            ("fsync".into(), "off".into()),
            ("synchronous_commit".into(), "off".into()),
            ("full_page_writes".into(), "off".into()),
            ("max_connections".into(), "120".into()),
            ("shared_buffers".into(), "128MB".into()),
            ("password_encryption".into(), "scram-sha-256".into()),
            ("logging_collector".into(), "off".into()),
        ];
        if opts.ssl {
            let path = |f: &str| self.dir.join(f).display().to_string();
            settings.push(("ssl".into(), "on".into()));
            settings.push(("ssl_cert_file".into(), path("server.crt")));
            settings.push(("ssl_key_file".into(), path("server.key")));
            settings.push(("ssl_ca_file".into(), path("ca.crt")));
        } else {
            settings.push(("ssl".into(), "off".into()));
        }
        settings.extend(opts.settings.iter().cloned());
        let mut args = vec![
            "-D".to_string(),
            self.dir.join("data").display().to_string(),
        ];
        for (k, v) in settings {
            args.push("-c".into());
            args.push(format!("{k}={v}"));
        }
        args
    }

    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.dir)
            .env("LC_ALL", "C")
            .env_remove("PGDATA");
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    fn chown_all(&self) -> Result<()> {
        let Some((uid, gid)) = self.run_as else {
            return Ok(());
        };
        fn walk(p: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
            std::os::unix::fs::lchown(p, Some(uid), Some(gid))?;
            if p.is_dir() && !p.is_symlink() {
                for entry in fs::read_dir(p)? {
                    walk(&entry?.path(), uid, gid)?;
                }
            }
            Ok(())
        }
        walk(&self.dir, uid, gid)
            .map_err(|e| Error::io("handing the server directory to the postgres user", e))
    }

    fn start_process(&self) -> Result<()> {
        let log_path = self.dir.join("server.log");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| Error::io("opening server.log", e))?;
        self.chown_all()?;
        let child = self
            .command(&self.bindir.join("postgres"))
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| Error::io("server.log", e))?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .map_err(|e| Error::io("starting postgres", e))?;
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) = Some(Running { child });
        self.wait_ready(&log_path)
    }

    fn wait_ready(&self, log_path: &Path) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            {
                let mut guard = self.running.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(run) = guard.as_mut() {
                    if let Ok(Some(status)) = run.child.try_wait() {
                        *guard = None;
                        let log = fs::read_to_string(log_path).unwrap_or_default();
                        let tail: Vec<&str> = log.lines().rev().take(12).collect();
                        let tail: Vec<&str> = tail.into_iter().rev().collect();
                        return Err(Error::Server {
                            message: format!("postgres exited ({status})"),
                            log: tail.join("\n"),
                        });
                    }
                }
            }
            let ready = match (self.ssl, self.admin_connection()) {
                (true, Ok(_)) => true,
                (true, Err(aep_diesel::Error::Unreachable { .. })) => false,
                (true, Err(e)) => return Err(client("connecting to the new server")(e)),
                // A plaintext-only server is up once it answers the TLS request (with a refusal).
                (false, r) => matches!(r, Err(aep_diesel::Error::Tls { .. })),
            };
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::Server {
                    message: "the server did not become ready within 30 s".into(),
                    log: fs::read_to_string(log_path).unwrap_or_default(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn admin_connection(&self) -> aep_diesel::Result<aep_diesel::AepConnection> {
        Engine::builder(self.admin_options())
            .build()?
            .connect_unpooled()
    }

    fn admin_connection_to(&self, dbname: &str) -> Result<aep_diesel::AepConnection> {
        Engine::builder(self.admin_options_for(dbname))
            .build()
            .and_then(|e| e.connect_unpooled())
            .map_err(client("connecting as the superuser"))
    }

    fn prepare_roles(&self) -> Result<()> {
        let mut conn = self.admin_connection_to("postgres")?;
        let pw = self
            .platform_password
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let role = quote_ident(PLATFORM_USER);
        // CREATE DATABASE cannot share a (implicit) transaction with other statements.
        conn.batch_execute(&format!(
            "CREATE ROLE {role} LOGIN PASSWORD {}",
            quote_literal(pw.expose())
        ))
        .and_then(|_| {
            conn.batch_execute(&format!(
                "CREATE DATABASE {} OWNER {role}",
                quote_ident(PLATFORM_DB)
            ))
        })
        .map_err(query("creating the platform role and database"))
    }

    /// `options` set to verify this server's certificate (verify-full against its own CA); unchanged for
    /// a server without TLS.
    pub fn secure(&self, options: ConnectOptions) -> ConnectOptions {
        if self.ssl {
            options.ssl_mode(SslMode::VerifyFull(RootCert::File(self.ca_cert_path())))
        } else {
            options
        }
    }

    /// An engine for the platform role on `prod:all`, verifying the server certificate.
    pub fn engine(&self) -> Result<Engine> {
        self.engine_for(self.options())
    }

    /// An engine for `options` (made with [`LocalServer::options_for`] or [`LocalServer::secure`]).
    pub fn engine_for(&self, options: ConnectOptions) -> Result<Engine> {
        Engine::builder(options)
            .build()
            .map_err(client("building an engine"))
    }

    /// An engine for the superuser on `prod:all` (for test setup: creating roles and databases).
    pub fn admin_engine(&self) -> Result<Engine> {
        self.engine_for(self.admin_options_for(PLATFORM_DB))
    }

    /// Options of the platform-shaped role (`ACME@AdobeOrg`) on `prod:all`, verifying the certificate.
    pub fn options(&self) -> ConnectOptions {
        self.options_for(PLATFORM_DB)
    }

    /// Options of the platform-shaped role on another database of this server.
    pub fn options_for(&self, dbname: &str) -> ConnectOptions {
        let pw = self
            .platform_password
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        self.secure(
            ConnectOptions::new("localhost", self.port, dbname, PLATFORM_USER, pw)
                .expect("valid local options"),
        )
    }

    /// Options of the superuser on the `postgres` database.
    pub fn admin_options(&self) -> ConnectOptions {
        self.admin_options_for("postgres")
    }

    fn admin_options_for(&self, dbname: &str) -> ConnectOptions {
        self.secure(
            ConnectOptions::new(
                "localhost",
                self.port,
                dbname,
                ADMIN_USER,
                self.admin_password.clone(),
            )
            .expect("valid local options"),
        )
    }

    /// Create a fresh database owned by the platform role and return its credentials. Tests use one
    /// database each to stay independent.
    pub fn create_database(&self, dbname: &str) -> Result<ConnectOptions> {
        let mut conn = self.admin_connection_to("postgres")?;
        let db = quote_ident(dbname);
        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            .and_then(|()| {
                conn.batch_execute(&format!(
                    "CREATE DATABASE {db} OWNER {}",
                    quote_ident(PLATFORM_USER)
                ))
            })
            .map_err(query("creating a database"))?;
        Ok(self.options_for(dbname))
    }

    /// Run SQL as the superuser on `dbname`.
    pub fn admin_execute(&self, dbname: &str, sql: &str) -> Result<()> {
        self.admin_connection_to(dbname)?
            .batch_execute(sql)
            .map_err(query("running SQL as the superuser"))
    }

    /// Change the platform role's password on the server, as a credential rotation does, and return the
    /// new options. Connections already open stay open, as on the platform.
    pub fn rotate_password(&self) -> Result<ConnectOptions> {
        let new = Password::verbatim(format!("rotated-{}:{}", random_token(6), random_token(24)));
        self.admin_execute(
            "postgres",
            &format!(
                "ALTER ROLE {} PASSWORD {}",
                quote_ident(PLATFORM_USER),
                quote_literal(new.expose())
            ),
        )?;
        *self
            .platform_password
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = new;
        Ok(self.options())
    }

    /// Stop the server (fast shutdown); connections are cut. [`LocalServer::start_again`] restarts it on
    /// the same port with the same data.
    pub fn stop(&self) -> Result<()> {
        let run = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(mut run) = run {
            signal(run.child.id(), libc::SIGINT);
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Ok(Some(_)) = run.child.try_wait() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = run.child.kill();
                    let _ = run.child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    /// Start a stopped server again.
    pub fn start_again(&self) -> Result<()> {
        if self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
        {
            return Ok(());
        }
        self.start_process()
    }

    /// Stop and start the server.
    pub fn restart(&self) -> Result<()> {
        self.stop()?;
        self.start_again()
    }

    /// The server's TCP port on 127.0.0.1 (also reachable as `localhost`, and as 127.0.0.2, which the
    /// certificate does not name).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The CA certificate (PEM) that signed the server certificate.
    pub fn ca_cert_path(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// The server's directory (data, certificates, `server.log`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|r| r.child.id())
    }

    /// The directory holding `psql`, `initdb` and `postgres`.
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// A `psql` command for the platform role on `dbname`, over TLS (verify-full), with the password
    /// passed in the environment (never on the command line).
    pub fn psql(&self, dbname: &str) -> Command {
        let psql = [self.bindir.join("psql"), PathBuf::from("/usr/bin/psql")]
            .into_iter()
            .find(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("psql"));
        let mut cmd = Command::new(psql);
        let pw = self
            .platform_password
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        cmd.env("PGHOST", "localhost")
            .env("PGPORT", self.port.to_string())
            .env("PGUSER", PLATFORM_USER)
            .env("PGDATABASE", dbname)
            .env("PGPASSWORD", pw.expose())
            .env("PGSSLMODE", "verify-full")
            .env("PGSSLROOTCERT", self.ca_cert_path())
            .env("PGGSSENCMODE", "disable")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"]);
        cmd
    }

    /// Write a CA certificate unrelated to this server to `path` (for negative TLS tests).
    pub fn write_foreign_ca(&self, path: &Path) -> Result<()> {
        let (ca, _, _) = make_certs()?;
        fs::write(path, ca).map_err(|e| Error::io("writing the foreign CA", e))
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.stop();
        if let Some((mut child, stdin)) = self
            .watchdog
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            drop(stdin); // EOF: the watchdog removes the directory and exits
            let _ = child.wait();
        }
    }
}

/// A shell process that waits for this process to close its stdin (on drop, exit or crash), then stops
/// whatever server runs in `dir` and removes `dir`. In its own process group, so a terminal's Ctrl-C
/// does not kill it before it cleans up.
fn spawn_watchdog(dir: &Path) -> Result<(Child, ChildStdin)> {
    const SCRIPT: &str = r#"
dir="$1"
cat >/dev/null
pidfile="$dir/data/postmaster.pid"
if [ -f "$pidfile" ]; then
  pid=$(head -n 1 "$pidfile")
  if [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null; then
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 200 ]; do sleep 0.05; i=$((i+1)); done
    kill -KILL "$pid" 2>/dev/null
  fi
fi
rm -rf "$dir"
"#;
    let mut child = Command::new("/bin/sh")
        .args(["-c", SCRIPT, "aep-diesel-watchdog"])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| Error::io("starting the cleanup watchdog (/bin/sh)", e))?;
    let stdin = child.stdin.take().expect("piped stdin");
    Ok((child, stdin))
}

#[allow(unsafe_code)]
fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) has no memory-safety preconditions; the pid is our own child's.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    f.set_permissions(fs::Permissions::from_mode(0o600))
        .and_then(|_| f.write_all(bytes))
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| Error::io("finding a free port", e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| Error::io("finding a free port", e))
}

fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut bytes = vec![0u8; len];
    openssl::rand::rand_bytes(&mut bytes).expect("OpenSSL random bytes");
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// `"ident"` with inner quotes doubled.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `'literal'` with inner quotes doubled (standard_conforming_strings is on).
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The uid and gid of the `postgres` user, from /etc/passwd.
fn postgres_user() -> Result<(u32, u32)> {
    let passwd =
        fs::read_to_string("/etc/passwd").map_err(|e| Error::io("reading /etc/passwd", e))?;
    passwd
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 3 && f[0] == "postgres").then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
        })
        .next()
        .ok_or_else(|| {
            setup(
                "running as root needs a `postgres` user to run the server as (PostgreSQL refuses root); \
                 `apt-get install -y postgresql` creates it",
            )
        })
}

/// Where `initdb` and `postgres` live: `$AEP_DIESEL_PG_BINDIR`, `PATH`, `pg_config --bindir`, or the
/// newest `/usr/lib/postgresql/*/bin`.
pub fn find_bindir() -> Result<PathBuf> {
    let has_server = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(d) = std::env::var_os("AEP_DIESEL_PG_BINDIR").map(PathBuf::from) {
        return if has_server(&d) {
            Ok(d)
        } else {
            Err(setup(format!(
                "AEP_DIESEL_PG_BINDIR={} holds no initdb and postgres",
                d.display()
            )))
        };
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .collect();
    versions.sort();
    candidates.extend(versions.into_iter().rev().map(|(_, p)| p));
    candidates
        .into_iter()
        .find(|d| has_server(d))
        .ok_or_else(|| {
            setup(
                "no PostgreSQL server binaries (initdb, postgres) found in PATH, `pg_config --bindir` or \
                 /usr/lib/postgresql/*/bin; install them (Debian/Ubuntu: apt-get install -y postgresql) or set \
                 AEP_DIESEL_PG_BINDIR",
            )
        })
}

/// PEM texts: CA certificate, server certificate, server key.
type Pems = (Vec<u8>, Vec<u8>, Vec<u8>);

/// A CA certificate and a server certificate + key signed by it, all PEM.
fn make_certs() -> Result<Pems> {
    use openssl::asn1::Asn1Time;
    use openssl::bn::{BigNum, MsbOption};
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::extension::{
        BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName, SubjectKeyIdentifier,
    };
    use openssl::x509::{X509, X509NameBuilder};

    let build = || -> std::result::Result<Pems, openssl::error::ErrorStack> {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
        let key =
            || -> std::result::Result<PKey<openssl::pkey::Private>, openssl::error::ErrorStack> {
                PKey::from_ec_key(EcKey::generate(&group)?)
            };
        let serial =
            || -> std::result::Result<openssl::asn1::Asn1Integer, openssl::error::ErrorStack> {
                let mut bn = BigNum::new()?;
                bn.rand(120, MsbOption::MAYBE_ZERO, false)?;
                bn.to_asn1_integer()
            };
        let name =
            |cn: &str| -> std::result::Result<openssl::x509::X509Name, openssl::error::ErrorStack> {
                let mut n = X509NameBuilder::new()?;
                n.append_entry_by_nid(Nid::ORGANIZATIONNAME, "aep-diesel local server")?;
                n.append_entry_by_nid(Nid::COMMONNAME, cn)?;
                Ok(n.build())
            };

        let ca_key = key()?;
        let ca_name = name("aep-diesel test CA")?;
        let mut ca = X509::builder()?;
        ca.set_version(2)?;
        let ca_serial = serial()?;
        ca.set_serial_number(ca_serial.as_ref())?;
        ca.set_subject_name(&ca_name)?;
        ca.set_issuer_name(&ca_name)?;
        ca.set_pubkey(&ca_key)?;
        ca.set_not_before(Asn1Time::days_from_now(0)?.as_ref())?;
        ca.set_not_after(Asn1Time::days_from_now(30)?.as_ref())?;
        ca.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        ca.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        )?;
        let ski = SubjectKeyIdentifier::new().build(&ca.x509v3_context(None, None))?;
        ca.append_extension(ski)?;
        ca.sign(&ca_key, MessageDigest::sha256())?;
        let ca = ca.build();

        let srv_key = key()?;
        let mut srv = X509::builder()?;
        srv.set_version(2)?;
        let srv_serial = serial()?;
        srv.set_serial_number(srv_serial.as_ref())?;
        let srv_name = name("localhost")?;
        srv.set_subject_name(srv_name.as_ref())?;
        srv.set_issuer_name(ca.subject_name())?;
        srv.set_pubkey(&srv_key)?;
        srv.set_not_before(Asn1Time::days_from_now(0)?.as_ref())?;
        srv.set_not_after(Asn1Time::days_from_now(30)?.as_ref())?;
        srv.append_extension(BasicConstraints::new().build()?)?;
        srv.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .key_agreement()
                .build()?,
        )?;
        srv.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
        let san = SubjectAlternativeName::new()
            .dns("localhost")
            .ip("127.0.0.1")
            .ip("::1")
            .build(&srv.x509v3_context(Some(&ca), None))?;
        srv.append_extension(san)?;
        srv.sign(&ca_key, MessageDigest::sha256())?;
        let srv = srv.build();
        Ok((
            ca.to_pem()?,
            srv.to_pem()?,
            srv_key.private_key_to_pem_pkcs8()?,
        ))
    };
    build().map_err(Error::Certificates)
}
