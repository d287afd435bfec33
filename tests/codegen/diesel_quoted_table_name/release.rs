// @generated automatically by Diesel CLI.

diesel::table! {
    User (id) {
        id -> Int4,
    }
}
