// @generated automatically by Diesel CLI.

diesel::view! {
    test {
        id -> Int4,
        name -> Text,
        hair_color -> Nullable<Text>,
    }
}
