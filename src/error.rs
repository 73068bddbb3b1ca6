//! One error type for the edges, rendered as RFC 9457 `application/problem+json`. Client
//! mistakes are 4xx with a useful `detail`; server faults are a generic 500 whose cause chain
//! is logged once, here.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use bazaar_actors::domain::dispute::DisputeError;
use bazaar_actors::domain::liker_offer::LikerOfferError;
use bazaar_actors::domain::listing::EditError;
use bazaar_actors::domain::offer::OfferError;
use bazaar_actors::domain::order::OrderError;
use bazaar_actors::domain::photo::PhotoError;
use bazaar_actors::domain::purchase::PurchaseError;
use bazaar_actors::domain::FieldErrors;
use bazaar_actors::store::{Outage, StoreError};
use bazaar_actors::ListingError;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request has invalid fields")]
    Validation(FieldErrors),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    PaymentRequired(String),
    #[error("{0}")]
    Forbidden(String),
    /// 403 with type `/problems/blocked`: one of the two users blocked the other.
    #[error("{0}")]
    Blocked(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// 409 with type `/problems/no-address`: the order's buyer gave no shipping address.
    #[error("{0}")]
    NoAddress(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unavailable(String),
    /// A rate limit was reached; the client may try again after `retry_after_secs`.
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after_secs: u64,
    },
    /// A request with the same Idempotency-Key is still running; retry after `retry_after_secs`.
    #[error("{detail}")]
    InProgress {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError::Internal(Box::new(e))
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(FieldErrors::single(field, message))
    }

    /// The problem+json body of this error.
    pub fn problem(&self) -> Problem {
        let mut problem = Problem::new(self.kind(), self.status_code(), self.to_string());
        if let ApiError::Validation(errors) = self {
            problem.errors = Some(errors.fields().clone());
        }
        problem
    }

    /// The problem `type` slug.
    fn kind(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation-failed",
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::PaymentRequired(_) => "payment-required",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::Blocked(_) => "blocked",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict(_) => "conflict",
            ApiError::NoAddress(_) => "no-address",
            ApiError::PreconditionFailed(_) => "precondition-failed",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::Unavailable(_) => "service-unavailable",
            ApiError::TooManyRequests { .. } => "too-many-requests",
            ApiError::InProgress { .. } => "in-progress",
            ApiError::Internal(_) => "internal-error",
        }
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem, e.g. `/problems/validation-failed`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For validation failures: each field at fault and what is wrong with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, String>>,
}

impl Problem {
    pub fn new(kind: &str, status: StatusCode, detail: String) -> Self {
        Problem {
            kind: format!("/problems/{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors: None,
        }
    }

    pub fn response(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut builder = HttpResponse::build(status);
        builder.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        builder.body(serde_json::to_string(self).unwrap_or_default())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::PaymentRequired(_) => StatusCode::PAYMENT_REQUIRED,
            ApiError::Forbidden(_) | ApiError::Blocked(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::NoAddress(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::InProgress { .. } => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(error = %error_chain(cause.as_ref()), "request failed");
        }
        if let ApiError::Unavailable(detail) = self {
            tracing::warn!(detail = %detail, "service unavailable");
        }
        let mut response = self.problem().response();
        if let Some(secs) = self.retry_after_secs() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs.max(1)));
        }
        response
    }
}

/// Seconds a client is told to wait after a 503: the condition (a busy or lost database, a
/// full queue) is expected to pass quickly.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 1;

impl ApiError {
    /// The `Retry-After` this error carries: every 503 and 429 has one.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            ApiError::InProgress {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

/// The error and its causes, outermost first, joined by ": ".
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// A busy or unreachable database (a busy pool, a lost connection, a server restarting) is
/// 503 with `Retry-After`: the condition passes, and the client may send the request again.
/// The driver's words stay in the log, never in the body.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e.outage() {
            Some(outage) => {
                tracing::warn!(error = %e, "database unavailable");
                outage.into()
            }
            None => ApiError::internal(e),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::Query(e).into()
    }
}

impl From<Outage> for ApiError {
    fn from(outage: Outage) -> Self {
        ApiError::Unavailable(outage.to_string())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal(e)
    }
}

impl From<actix::MailboxError> for ApiError {
    fn from(_: actix::MailboxError) -> Self {
        ApiError::Unavailable("the listing could not take the command; retry".into())
    }
}

impl From<ListingError> for ApiError {
    fn from(e: ListingError) -> Self {
        let detail = e.to_string();
        match e {
            ListingError::NotFound | ListingError::OfferNotFound | ListingError::OrderNotFound => {
                ApiError::NotFound(detail)
            }
            ListingError::Edit(e) => e.into(),
            ListingError::Purchase(e) => e.into(),
            ListingError::Offer(e) => e.into(),
            ListingError::Order(e) => e.into(),
            ListingError::LikerOffer(e) => e.into(),
            ListingError::Dispute(e) => e.into(),
            ListingError::Photo(e) => e.into(),
            ListingError::HasOpenOrders(_) | ListingError::Contended | ListingError::Removal(_) => {
                ApiError::Conflict(detail)
            }
            ListingError::Blocked => ApiError::Blocked(detail),
            ListingError::Store(e) => e.into(),
            ListingError::Unavailable => ApiError::Unavailable(detail),
            ListingError::DatabaseUnavailable(outage) => outage.into(),
            ListingError::ClaimLost(e) => e.into(),
        }
    }
}

