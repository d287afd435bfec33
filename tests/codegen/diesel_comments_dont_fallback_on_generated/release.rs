// @generated automatically by Diesel CLI.

diesel::table! {
    /// table comment
    with_comments (id) {
        /// column comment
        id -> Int4,
        column_without_comment -> Nullable<Int4>,
    }
}
