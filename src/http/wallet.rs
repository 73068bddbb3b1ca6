//! The wallet: balances and entries, sandbox deposits, withdrawals, and the payment
//! provider's signed webhook. Money moves only as balanced ledger postings.

use super::docs::{AuthErrors, JsonBodyErrors, QueryErrors, Unavailable};
use super::idempotency::{self, Reply};
use super::{
    before_cursor, check_amount, db, paginate, utc, AmountBody, Caller, JsonBody, Params,
    QueryParams,
};
use crate::app::AppState;
use crate::error::{ApiError, Problem};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use bazaar_actors::domain::ledger::Account;
use bazaar_actors::domain::UserId;
use bazaar_actors::store::ledger::{self, LedgerError};
use bazaar_actors::wallet::{self as wallets, Credit, Movement, MovementKind, WalletError};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

/// The header carrying the provider's signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>` of
/// `"<t>.<raw body>"` with the shared secret.
pub const SIGNATURE_HEADER: &str = "Bazaar-Signature";

#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    pub id: i64,
    pub transaction_id: i64,
    /// deposit, withdrawal, purchase, release, refund or split (a dispute resolved as a split).
    pub kind: String,
    /// wallet or escrow.
    pub account: String,
    pub amount_cents: i64,
    pub order_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WalletView {
    pub available_cents: i64,
    pub in_escrow_cents: i64,
    /// Most recent first.
    pub entries: Vec<EntryView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MovementView {
    pub transaction_id: i64,
    pub amount_cents: i64,
    pub available_cents: i64,
    pub in_escrow_cents: i64,
}

/// The caller's balances and ledger entries.
#[utoipa::path(
    tag = "wallet",
    security(("bearer" = [])),
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Entries per page, default 20"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "Balances and entries", body = WalletView),
        QueryErrors,
        AuthErrors,
        Unavailable,
    )
)]
#[get("/api/v1/wallet")]
pub async fn get_wallet(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<QueryParams>,
) -> Result<HttpResponse, ApiError> {
    let mut p = Params::new(query.into_inner());
    let limit = p.limit();
    let before = p.before("cursor");
    p.finish()?;
    let user = caller.id();
    let (wallet, rows) = db(&state, move |conn| {
        Ok((
            ledger::wallet(conn, user)?,
            ledger::entries_of(conn, user, before, limit + 1)?,
        ))
    })
    .await?;
    let (rows, next_cursor) = paginate(rows, limit, |(last, _)| before_cursor(last.id));
    let wallet_key = Account::Wallet(user).key();
    Ok(HttpResponse::Ok().json(WalletView {
        available_cents: wallet.available_cents,
        in_escrow_cents: wallet.escrow_cents,
        entries: rows
            .iter()
            .map(|(entry, tx)| EntryView {
                id: entry.id,
                transaction_id: tx.id,
                kind: tx.kind.clone(),
                account: if entry.account == wallet_key {
                    "wallet"
                } else {
                    "escrow"
                }
                .to_owned(),
                amount_cents: entry.amount_cents,
                order_id: tx.order_id,
                created_at: utc(entry.created_at),
            })
            .collect(),
        next_cursor,
    }))
}

impl From<&Movement> for MovementView {
    fn from(m: &Movement) -> Self {
        MovementView {
            transaction_id: m.transaction_id,
            amount_cents: m.amount.cents(),
            available_cents: m.wallet.available_cents,
            in_escrow_cents: m.wallet.escrow_cents,
        }
    }
}

/// What a refused movement means to the client.
impl From<WalletError> for ApiError {
    fn from(e: WalletError) -> Self {
        match e {
            // Only a provider's event names a user other than the caller.
            WalletError::NoSuchUser => ApiError::invalid("data.user_id", "no such user"),
            WalletError::Ledger(LedgerError::InsufficientFunds(_)) => {
                ApiError::PaymentRequired("insufficient funds in the wallet".into())
            }
            WalletError::Ledger(LedgerError::Db(e)) => e.into(),
            WalletError::Ledger(e @ LedgerError::Unbalanced) => ApiError::internal(e),
            WalletError::Store(e) => e.into(),
            WalletError::ClaimLost(e) => e.into(),
        }
    }
}

/// A deposit or a withdrawal of the caller's: validated, idempotent, posted.
async fn move_money(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    body: &AmountBody,
    kind: MovementKind,
) -> Result<HttpResponse, ApiError> {
    let amount = check_amount(body.amount_cents)?;
    let (pool, user) = (&state.pool, caller.id());
    idempotency::once(state, req, caller, body, Ok(()), posted, |key| async move {
        Ok(wallets::move_money(pool, user, kind, amount, key).await?)
    })
    .await
}

/// A movement's answer: 201 and the balances after it.
fn posted(moved: &Movement) -> Result<Reply, ApiError> {
    Reply::json(StatusCode::CREATED, &MovementView::from(moved))
}

