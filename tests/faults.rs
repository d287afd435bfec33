//! The pool under load and faults, each test on a server of its own: many threads, a restart while in
//! use, rotating credentials, an expired password.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aep_diesel::{Engine, Error, RotatingCredentials};
use aep_diesel_testkit::LocalServer;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};

fn backend_pid(conn: &mut aep_diesel::AepConnection) -> QueryResult<i32> {
    diesel::select(diesel::dsl::sql::<Integer>("pg_backend_pid()")).get_result(conn)
}

/// Sessions the server has for `application_name`.
fn sessions(server: &LocalServer, app: &str) -> i64 {
    let engine = server.admin_engine().unwrap();
    diesel::select(diesel::dsl::sql::<BigInt>(&format!(
        "count(*) FROM pg_stat_activity WHERE application_name = '{app}'"
    )))
    .get_result(&mut engine.get().unwrap())
    .unwrap()
}

#[test]
fn thirty_two_threads_five_hundred_checkouts_each() {
    let server = LocalServer::start().unwrap();
    let max = 8;
    let engine = Engine::builder(server.options().application_name("load-test"))
        .max_size(max)
        .build()
        .unwrap();
    let peak = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|s| {
        for t in 0..32 {
            let (engine, peak, done) = (engine.clone(), peak.clone(), done.clone());
            s.spawn(move || {
                for i in 0..500 {
                    let mut conn = engine
                        .get()
                        .unwrap_or_else(|e| panic!("thread {t} checkout {i}: {e}"));
                    let v: i32 = diesel::select((t * 1000 + i).into_sql::<Integer>())
                        .get_result(&mut conn)
                        .unwrap();
                    assert_eq!(v, t * 1000 + i);
                    peak.fetch_max(engine.state().connections as usize, Ordering::Relaxed);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(done.load(Ordering::Relaxed), 32 * 500);
    assert!(
        peak.load(Ordering::Relaxed) <= max as usize,
        "pool grew to {}",
        peak.load(Ordering::Relaxed)
    );
    let state = engine.state();
    assert_eq!(
        state.idle, state.connections,
        "every connection came back: {state:?}"
    );
    let on_server = sessions(&server, "load-test");
    assert!(
        on_server >= 1 && on_server <= max as i64,
        "{on_server} sessions on the server"
    );
}

#[test]
fn a_restart_errors_in_flight_work_and_the_pool_recovers() {
    let server = LocalServer::start().unwrap();
    let engine = Engine::builder(server.options())
        .max_size(4)
        .checkout_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (engine, stop, ok, failed) =
                (engine.clone(), stop.clone(), ok.clone(), failed.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let r = engine.get().and_then(|mut c| {
                        diesel::select(diesel::dsl::sql::<Integer>("1 FROM pg_sleep(0.01)"))
                            .get_result::<i32>(&mut c)
                            .map_err(Error::from)
                    });
                    match r {
                        Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let before = ok.load(Ordering::Relaxed);
    assert!(before > 0);
    server.stop().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // while the server is down, checkouts fail with a classified error, quickly
    let t = Instant::now();
    let e = engine.get().expect_err("server is down");
    assert!(
        matches!(e, Error::Unreachable { .. } | Error::Connection { .. }),
        "{e}"
    );
    assert!(t.elapsed() < Duration::from_secs(4));
    server.start_again().unwrap();
    // the same engine serves again
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match engine
            .get()
            .and_then(|mut c| backend_pid(&mut c).map_err(Error::from))
        {
            Ok(_) => break,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("the pool did not recover: {e}"),
        }
    }
    let after_restart = ok.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("no worker panicked");
    }
    assert!(
        failed.load(Ordering::Relaxed) > 0,
        "in-flight work saw the restart"
    );
    assert!(
        ok.load(Ordering::Relaxed) > after_restart,
        "work continued after the restart"
    );
}

#[test]
fn rotating_credentials_retire_old_connections_without_a_restart() {
    let server = LocalServer::start().unwrap();
    let source = RotatingCredentials::new(server.options().application_name("rotation-test"));
    let engine = Engine::builder_with_source(source.clone())
        .max_size(2)
        .build()
        .unwrap();
    let mut held = engine.get().unwrap();
    let old_pid = backend_pid(&mut held).unwrap();
    let idle_pid = {
        let mut other = engine.get().unwrap();
        backend_pid(&mut other).unwrap()
    };

    // the platform rotates the password; until the source is updated, new connections fail
    let new_creds = server.rotate_password().unwrap();
    engine.refresh();
    let e = engine.get().expect_err("old password refused");
    assert!(matches!(e, Error::Authentication { .. }), "{e}");
    assert!(e.to_string().contains("expire"), "{e}");

    // the application hands over the new credentials: new connections use them
    source.set(new_creds.application_name("rotation-test"));
    let mut fresh = engine.get().unwrap();
    let new_pid = backend_pid(&mut fresh).unwrap();
    assert!(new_pid != old_pid && new_pid != idle_pid);
    // the connection opened before keeps working until it is returned...
    assert_eq!(backend_pid(&mut held).unwrap(), old_pid);
    drop(held);
    drop(fresh);
    // ...and is then retired, as is the old idle one: only new sessions remain
    let deadline = Instant::now() + Duration::from_secs(5);
    let pids = |server: &LocalServer| -> Vec<i32> {
        let admin = server.admin_engine().unwrap();
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Array<Integer>>(
            "coalesce(array_agg(pid), '{}') FROM pg_stat_activity WHERE application_name = 'rotation-test'",
        ))
        .get_result(&mut admin.get().unwrap())
        .unwrap()
    };
    while (pids(&server).contains(&old_pid) || pids(&server).contains(&idle_pid))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let live = pids(&server);
    assert!(
        !live.contains(&old_pid) && !live.contains(&idle_pid),
        "{live:?}"
    );
    let mut again = engine.get().unwrap();
    assert!(backend_pid(&mut again).is_ok());
}
