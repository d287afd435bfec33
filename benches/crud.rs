//! Typed CRUD against the physical limit, on the local TLS server, one run, figures side by side:
//! - bulk insert of 200,000 rows (bigint, text, numeric, int, timestamptz): INSERT batches, binary
//!   COPY, and `psql \copy … from` with the same data (the reference);
//! - typed select of those rows into structs, and `psql -c 'select …' > /dev/null` (the reference);
//! - peak memory (VmHWM) of a child process streaming 1,000,000 rows row by row;
//! - pool checkout + `select 1` per second, single-threaded and with 16 threads.
//!
//! ```text
//! cargo bench --bench crud
//! ```
//! Prints figures and ratios; asserts nothing.
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aep_diesel::{Engine, bulk};
use aep_diesel_testkit::LocalServer;
use bigdecimal::BigDecimal;
use chrono::{DateTime, TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::pg::PgRowByRowLoadingMode;
use diesel::prelude::*;

const ROWS: usize = 200_000;
const STREAM_ROWS: usize = 1_000_000;

diesel::table! {
    bench_rows (id) {
        id -> Int8,
        label -> Text,
        amount -> Numeric,
        qty -> Int4,
        at -> Timestamptz,
    }
}

#[derive(Insertable, Queryable, Selectable, Debug, Clone, PartialEq)]
#[diesel(table_name = bench_rows, treat_none_as_default_value = false)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct Row {
    id: i64,
    label: String,
    amount: BigDecimal,
    qty: i32,
    at: DateTime<Utc>,
}

fn rows() -> Vec<Row> {
    let base = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    (0..ROWS)
        .map(|i| Row {
            id: i as i64,
            label: format!(
                "event-{i:07}-{}",
                ["web", "mobile", "email", "store"][i % 4]
            ),
            amount: BigDecimal::from_str(&format!("{}.{:02}", i % 10_000, i % 100)).unwrap(),
            qty: (i % 97) as i32,
            at: base + chrono::Duration::seconds(i as i64),
        })
        .collect()
}

fn reset(engine: &Engine) {
    engine
        .get()
        .unwrap()
        .batch_execute(
            "DROP TABLE IF EXISTS bench_rows; CREATE TABLE bench_rows \
             (id bigint, label text, amount numeric(12,2), qty integer, at timestamptz)",
        )
        .unwrap();
}

fn count(engine: &Engine) -> i64 {
    bench_rows::table
        .count()
        .get_result(&mut engine.get().unwrap())
        .unwrap()
}

