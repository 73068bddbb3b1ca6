//! The error responses of the OpenAPI document, declared once. Each failure an extractor or a
//! shared path can produce is a bundle (`IntoResponses`) that an operation lists next to its own
//! statuses; the bundles point at shared `components/responses`. [`ProblemResponses`] then serves
//! every 4xx and 5xx as `application/problem+json` and gives 429 and 503 their `Retry-After`, so
//! no operation can declare an error with the wrong content type.

use crate::error::PROBLEM_JSON;
use std::collections::BTreeMap;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::Response;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa::IntoResponses;

/// A shared response: its status and name under `components/responses`, what it means, and
/// the headers it carries.
struct Shared {
    status: u16,
    name: &'static str,
    description: &'static str,
    retry_after: bool,
    www_authenticate: bool,
}

const SHARED: &[Shared] = &[
    Shared {
        status: 400,
        name: "BadRequest",
        description: "The body is not JSON (or is missing where it is required), or the query \
                      string cannot be read",
        retry_after: false,
        www_authenticate: false,
    },
    Shared {
        status: 401,
        name: "Unauthorized",
        description: "The Authorization header is missing where required, malformed, or names \
                      a token that is unknown, expired or revoked",
        retry_after: false,
        www_authenticate: true,
    },
    Shared {
        status: 413,
        name: "PayloadTooLarge",
        description: "The body is larger than 64 KiB",
        retry_after: false,
        www_authenticate: false,
    },
    Shared {
        status: 415,
        name: "UnsupportedMediaType",
        description: "The body is not application/json",
        retry_after: false,
        www_authenticate: false,
    },
    Shared {
        status: 422,
        name: "ValidationFailed",
        description: "A field or parameter is missing, unknown, mistyped or out of range; \
                      `errors` names each",
        retry_after: false,
        www_authenticate: false,
    },
    Shared {
        status: 429,
        name: "TooManyRequests",
        description: "A rate limit was reached; retry after Retry-After seconds",
        retry_after: true,
        www_authenticate: false,
    },
    Shared {
        status: 503,
        name: "ServiceUnavailable",
        description: "The database is busy or unreachable, or a queue is full; retry after \
                      Retry-After seconds",
        retry_after: true,
        www_authenticate: false,
    },
];

fn shared(names: &[&str]) -> BTreeMap<String, RefOr<Response>> {
    names
        .iter()
        .map(|name| {
            let s = SHARED
                .iter()
                .find(|s| s.name == *name)
                .expect("a shared response by that name");
            (
                s.status.to_string(),
                RefOr::Ref(Ref::from_response_name(s.name)),
            )
        })
        .collect()
}

/// A JSON body (`JsonBody`, `OptionalJsonBody`): malformed (400), too large (413), not JSON
/// (415), or a field wrong (422).
pub struct JsonBodyErrors;

impl IntoResponses for JsonBodyErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        shared(&[
            "BadRequest",
            "PayloadTooLarge",
            "UnsupportedMediaType",
            "ValidationFailed",
        ])
    }
}

/// Query parameters: an unreadable query string (400) or a bad parameter (422).
pub struct QueryErrors;

impl IntoResponses for QueryErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        shared(&["BadRequest", "ValidationFailed"])
    }
}

/// A bearer token (`Caller`, or a bad one sent to a `MaybeCaller` route): 401.
pub struct AuthErrors;

impl IntoResponses for AuthErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        shared(&["Unauthorized"])
    }
}

/// Anything that reads or writes the database (token checks included): 503 when it is busy or
/// lost.
pub struct Unavailable;

impl IntoResponses for Unavailable {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        shared(&["ServiceUnavailable"])
    }
}

/// A rate-limited operation: 429.
pub struct RateLimited;

impl IntoResponses for RateLimited {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        shared(&["TooManyRequests"])
    }
}

fn problem_content() -> Content {
    Content::new(Some(RefOr::Ref(Ref::from_schema_name("Problem"))))
}

fn retry_after() -> Header {
    HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1)),
        )
        .description(Some("Seconds to wait before trying again"))
        .build()
}

/// Registers the shared responses, and makes every error response problem+json (with
/// `Retry-After` on 429 and 503), whether shared or declared by one operation.
pub struct ProblemResponses;

impl utoipa::Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for s in SHARED {
            let mut response = Response::new(s.description);
            response
                .content
                .insert(PROBLEM_JSON.into(), problem_content());
            if s.retry_after {
                response.headers.insert("Retry-After".into(), retry_after());
            }
            if s.www_authenticate {
                response.headers.insert(
                    "WWW-Authenticate".into(),
                    HeaderBuilder::new()
                        .schema(ObjectBuilder::new().schema_type(Type::String))
                        .description(Some("Bearer"))
                        .build(),
                );
            }
            components
                .responses
                .insert(s.name.into(), RefOr::T(response));
        }
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                as_problems(operation);
            }
        }
    }
}

/// An operation's own error responses, declared with `body = Problem`, become problem+json.
fn as_problems(operation: &mut Operation) {
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        if !status.starts_with('4') && !status.starts_with('5') {
            continue;
        }
        response.content.clear();
        response
            .content
            .insert(PROBLEM_JSON.into(), problem_content());
        if status == "429" || status == "503" {
            response.headers.insert("Retry-After".into(), retry_after());
        }
    }
}
