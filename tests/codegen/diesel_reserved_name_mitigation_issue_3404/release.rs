// @generated automatically by Diesel CLI.

diesel::table! {
    reserved_names_columns (id) {
        id -> Int4,
        #[sql_name = "is_nullable"]
        is_nullable_ -> Nullable<Bool>,
    }
}
