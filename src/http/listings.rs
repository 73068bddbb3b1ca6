//! Listings: create, read, search, edit (through the listing's actor), close.

use super::docs::{AuthErrors, JsonBodyErrors, QueryErrors, RateLimited, Unavailable};
use super::{
    db, encode_cursor, paginate, search, search_db, Caller, JsonBody, MaybeCaller, Page, Params,
    QueryParams,
};
use crate::app::AppState;
use crate::error::{ApiError, Problem};
use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use bazaar_actors::directory::send_to_listing;
use bazaar_actors::domain::auto_price_drop::AutoPriceDrop;
use bazaar_actors::domain::listing::{visible_to, ListingDraft, ListingPatch, ListingStatus};
use bazaar_actors::domain::{ListingId, UserId};
use bazaar_actors::events::PhotoView;
use bazaar_actors::listing::{self, CloseListing, EditListing};
use bazaar_actors::listing_cache::Seen;
use bazaar_actors::store::models::Listing;
use bazaar_actors::store::photos::{self, Photo};
use bazaar_actors::store::{self, listings, users};
use utoipa::ToSchema;

pub use super::listing_bodies::*;

/// Loads a listing `viewer` may see, else 404: a draft of someone else, or a listing whose
/// seller is suspended (hidden until the suspension ends), does not exist for them.
pub async fn find_visible(
    state: &AppState,
    id: i64,
    viewer: Option<UserId>,
) -> Result<Listing, ApiError> {
    Ok(find_visible_with_photos(state, id, viewer).await?.0)
}

/// [`find_visible`], with the listing's photos in order.
pub async fn find_visible_with_photos(
    state: &AppState,
    id: i64,
    viewer: Option<UserId>,
) -> Result<(Listing, Vec<Photo>), ApiError> {
    let found = match state.listing_cache.get(id) {
        Ok(cached) => Some(cached),
        Err(ticket) => {
            let found = db(state, move |conn| {
                let Some(listing) = listings::find(conn, id)? else {
                    return Ok(None);
                };
                let seller_suspended = users::is_suspended(conn, listing.seller_id, store::now())?;
                let photos = photos::of_listing(conn, id)?;
                Ok(Some(Seen {
                    listing,
                    seller_suspended,
                    photos,
                }))
            })
            .await?;
            if let Some(seen) = &found {
                state.listing_cache.put(seen.clone(), ticket);
            }
            found
        }
    };
    found
        .filter(|seen| {
            let l = &seen.listing;
            visible_to(l.status(), l.seller(), viewer)
                && (!seen.seller_suspended || viewer == Some(l.seller()))
        })
        .map(|seen| (seen.listing, seen.photos))
        .ok_or_else(|| ApiError::NotFound("listing not found".into()))
}

/// Photo rows as clients see them.
pub fn photo_views(state: &AppState, rows: &[Photo]) -> Vec<PhotoView> {
    PhotoView::all(rows, &state.rules.photo_urls)
}

/// A listing's photos, read after a command changed it.
pub async fn photos_now(state: &AppState, id: i64) -> Result<Vec<PhotoView>, ApiError> {
    let rows = db(state, move |conn| Ok(photos::of_listing(conn, id)?)).await?;
    Ok(photo_views(state, &rows))
}

fn etag(l: &Listing) -> (header::HeaderName, String) {
    (header::ETAG, format!("\"{}\"", l.version))
}

/// A status a client may ask for (to set, or to search by): `removed` is a moderator's alone,
/// and a removed listing is never listed.
pub(crate) fn parse_status(s: &str) -> Result<ListingStatus, String> {
    ListingStatus::parse(s)
        .filter(|status| *status != ListingStatus::Removed)
        .ok_or_else(|| "must be draft, active, sold_out or closed".to_owned())
}

/// Create a listing.
#[utoipa::path(
    tag = "listings",
    security(("bearer" = [])),
    request_body = CreateListingBody,
    responses(
        (status = 201, description = "Created", body = ListingBody, headers(
            ("Location" = String, description = "The new listing's path"),
            ("ETag" = String, description = "The listing's version, for If-Match"),
        )),
        JsonBodyErrors,
        AuthErrors,
        RateLimited,
        Unavailable,
    )
)]
#[post("/api/v1/listings")]
pub async fn create_listing(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<CreateListingBody>,
) -> Result<HttpResponse, ApiError> {
    state
        .limits
        .check(crate::limits::Limit::ListingsPerUser, caller.id())?;
    let b = body.0;
    let status = match b.status.as_deref().map(parse_status) {
        None => ListingStatus::Active,
        Some(Ok(s)) => s,
        Some(Err(message)) => return Err(ApiError::invalid("status", message)),
    };
    let draft = ListingDraft {
        title: b.title,
        description: b.description,
        category: b.category,
        condition: b.condition,
        price_cents: b.price_cents,
        quantity: b.quantity.unwrap_or(1),
        status,
        auto_accept_cents: b.auto_accept_cents,
        auto_decline_cents: b.auto_decline_cents,
        auto_price_drop: b.auto_price_drop.map(AutoPriceDrop::from),
    }
    .validate(&state.rules)
    .map_err(ApiError::Validation)?;
    let seller_id = caller.user.id;
    let currency = state.settings.currency.clone();
    let listing = listing::create_listing(
        &state.pool,
        &state.broker,
        &state.alerts,
        caller.id(),
        draft,
        currency,
    )
    .await?;
    tracing::info!(
        listing.id = listing.id,
        user.id = seller_id,
        "listing created"
    );
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/listings/{}", listing.id)))
        .insert_header(etag(&listing))
        .json(ListingBody::new(&listing, Vec::new(), Some(caller.id()))))
}

