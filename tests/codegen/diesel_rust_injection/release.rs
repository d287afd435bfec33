// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(
        name = r##"x"))] } include!(env!("P")); mod y { #[diesel(postgres_type(nam"##
    ))]
    pub struct XIncludeEnvPModYDieselPostgresTypeNam;
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::XIncludeEnvPModYDieselPostgresTypeNam;

    tests (id) {
        id -> Int4,
        #[sql_name = r##"x"] } include!(env!("P")); mod y { #[sql_name="z"##]
        x_include_env_P_mod_y_sql_name_z -> Text,
        #[sql_name = "enum"]
        enum_ -> XIncludeEnvPModYDieselPostgresTypeNam,
    }
}
