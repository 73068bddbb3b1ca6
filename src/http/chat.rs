//! Buyer–seller chat over REST. Writes are commands of the chat writer, which stores them
//! before it answers and publishes their events; the socket's `chat.send` and `chat.read`
//! use the same commands.

use super::avatars::AvatarBody;
use super::docs::{AuthErrors, JsonBodyErrors, QueryErrors, RateLimited, Unavailable};
use super::listings::find_visible;
use super::{before_cursor, db, paginate, utc, Caller, JsonBody, Page, Params, QueryParams};
use crate::app::AppState;
use crate::error::{ApiError, Problem};
use actix_web::{get, post, web, HttpResponse};
use bazaar_actors::chat::{self, ChatError};
use bazaar_actors::domain::photo::PhotoUrls;
use bazaar_actors::domain::{ConversationId, ListingId, MessageId, UserId};
use bazaar_actors::events::MessageView;
use bazaar_actors::store::chat::{self as rows, Conversation};
use bazaar_actors::store::{self, users, DbConnection};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    /// 1–2000 characters, not blank.
    #[schema(
        max_length = 2000,
        pattern = "^[^\\x00]*[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\x00]*$"
    )]
    pub body: String,
    /// The client's own id for this message: sending it again returns the same message.
    #[schema(min_length = 1, max_length = 64, pattern = "^[^\\x00]*$")]
    pub client_msg_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadBody {
    /// The newest message read.
    pub message_id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationView {
    pub id: i64,
    pub listing_id: i64,
    pub buyer_id: i64,
    pub seller_id: i64,
    /// Messages from the other party after your read marker.
    pub unread_count: i64,
    pub last_message: Option<MessageView>,
    /// The other party's avatar (the seller's to the buyer, the buyer's to the seller); null
    /// when they set none.
    pub other_party_avatar: Option<AvatarBody>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The other party of `c` to `viewer`.
fn other_party(c: &Conversation, viewer: i64) -> i64 {
    if c.buyer_id == viewer {
        c.seller_id
    } else {
        c.buyer_id
    }
}

/// The avatars of the other parties of `conversations`, in one query.
fn avatars_of(
    conn: &mut DbConnection,
    conversations: &[Conversation],
    viewer: i64,
) -> Result<Avatars, ApiError> {
    let ids: Vec<i64> = conversations
        .iter()
        .map(|c| other_party(c, viewer))
        .collect();
    Ok(users::avatars(conn, &ids)?)
}

type Avatars = HashMap<i64, (String, String)>;

fn view(
    conn: &mut DbConnection,
    c: &Conversation,
    viewer: i64,
    avatars: &Avatars,
    urls: &PhotoUrls,
) -> Result<ConversationView, ApiError> {
    let other_party_avatar = avatars
        .get(&other_party(c, viewer))
        .and_then(|(small, large)| AvatarBody::of(Some(small), Some(large), urls));
    let read_up_to = c.last_read_by(UserId(viewer));
    let last_message = match c.last_message_id {
        Some(id) => rows::message(conn, id)?.as_ref().map(MessageView::from),
        None => None,
    };
    Ok(ConversationView {
        id: c.id,
        listing_id: c.listing_id,
        buyer_id: c.buyer_id,
        seller_id: c.seller_id,
        unread_count: rows::unread_count(conn, c.id, viewer, read_up_to)?,
        last_message,
        other_party_avatar,
        created_at: utc(c.created_at),
        updated_at: utc(c.updated_at),
    })
}

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::NotFound => ApiError::NotFound(e.to_string()),
            ChatError::NotParty => ApiError::Forbidden(e.to_string()),
            ChatError::UnknownMessage => ApiError::invalid("message_id", e.to_string()),
            ChatError::Invalid(errors) => ApiError::Validation(errors),
            ChatError::Blocked => ApiError::Blocked(e.to_string()),
            ChatError::Rejected => ApiError::invalid("body", e.to_string()),
            ChatError::Db(e) => e.into(),
            ChatError::Unavailable(e) => store::StoreError::from(e).into(),
            ChatError::DatabaseUnavailable(outage) => outage.into(),
            ChatError::NotStored(why) => ApiError::internal(std::io::Error::other(why)),
        }
    }
}

/// The chat writer's answer, or a server fault if it could not be reached.
fn answered<T>(answer: Result<Result<T, ChatError>, actix::MailboxError>) -> Result<T, ApiError> {
    Ok(answer.map_err(|_| ChatError::NotStored("the chat writer is unavailable".into()))??)
}

