// @generated automatically by Diesel CLI.

diesel::table! {
    example (id) {
        id -> Int4,
        #[sql_name = "type"]
        #[max_length = 10]
        type_ -> Nullable<Varchar>,
    }
}
