// @generated automatically by Diesel CLI.

diesel::table! {
    column_named_table (id) {
        id -> Int4,
        #[sql_name = "table"]
        table_ -> Int4,
    }
}