/// Open (or find) the caller's conversation with the seller of a listing.
#[utoipa::path(
    tag = "chat",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Opened", body = ConversationView),
        (status = 200, description = "It already existed", body = ConversationView),
        AuthErrors,
        (status = 403, description = "Your own listing, or one of you blocked the other (type /problems/blocked)", body = Problem),
        (status = 404, description = "No such listing", body = Problem),
        Unavailable,
    )
)]
#[post("/api/v1/listings/{id}/conversations")]
pub async fn open_conversation(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let listing = find_visible(&state, id.into_inner(), Some(caller.id())).await?;
    if listing.seller_id == caller.user.id {
        return Err(ApiError::Forbidden(
            "you cannot chat with yourself about your own listing".into(),
        ));
    }
    let buyer = caller.user.id;
    let (c, created) = answered(
        state
            .chat
            .send(chat::OpenConversation {
                listing: ListingId(listing.id),
                buyer: caller.id(),
                seller: listing.seller(),
            })
            .await,
    )?;
    let urls = state.rules.photo_urls.clone();
    let conversation = db(&state, move |conn| {
        let avatars = avatars_of(conn, std::slice::from_ref(&c), buyer)?;
        view(conn, &c, buyer, &avatars, &urls)
    })
    .await?;
    Ok(if created {
        HttpResponse::Created().json(conversation)
    } else {
        HttpResponse::Ok().json(conversation)
    })
}

/// The caller's conversations, most recently active first.
#[utoipa::path(
    tag = "chat",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Conversations", body = Page<ConversationView>),
        AuthErrors,
        Unavailable,
    )
)]
#[get("/api/v1/conversations")]
pub async fn list_conversations(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let user = caller.user.id;
    let urls = state.rules.photo_urls.clone();
    let items = db(&state, move |conn| {
        let conversations = rows::of_user(conn, user)?;
        let avatars = avatars_of(conn, &conversations, user)?;
        conversations
            .iter()
            .map(|c| view(conn, c, user, &avatars, &urls))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

/// A conversation's messages, newest first (parties only).
#[utoipa::path(
    tag = "chat",
    security(("bearer" = [])),
    params(
        ("before" = Option<String>, Query, description = "next_cursor of the previous page"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Default 20"),
    ),
    responses(
        (status = 200, description = "A page of messages", body = Page<MessageView>),
        QueryErrors,
        AuthErrors,
        (status = 403, description = "Not a party", body = Problem),
        (status = 404, description = "No such conversation", body = Problem),
        Unavailable,
    )
)]
#[get("/api/v1/conversations/{id}/messages")]
pub async fn list_messages(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    query: web::Query<QueryParams>,
) -> Result<HttpResponse, ApiError> {
    let mut p = Params::new(query.into_inner());
    let limit = p.limit();
    let before = p.before("before");
    p.finish()?;
    let (user, conversation) = (caller.id(), ConversationId(id.into_inner()));
    let rows = db(&state, move |conn| {
        let c = chat::conversation_of(conn, user, conversation)?;
        Ok(rows::page(conn, c.id, before, limit + 1)?)
    })
    .await?;
    let (rows, next_cursor) = paginate(rows, limit, |last| before_cursor(last.seq));
    Ok(HttpResponse::Ok().json(Page {
        items: rows.iter().map(MessageView::from).collect(),
        next_cursor,
    }))
}

/// Send a message (parties only). Stored before it is answered; the same `client_msg_id` from
/// the same sender returns the same message. Contact details and payment-app handles are
/// masked (`[hidden]`, `flags: ["contact_details"]`) or, with `--chat-filter reject`, refused
/// (422 naming `body`).
#[utoipa::path(
    tag = "chat",
    security(("bearer" = [])),
    request_body = MessageBody,
    responses(
        (status = 201, description = "The stored message", body = MessageView),
        JsonBodyErrors,
        AuthErrors,
        (status = 403, description = "Not a party, or one of you blocked the other (type /problems/blocked)", body = Problem),
        (status = 404, description = "No such conversation", body = Problem),
        RateLimited,
        Unavailable,
    )
)]
#[post("/api/v1/conversations/{id}/messages")]
pub async fn send_message(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: JsonBody<MessageBody>,
) -> Result<HttpResponse, ApiError> {
    state
        .limits
        .check(crate::limits::Limit::ChatPerUser, caller.id())?;
    let MessageBody {
        body,
        client_msg_id,
    } = body.0;
    let (user, conversation) = (caller.id(), ConversationId(id.into_inner()));
    let message = answered(
        state
            .chat
            .send(chat::SendMessage {
                sender: user,
                conversation,
                client_msg_id,
                body,
            })
            .await,
    )?;
    Ok(HttpResponse::Created().json(MessageView::from(&message)))
}

/// Mark a conversation read up to a message; the other party gets a read receipt.
#[utoipa::path(
    tag = "chat",
    security(("bearer" = [])),
    request_body = ReadBody,
    responses(
        (status = 204, description = "Marked"),
        JsonBodyErrors,
        AuthErrors,
        (status = 403, description = "Not a party", body = Problem),
        (status = 404, description = "No such conversation", body = Problem),
        (status = 422, description = "Invalid fields, or the message is not in this conversation", body = Problem),
        Unavailable,
    )
)]
#[post("/api/v1/conversations/{id}/read")]
pub async fn read_conversation(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: JsonBody<ReadBody>,
) -> Result<HttpResponse, ApiError> {
    answered(
        state
            .chat
            .send(chat::MarkRead {
                reader: caller.id(),
                conversation: ConversationId(id.into_inner()),
                message: MessageId(body.0.message_id),
            })
            .await,
    )?;
    Ok(HttpResponse::NoContent().finish())
}
