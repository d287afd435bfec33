// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "my_type"))]
    pub struct MyType;
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::MyType;

    custom_types (id) {
        id -> Int4,
        custom_enum -> MyType,
        custom_enum_nullable -> Nullable<MyType>,
        custom_enum2 -> MyType2,
    }
}
