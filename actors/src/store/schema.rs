// The schema shared by both backends (see migrations/postgres and migrations/sqlite).

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        display_name -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
        role -> Text,
        suspended_at -> Nullable<Timestamp>,
        suspended_until -> Nullable<Timestamp>,
        suspension_reason -> Nullable<Text>,
        bio -> Text,
        avatar_small_key -> Nullable<Text>,
        avatar_large_key -> Nullable<Text>,
    }
}

diesel::table! {
    addresses (user_id) {
        user_id -> BigInt,
        name -> Text,
        line1 -> Text,
        line2 -> Nullable<Text>,
        city -> Text,
        region -> Nullable<Text>,
        postal_code -> Text,
        country -> Text,
        updated_at -> Timestamp,
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
        auto_drop_percent -> Nullable<BigInt>,
        auto_drop_interval_secs -> Nullable<BigInt>,
        auto_drop_floor_cents -> Nullable<BigInt>,
        next_price_drop_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    likes (id) {
        id -> BigInt,
        user_id -> BigInt,
        listing_id -> BigInt,
        target_price_cents -> Nullable<BigInt>,
        created_at -> Timestamp,
        seen_price_cents -> Nullable<BigInt>,
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

diesel::table! {
    topic_seqs (topic) {
        topic -> Text,
        last_seq -> BigInt,
    }
}

diesel::table! {
    wallets (user_id) {
        user_id -> BigInt,
        available_cents -> BigInt,
        escrow_cents -> BigInt,
    }
}

diesel::table! {
    ledger_transactions (id) {
        id -> BigInt,
        kind -> Text,
        order_id -> Nullable<BigInt>,
        reference -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> BigInt,
        transaction_id -> BigInt,
        account -> Text,
        amount_cents -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    offers (id) {
        id -> BigInt,
        listing_id -> BigInt,
        buyer_id -> BigInt,
        seller_id -> BigInt,
        amount_cents -> BigInt,
        quantity -> BigInt,
        status -> Text,
        turn -> Text,
        round -> BigInt,
        reason -> Nullable<Text>,
        history -> Text,
        expires_at -> Timestamp,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    orders (id) {
        id -> BigInt,
        listing_id -> BigInt,
        buyer_id -> BigInt,
        seller_id -> BigInt,
        offer_id -> Nullable<BigInt>,
        quantity -> BigInt,
        unit_price_cents -> BigInt,
        total_cents -> BigInt,
        status -> Text,
        ship_by -> Timestamp,
        auto_complete_at -> Nullable<Timestamp>,
        shipped_at -> Nullable<Timestamp>,
        completed_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        ship_to -> Nullable<Text>,
        carrier -> Nullable<Text>,
        tracking_number -> Nullable<Text>,
    }
}

diesel::table! {
    disputes (id) {
        id -> BigInt,
        order_id -> BigInt,
        listing_id -> BigInt,
        buyer_id -> BigInt,
        seller_id -> BigInt,
        reason -> Text,
        note -> Text,
        escalate_at -> Timestamp,
        escalated_at -> Nullable<Timestamp>,
        outcome -> Nullable<Text>,
        buyer_cents -> Nullable<BigInt>,
        seller_cents -> Nullable<BigInt>,
        fee_cents -> Nullable<BigInt>,
        resolved_by -> Nullable<BigInt>,
        resolution_note -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ratings (id) {
        id -> BigInt,
        order_id -> BigInt,
        rater_id -> BigInt,
        ratee_id -> BigInt,
        stars -> BigInt,
        comment -> Nullable<Text>,
        created_at -> Timestamp,
        revealed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    liker_offers (id) {
        id -> BigInt,
        listing_id -> BigInt,
        seller_id -> BigInt,
        amount_cents -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (id) {
        id -> BigInt,
        user_id -> BigInt,
        key -> Text,
        fingerprint -> Text,
        status -> Nullable<BigInt>,
        body -> Nullable<Text>,
        created_at -> Timestamp,
        token -> BigInt,
        locked_until -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        data -> Text,
        read_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    conversations (id) {
        id -> BigInt,
        listing_id -> BigInt,
        buyer_id -> BigInt,
        seller_id -> BigInt,
        last_seq -> BigInt,
        last_message_id -> Nullable<BigInt>,
        buyer_last_read_id -> BigInt,
        seller_last_read_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        conversation_id -> BigInt,
        sender_id -> BigInt,
        client_msg_id -> Text,
        seq -> BigInt,
        body -> Text,
        created_at -> Timestamp,
        flags -> Text,
        original_body -> Nullable<Text>,
    }
}

diesel::table! {
    blocks (id) {
        id -> BigInt,
        blocker_id -> BigInt,
        blocked_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ws_tickets (id) {
        id -> BigInt,
        ticket_hash -> Text,
        user_id -> BigInt,
        session_id -> BigInt,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    saved_searches (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Nullable<Text>,
        query_text -> Nullable<Text>,
        category -> Nullable<Text>,
        condition -> Nullable<Text>,
        min_price_cents -> Nullable<BigInt>,
        max_price_cents -> Nullable<BigInt>,
        anchor_key -> Nullable<Text>,
        anchor_words -> Nullable<Text>,
        match_text -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    saved_search_alerts (listing_id, saved_search_id) {
        saved_search_id -> BigInt,
        listing_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    saved_search_pending (id) {
        id -> BigInt,
        listing_id -> BigInt,
        old_price_cents -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        actor_id -> Nullable<BigInt>,
        action -> Text,
        target_type -> Text,
        target_id -> BigInt,
        note -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    reports (id) {
        id -> BigInt,
        reporter_id -> BigInt,
        target_type -> Text,
        target_id -> BigInt,
        reason -> Text,
        note -> Text,
        status -> Text,
        resolution -> Nullable<Text>,
        resolved_by -> Nullable<BigInt>,
        resolved_at -> Nullable<Timestamp>,
        resolution_note -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    removed_messages (message_id) {
        message_id -> BigInt,
        original_body -> Text,
        removed_by -> BigInt,
        note -> Text,
        removed_at -> Timestamp,
    }
}

diesel::table! {
    photos (id) {
        id -> BigInt,
        listing_id -> BigInt,
        position -> Integer,
        width -> Integer,
        height -> Integer,
        full_key -> Text,
        medium_key -> Text,
        thumb_key -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(messages -> conversations (conversation_id));
diesel::joinable!(ledger_entries -> ledger_transactions (transaction_id));
diesel::joinable!(offers -> listings (listing_id));
diesel::joinable!(orders -> listings (listing_id));
diesel::joinable!(photos -> listings (listing_id));
diesel::joinable!(ratings -> orders (order_id));
diesel::joinable!(disputes -> orders (order_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    addresses,
    disputes,
    sessions,
    listings,
    likes,
    events,
    topic_seqs,
    wallets,
    ledger_transactions,
    ledger_entries,
    offers,
    orders,
    ratings,
    liker_offers,
    idempotency_keys,
    notifications,
    conversations,
    messages,
    blocks,
    ws_tickets,
    saved_searches,
    saved_search_alerts,
    saved_search_pending,
    audit_log,
    reports,
    removed_messages,
    photos,
);
