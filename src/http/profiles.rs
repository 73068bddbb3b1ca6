//! Public profiles (anyone may read them, anonymous callers included), one's own profile and
//! one's shipping address. A suspended user's profile and ratings are 404, as their listings
//! are to everyone but them: a marketplace does not show a seller it has taken down.

use super::avatars::AvatarBody;
use super::docs::{AuthErrors, JsonBodyErrors, QueryErrors, RateLimited, Unavailable};
use super::users::UserBody;
use super::{before_cursor, db, paginate, utc, Caller, JsonBody, Page, Params, QueryParams};
use crate::app::AppState;
use crate::error::{ApiError, Problem};
use actix_web::{get, patch, put, web, HttpResponse};
use bazaar_actors::accounts;
use bazaar_actors::domain::address::{validate_address, AddressInput, COUNTRY_CODES};
use bazaar_actors::domain::profile::{rating_average, validate_profile_patch};
use bazaar_actors::events::AddressView;
use bazaar_actors::store::profiles::{self, RatingEntry};
use bazaar_actors::store::{self, addresses, users};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What everyone may see of a user.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileBody {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub bio: String,
    /// Null when they set none.
    pub avatar: Option<AvatarBody>,
    /// When they signed up.
    pub joined_at: DateTime<Utc>,
    /// The mean of their revealed ratings' stars, to one decimal; null when there are none.
    /// A rating is revealed once both sides of its order rated, or its rating window closed.
    pub rating_average: Option<f64>,
    /// How many revealed ratings they have.
    pub rating_count: i64,
    /// Their listings on sale now.
    pub active_listings: i64,
    /// Units they sold in completed orders.
    pub items_sold: i64,
}

/// A revealed rating of a user.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileRatingBody {
    pub id: i64,
    pub order_id: i64,
    pub stars: i64,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
    pub rater_id: i64,
    pub rater_username: String,
    pub rater_display_name: String,
    pub listing_id: i64,
    pub listing_title: String,
}

impl From<RatingEntry> for ProfileRatingBody {
    fn from(r: RatingEntry) -> Self {
        ProfileRatingBody {
            id: r.id,
            order_id: r.order_id,
            stars: r.stars,
            comment: r.comment,
            created_at: utc(r.created_at),
            rater_id: r.rater_id,
            rater_username: r.rater_username,
            rater_display_name: r.rater_display_name,
            listing_id: r.listing_id,
            listing_title: r.listing_title,
        }
    }
}

/// A user shown to the public: 404 if unknown or suspended now.
async fn visible_user(
    state: &AppState,
    id: i64,
) -> Result<bazaar_actors::store::models::User, ApiError> {
    db(state, move |conn| Ok(users::find(conn, id)?))
        .await?
        .filter(|u| !u.suspended(store::now()))
        .ok_or_else(|| ApiError::NotFound("user not found".into()))
}

/// A user's public profile.
#[utoipa::path(
    tag = "profiles",
    responses(
        (status = 200, description = "The profile", body = ProfileBody),
        (status = 404, description = "No such user, or the user is suspended", body = Problem),
        RateLimited,
        Unavailable,
    )
)]
#[get("/api/v1/users/{id}")]
pub async fn get_user_profile(
    state: web::Data<AppState>,
    address: crate::limits::ClientAddr,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    // Its figures count the seller's listings and sales: a large seller's cost a read each.
    state
        .limits
        .check(crate::limits::Limit::BrowsingPerAddress, address)?;
    let user = visible_user(&state, id.into_inner()).await?;
    let user_id = user.id;
    let figures = db(&state, move |conn| {
        Ok(profiles::figures(conn, user_id, store::now())?)
    })
    .await?;
    let avatar = AvatarBody::of_user(&user, &state.rules.photo_urls);
    Ok(HttpResponse::Ok().json(ProfileBody {
        id: user.id,
        username: user.username,
        display_name: user.display_name,
        avatar,
        bio: user.bio,
        joined_at: utc(user.created_at),
        rating_average: rating_average(figures.rating_stars_sum, figures.rating_count),
        rating_count: figures.rating_count,
        active_listings: figures.active_listings,
        items_sold: figures.items_sold,
    }))
}

