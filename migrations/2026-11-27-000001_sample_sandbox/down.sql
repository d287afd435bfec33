DROP MATERIALIZED VIEW IF EXISTS daily_event_counts;
DROP VIEW IF EXISTS customer_order_totals;
DROP TABLE IF EXISTS segment_members, "match", "2024_campaigns", "Web Sessions", order_items, orders, customers, luma_profile, luma_web_data;
DROP TYPE IF EXISTS order_status, device_kind, productlistitems_e, luma_web_data_commerce, commerce_order, luma_web_data_web, web_webpagedetails, web_webreferrer;
DROP DOMAIN IF EXISTS email_address;
