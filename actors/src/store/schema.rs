// The schema shared by both backends (see migrations/postgres and migrations/sqlite).

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        display_name -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    listings (id) {
        id -> BigInt,
        seller_id -> BigInt,
        title -> Text,
        description -> Text,
        category -> Nullable<Text>,
        condition -> Nullable<Text>,
        price_cents -> BigInt,
        currency -> Text,
        quantity -> BigInt,
        status -> Text,
        like_count -> BigInt,
        auto_accept_cents -> Nullable<BigInt>,
        auto_decline_cents -> Nullable<BigInt>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    likes (id) {
        id -> BigInt,
        user_id -> BigInt,
        listing_id -> BigInt,
        target_price_cents -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        topic -> Text,
        seq -> BigInt,
        event_type -> Text,
        data -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(listings -> users (seller_id));
diesel::joinable!(likes -> listings (listing_id));
diesel::joinable!(likes -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(users, sessions, listings, likes, events);
