//! Saved searches: the caller saves, lists and deletes their own. Alerts for them are the
//! core's (`AlertMatcher`); they arrive in the inbox and as `notification.saved_search`.

use super::docs::{AuthErrors, JsonBodyErrors, RateLimited, Unavailable};
use super::listings::Condition;
use super::{db, utc, Caller, JsonBody};
use crate::app::AppState;
use crate::error::{ApiError, Problem};
use crate::limits::Limit;
use actix_web::{delete, get, post, web, HttpResponse};
use bazaar_actors::domain::saved_search::SavedSearchInput;
use bazaar_actors::saved_searches::{self, SavedSearchError};
use bazaar_actors::store::saved_searches::{self as rows, SavedSearch};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSavedSearchBody {
    /// A name for the user's own use.
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// Words, as `q` of `GET /api/v1/listings` (the last word is a whole word, not a prefix).
    #[schema(max_length = 200)]
    pub q: Option<String>,
    /// A category slug; a top-level one takes its sub-categories too.
    #[schema(min_length = 1, max_length = 64, pattern = "^[a-z0-9_-]*$")]
    pub category: Option<String>,
    #[schema(value_type = Option<Condition>)]
    pub condition: Option<String>,
    /// Lowest price, in cents.
    #[schema(minimum = 0, maximum = 1000000000)]
    pub min_price: Option<i64>,
    /// Highest price, in cents: a price drop below it alerts.
    #[schema(minimum = 0, maximum = 1000000000)]
    pub max_price: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SavedSearchBody {
    pub id: i64,
    pub name: Option<String>,
    pub q: Option<String>,
    pub category: Option<String>,
    pub condition: Option<String>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl From<SavedSearch> for SavedSearchBody {
    fn from(s: SavedSearch) -> Self {
        SavedSearchBody {
            id: s.id,
            name: s.name,
            q: s.query_text,
            category: s.category,
            condition: s.condition,
            min_price: s.min_price_cents,
            max_price: s.max_price_cents,
            created_at: utc(s.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SavedSearchList {
    /// Oldest first; at most 20.
    pub items: Vec<SavedSearchBody>,
}

impl From<SavedSearchError> for ApiError {
    fn from(e: SavedSearchError) -> Self {
        match e {
            SavedSearchError::TooMany => ApiError::Conflict(e.to_string()),
            SavedSearchError::NotFound => ApiError::NotFound(e.to_string()),
            SavedSearchError::Store(e) => e.into(),
        }
    }
}

/// Save a search: the caller is alerted (inbox and `notification.saved_search`) when a listing
/// that matches it appears or drops into its price range.
#[utoipa::path(
    tag = "saved searches",
    security(("bearer" = [])),
    request_body = CreateSavedSearchBody,
    responses(
        (status = 201, description = "Saved", body = SavedSearchBody),
        JsonBodyErrors,
        AuthErrors,
        (status = 409, description = "The caller has 20 saved searches already", body = Problem),
        RateLimited,
        Unavailable,
    )
)]
#[post("/api/v1/me/saved-searches")]
pub async fn create_saved_search(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<CreateSavedSearchBody>,
) -> Result<HttpResponse, ApiError> {
    state
        .limits
        .check(Limit::SavedSearchesPerUser, caller.id())?;
    let b = body.0;
    let spec = SavedSearchInput {
        name: b.name,
        q: b.q,
        category: b.category,
        condition: b.condition,
        min_price: b.min_price,
        max_price: b.max_price,
    }
    .validate()
    .map_err(ApiError::Validation)?;
    let saved = saved_searches::create(&state.pool, caller.id(), spec).await?;
    Ok(HttpResponse::Created().json(SavedSearchBody::from(saved)))
}

/// The caller's saved searches.
#[utoipa::path(
    tag = "saved searches",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's saved searches", body = SavedSearchList),
        AuthErrors,
        Unavailable,
    )
)]
#[get("/api/v1/me/saved-searches")]
pub async fn list_saved_searches(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let user = caller.user.id;
    let found = db(&state, move |conn| Ok(rows::list(conn, user)?)).await?;
    Ok(HttpResponse::Ok().json(SavedSearchList {
        items: found.into_iter().map(SavedSearchBody::from).collect(),
    }))
}

/// Delete one of the caller's saved searches.
#[utoipa::path(
    tag = "saved searches",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        AuthErrors,
        (status = 404, description = "The caller has no such saved search", body = Problem),
        Unavailable,
    )
)]
#[delete("/api/v1/me/saved-searches/{id}")]
pub async fn delete_saved_search(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    saved_searches::delete(&state.pool, caller.id(), id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