/// Add sandbox money to the wallet (only while sandbox payments are on).
#[utoipa::path(
    tag = "wallet",
    security(("bearer" = [])),
    request_body = AmountBody,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$", description = "Visible ASCII; a repeat with the same key and request replays the first response; with another request it is 422")),
    responses(
        (status = 201, description = "Deposited", body = MovementView, headers(
            ("Idempotent-Replayed" = String, description = "`true` when this is the stored response of an earlier request with the same Idempotency-Key"),
        )),
        JsonBodyErrors,
        AuthErrors,
        (status = 403, description = "Sandbox payments are off", body = Problem),
        (status = 409, description = "A request with this Idempotency-Key is still running", body = Problem),
        (status = 422, description = "Invalid amount, or the Idempotency-Key is malformed or was used with another request", body = Problem),
        Unavailable,
    )
)]
#[post("/api/v1/wallet/deposits")]
pub async fn create_deposit(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: JsonBody<AmountBody>,
) -> Result<HttpResponse, ApiError> {
    if !state.settings.sandbox_payments {
        return Err(ApiError::Forbidden(
            "sandbox deposits are off on this server; pay through the payment provider".into(),
        ));
    }
    move_money(&state, &req, &caller, &body.0, MovementKind::Deposit).await
}

/// Move money out of the wallet to the seller's bank.
#[utoipa::path(
    tag = "wallet",
    security(("bearer" = [])),
    request_body = AmountBody,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$", description = "Visible ASCII; a repeat with the same key and request replays the first response; with another request it is 422")),
    responses(
        (status = 201, description = "Withdrawn", body = MovementView, headers(
            ("Idempotent-Replayed" = String, description = "`true` when this is the stored response of an earlier request with the same Idempotency-Key"),
        )),
        JsonBodyErrors,
        AuthErrors,
        (status = 402, description = "Insufficient funds", body = Problem),
        (status = 409, description = "A request with this Idempotency-Key is still running", body = Problem),
        (status = 422, description = "Invalid amount, or the Idempotency-Key is malformed or was used with another request", body = Problem),
        Unavailable,
    )
)]
#[post("/api/v1/wallet/withdrawals")]
pub async fn create_withdrawal(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: JsonBody<AmountBody>,
) -> Result<HttpResponse, ApiError> {
    move_money(&state, &req, &caller, &body.0, MovementKind::Withdrawal).await
}

/// A provider event. `payment.succeeded` credits `data.user_id` with `data.amount_cents`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProviderEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub data: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct PaymentData {
    user_id: i64,
    amount_cents: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAck {
    /// processed, duplicate or ignored.
    pub status: &'static str,
}

/// Checks `t=…,v1=…` against the raw body. Constant-time comparison.
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), String> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", sig)) => signatures.push(sig),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or("the signature has no timestamp")?;
    if (now_unix - timestamp).abs() > tolerance_secs {
        return Err("the signature's timestamp is outside the tolerance".into());
    }
    for signature in signatures {
        let Some(expected) = decode_hex(signature) else {
            continue;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|_| "the webhook secret is unusable".to_owned())?;
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        if mac.verify_slice(&expected).is_ok() {
            return Ok(());
        }
    }
    Err("no signature matches".into())
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The payment provider's webhook: HMAC-SHA256 signed, idempotent by the provider's event id.
#[utoipa::path(
    tag = "wallet",
    request_body = ProviderEvent,
    params(("Bazaar-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"t.body\">")),
    responses(
        (status = 200, description = "Processed (or already processed, or ignored)", body = WebhookAck),
        (status = 400, description = "No or a bad signature, or malformed JSON", body = Problem),
        (status = 404, description = "Webhooks are not configured", body = Problem),
        (status = 413, description = "The body is larger than 64 KiB", body = Problem),
        (status = 422, description = "The event names no known user or a bad amount", body = Problem),
        Unavailable,
    )
)]
#[post("/api/v1/payments/webhook")]
pub async fn payments_webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let Some(secret) = state.settings.payments_webhook_secret.as_deref() else {
        return Err(ApiError::NotFound(
            "payment webhooks are not configured".into(),
        ));
    };
    let header = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::BadRequest(format!("the {SIGNATURE_HEADER} header is missing")))?;
    verify_signature(
        secret,
        header,
        &body,
        Utc::now().timestamp(),
        state.settings.webhook_tolerance_secs,
    )
    .map_err(|why| ApiError::BadRequest(format!("bad signature: {why}")))?;
    let event: ProviderEvent = super::parse_json(&body)?;
    if event.kind != "payment.succeeded" {
        return Ok(HttpResponse::Ok().json(WebhookAck { status: "ignored" }));
    }
    let data: PaymentData =
        serde_json::from_value(event.data).map_err(|e| ApiError::invalid("data", e.to_string()))?;
    let amount = check_amount(data.amount_cents)?;
    let user = UserId(data.user_id);
    let status = match wallets::credit_payment(&state.pool, user, amount, &event.id).await? {
        Credit::Processed => "processed",
        Credit::Duplicate => "duplicate",
    };
    tracing::info!(event.id = %event.id, status, "payment webhook");
    Ok(HttpResponse::Ok().json(WebhookAck { status }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        let sig: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("t={t},v1={sig}")
    }

    #[test]
    fn signatures_are_checked_against_the_raw_body_and_the_clock() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign("s3cret", 1_000, body);
        assert_eq!(
            verify_signature("s3cret", &header, body, 1_100, 300),
            Ok(())
        );
        assert!(verify_signature("other", &header, body, 1_100, 300).is_err());
        assert!(verify_signature("s3cret", &header, b"{\"id\":\"evt_2\"}", 1_100, 300).is_err());
        assert!(verify_signature("s3cret", &header, body, 2_000, 300).is_err());
        assert!(verify_signature("s3cret", "v1=00", body, 1_000, 300).is_err());
    }
}
