use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

#[actix_web::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let health = json_of(app.get("/healthz", None).await, 200).await;
    assert_eq!(health["status"], "ok");
    let ready = json_of(app.get("/readyz", None).await, 200).await;
    assert_eq!(ready["status"], "ready");
}

#[actix_web::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    if !app.db.is_postgres() {
        // A SQLite file cannot be taken away from an open connection; this is PostgreSQL's case.
        eprintln!("readiness_fails_when_the_database_is_gone: runs on PostgreSQL only");
        return;
    }
    json_of(app.get("/readyz", None).await, 200).await;
    app.db.drop_now();
    let body = problem(app.get("/readyz", None).await, 503).await;
    // Only that: the driver's words (here "terminating connection due to administrator
    // command") stay in the log.
    assert_eq!(body["detail"], "the database does not answer");
    // Liveness does not depend on the database.
    json_of(app.get("/healthz", None).await, 200).await;
}

#[actix_web::test]
async fn metrics_count_requests_by_route_and_report_the_pool_and_actors() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let listing = app.listing(&seller, json!({})).await;
    let p = format!("/api/v1/listings/{}", listing["id"]);
    json_of(
        app.patch(&p, Some(&seller.token), &json!({"title": "x"}))
            .await,
        200,
    )
    .await;
    problem(app.get("/api/v1/listings/424242", None).await, 404).await;
    let text = app.get("/metrics", None).await.text().await.unwrap();
    for expected in [
        r#"bazaar_http_requests_total{method="PATCH",route="/api/v1/listings/{id}",status="200"} 1"#,
        r#"bazaar_http_requests_total{method="GET",route="/api/v1/listings/{id}",status="404"} 1"#,
        r#"bazaar_http_requests_total{method="POST",route="/api/v1/users",status="201"} 1"#,
        "bazaar_http_request_duration_seconds_bucket{route=\"/api/v1/listings/{id}\"",
        "bazaar_db_pool_connections_in_use ",
        "bazaar_active_listing_actors 1",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[actix_web::test]
async fn unknown_routes_are_problem_json_404() {
    let app = spawn_app().await;
    let body = problem(app.get("/api/v1/nothing-here", None).await, 404).await;
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("/api/v1/nothing-here"));
}

#[actix_web::test]
async fn a_known_path_with_another_method_is_405_naming_the_allowed_ones() {
    let app = spawn_app().await;
    for (method, path, allow) in [
        (Method::PUT, "/api/v1/me", "GET, PATCH"),
        (Method::POST, "/api/v1/listings/7", "GET, DELETE, PATCH"),
        (Method::TRACE, "/healthz", "GET"),
        // The shape of /api/v1/listings/{id} too, whose PATCH would answer 401.
        (Method::PATCH, "/api/v1/listings/facets", "GET"),
    ] {
        let response = app
            .request(method.clone(), path, None)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response
                .headers()
                .get("allow")
                .and_then(|v| v.to_str().ok()),
            Some(allow),
            "{method} {path}"
        );
        let body = problem(response, 405).await;
        assert!(body["detail"].as_str().unwrap().contains(allow));
    }
}

/// Every `#[get("…")]`-style route attribute in src/http, as (method, path).
fn routes_in_source() -> BTreeSet<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http");
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in source.lines() {
            let line = line.trim();
            for method in ["get", "post", "put", "patch", "delete"] {
                if let Some(rest) = line.strip_prefix(&format!("#[{method}(\"")) {
                    let path = rest.split('"').next().unwrap();
                    routes.insert((method.to_owned(), path.to_owned()));
                }
            }
        }
    }
    routes
}

