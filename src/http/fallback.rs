//! What answers when no handler does, and the span every request is logged under.

use crate::app::AppState;
use crate::error::{ApiError, Problem, PROBLEM_JSON};
use crate::http::allowed::AllowedMethods;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{web, HttpResponse};
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};

/// Every request's span carries the node id, so logs from several processes can be told apart.
pub(crate) struct NodeRootSpan;

impl RootSpanBuilder for NodeRootSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        let node = request
            .app_data::<web::Data<AppState>>()
            .map(|s| s.node_id.clone())
            .unwrap_or_default();
        tracing_actix_web::root_span!(request, node.id = %node)
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// 405 with `Allow` for a path served with other methods; 404 for any other path, and for a
/// documented one not served on this address (`/metrics` with `--metrics-bind`).
pub(crate) async fn no_route(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    let allowed = req.app_data::<web::Data<AllowedMethods>>();
    let other_methods = allowed
        .and_then(|a| a.for_path(req.path()))
        .filter(|allow| !allow.split(", ").any(|m| m == req.method().as_str()));
    if let Some(allow) = other_methods {
        let status = actix_web::http::StatusCode::METHOD_NOT_ALLOWED;
        let detail = format!(
            "{} {} is not served; allowed: {allow}",
            req.method(),
            req.path()
        );
        let mut response = Problem::new("method-not-allowed", status, detail).response();
        if let Ok(value) = header::HeaderValue::from_str(allow) {
            response.headers_mut().insert(header::ALLOW, value);
        }
        return Ok(response);
    }
    Err(ApiError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}

/// Any error response not already problem+json (from actix itself) becomes one.
pub(crate) fn problem_for_bare_errors<B>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (req, _) = res.into_parts();
    let detail = status.canonical_reason().unwrap_or("error").to_owned();
    let kind = detail.to_ascii_lowercase().replace(' ', "-");
    let body: HttpResponse = Problem::new(&kind, status, detail).response();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, body).map_into_right_body::<B>(),
    ))
}