/// Seconds a client is told to wait before repeating a request whose key is in progress: the
/// first request usually answers within that; one that died frees the key when its lease ends.
pub const IN_PROGRESS_RETRY_AFTER_SECS: u64 = 1;

impl From<bazaar_actors::idempotency::ClaimLost> for ApiError {
    fn from(e: bazaar_actors::idempotency::ClaimLost) -> Self {
        ApiError::InProgress {
            detail: e.to_string(),
            retry_after_secs: IN_PROGRESS_RETRY_AFTER_SECS,
        }
    }
}

impl From<EditError> for ApiError {
    fn from(e: EditError) -> Self {
        match e {
            EditError::NotSeller => ApiError::Forbidden(e.to_string()),
            EditError::StaleVersion { .. } => ApiError::PreconditionFailed(e.to_string()),
            EditError::IllegalStatus { .. } | EditError::Closed => {
                ApiError::Conflict(e.to_string())
            }
            EditError::Invalid(errors) => ApiError::Validation(errors),
        }
    }
}

impl From<PhotoError> for ApiError {
    fn from(e: PhotoError) -> Self {
        match e {
            PhotoError::NotSeller => ApiError::Forbidden(e.to_string()),
            PhotoError::Closed | PhotoError::TooMany { .. } => ApiError::Conflict(e.to_string()),
            PhotoError::NotFound => ApiError::NotFound(e.to_string()),
        }
    }
}

impl From<PurchaseError> for ApiError {
    fn from(e: PurchaseError) -> Self {
        match e {
            PurchaseError::NotFound => ApiError::NotFound(e.to_string()),
            PurchaseError::OwnListing => ApiError::Forbidden(e.to_string()),
            PurchaseError::InsufficientFunds => ApiError::PaymentRequired(e.to_string()),
            PurchaseError::SoldOut
            | PurchaseError::NotActive(_)
            | PurchaseError::NotEnough { .. }
            | PurchaseError::PriceChanged { .. } => ApiError::Conflict(e.to_string()),
        }
    }
}

impl From<OfferError> for ApiError {
    fn from(e: OfferError) -> Self {
        match e {
            OfferError::ListingNotFound => ApiError::NotFound(e.to_string()),
            OfferError::OwnListing
            | OfferError::NotParty
            | OfferError::OnlyBuyerWithdraws
            | OfferError::SystemOnly => ApiError::Forbidden(e.to_string()),
            OfferError::Invalid { field, message } => ApiError::invalid(field, message),
            OfferError::ListingNotActive(_)
            | OfferError::OpenOfferExists
            | OfferError::TooManyOffers(_)
            | OfferError::NotOpen(_)
            | OfferError::Expired
            | OfferError::NotYourTurn(_)
            | OfferError::NotEnoughQuantity { .. } => ApiError::Conflict(e.to_string()),
        }
    }
}

impl From<OrderError> for ApiError {
    fn from(e: OrderError) -> Self {
        match e {
            OrderError::NotParty | OrderError::WrongParty(_) => ApiError::Forbidden(e.to_string()),
            OrderError::IllegalTransition { .. }
            | OrderError::ShipDeadlineNotPassed
            | OrderError::NotDue
            | OrderError::NotCompleted(_)
            | OrderError::AlreadyRated
            | OrderError::RatingWindowClosed(_) => ApiError::Conflict(e.to_string()),
            OrderError::NoShippingAddress => ApiError::NoAddress(e.to_string()),
        }
    }
}

impl From<DisputeError> for ApiError {
    fn from(e: DisputeError) -> Self {
        match e {
            DisputeError::NotParty | DisputeError::WrongParty(_) | DisputeError::OwnDispute => {
                ApiError::Forbidden(e.to_string())
            }
            DisputeError::BuyerCents(message) => ApiError::invalid("buyer_cents", message),
            DisputeError::NotDisputable(_)
            | DisputeError::ShipDeadlineNotPassed(_)
            | DisputeError::AutoCompleted(_)
            | DisputeError::NotRefundable(_)
            | DisputeError::NotDisputed(_)
            | DisputeError::Resolved
            | DisputeError::AlreadyEscalated
            | DisputeError::NotDue(_) => ApiError::Conflict(e.to_string()),
        }
    }
}

impl From<LikerOfferError> for ApiError {
    fn from(e: LikerOfferError) -> Self {
        match e {
            LikerOfferError::NotSeller => ApiError::Forbidden(e.to_string()),
            LikerOfferError::NotEnoughOff { .. } => {
                ApiError::invalid("amount_cents", e.to_string())
            }
            LikerOfferError::ListingNotActive(_)
            | LikerOfferError::TooSoon { .. }
            | LikerOfferError::NoLikers => ApiError::Conflict(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error};

    fn lost_connection() -> Error {
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new("FATAL:  terminating connection due to administrator command".to_owned()),
        )
    }

    #[test]
    fn a_lost_connection_is_503_with_retry_after_and_no_driver_text() {
        for e in [
            ApiError::from(lost_connection()),
            ApiError::from(StoreError::Query(lost_connection())),
            ApiError::from(ListingError::from(lost_connection())),
        ] {
            let response = e.error_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{e:?}");
            assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "1");
            assert_eq!(
                response.headers().get(header::CONTENT_TYPE).unwrap(),
                PROBLEM_JSON
            );
            let detail = e.problem().detail;
            assert_eq!(detail, "the database is unreachable; retry shortly");
        }
    }

    #[test]
    fn a_fault_of_the_query_stays_a_500() {
        let e = ApiError::from(Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("syntax error".to_owned()),
        ));
        assert_eq!(e.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.retry_after_secs(), None);
    }
}