#[actix_web::test]
async fn the_openapi_document_covers_every_route() {
    let app = spawn_app().await;
    let doc = json_of(app.get("/api/v1/openapi.json", None).await, 200).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    let in_source = routes_in_source();
    assert!(in_source.len() >= 16, "found only {in_source:?}");
    assert_eq!(documented, in_source);

    // And every documented operation is really served (no route-level 404).
    for (method, path) in &documented {
        let concrete = path.replace("{id}", "1");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let res = app
            .request(method.clone(), &concrete, None)
            .send()
            .await
            .unwrap();
        if res.status() == 404 {
            let body: Value = res.json().await.unwrap();
            assert!(
                !body["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("no route"),
                "{method} {path} is documented but not served"
            );
        }
    }
}

/// The responses an operation declares: status → response object, `$ref`s resolved.
fn responses_of<'a>(doc: &'a Value, operation: &'a Value) -> Vec<(&'a str, &'a Value)> {
    operation["responses"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(status, response)| {
            let response = match response["$ref"].as_str() {
                Some(reference) => doc
                    .pointer(reference.trim_start_matches('#'))
                    .unwrap_or_else(|| panic!("dangling {reference}")),
                None => response,
            };
            (status.as_str(), response)
        })
        .collect()
}

/// Every operation of the document, as ("METHOD path", operation).
fn operations(doc: &Value) -> Vec<(String, &Value)> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .iter()
                .map(move |(method, op)| (format!("{} {path}", method.to_uppercase()), op))
        })
        .collect()
}