/// Best of `runs` timings of `f`, each after an untimed `setup`.
fn best<T>(runs: usize, mut setup: impl FnMut(), mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        setup();
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.unwrap())
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// `--stream-child`: stream STREAM_ROWS typed rows row by row, then print the peak RSS.
fn stream_child() {
    let url = std::env::var("AEP_BENCH_URL").unwrap();
    let engine = aep_diesel::create_engine(&url).unwrap();
    let mut conn = engine.get().unwrap();
    let t = Instant::now();
    let query = diesel::dsl::sql::<(
        diesel::sql_types::Int8,
        diesel::sql_types::Text,
        diesel::sql_types::Numeric,
        diesel::sql_types::Int4,
        diesel::sql_types::Timestamptz,
    )>(&format!(
        "SELECT g::bigint, 'event-' || g, (g % 10000)::numeric(12,2), (g % 97)::int, \
         timestamptz '2026-01-01' + g * interval '1 second' FROM generate_series(1, {STREAM_ROWS}) g"
    ));
    let mut n = 0usize;
    let mut sum = 0i64;
    for row in query
        .load_iter::<(i64, String, BigDecimal, i32, DateTime<Utc>), PgRowByRowLoadingMode>(
            &mut conn,
        )
        .unwrap()
    {
        let (id, _, _, qty, _) = row.unwrap();
        sum += id + qty as i64;
        n += 1;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    println!(
        "{n} {sum} {:.3} {}",
        t.elapsed().as_secs_f64(),
        hwm.split_whitespace().nth(1).unwrap()
    );
}

fn main() {
    if std::env::args().any(|a| a == "--stream-child") {
        return stream_child();
    }
    let server = LocalServer::start().expect("local server");
    let creds = server.create_database("bench").unwrap();
    let engine = Engine::builder(creds.clone()).max_size(16).build().unwrap();
    let data = rows();
    let ncols = 5;
    println!(
        "aep-diesel CRUD benchmark: {ROWS} rows x {ncols} columns, local TLS server (best of 3)\n"
    );

    // Reference: psql \copy from a CSV of the same data.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("rows.csv");
    let mut text = String::with_capacity(ROWS * 64);
    for r in &data {
        text.push_str(&format!(
            "{},{},{},{},{}\n",
            r.id,
            r.label,
            r.amount,
            r.qty,
            r.at.to_rfc3339()
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let (t_psql_copy, _) = best(
        3,
        || reset(&engine),
        || {
            let out = server
                .psql("bench")
                .arg("-c")
                .arg(format!(
                    "\\copy bench_rows from '{}' with (format csv)",
                    csv.display()
                ))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        },
    );
    assert_eq!(count(&engine) as usize, ROWS);

    let (t_insert, _) = best(
        3,
        || reset(&engine),
        || {
            let mut conn = engine.get().unwrap();
            bulk::insert_in_batches(&mut conn, &data, ncols, |c, chunk| {
                diesel::insert_into(bench_rows::table)
                    .values(chunk)
                    .execute(c)
            })
            .unwrap()
        },
    );
    assert_eq!(count(&engine) as usize, ROWS);

    let (t_copy, _) = best(
        3,
        || reset(&engine),
        || {
            let mut conn = engine.get().unwrap();
            bulk::copy_in(&mut conn, bench_rows::table, &data).unwrap()
        },
    );
    assert_eq!(count(&engine) as usize, ROWS);

    // Every typed select reads the same rows into structs, best of 3.
    let typed_select = |engine: &Engine| {
        best(
            3,
            || {},
            || {
                let mut conn = engine.get().unwrap();
                bench_rows::table
                    .select(Row::as_select())
                    .load::<Row>(&mut conn)
                    .unwrap()
            },
        )
    };
    let (t_select, loaded) = typed_select(&engine);
    assert_eq!(loaded.len(), ROWS);
    // The same rows through the compatible protocol (what Query Service gets): text results decoded
    // by aep-diesel's codec.
    let compat = Engine::builder(creds.clone())
        .protocol(aep_diesel::Protocol::Compatible)
        .build()
        .unwrap();
    let (t_select_text, loaded_text) = typed_select(&compat);
    assert_eq!(loaded_text, loaded, "both protocols read the same rows");
    // The same read through the Query Service stand-in (its 50,000-row cap raised so one query
    // reads everything): what the compatible protocol pays for a relaying server in between.
    let qs = aep_diesel_testkit::QsStandIn::builder(&server)
        .row_cap(ROWS as u64 + 1)
        .start()
        .unwrap();
    let via_standin = Engine::builder(qs.options_for("bench")).build().unwrap();
    let (t_select_qs, loaded_qs) = typed_select(&via_standin);
    assert_eq!(loaded_qs, loaded, "the stand-in relays the same rows");
    let (t_psql_select, _) = best(
        3,
        || {},
        || {
            let out = server
                .psql("bench")
                .args(["-c", "select id, label, amount, qty, at from bench_rows"])
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(out.success());
        },
    );

    println!(
        "{:<44} {:>10} {:>14} {:>10}",
        "", "time", "rows/s", "vs psql"
    );
    let line = |name: &str, t: Duration, reference: Duration| {
        println!(
            "{:<44} {:>8.0}ms {:>14.0} {:>9.2}x",
            name,
            t.as_secs_f64() * 1e3,
            rate(ROWS, t),
            reference.as_secs_f64() / t.as_secs_f64()
        )
    };
    line("psql \\copy from CSV (reference)", t_psql_copy, t_psql_copy);
    line(
        "typed INSERT batches (13,107 rows/statement)",
        t_insert,
        t_psql_copy,
    );
    line("typed binary COPY FROM STDIN", t_copy, t_psql_copy);
    line(
        "psql -c 'select ...' > /dev/null (reference)",
        t_psql_select,
        t_psql_select,
    );
    line(
        "typed select into structs (binary)",
        t_select,
        t_psql_select,
    );
    line(
        "typed select into structs (compatible, text)",
        t_select_text,
        t_psql_select,
    );
    line(
        "typed select, compatible, via QS stand-in",
        t_select_qs,
        t_psql_select,
    );
    println!(
        "compatible protocol costs {:.2}x the binary one on the same rows",
        t_select_text.as_secs_f64() / t_select.as_secs_f64()
    );

    // Streaming 1,000,000 rows in a child process, to measure its peak RSS alone.
    let c = creds;
    let url = format!(
        "postgresql://{}:{}@localhost:{}/{}?sslmode=verify-full&sslrootcert={}",
        percent_encoding::utf8_percent_encode(c.get_user(), percent_encoding::NON_ALPHANUMERIC),
        percent_encoding::utf8_percent_encode(
            c.get_password().expose(),
            percent_encoding::NON_ALPHANUMERIC
        ),
        c.get_port(),
        c.get_dbname(),
        server.ca_cert_path().display()
    );
    let out = Command::new(std::env::current_exe().unwrap())
        .arg("--stream-child")
        .env("AEP_BENCH_URL", url)
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() == 4 {
        println!(
            "\nstreaming {} rows row by row: {:.2}s, peak RSS {:.1} MB (target < 64 MB)",
            f[0],
            f[2].parse::<f64>().unwrap(),
            f[3].parse::<f64>().unwrap() / 1024.0
        );
    } else {
        println!(
            "\nstreaming child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Pool checkout + select 1.
    let per_thread = |engine: &Engine, n: usize| {
        for _ in 0..n {
            let mut conn = engine.get().unwrap();
            let one: i32 = diesel::select(1.into_sql::<diesel::sql_types::Int4>())
                .get_result(&mut conn)
                .unwrap();
            assert_eq!(one, 1);
        }
    };
    let engine1 = Engine::builder(server.options_for("bench"))
        .build()
        .unwrap();
    per_thread(&engine1, 100); // warm up
    let n = 20_000;
    let t = Instant::now();
    per_thread(&engine1, n);
    let single = rate(n, t.elapsed());
    let engine16 = Arc::new(engine.clone());
    per_thread(&engine16, 100);
    let threads = 16;
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let e = engine16.clone();
            s.spawn(move || per_thread(&e, n / threads));
        }
    });
    let multi = rate(n, t.elapsed());
    println!(
        "pool checkout + select 1: {:.0}/s single-threaded, {:.0}/s with {threads} threads (pool of 16) (target >= 10,000/s)",
        single, multi
    );
    let _ = engine.state();
}
