//! Search and browse: the query parameters `GET /listings` and its facets share, the facets,
//! and the category tree.

use super::docs::{AuthErrors, QueryErrors, RateLimited, Unavailable};
use super::listings::{Condition, StatusName};
use super::{decode_cursor, search_db, MaybeCaller, Params, QueryParams};
use crate::app::AppState;
use crate::error::ApiError;
use actix_web::{get, web, HttpResponse};
use bazaar_actors::domain::category::{Category, TREE};
use bazaar_actors::domain::listing::{ListingStatus, PRICE_CENTS};
use bazaar_actors::domain::search::{
    validate_condition_filter, validate_query_text, CategoryFilter, SearchFilters, TextQuery,
};
use bazaar_actors::store::search::{
    self, CappedCount, ListingFilter, ListingPosition, ListingSort,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Facets read at most this many matches (the newest) and one more: up to it every figure is
/// exact, above it the counts read "N+". Each match read is a row read, so the cap is what a
/// call costs: at 1M listings on PostgreSQL a common word's facets took ~40 ms alone at 10,000,
/// and at 1,000 a call still cost 3–4 times one at 10k listings, where "jacket" has ~160
/// matches, all read (BENCHMARKS.md, twenty-third session); at 200 it costs about the same.
/// A count past a couple of hundred tells a buyer "many" either way.
pub const FACET_COUNT_CAP: i64 = 200;

/// What a search asks for, parsed from its query parameters.
pub struct SearchRequest {
    pub filter: ListingFilter,
    /// `q` was given but has no searchable word (only punctuation, stop words or
    /// exclusions): nothing matches.
    pub matches_nothing: bool,
}

/// Parses `q`, `category`, `condition`, `seller_id`, `status`, `min_price` and `max_price`,
/// recording each bad one in `p`.
pub fn parse_search(p: &mut Params, viewer: Option<i64>) -> SearchRequest {
    // `q` is checked raw: a NUL or an over-long text is refused, not trimmed away.
    let raw_q = p.raw("q");
    let mut matches_nothing = false;
    let text = match raw_q {
        Some(q) => match validate_query_text(&q) {
            Err(message) => {
                p.fail("q", message);
                None
            }
            Ok(()) if q.trim().is_empty() => None,
            Ok(()) => {
                let parsed = TextQuery::parse(&q);
                matches_nothing = parsed.is_none();
                parsed
            }
        },
        None => None,
    };
    let category = p.parsed("category", CategoryFilter::parse);
    let condition = p.parsed("condition", |c| {
        validate_condition_filter(c).map(|()| c.to_owned())
    });
    let seller_id = p.int("seller_id", 1, i64::MAX);
    let status = p
        .parsed("status", super::listings::parse_status)
        .unwrap_or(ListingStatus::Active);
    let min_price = p.int("min_price", 0, PRICE_CENTS.1);
    let max_price = p.int("max_price", 0, PRICE_CENTS.1);
    if let (Some(min), Some(max)) = (min_price, max_price) {
        if min > max {
            p.fail("min_price", "must not be above max_price");
        }
    }
    SearchRequest {
        filter: ListingFilter {
            text,
            filters: SearchFilters {
                category,
                condition,
                seller_id,
                min_price,
                max_price,
            },
            status,
            viewer,
        },
        matches_nothing,
    }
}

/// Where the previous page ended, in its sort order. `sort`, `price_cents` and `id` are the
/// original shape (cursors from before still work); `like_count` and `rank` came with the
/// popular and relevance sorts. The rank travels as its bit pattern, so it compares equal to
/// the database's value exactly. `lo` and `hi`: with relevance, the id range of the
/// candidates the first page ranked, which later pages rank again.
#[derive(Debug, Serialize, Deserialize)]
pub struct ListingCursor {
    pub sort: String,
    pub price_cents: i64,
    pub id: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub like_count: i64,
    #[serde(default, skip_serializing_if = "is_zero_bits")]
    pub rank_bits: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lo: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub hi: i64,
    /// With relevance, how many candidates the window held, which its later pages rank again:
    /// a window goes on below `lo` once its pages run out, unless `lo` is the first id (0 in
    /// cursors from before: they end with their window).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub n: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn is_zero_bits(v: &u64) -> bool {
    *v == 0
}

impl ListingCursor {
    pub fn after(sort: ListingSort, found: &search::Found) -> ListingCursor {
        ListingCursor {
            sort: sort.as_str().to_owned(),
            price_cents: found.listing.price_cents,
            id: found.listing.id,
            like_count: found.listing.like_count,
            rank_bits: found.rank.to_bits(),
            lo: found.window_lo,
            hi: found.window_hi,
            n: found.candidates,
        }
    }
}

/// The sort (default: relevance with `q`, newest without) and the cursor's position.
pub fn parse_sort_and_cursor(
    p: &mut Params,
    has_text: bool,
) -> (ListingSort, Option<ListingPosition>) {
    let default = if has_text {
        ListingSort::Relevance
    } else {
        ListingSort::Newest
    };
    let sort = p
        .parsed("sort", |s| match ListingSort::parse(s) {
            Some(ListingSort::Relevance) if !has_text => Err("relevance needs q".to_owned()),
            Some(sort) => Ok(sort),
            None => Err("must be relevance, newest, price_asc, price_desc or popular".to_owned()),
        })
        .unwrap_or(default);
    let after = p.parsed("cursor", |c| {
        let cursor: ListingCursor = decode_cursor(c)?;
        if cursor.sort != sort.as_str() {
            return Err(format!("was made for sort={}", cursor.sort));
        }
        let rank = f64::from_bits(cursor.rank_bits);
        // A page's last listing has an id (from 1) and a candidates' range ids or none (0):
        // anything else was made up, and an id below every listing's would only strain the
        // reads' arithmetic.
        if !rank.is_finite() || cursor.id < 1 || cursor.lo < 0 || cursor.hi < 0 || cursor.n < 0 {
            return Err("is not a cursor from a previous page".to_owned());
        }
        Ok(ListingPosition {
            price_cents: cursor.price_cents,
            like_count: cursor.like_count,
            rank,
            id: cursor.id,
            window_lo: cursor.lo,
            window_hi: cursor.hi,
            window_count: cursor.n,
        })
    });
    (sort, after)
}

/// A count: a number when exact, or the string `"N+"` (at least N) when more listings matched
/// than the facets read.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum FacetCount {
    Exact(i64),
    AtLeast(String),
}

