// @generated automatically by Diesel CLI.

diesel::view! {
    test {
        name -> Text,
        id -> Int4,
    }
}
