// @generated automatically by Diesel CLI.

diesel::table! {
    bikes (id) {
        id -> Int4,
    }
}

diesel::table! {
    cars (id) {
        id -> Int4,
    }
}

diesel::table! {
    comments (id) {
        id -> Int4,
        post_id -> Int4,
    }
}

diesel::table! {
    posts (id) {
        id -> Int4,
        user_id -> Int4,
    }
}

diesel::table! {
    sessions (id) {
        id -> Int4,
    }
}

diesel::table! {
    transactions (id) {
        id -> Int4,
        session_id -> Int4,
    }
}

diesel::table! {
    users (id) {
        id -> Int4,
    }
}

diesel::joinable!(comments -> posts (post_id));
diesel::joinable!(posts -> users (user_id));
diesel::joinable!(transactions -> sessions (session_id));