impl From<CappedCount> for FacetCount {
    fn from(c: CappedCount) -> Self {
        if c.capped {
            FacetCount::AtLeast(format!("{}+", c.count))
        } else {
            FacetCount::Exact(c.count)
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FacetBucket {
    /// A top-level category slug, or a condition.
    pub value: String,
    pub count: FacetCount,
}

/// Counts of the matching listings per top-level category and per condition (buckets with
/// none are left out), and the lowest and highest price among them. With more than 200
/// matches, all of it describes the newest 200 (and the counts read "N+").
#[derive(Debug, Serialize, ToSchema)]
pub struct FacetsBody {
    pub categories: Vec<FacetBucket>,
    pub conditions: Vec<FacetBucket>,
    pub min_price_cents: Option<i64>,
    pub max_price_cents: Option<i64>,
}

/// Facets of a search: the same parameters as `GET /api/v1/listings` (no sort, no cursor).
#[utoipa::path(
    tag = "listings",
    params(
        ("q" = Option<String>, Query, max_length = 200, pattern = "^[^\\x00]*$", description = "Words, as for GET /api/v1/listings"),
        ("category" = inline(Option<CategoryFilterSlug>), Query),
        ("condition" = inline(Option<Condition>), Query),
        ("seller_id" = Option<i64>, Query, minimum = 1),
        ("status" = inline(Option<StatusName>), Query, description = "Default active"),
        ("min_price" = Option<i64>, Query, minimum = 0, maximum = 1000000000, description = "Cents, inclusive; not above max_price"),
        ("max_price" = Option<i64>, Query, minimum = 0, maximum = 1000000000, description = "Cents, inclusive"),
    ),
    responses(
        (status = 200, description = "Counts per top-level category and condition, and the price range, \
            read from the newest 201 matches: with at most 200 matches every figure is exact; with more, the figures \
            describe the newest 200 and each count is a string \"N+\" (at least N match)", body = FacetsBody),
        QueryErrors,
        AuthErrors,
        RateLimited,
        Unavailable,
    )
)]
#[get("/api/v1/listings/facets")]
pub async fn listing_facets(
    state: web::Data<AppState>,
    caller: MaybeCaller,
    address: crate::limits::ClientAddr,
    query: web::Query<QueryParams>,
) -> Result<HttpResponse, ApiError> {
    state
        .limits
        .check(crate::limits::Limit::BrowsingPerAddress, address)?;
    let mut p = Params::new(query.into_inner());
    let request = parse_search(&mut p, caller.id().map(|v| v.0));
    p.finish()?;
    let facets = if request.matches_nothing {
        None
    } else {
        let filter = request.filter;
        let spelled = state.spelled.clone();
        Some(
            search_db(&state, move |conn| {
                let (conn, mode) = conn.planned();
                Ok(search::facets(
                    conn,
                    mode,
                    &spelled,
                    &filter,
                    FACET_COUNT_CAP,
                )?)
            })
            .await?,
        )
    };
    let bucket = |(value, count): (String, CappedCount)| FacetBucket {
        value,
        count: count.into(),
    };
    Ok(HttpResponse::Ok().json(match facets {
        None => FacetsBody {
            categories: Vec::new(),
            conditions: Vec::new(),
            min_price_cents: None,
            max_price_cents: None,
        },
        Some(f) => FacetsBody {
            categories: f.categories.into_iter().map(bucket).collect(),
            conditions: f.conditions.into_iter().map(bucket).collect(),
            min_price_cents: f.min_price,
            max_price_cents: f.max_price,
        },
    }))
}

/// A listing's category in the OpenAPI document: an enum of the tree's slugs, generated from
/// `domain::category::TREE` (the one list).
pub struct CategorySlug;

/// The `category` filter in the OpenAPI document: a slug of the tree, or empty (any).
pub struct CategoryFilterSlug;

fn slug_schema(
    description: &str,
    empty: bool,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let slugs = empty
        .then_some("")
        .into_iter()
        .chain(bazaar_actors::domain::category::all_slugs());
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(slugs))
        .description(Some(description))
        .into()
}