/// One listing; its `ETag` is its version, for `If-Match` on edits.
#[utoipa::path(
    tag = "listings",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The listing", body = ListingBody, headers(
            ("ETag" = String, description = "The listing's version, for If-Match"),
        )),
        AuthErrors,
        (status = 404, description = "No such listing (or another seller's draft)", body = Problem),
        Unavailable,
    )
)]
#[get("/api/v1/listings/{id}")]
pub async fn get_listing(
    state: web::Data<AppState>,
    caller: MaybeCaller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (listing, photos) = find_visible_with_photos(&state, id.into_inner(), caller.id()).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(&listing))
        .json(ListingBody::new(
            &listing,
            photo_views(&state, &photos),
            caller.id(),
        )))
}

/// How a search is ordered.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum SortName {
    Relevance,
    Newest,
    PriceAsc,
    PriceDesc,
    Popular,
}

/// Search and browse listings. Without `status`, active listings; drafts only ever appear to
/// their seller.
#[utoipa::path(
    tag = "listings",
    security((), ("bearer" = [])),
    params(
        ("q" = Option<String>, Query, max_length = 200, pattern = "^[^\\x00]*$", description = "Words: all required, in any order, \
            stemmed (jackets finds jacket), accents ignored, the last word a prefix, one typo forgiven in a word of 5+ letters \
            (also in one a few listings hold when a word an edit away is held by ten times as many: its own matches first); \
            `a OR b`, `-word` excludes. Matches title (ranked highest), description and category (empty: no filter)"),
        ("category" = inline(Option<search::CategoryFilterSlug>), Query),
        ("condition" = inline(Option<Condition>), Query),
        ("seller_id" = Option<i64>, Query, minimum = 1),
        ("status" = inline(Option<StatusName>), Query, description = "Default active"),
        ("min_price" = Option<i64>, Query, minimum = 0, maximum = 1000000000, description = "Cents, inclusive; not above max_price"),
        ("max_price" = Option<i64>, Query, minimum = 0, maximum = 1000000000, description = "Cents, inclusive"),
        ("sort" = inline(Option<SortName>), Query, description = "Default relevance with q (which it needs), else newest; popular is most liked. \
            relevance ranks the newest 200 matches (filters applied; those of the newest 50,000 listings, or the \
            newest page of matches when those hold fewer) by how well they match: a word in many listings shows the best of \
            the recent ones; its cursor keeps ranking the same window, then the older matches below it, window by window, \
            each ranked on its own, so pages never skip or repeat"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Default 20"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page, with the same sort"),
    ),
    responses(
        (status = 200, description = "A page of listings", body = Page<ListingBody>),
        QueryErrors,
        AuthErrors,
        RateLimited,
        Unavailable,
    )
)]
#[get("/api/v1/listings")]
pub async fn list_listings(
    state: web::Data<AppState>,
    caller: MaybeCaller,
    address: crate::limits::ClientAddr,
    query: web::Query<QueryParams>,
) -> Result<HttpResponse, ApiError> {
    state
        .limits
        .check(crate::limits::Limit::BrowsingPerAddress, address)?;
    let mut p = Params::new(query.into_inner());
    let viewer = caller.id();
    let request = search::parse_search(&mut p, viewer.map(|v| v.0));
    // A `q` of stop words only is still a `q`: relevance is its default and may be asked for
    // (the page is empty), as a client that always sends it expects.
    let q_given = request.filter.text.is_some() || request.matches_nothing;
    let (sort, after) = search::parse_sort_and_cursor(&mut p, q_given);
    let limit = p.limit();
    p.finish()?;

    let (rows, mut photos) = if request.matches_nothing {
        Default::default()
    } else {
        let filter = request.filter;
        let spelled = state.spelled.clone();
        search_db(&state, move |conn| {
            let (conn, mode) = conn.planned();
            let rows = listings::search(conn, mode, &spelled, &filter, sort, after, limit + 1)?;
            // One query for the page's photos (the row past the page included: cheap).
            let ids: Vec<i64> = rows.iter().map(|f| f.listing.id).collect();
            let photos = photos::of_listings(conn, &ids)?;
            Ok((rows, photos))
        })
        .await?
    };
    let (rows, next_cursor) = paginate(rows, limit, |last| {
        encode_cursor(&search::ListingCursor::after(sort, last))
    });
    Ok(HttpResponse::Ok().json(Page {
        items: rows
            .iter()
            .map(|f| {
                let own = photos.remove(&f.listing.id).unwrap_or_default();
                ListingBody::new(&f.listing, photo_views(&state, &own), viewer)
            })
            .collect(),
        next_cursor,
    }))
}

