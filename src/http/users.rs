//! Accounts: register, log in, log out, who am I.

use super::avatars::AvatarBody;
use super::docs::{AuthErrors, JsonBodyErrors, RateLimited, Unavailable};
use super::{db, utc, Caller, JsonBody};
use crate::app::AppState;
use crate::auth;
use crate::error::{ApiError, Problem};
use crate::limits::{ClientAddr, Limit};
use actix_web::{delete, get, post, web, HttpResponse};
use bazaar_actors::accounts::{self, AccountError, NewAccount};
use bazaar_actors::domain::account::validate_registration;
use bazaar_actors::domain::photo::PhotoUrls;
use bazaar_actors::domain::validation::no_nul;
use bazaar_actors::domain::UserId;
use bazaar_actors::store::models::User;
use bazaar_actors::store::{self, users};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// 3–32 characters of a-z, 0-9 and _.
    #[schema(min_length = 3, max_length = 32, pattern = "^[a-z0-9_]*$")]
    pub username: String,
    /// 8–128 characters, no NUL.
    #[schema(min_length = 8, max_length = 128, pattern = "^[^\\x00]*$")]
    pub password: String,
    /// At most 64 characters, not blank, no control characters; stored trimmed. Defaults to
    /// the username.
    #[schema(
        max_length = 64,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// Any name without NUL: an unknown one is 401, as a wrong password.
    #[schema(pattern = "^[^\\x00]*$")]
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserBody {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    /// Shown on the public profile (`PATCH /api/v1/me`).
    pub bio: String,
    pub created_at: DateTime<Utc>,
    /// user, moderator or admin (granted by the operator: `bazaar admin grant`).
    #[schema(value_type = UserRole)]
    pub role: &'static str,
    /// Set with `PUT /api/v1/me/avatar`; null when none is set.
    pub avatar: Option<AvatarBody>,
}

/// What a user may do beyond using the marketplace.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum UserRole {
    User,
    Moderator,
    Admin,
}

impl UserBody {
    /// `u` as shown to themselves, their avatar served from `urls`.
    pub fn of(u: &User, urls: &PhotoUrls) -> Self {
        UserBody {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            bio: u.bio.clone(),
            created_at: utc(u.created_at),
            role: u.role.as_str(),
            avatar: AvatarBody::of_user(u, urls),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionBody {
    /// Send as `Authorization: Bearer <token>`. Shown once; the server keeps only its hash.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: UserBody,
}

/// Register a user.
#[utoipa::path(
    tag = "accounts",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "Registered", body = UserBody),
        JsonBodyErrors,
        (status = 409, description = "Username taken", body = Problem),
        RateLimited,
        (status = 503, description = "The database is unavailable, or too many passwords are being hashed", body = Problem),
    )
)]
#[post("/api/v1/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    address: ClientAddr,
    body: JsonBody<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    state
        .limits
        .check(Limit::RegistrationsPerAddress, address)?;
    let RegisterBody {
        username,
        password,
        display_name,
    } = body.0;
    let registration =
        validate_registration(username, password, display_name).map_err(ApiError::Validation)?;
    let password = registration.password.clone();
    let password_hash = state.hasher.hash(password).await?;
    let account = NewAccount {
        username: registration.username,
        display_name: registration.display_name,
        password_hash,
    };
    let user = accounts::register(&state.pool, account).await?;
    Ok(HttpResponse::Created().json(UserBody::of(&user, &state.rules.photo_urls)))
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::UsernameTaken(_) => ApiError::Conflict(e.to_string()),
            AccountError::UnknownUser(_) => ApiError::NotFound(e.to_string()),
            AccountError::Store(e) => e.into(),
        }
    }
}

/// Log in: exchange a username and password for a bearer token.
#[utoipa::path(
    tag = "accounts",
    request_body = LoginBody,
    responses(
        (status = 201, description = "Logged in", body = SessionBody),
        JsonBodyErrors,
        (status = 401, description = "Unknown user or wrong password", body = Problem),
        (status = 403, description = "The account is suspended; `detail` gives the end and the reason", body = Problem),
        RateLimited,
        (status = 503, description = "The database is unavailable, or too many passwords are being hashed", body = Problem),
    )
)]
#[post("/api/v1/sessions")]
pub async fn create_session(
    state: web::Data<AppState>,
    address: ClientAddr,
    body: JsonBody<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let LoginBody { username, password } = body.0;
    // Any other name is looked up and not found (401, as for a wrong password); a NUL could not
    // even be looked up on PostgreSQL.
    no_nul(&username).map_err(|m| ApiError::invalid("username", m))?;
    // Known or not, a username is limited and locked the same way: no enumeration.
    state.limits.check(Limit::LoginsPerAddress, address)?;
    state
        .limits
        .check(Limit::LoginsPerUsername, username.as_str())?;
    state.limits.check_lockout(&username)?;
    let name = username.clone();
    let user = db(&state, move |conn| {
        Ok(users::find_by_username(conn, &username)?)
    })
    .await?;
    // An unknown user costs the same hash as a wrong password, so timing tells nothing.
    let phc = user.as_ref().map_or_else(
        || state.dummy_password_hash.clone(),
        |u| u.password_hash.clone(),
    );
    let verified = state.hasher.verify(password, phc).await?;
    let user = match user {
        Some(user) if verified => user,
        _ => {
            state.limits.login_failed(&name);
            return Err(ApiError::Unauthorized("invalid username or password"));
        }
    };
    state.limits.login_succeeded(&name);
    if user.suspended(store::now()) {
        return Err(ApiError::Forbidden(suspended_detail(&user)));
    }
    let token = auth::new_token();
    let login = accounts::log_in(&state.pool, UserId(user.id), auth::token_hash(&token)).await?;
    tracing::info!(user.id = user.id, session.id = login.id, "logged in");
    Ok(HttpResponse::Created().json(SessionBody {
        token,
        expires_at: utc(login.expires_at),
        user: UserBody::of(&user, &state.rules.photo_urls),
    }))
}

/// Why a suspended user may not log in: "this account is suspended until 2026-12-09T12:00:00Z
/// (or until lifted): reason".
fn suspended_detail(user: &User) -> String {
    let until = user.suspended_until.map_or_else(
        || "until lifted".to_owned(),
        |t| {
            format!(
                "until {}",
                utc(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        },
    );
    let reason = user.suspension_reason.as_deref().unwrap_or("");
    format!("this account is suspended {until}: {reason}")
}

/// Log out: revoke the token this request was made with.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Token revoked"),
        AuthErrors,
        Unavailable,
    )
)]
#[delete("/api/v1/sessions/current")]
pub async fn delete_current_session(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    accounts::log_out(
        &state.pool,
        &state.logins,
        &state.users,
        caller.id(),
        caller.login,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's own account.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = UserBody),
        AuthErrors,
        Unavailable,
    )
)]
#[get("/api/v1/me")]
pub async fn get_me(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(UserBody::of(&caller.user, &state.rules.photo_urls)))
}