impl utoipa::PartialSchema for CategorySlug {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        slug_schema(
            "A category slug of the tree (GET /api/v1/categories)",
            false,
        )
    }
}

impl ToSchema for CategorySlug {}

impl utoipa::PartialSchema for CategoryFilterSlug {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        slug_schema(
            "A category slug of the tree (GET /api/v1/categories); a top-level one includes its \
             children (empty: any)",
            true,
        )
    }
}

impl ToSchema for CategoryFilterSlug {}

/// A category of the tree.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryBody {
    pub slug: &'static str,
    pub name: &'static str,
    /// Sub-categories (top-level categories only).
    #[schema(no_recursion)]
    pub children: Vec<CategoryBody>,
}

impl From<&Category> for CategoryBody {
    fn from(c: &Category) -> Self {
        CategoryBody {
            slug: c.slug,
            name: c.name,
            children: c.children.iter().map(CategoryBody::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoriesBody {
    pub items: Vec<CategoryBody>,
}

/// The category tree: two levels; a listing's `category` is one of these slugs.
#[utoipa::path(
    tag = "listings",
    responses((status = 200, description = "The category tree", body = CategoriesBody))
)]
#[get("/api/v1/categories")]
pub async fn list_categories() -> HttpResponse {
    HttpResponse::Ok().json(CategoriesBody {
        items: TREE.iter().map(CategoryBody::from).collect(),
    })
}
