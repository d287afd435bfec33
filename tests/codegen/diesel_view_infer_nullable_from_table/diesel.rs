// @generated automatically by Diesel CLI.

diesel::view! {
    test {
        id -> Int4,
        name -> Text,
        hair_color -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Int4,
        name -> Text,
        hair_color -> Nullable<Text>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(test, users,);
