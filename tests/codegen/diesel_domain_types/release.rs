// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "neginteger"))]
    pub struct Neginteger;

    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "posinteger"))]
    pub struct Posinteger;
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Posinteger;
    use super::sql_types::Neginteger;

    mytable (id) {
        id -> Int4,
        a -> Posinteger,
        b -> Neginteger,
        c -> Text,
        d -> Longtext,
    }
}