/// A user's revealed ratings, newest first, with who gave each and for which listing.
#[utoipa::path(
    tag = "profiles",
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Default 20"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of ratings", body = Page<ProfileRatingBody>),
        QueryErrors,
        (status = 404, description = "No such user, or the user is suspended", body = Problem),
        Unavailable,
    )
)]
#[get("/api/v1/users/{id}/ratings")]
pub async fn list_user_ratings(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    query: web::Query<QueryParams>,
) -> Result<HttpResponse, ApiError> {
    let mut p = Params::new(query.into_inner());
    let limit = p.limit();
    let before = p.before("cursor");
    p.finish()?;
    let user = visible_user(&state, id.into_inner()).await?;
    let user_id = user.id;
    let rows = db(&state, move |conn| {
        Ok(profiles::revealed_ratings(
            conn,
            user_id,
            store::now(),
            before,
            limit + 1,
        )?)
    })
    .await?;
    let (rows, next_cursor) = paginate(rows, limit, |last| before_cursor(last.id));
    Ok(HttpResponse::Ok().json(Page {
        items: rows.into_iter().map(ProfileRatingBody::from).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatchBody {
    /// At most 64 characters, not blank, no control characters; stored trimmed.
    #[schema(
        max_length = 64,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub display_name: Option<String>,
    /// At most 500 characters; no control characters but line breaks; stored trimmed.
    #[schema(max_length = 500, pattern = "^[^\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f]*$")]
    pub bio: Option<String>,
}

/// Change one's display name or bio (absent fields are kept).
#[utoipa::path(
    tag = "profiles",
    security(("bearer" = [])),
    request_body = ProfilePatchBody,
    responses(
        (status = 200, description = "The caller, changed", body = UserBody),
        JsonBodyErrors,
        AuthErrors,
        Unavailable,
    )
)]
#[patch("/api/v1/me")]
pub async fn update_me(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<ProfilePatchBody>,
) -> Result<HttpResponse, ApiError> {
    let ProfilePatchBody { display_name, bio } = body.0;
    let patch = validate_profile_patch(display_name, bio).map_err(ApiError::Validation)?;
    let user =
        accounts::update_profile(&state.pool, &state.logins, caller.id(), caller.login, patch)
            .await?;
    Ok(HttpResponse::Ok().json(UserBody::of(&user, &state.rules.photo_urls)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    /// Who receives the parcel.
    #[schema(
        max_length = 100,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub name: String,
    #[schema(
        max_length = 100,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub line1: String,
    #[schema(max_length = 100, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub line2: Option<String>,
    #[schema(
        max_length = 100,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub city: String,
    /// State, province or county.
    #[schema(max_length = 64, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub region: Option<String>,
    #[schema(
        max_length = 16,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, in capitals (`DE`, `US`).
    #[schema(value_type = CountryCode)]
    pub country: String,
}

/// An ISO 3166-1 alpha-2 country code.
pub struct CountryCode;

impl utoipa::PartialSchema for CountryCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(COUNTRY_CODES.iter().copied()))
            .description(Some("An ISO 3166-1 alpha-2 country code, in capitals"))
            .into()
    }
}

impl ToSchema for CountryCode {}

/// The stored address, and how many of the caller's paid orders without one received it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddressSaved {
    #[serde(flatten)]
    pub address: AddressView,
    /// Paid orders of the caller that had no address and now have this one.
    pub orders_filled: usize,
}

/// Set one's shipping address. New orders keep a copy of it (later changes do not alter
/// them); paid orders that have none get it now.
#[utoipa::path(
    tag = "profiles",
    security(("bearer" = [])),
    request_body = AddressBody,
    responses(
        (status = 200, description = "The stored address", body = AddressSaved),
        JsonBodyErrors,
        AuthErrors,
        Unavailable,
    )
)]
#[put("/api/v1/me/address")]
pub async fn put_my_address(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<AddressBody>,
) -> Result<HttpResponse, ApiError> {
    let AddressBody {
        name,
        line1,
        line2,
        city,
        region,
        postal_code,
        country,
    } = body.0;
    let address = validate_address(AddressInput {
        name,
        line1,
        line2,
        city,
        region,
        postal_code,
        country,
    })
    .map_err(ApiError::Validation)?;
    let (row, orders_filled) =
        accounts::set_address(&state.pool, &state.directory, caller.id(), address).await?;
    Ok(HttpResponse::Ok().json(AddressSaved {
        address: row.address().into(),
        orders_filled,
    }))
}

/// One's shipping address: 404 until one is set.
#[utoipa::path(
    tag = "profiles",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The address", body = AddressView),
        AuthErrors,
        (status = 404, description = "No address set yet", body = Problem),
        Unavailable,
    )
)]
#[get("/api/v1/me/address")]
pub async fn get_my_address(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let id = caller.user.id;
    let row = db(&state, move |conn| Ok(addresses::find(conn, id)?))
        .await?
        .ok_or_else(|| ApiError::NotFound("no shipping address set yet".into()))?;
    Ok(HttpResponse::Ok().json(AddressView::from(row.address())))
}
