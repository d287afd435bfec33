// @generated automatically by Diesel CLI.

pub mod CustomSchema {
    diesel::table! {
        CustomSchema.User (id) {
            id -> Int4,
        }
    }
}
