//! The local server harness: never runs as root, and leaves no process or directory behind — on drop,
//! on a panic with a shared server, and on abort.
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use aep_diesel_testkit::LocalServer;

const CHILD_ENV: &str = "AEP_DIESEL_TEST_CHILD";

fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // a zombie has exited; only its parent's bookkeeping is left
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

fn uid_of(pid: u32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(2).unwrap().parse().unwrap() // effective uid
}

fn wait_gone(pid: u32, dir: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while (alive(pid) || dir.exists()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(pid), "postgres {pid} still running");
    assert!(!dir.exists(), "{} still exists", dir.display());
}

/// In a child process (see below) this starts the shared server and dies; run directly, it checks that
/// dropping a server cleans up.
#[test]
fn server_child_or_drop_cleanup() {
    match std::env::var(CHILD_ENV).as_deref() {
        Ok(how) => {
            let server = LocalServer::shared().unwrap();
            println!("DIR={}", server.dir().display());
            println!("PID={}", server.pid().unwrap());
            use std::io::Write;
            std::io::stdout().flush().unwrap();
            if how == "abort" {
                std::process::abort();
            }
            panic!("dying with a shared server running");
        }
        Err(_) => {
            let server = LocalServer::start().unwrap();
            let (dir, pid) = (server.dir().to_path_buf(), server.pid().unwrap());
            assert!(dir.join("data/PG_VERSION").exists());
            assert!(alive(pid));
            drop(server);
            // Drop waits for the stop and the removal, so both are gone at once.
            assert!(!alive(pid), "postgres {pid} survived drop");
            assert!(!dir.exists(), "{} survived drop", dir.display());
        }
    }
}

fn run_child(how: &str) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "server_child_or_drop_cleanup",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, how)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the child was supposed to die");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let field = |k: &str| {
        stdout
            .lines()
            .find_map(|l| l.find(k).map(|i| &l[i + k.len()..]))
            .unwrap_or_else(|| {
                panic!(
                    "child printed no {k}: {stdout} {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
            .to_string()
    };
    let dir = PathBuf::from(field("DIR="));
    let pid: u32 = field("PID=").parse().unwrap();
    wait_gone(pid, &dir);
}

#[test]
fn a_panic_leaves_nothing_behind() {
    run_child("panic");
}

#[test]
fn an_abort_leaves_nothing_behind() {
    run_child("abort");
}

#[test]
fn the_server_never_runs_as_root() {
    let server = LocalServer::shared().unwrap();
    let pid = server.pid().unwrap();
    let me = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap();
    let server_uid = uid_of(pid);
    assert_ne!(server_uid, 0, "postgres runs as root");
    if me != 0 {
        assert_eq!(
            server_uid, me,
            "as a normal user the server runs as that user"
        );
    }
}

#[test]
fn restart_keeps_data_and_port() {
    let server = LocalServer::start().unwrap();
    let port = server.port();
    server
        .admin_execute(
            "postgres",
            "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)",
        )
        .unwrap();
    let old = server.pid().unwrap();
    server.restart().unwrap();
    assert_ne!(server.pid().unwrap(), old);
    assert_eq!(server.port(), port);
    let out = server
        .psql("prod:all")
        .args(["-tAc", "select 1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server
        .admin_execute(
            "postgres",
            "DO $$ BEGIN IF (SELECT x FROM kept) <> 42 THEN RAISE 'lost'; END IF; END $$",
        )
        .unwrap();
}