/// The version named by `If-Match`, if any. `*` matches any version; anything that is not one
/// of our ETags can never match (412).
fn if_match(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let value = value.to_str().unwrap_or_default().trim();
    if value == "*" {
        return Ok(None);
    }
    value
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse::<i64>()
        .map(Some)
        .map_err(|_| {
            ApiError::PreconditionFailed("If-Match does not match the listing's ETag".into())
        })
}

/// Edit a listing (seller only). Lowering the price of an active listing is a price drop.
#[utoipa::path(
    tag = "listings",
    security(("bearer" = [])),
    request_body = UpdateListingBody,
    params(("If-Match" = Option<String>, Header, description = "The ETag last seen, or *")),
    responses(
        (status = 200, description = "The edited listing", body = ListingBody, headers(
            ("ETag" = String, description = "The listing's new version"),
        )),
        JsonBodyErrors,
        AuthErrors,
        (status = 403, description = "Not the seller", body = Problem),
        (status = 404, description = "No such listing", body = Problem),
        (status = 409, description = "Illegal status change, the listing is closed, it has open orders, or it is too busy", body = Problem),
        (status = 412, description = "If-Match does not name the listing's current version", body = Problem),
        (status = 422, description = "Invalid fields (auto_decline_cents above auto_accept_cents included)", body = Problem),
        Unavailable,
    )
)]
#[patch("/api/v1/listings/{id}")]
pub async fn update_listing(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    req: HttpRequest,
    body: JsonBody<UpdateListingBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let if_match = if_match(&req)?;
    let status = match b.status.as_deref().map(parse_status) {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(message)) => return Err(ApiError::invalid("status", message)),
    };
    let patch = ListingPatch {
        title: b.title,
        description: b.description,
        category: b.category,
        condition: b.condition,
        price_cents: b.price_cents,
        quantity: b.quantity,
        status,
        auto_accept_cents: b.auto_accept_cents,
        auto_decline_cents: b.auto_decline_cents,
        auto_price_drop: b.auto_price_drop.map(|d| d.map(AutoPriceDrop::from)),
    }
    .validate()
    .map_err(ApiError::Validation)?;
    let command = EditListing {
        by: caller.id(),
        patch,
        if_match,
        photo_ids: b.photo_ids,
    };
    let id = id.into_inner();
    let listing = send_to_listing(&state.directory, ListingId(id), command).await??;
    let photos = photos_now(&state, id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(&listing))
        .json(ListingBody::new(&listing, photos, Some(caller.id()))))
}

/// Close a listing (seller only). The row and its history stay; its status becomes closed.
#[utoipa::path(
    tag = "listings",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Closed"),
        AuthErrors,
        (status = 403, description = "Not the seller", body = Problem),
        (status = 404, description = "No such listing", body = Problem),
        (status = 409, description = "Orders are open, or the listing is too busy", body = Problem),
        Unavailable,
    )
)]
#[delete("/api/v1/listings/{id}")]
pub async fn delete_listing(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let command = CloseListing { by: caller.id() };
    send_to_listing(&state.directory, ListingId(id.into_inner()), command).await??;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lamp() -> Listing {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .expect("a valid time")
            .naive_utc();
        Listing {
            id: 4,
            seller_id: 2,
            title: "Lamp".into(),
            description: "Brass".into(),
            category: Some("home".into()),
            condition: None,
            price_cents: 1_500,
            currency: "EUR".into(),
            quantity: 1,
            status: ListingStatus::Active,
            like_count: 3,
            auto_accept_cents: Some(1_400),
            auto_decline_cents: None,
            version: 7,
            created_at: at,
            updated_at: at,
            auto_drop_percent: None,
            auto_drop_interval_secs: None,
            auto_drop_floor_cents: None,
            next_price_drop_at: None,
        }
    }

    /// The body built on the events' snapshot keeps the wire format it had as its own struct.
    #[test]
    fn the_listing_body_keeps_its_fields_and_their_order() {
        let public = concat!(
            r#"{"id":4,"seller_id":2,"title":"Lamp","description":"Brass","category":"home","#,
            r#""condition":null,"price_cents":1500,"currency":"EUR","quantity":1,"#,
            r#""status":"active","like_count":3,"version":7,"next_price_drop_at":null,"photos":[],"#,
            r#""created_at":"2023-11-14T22:13:20Z","updated_at":"2023-11-14T22:13:20Z""#
        );
        let listing = lamp();
        let to_json =
            |viewer| serde_json::to_string(&ListingBody::new(&listing, Vec::new(), viewer));
        assert_eq!(to_json(None).expect("serialises"), format!("{public}}}"));
        assert_eq!(
            to_json(Some(UserId(9))).expect("serialises"),
            format!("{public}}}")
        );
        assert_eq!(
            to_json(Some(UserId(2))).expect("serialises"),
            format!(
                r#"{public},"auto_accept_cents":1400,"auto_decline_cents":null,"auto_price_drop":null}}"#
            )
        );
    }
}
