//! Typed CRUD with the models generated for the sample sandbox: the `sample-sandbox` crate in
//! `examples/sandbox/`, written by `cargo run --example generate`. A service names the datasets it
//! uses as Cargo features of that crate, and compiles only those:
//!
//! ```toml
//! sample-sandbox = { path = "examples/sandbox", features = ["customers", "orders", "luma_web_data"] }
//! ```
//!
//! ```text
//! cargo run --example crud
//! ```
use std::process::ExitCode;
use std::str::FromStr;

use aep_diesel_testkit::{LocalServer, report, sample};
use bigdecimal::BigDecimal;

use sample_sandbox as sandbox;

use aep_diesel::model::prelude::*;

use sandbox::customers::{Customer, CustomerChanges, NewCustomer};
use sandbox::luma_web_data::{LumaWebData, NewLumaWebData};
use sandbox::orders::{NewOrder, Order, OrderChanges};
use sandbox::types::{
    CommerceOrder, DeviceKind, LumaWebDataCommerce, OrderStatus, ProductlistitemsE,
};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crud failed: {}", report(&*e));
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    println!("Starting a local TLS PostgreSQL with the sample sandbox ...");
    let server = LocalServer::start()?;
    let engine = server.engine()?;
    engine.run_migrations(sample::MIGRATIONS)?;
    let mut conn = engine.get()?;

    // Create, with server-filled columns left to the server.
    let linus = Customer::create(
        &mut conn,
        &NewCustomer {
            id: None,
            email: "linus@example.com".into(),
            name: "Linus".into(),
            country: Some("FI".into()),
            created_at: None,
        },
    )?;
    println!(
        "created customer {} ({}) at {}",
        linus.id, linus.email, linus.created_at
    );

    let orders = Order::create_many(
        &mut conn,
        &[
            NewOrder {
                customer_id: linus.id,
                status: None,
                total: BigDecimal::from_str("19.99")?,
                note: Some("gift wrap".into()),
                placed_at: None,
            },
            NewOrder {
                customer_id: linus.id,
                status: Some(OrderStatus::Paid),
                total: BigDecimal::from_str("5.00")?,
                note: None,
                placed_at: None,
            },
        ],
    )?;
    for o in &orders {
        let with_tax = o
            .total_with_tax
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        println!(
            "  order {}: {:?} total {} (with tax {with_tax})",
            o.id, o.status, o.total
        );
    }

    // Update: change the status, clear the note.
    let first = Order::update(
        &mut conn,
        &orders[0].id,
        &OrderChanges {
            status: Some(OrderStatus::Shipped),
            note: Some(None),
            ..Default::default()
        },
    )?
    .ok_or("the order just created is gone")?;
    println!(
        "updated order {}: {:?}, note {:?}",
        first.id, first.status, first.note
    );
    Customer::update(
        &mut conn,
        &linus.id,
        &CustomerChanges {
            country: Some(None),
            ..Default::default()
        },
    )?;

    // Read: find, list, count.
    let found = Order::find(&mut conn, &first.id)?.expect("just created");
    assert_eq!(found, first);
    println!(
        "{} orders, first page: {:?}",
        Order::count(&mut conn)?,
        Order::list(&mut conn, 2, 0)?.len()
    );

    // Platform-shaped data: a key-less event dataset with XDM objects (composite types) and arrays.
    let event = LumaWebData::create(
        &mut conn,
        &NewLumaWebData {
            _id: Some("evt-crud".into()),
            timestamp: Some(chrono::Utc::now()),
            web: None,
            commerce: Some(LumaWebDataCommerce {
                order: Some(CommerceOrder {
                    price_total: Some(BigDecimal::from_str("19.99")?),
                    currency_code: Some("EUR".into()),
                    purchase_id: None,
                }),
                checkouts_value: Some(1.0),
            }),
            productlistitems: Some(vec![Some(ProductlistitemsE {
                sku: Some("LUMA-TEE-01".into()),
                name: Some("Tee".into()),
                quantity: Some(1),
                price_total: Some(BigDecimal::from_str("19.99")?),
            })]),
            identitymap: Some(serde_json::json!({"ECID": [{"id": "456"}]})),
            device: Some(DeviceKind::Mobile),
            tags: Some(vec![Some("crud".into()), None]),
            eventtype: Some("commerce.purchases".into()),
        },
    )?;
    let back = LumaWebData::find(&mut conn, "evt-crud")?.expect("stored");
    assert_eq!(back, event);
    println!(
        "event {:?}: order {:?}",
        back._id,
        back.commerce.and_then(|c| c.order)
    );
    for e in LumaWebData::list(&mut conn, 10, 0)? {
        println!(
            "  {:?} {:?} web={:?}",
            e._id,
            e.eventtype,
            e.web.and_then(|w| w.webpagedetails).and_then(|p| p.name)
        );
    }

    // Delete.
    for o in &orders {
        Order::delete(&mut conn, &o.id)?;
    }
    println!(
        "deleted {} orders; {} left",
        orders.len(),
        Order::count(&mut conn)?
    );
    Ok(())
}