#[actix_web::test]
async fn every_operation_declares_its_errors_as_problem_json() {
    let app = spawn_app().await;
    let doc = json_of(app.get("/api/v1/openapi.json", None).await, 200).await;
    // What does not touch the database (or a token) cannot be unavailable.
    let without_database = [
        "GET /healthz",
        "GET /metrics",
        "GET /api/v1/openapi.json",
        // The category tree is a constant of the domain.
        "GET /api/v1/categories",
        // Photo files come from the object store alone.
        "GET /media/{key}",
    ];
    for (name, op) in operations(&doc) {
        let responses = responses_of(&doc, op);
        let statuses: BTreeSet<&str> = responses.iter().map(|(s, _)| *s).collect();
        for (status, response) in &responses {
            if status.starts_with('4') || status.starts_with('5') {
                let content: Vec<&String> =
                    response["content"].as_object().unwrap().keys().collect();
                assert_eq!(content, ["application/problem+json"], "{name} {status}");
                assert_eq!(
                    response["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{name} {status}"
                );
            }
            if *status == "429" || *status == "503" {
                assert!(
                    response["headers"]["Retry-After"].is_object(),
                    "{name} {status} lacks Retry-After"
                );
            }
        }
        let secured = op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
        if secured {
            assert!(statuses.contains("401"), "{name} takes a token but not 401");
        }
        if let Some(body) = op.get("requestBody") {
            // Photos and avatars are uploaded as browsers send files; every other body is JSON.
            let pictures = ["POST /api/v1/listings/{id}/photos", "PUT /api/v1/me/avatar"];
            let media_type = if pictures.contains(&name.as_str()) {
                "multipart/form-data"
            } else {
                "application/json"
            };
            assert!(
                body["content"][media_type].is_object(),
                "{name}: request bodies are {media_type}"
            );
            for status in ["400", "413", "422"] {
                assert!(
                    statuses.contains(status),
                    "{name} has a body but no {status}"
                );
            }
        }
        let has_query = op["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
        if has_query {
            assert!(statuses.contains("422"), "{name} has parameters but no 422");
        }
        if name.contains("{id}") {
            assert!(
                statuses.contains("404"),
                "{name} names a resource but no 404"
            );
        }
        if !without_database.contains(&name.as_str()) {
            assert!(
                statuses.contains("503"),
                "{name} uses the database but no 503"
            );
        }
    }
    // The rate-limited operations say so.
    for name in [
        "POST /api/v1/users",
        "POST /api/v1/sessions",
        "POST /api/v1/ws/tickets",
        "POST /api/v1/listings",
        "POST /api/v1/listings/{id}/offers",
        "POST /api/v1/offers/{id}/counter",
        "POST /api/v1/listings/{id}/liker-offers",
        "POST /api/v1/listings/{id}/purchase",
        "POST /api/v1/conversations/{id}/messages",
    ] {
        let (_, op) = operations(&doc)
            .into_iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} is not documented"));
        assert!(op["responses"]["429"].is_object(), "{name} lacks 429");
    }
    // Headers the server sets or reads are declared where they apply.
    let listing = &doc["paths"]["/api/v1/listings"]["post"]["responses"]["201"]["headers"];
    assert!(listing["Location"].is_object() && listing["ETag"].is_object());
    assert!(
        doc["paths"]["/api/v1/listings/{id}"]["get"]["responses"]["200"]["headers"]["ETag"]
            .is_object()
    );
    for (path, method) in [
        ("/api/v1/listings/{id}/purchase", "post"),
        ("/api/v1/listings/{id}/offers", "post"),
        ("/api/v1/offers/{id}/accept", "post"),
        ("/api/v1/wallet/deposits", "post"),
        ("/api/v1/wallet/withdrawals", "post"),
    ] {
        let params = doc["paths"][path][method]["parameters"].as_array().unwrap();
        let key = params
            .iter()
            .find(|p| p["name"] == "Idempotency-Key")
            .unwrap_or_else(|| panic!("{method} {path} lacks Idempotency-Key"));
        assert_eq!(key["in"], "header");
        assert_eq!(key["schema"]["maxLength"], 255);
    }
}

/// The limits the document states are the ones the domain enforces.
#[actix_web::test]
async fn the_documented_limits_are_the_enforced_ones() {
    use bazaar_actors::domain::{account, category, chat, listing, order, saved_search, search};
    let app = spawn_app().await;
    let doc = json_of(app.get("/api/v1/openapi.json", None).await, 200).await;
    let field =
        |schema: &str, name: &str| doc["components"]["schemas"][schema]["properties"][name].clone();
    let chars = |schema: &str, name: &str, (min, max): (usize, usize)| {
        let f = field(schema, name);
        // A required-to-say-something text states its minimum through its pattern.
        let documented_min = f["minLength"]
            .as_u64()
            .unwrap_or(u64::from(f["pattern"].is_string() && min > 0));
        assert_eq!(
            (documented_min, f["maxLength"].as_u64()),
            (min as u64, Some(max as u64)),
            "{schema}.{name}"
        );
    };
    let range = |schema: &str, name: &str, (min, max): (i64, i64)| {
        let f = field(schema, name);
        assert_eq!(
            (f["minimum"].as_i64(), f["maximum"].as_i64()),
            (Some(min), Some(max)),
            "{schema}.{name}"
        );
    };
    chars("RegisterBody", "username", account::USERNAME_CHARS);
    chars("RegisterBody", "password", account::PASSWORD_CHARS);
    chars("RegisterBody", "display_name", account::DISPLAY_NAME_CHARS);
    for schema in ["CreateListingBody", "UpdateListingBody"] {
        chars(schema, "title", listing::TITLE_CHARS);
        chars(schema, "description", (0, listing::DESCRIPTION_MAX_CHARS));
        // The tree's slugs, generated from the tree (nullable in the update: null clears).
        let f = field(schema, "category");
        let listed = f["enum"].as_array().cloned().unwrap_or_else(|| {
            let alternatives = f["oneOf"].as_array().expect("an enum, or null or an enum");
            alternatives
                .iter()
                .find_map(|a| a["enum"].as_array().cloned())
                .expect("an alternative lists the slugs")
        });
        let listed: Vec<&str> = listed.iter().filter_map(|v| v.as_str()).collect();
        assert_eq!(
            listed,
            category::all_slugs().collect::<Vec<_>>(),
            "{schema}.category"
        );
        range(schema, "price_cents", listing::PRICE_CENTS);
        range(schema, "quantity", listing::QUANTITY);
        range(schema, "auto_accept_cents", listing::PRICE_CENTS);
        range(schema, "auto_decline_cents", listing::PRICE_CENTS);
    }
    let conditions = &doc["components"]["schemas"]["Condition"]["enum"];
    assert_eq!(conditions, &json!(listing::CONDITIONS));
    chars("MessageBody", "body", chat::BODY_CHARS);
    chars("MessageBody", "client_msg_id", chat::CLIENT_MSG_ID_CHARS);
    range("RatingBody", "stars", order::RATING_STARS);
    chars(
        "RatingBody",
        "comment",
        (0, order::MAX_RATING_COMMENT_CHARS),
    );
    for (schema, name) in [
        ("AmountBody", "amount_cents"),
        ("OfferBody", "amount_cents"),
        ("PurchaseBody", "expected_price_cents"),
        ("LikeBody", "target_price_cents"),
    ] {
        range(schema, name, listing::PRICE_CENTS);
    }
    range("OfferBody", "quantity", listing::QUANTITY);
    range("PurchaseBody", "quantity", listing::QUANTITY);
    let saved = "CreateSavedSearchBody";
    chars(saved, "name", (1, saved_search::NAME_MAX_CHARS));
    chars(saved, "q", (0, search::QUERY_MAX_CHARS));
    chars(saved, "category", category::SLUG_CHARS);
    range(saved, "min_price", (0, listing::PRICE_CENTS.1));
    range(saved, "max_price", (0, listing::PRICE_CENTS.1));
}

#[actix_web::test]
async fn no_client_input_produces_a_5xx() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let listing = app.listing(&seller, json!({})).await;
    let doc = json_of(app.get("/api/v1/openapi.json", None).await, 200).await;
    let bodies = [
        "",
        "null",
        "[]",
        "{}",
        "\"text\"",
        "{\"title\": null, \"price_cents\": null, \"quantity\": null, \"status\": null}",
        "{\"price_cents\": 99999999999999999999, \"quantity\": -1, \"title\": \"\\u0000\"}",
        "{\"price_cents\": 1e400, \"amount_cents\": 1.5, \"target_price_cents\": -5}",
        "{\"username\": \"\u{1F600}\u{1F600}\u{1F600}\", \"password\": [1], \"display_name\": {}}",
        "{\"category\": \"x\", \"condition\": null, \"auto_accept_cents\": 0, \"auto_decline_cents\": 9}",
        "{\"status\": \"closed\", \"title\": \"ok\"}",
        "{{{{",
    ];
    let ids = ["0", "-1", "99999999999999999999", "abc", "%00"];
    let id = listing["id"].to_string();
    let mut tried = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            for concrete_id in ids.iter().copied().chain([id.as_str()]) {
                let concrete = path.replace("{id}", concrete_id);
                for query in [
                    "",
                    "?limit=-5&cursor=%FF&min_price=1e9&sort=%00&q=%25%5F%5C",
                ] {
                    for body in bodies {
                        for token in [None, Some(seller.token.as_str())] {
                            let res = app
                                .request(method.clone(), &format!("{concrete}{query}"), token)
                                .header("content-type", "application/json")
                                .header("if-match", "\"garbage")
                                .body(body)
                                .send()
                                .await
                                .unwrap();
                            tried += 1;
                            assert!(
                                res.status().as_u16() < 500,
                                "{method} {concrete}{query} with {body:?} -> {}",
                                res.status()
                            );
                        }
                    }
                }
                if !path.contains("{id}") {
                    break;
                }
            }
        }
    }
    assert!(tried > 1000, "only {tried} requests");
}

#[actix_web::test]
async fn metrics_can_be_served_on_a_separate_internal_address_only() {
    let app = spawn_app_with(|s| s.metrics_bind = Some("127.0.0.1:0".into())).await;
    let internal = app.metrics_address.clone().expect("the metrics address");
    json_of(app.get("/api/v1/listings", None).await, 200).await;
    // Not on the public address...
    problem(app.get("/metrics", None).await, 404).await;
    // ...but on the internal one, counting the public requests.
    let metrics = app
        .client
        .get(format!("{internal}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    let expected =
        r#"bazaar_http_requests_total{method="GET",route="/api/v1/listings",status="200"} 1"#;
    assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    // The internal address serves nothing else.
    let api = app
        .client
        .get(format!("{internal}/api/v1/listings"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 404);
}

#[actix_web::test]
async fn by_default_metrics_are_on_the_public_address() {
    let app = spawn_app().await;
    assert!(app.metrics_address.is_none());
    let metrics = app.get("/metrics", None).await;
    assert_eq!(metrics.status(), 200);
    assert!(metrics
        .text()
        .await
        .unwrap()
        .contains("bazaar_db_pool_connections_in_use"));
}
