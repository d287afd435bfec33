//! Declarations for generated `types.rs` files: the Rust side of a database's composite (XDM
//! object), enum and unknown types. Generated code names the type, its fields or labels and their
//! SQL types; the loading and writing code lives here, written once.

/// A Rust struct for a composite type (an XDM object): every field is `Option`, since a composite's
/// fields can be NULL. Loads from the type's binary record format; with `writable` first, it can also
/// be written (as a bind parameter or inside an array).
///
/// ```
/// mod sql_types {
///     #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
///     #[diesel(postgres_type(name = "commerce_order"))]
///     pub struct CommerceOrder;
/// }
///
/// aep_diesel::composite_type! {
///     writable
///     /// The `commerce_order` composite type.
///     #[derive(Debug, Clone, PartialEq)]
///     pub struct CommerceOrder(sql_types::CommerceOrder) {
///         pub currency_code: Option<String> as diesel::sql_types::Text,
///         pub price_total: Option<f64> as diesel::sql_types::Float8,
///     }
/// }
/// ```
#[macro_export]
macro_rules! composite_type {
    (
        writable
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($sql:ty) {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $rust:ty as $st:ty ),+ $(,)?
        }
    ) => {
        $crate::composite_type! {
            $(#[$meta])*
            #[derive(diesel::expression::AsExpression)]
            $vis struct $name($sql) {
                $( $(#[$fmeta])* $fvis $field: $rust as $st, )+
            }
        }

        impl $crate::diesel::serialize::ToSql<$sql, $crate::diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut $crate::diesel::serialize::Output<'b, '_, $crate::diesel::pg::Pg>,
            ) -> $crate::diesel::serialize::Result {
                $crate::diesel::serialize::WriteTuple::<(
                    $( $crate::diesel::sql_types::Nullable<$st>, )+
                )>::write_tuple(&( $( &self.$field, )+ ), &mut out.reborrow())
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($sql:ty) {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $rust:ty as $st:ty ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = $sql)]
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field: $rust, )+
        }

        impl $crate::diesel::deserialize::FromSql<$sql, $crate::diesel::pg::Pg> for $name {
            fn from_sql(
                value: $crate::diesel::pg::PgValue<'_>,
            ) -> $crate::diesel::deserialize::Result<Self> {
                let ( $( $field, )+ ) = <( $( $rust, )+ ) as $crate::diesel::deserialize::FromSql<
                    $crate::diesel::sql_types::Record<( $( $crate::diesel::sql_types::Nullable<$st>, )+ )>,
                    $crate::diesel::pg::Pg,
                >>::from_sql(value)?;
                ::core::result::Result::Ok(Self { $( $field, )+ })
            }
        }
    };
}

/// A Rust enum for an enum type, with the database's labels exactly: loads and writes them as text,
/// refusing a label it does not know; `as_str` gives a variant's label.
///
/// ```
/// mod sql_types {
///     #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
///     #[diesel(postgres_type(name = "order_status"))]
///     pub struct OrderStatus;
/// }
///
/// aep_diesel::enum_type! {
///     /// The `order_status` enum.
///     #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
///     pub enum OrderStatus("order_status", sql_types::OrderStatus) {
///         Pending = "pending",
///         Paid = "paid",
///     }
/// }
/// assert_eq!(OrderStatus::Paid.as_str(), "paid");
/// ```
#[macro_export]
macro_rules! enum_type {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident($pg:literal, $sql:ty) {
            $( $(#[$vmeta:meta])* $variant:ident = $label:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(diesel::deserialize::FromSqlRow, diesel::expression::AsExpression)]
        #[diesel(sql_type = $sql)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// The label as stored in the database.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $( Self::$variant => $label, )+
                }
            }
        }

        impl $crate::diesel::serialize::ToSql<$sql, $crate::diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut $crate::diesel::serialize::Output<'b, '_, $crate::diesel::pg::Pg>,
            ) -> $crate::diesel::serialize::Result {
                ::std::io::Write::write_all(out, self.as_str().as_bytes())?;
                ::core::result::Result::Ok($crate::diesel::serialize::IsNull::No)
            }
        }

        impl $crate::diesel::deserialize::FromSql<$sql, $crate::diesel::pg::Pg> for $name {
            fn from_sql(
                value: $crate::diesel::pg::PgValue<'_>,
            ) -> $crate::diesel::deserialize::Result<Self> {
                match ::std::str::from_utf8(value.as_bytes())? {
                    $( $label => ::core::result::Result::Ok(Self::$variant), )+
                    other => ::core::result::Result::Err(format!("unknown {} label {other:?}", $pg).into()),
                }
            }
        }
    };
}

/// Read values of a type aep-diesel has no mapping for as a Rust type that reads their binary
/// format as UTF-8 text (`String` for `xml`, `citext`, `ltree`…), as configured in
/// `[aep_diesel.types]`.
///
/// ```
/// mod sql_types {
///     #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
///     #[diesel(postgres_type(name = "xml"))]
///     pub struct Xml;
/// }
///
/// aep_diesel::text_type! { String: sql_types::Xml }
/// ```
#[macro_export]
macro_rules! text_type {
    ($rust:ty : $sql:ty) => {
        impl $crate::diesel::deserialize::FromSql<$sql, $crate::diesel::pg::Pg> for $rust {
            fn from_sql(
                value: $crate::diesel::pg::PgValue<'_>,
            ) -> $crate::diesel::deserialize::Result<Self> {
                <$rust as $crate::diesel::deserialize::FromSql<
                    $crate::diesel::sql_types::Text,
                    $crate::diesel::pg::Pg,
                >>::from_sql(value)
            }
        }
    };
}

/// Read and write values of a domain as its base type's Rust type: a domain travels in its base
/// type's wire format, so `FromSql`/`ToSql` for the domain's `sql_types` marker delegate to the base
/// type's. Generated for domains listed in print-schema's `pg_domains_as_custom_types`.
///
/// ```
/// mod sql_types {
///     #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
///     #[diesel(postgres_type(name = "posinteger"))]
///     pub struct Posinteger;
/// }
///
/// aep_diesel::domain_type! { i32: sql_types::Posinteger = diesel::sql_types::Int4 }
/// ```
#[macro_export]
macro_rules! domain_type {
    ($rust:ty : $sql:ty = $base:ty) => {
        impl $crate::diesel::deserialize::FromSql<$sql, $crate::diesel::pg::Pg> for $rust {
            fn from_sql(
                value: $crate::diesel::pg::PgValue<'_>,
            ) -> $crate::diesel::deserialize::Result<Self> {
                <$rust as $crate::diesel::deserialize::FromSql<$base, $crate::diesel::pg::Pg>>::from_sql(
                    value,
                )
            }
        }

        impl $crate::diesel::serialize::ToSql<$sql, $crate::diesel::pg::Pg> for $rust {
            fn to_sql<'b>(
                &'b self,
                out: &mut $crate::diesel::serialize::Output<'b, '_, $crate::diesel::pg::Pg>,
            ) -> $crate::diesel::serialize::Result {
                <$rust as $crate::diesel::serialize::ToSql<$base, $crate::diesel::pg::Pg>>::to_sql(
                    self, out,
                )
            }
        }
    };
}
