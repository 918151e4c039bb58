//! `/accounts` and `/posts`: publishing to Mastodon-compatible servers.
//!
//! Viewers read; admins change accounts and approve posts; operators write and cancel posts.
//! An account's access token is sealed before it is stored and never returned. A post is
//! scheduled at once unless its account requires an approval (`POST /posts/{id}/approve`);
//! a worker publishes it at `publish_at`, once, and the post then shows the server's status id
//! and URL. The api never speaks to a Mastodon server.

use chrono::{DateTime, Utc};
use jobs::{
    FieldError,
    auth::Role,
    publishing::{
        PostState,
        accounts::{self, AccountInput},
        posts::{self, NewPost},
    },
};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::{ApiTags, common::parse_cursor, wake};
use crate::{
    API_PREFIX, api_responses,
    app::AppState,
    auth::{Auth, Origin},
    models::JsonAs,
    problem::{ApiError, respond},
};

/// An account to create.
#[derive(Object)]
#[oai(rename = "NewAccount")]
pub struct NewAccountSchema {
    /// Its name, unique in the tenant (1 to 100 characters).
    pub name: String,
    /// The server's https address, `https://mastodon.example` (no path).
    pub base_url: String,
    /// An OAuth access token with the `write:statuses` and `write:media` scopes. Sealed; never
    /// returned.
    pub access_token: String,
    /// Posts wait for `POST /posts/{id}/approve` (default false).
    pub requires_approval: Option<bool>,
    /// Requests a minute across every worker (default 60: Mastodon's 300 per 5 minutes).
    pub rate_limit_per_min: Option<i32>,
}

/// A change of an account; every field is optional.
#[derive(Object)]
#[oai(rename = "AccountPatch")]
pub struct AccountPatchSchema {
    /// A new name.
    pub name: Option<String>,
    /// A new server address.
    pub base_url: Option<String>,
    /// A new access token.
    pub access_token: Option<String>,
    /// Whether posts wait for an approval.
    pub requires_approval: Option<bool>,
    /// A new pace.
    pub rate_limit_per_min: Option<i32>,
    /// Enable or disable (enabling clears the reason it was disabled).
    pub enabled: Option<bool>,
}

/// An account (never its token).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Account {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// The server.
    pub base_url: String,
    /// Whether posts wait for an approval.
    pub requires_approval: bool,
    /// Requests a minute, across every worker.
    pub rate_limit_per_min: i32,
    /// Whether posts go out.
    pub enabled: bool,
    /// Why it was disabled (a person, or the server refused the token).
    pub disabled_reason: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<accounts::Account> for Account {
    fn from(a: accounts::Account) -> Self {
        Self {
            id: a.id,
            name: a.name,
            base_url: a.base_url,
            requires_approval: a.requires_approval,
            rate_limit_per_min: a.rate_limit_per_min,
            enabled: a.enabled,
            disabled_reason: a.disabled_reason,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// The tenant's accounts.
#[derive(Debug, Clone, Object)]
pub struct AccountList {
    /// By name.
    pub items: Vec<Account>,
}

/// An image to attach, given inline.
#[derive(Object)]
#[oai(rename = "NewPostMedia")]
pub struct NewPostMediaSchema {
    /// `image/png`, `image/jpeg`, `image/gif` or `image/webp` (checked against the bytes).
    pub content_type: String,
    /// The image, standard base64, at most 1 MiB decoded.
    pub data: String,
    /// Its description (alt text), at most 1500 characters.
    pub description: Option<String>,
}

/// A post to create.
#[derive(Object)]
#[oai(rename = "NewPost")]
pub struct NewPostSchema {
    /// The account to post with.
    pub account_id: Uuid,
    /// The status text: with the content warning at most 500 characters.
    pub text: String,
    /// `public` (default), `unlisted`, `private` or `direct`.
    pub visibility: Option<String>,
    /// A content warning shown before the text.
    pub spoiler_text: Option<String>,
    /// ISO 639 code (`en`).
    pub language: Option<String>,
    /// When to publish (RFC 3339, at most a year ahead; none or past: at once).
    pub publish_at: Option<DateTime<Utc>>,
    /// Up to four images.
    pub media: Option<Vec<NewPostMediaSchema>>,
}

/// A post.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Post {
    /// Its id (also its `Idempotency-Key` towards the server).
    pub id: Uuid,
    /// The account.
    pub account_id: Uuid,
    /// The status text.
    pub text: String,
    /// Who sees it.
    pub visibility: String,
    /// The content warning.
    pub spoiler_text: Option<String>,
    /// The language.
    pub language: Option<String>,
    /// When it is to be published.
    pub publish_at: Option<DateTime<Utc>>,
    /// `draft`, `scheduled`, `published` or `failed`.
    pub state: String,
    /// When it was approved.
    pub approved_at: Option<DateTime<Utc>>,
    /// The key that approved it.
    pub approved_by: Option<String>,
    /// The server's status id, once published.
    pub remote_id: Option<String>,
    /// The status's URL, once published.
    pub remote_url: Option<String>,
    /// Why it failed (or why the last attempt did).
    pub error: Option<String>,
    /// Status requests so far.
    pub attempts: i32,
    /// How many images it has.
    pub media_count: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
}

impl From<posts::Post> for Post {
    fn from(p: posts::Post) -> Self {
        Self {
            id: p.id,
            account_id: p.account_id,
            text: p.text,
            visibility: p.visibility.as_str().to_owned(),
            spoiler_text: p.spoiler_text,
            language: p.language,
            publish_at: p.publish_at,
            state: p.state.as_str().to_owned(),
            approved_at: p.approved_at,
            approved_by: p.approved_by,
            remote_id: p.remote_id,
            remote_url: p.remote_url,
            error: p.error,
            attempts: p.attempts,
            media_count: p.media_count,
            created_at: p.created_at,
            published_at: p.published_at,
        }
    }
}

/// A page of posts.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PostList {
    /// Newest first.
    pub items: Vec<Post>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// A `publish_post` job: publish one post, or make a workflow step's post.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "PublishPostJob")]
pub struct PublishPostJob {
    /// What to publish.
    pub args: PublishPostArgs,
    /// Options every kind takes.
    #[oai(flatten)]
    pub options: crate::models::JobOptions,
}

/// Args of a `publish_post` job: `post_id` alone, or a workflow step's `account_id`,
/// `template` and `data` (one post per job; the post's own job publishes it).
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "PublishPostArgs")]
pub struct PublishPostArgs {
    /// A post of the caller's tenant.
    pub post_id: Option<Uuid>,
    /// A step's post: an account of the caller's tenant.
    pub account_id: Option<Uuid>,
    /// A step's post: the status's template (`{{ data.… }}`, `{% for %}`), cut to 500
    /// characters.
    pub template: Option<String>,
    /// A step's post: the data the template reads.
    pub data: Option<serde_json::Value>,
    /// A step's post: `public` (default), `unlisted`, `private` or `direct`.
    pub visibility: Option<String>,
}

/// The `/accounts` operations.
pub struct AccountsApi;

#[OpenApi(tag = "ApiTags::Publishing")]
impl AccountsApi {
    /// Create an account
    ///
    /// Checks the server's address (https, no private network unless allowed) and seals the
    /// token. Needs the admin role.
    #[oai(path = "/accounts", method = "post", operation_id = "createAccount")]
    async fn create(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// The account.
        body: Json<JsonAs<NewAccountSchema>>,
    ) -> CreateAccountResponse {
        respond(
            async {
                let principal = auth.require(Role::Admin)?;
                let new = AccountInput::parse_new(body.0.value, state.allow_private_networks)?;
                let mut tx = state.pool.begin().await?;
                let a =
                    accounts::create(&mut tx, principal.tenant_id, &origin.actor(&principal), new)
                        .await?;
                tx.commit().await?;
                let location = format!("{API_PREFIX}/accounts/{}", a.id);
                Ok::<_, ApiError>(CreateAccountResponse::Created(Json(a.into()), location))
            }
            .await,
        )
    }

    /// List accounts
    #[oai(path = "/accounts", method = "get", operation_id = "listAccounts")]
    async fn list(&self, auth: Auth, state: Data<&AppState>) -> ListAccountsResponse {
        respond(
            async {
                let principal = auth.require(Role::Viewer)?;
                let mut conn = state.pool.acquire().await?;
                let items = accounts::list(&mut conn, principal.tenant_id).await?;
                Ok::<_, ApiError>(ListAccountsResponse::Ok(Json(AccountList {
                    items: items.into_iter().map(Account::from).collect(),
                })))
            }
            .await,
        )
    }

    /// Get an account
    #[oai(path = "/accounts/:id", method = "get", operation_id = "getAccount")]
    async fn get(&self, auth: Auth, state: Data<&AppState>, id: Path<Uuid>) -> GetAccountResponse {
        respond(
            async {
                let principal = auth.require(Role::Viewer)?;
                let mut conn = state.pool.acquire().await?;
                let a = accounts::get(&mut conn, principal.tenant_id, id.0).await?;
                Ok::<_, ApiError>(GetAccountResponse::Ok(Json(a.into())))
            }
            .await,
        )
    }

    /// Change an account
    ///
    /// Needs the admin role.
    #[oai(
        path = "/accounts/:id",
        method = "patch",
        operation_id = "updateAccount"
    )]
    async fn update(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
        /// The change.
        body: Json<JsonAs<AccountPatchSchema>>,
    ) -> UpdateAccountResponse {
        respond(
            async {
                let principal = auth.require(Role::Admin)?;
                let patch = AccountInput::parse_patch(body.0.value, state.allow_private_networks)?;
                let mut tx = state.pool.begin().await?;
                let actor = origin.actor(&principal);
                let a = accounts::update(&mut tx, principal.tenant_id, &actor, id.0, patch).await?;
                tx.commit().await?;
                Ok::<_, ApiError>(UpdateAccountResponse::Ok(Json(a.into())))
            }
            .await,
        )
    }

    /// Delete an account
    ///
    /// Its posts go with it (published statuses stay on the server). Refused while a post is
    /// being published. Needs the admin role.
    #[oai(
        path = "/accounts/:id",
        method = "delete",
        operation_id = "deleteAccount"
    )]
    async fn delete(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> DeleteAccountResponse {
        respond(
            async {
                let principal = auth.require(Role::Admin)?;
                let mut tx = state.pool.begin().await?;
                let actor = origin.actor(&principal);
                accounts::delete(&mut tx, principal.tenant_id, &actor, id.0).await?;
                tx.commit().await?;
                Ok::<_, ApiError>(DeleteAccountResponse::Deleted)
            }
            .await,
        )
    }
}

/// The `/posts` operations.
pub struct PostsApi;

#[OpenApi(tag = "ApiTags::Publishing")]
impl PostsApi {
    /// Create a post
    ///
    /// Checks the text, visibility, language and images, and schedules the post at
    /// `publish_at` (or at once) — or keeps it a `draft` when its account requires an approval.
    /// Needs the operator role.
    #[oai(path = "/posts", method = "post", operation_id = "createPost")]
    async fn create(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// The post.
        body: Json<JsonAs<NewPostSchema>>,
    ) -> CreatePostResponse {
        respond(
            async {
                let principal = auth.require(Role::Operator)?;
                let new = NewPost::parse(body.0.value, Utc::now())?;
                let mut tx = state.pool.begin().await?;
                let actor = origin.actor(&principal);
                let p = posts::create(&mut tx, principal.tenant_id, &actor, new, None).await?;
                tx.commit().await?;
                wake(&state, &["publish_post".to_owned()]);
                let location = format!("{API_PREFIX}/posts/{}", p.id);
                Ok::<_, ApiError>(CreatePostResponse::Created(Json(p.into()), location))
            }
            .await,
        )
    }

    /// List posts
    ///
    /// Newest first, optionally of one account or in one state.
    #[oai(path = "/posts", method = "get", operation_id = "listPosts")]
    async fn list(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        /// Only of this account.
        account_id: Query<Option<Uuid>>,
        /// Only in this state (`draft`, `scheduled`, `published`, `failed`).
        #[oai(name = "state")]
        post_state: Query<Option<String>>,
        /// The previous page's `next_cursor`.
        cursor: Query<Option<String>>,
        /// Page size, 1 to 200 (default 50).
        limit: Query<Option<i64>>,
    ) -> ListPostsResponse {
        respond(
            async {
                let principal = auth.require(Role::Viewer)?;
                let wanted = post_state
                    .0
                    .filter(|s| !s.is_empty())
                    .map(|s| PostState::parse_field("state", &s))
                    .transpose()?;
                let before = parse_cursor(cursor.0)?;
                let limit = limit.0.unwrap_or(50);
                if !(1..=200).contains(&limit) {
                    return Err(FieldError::new("limit", "expected 1 to 200").into());
                }
                let mut conn = state.pool.acquire().await?;
                let items = posts::list(
                    &mut conn,
                    principal.tenant_id,
                    account_id.0,
                    wanted,
                    before,
                    limit,
                )
                .await?;
                let next_cursor = (items.len() as i64 == limit)
                    .then(|| items.last().map(|p| p.id.to_string()))
                    .flatten();
                Ok::<_, ApiError>(ListPostsResponse::Ok(Json(PostList {
                    items: items.into_iter().map(Post::from).collect(),
                    next_cursor,
                })))
            }
            .await,
        )
    }

    /// Get a post
    ///
    /// Once published it has the server's `remote_id` and `remote_url`.
    #[oai(path = "/posts/:id", method = "get", operation_id = "getPost")]
    async fn get(&self, auth: Auth, state: Data<&AppState>, id: Path<Uuid>) -> GetPostResponse {
        respond(
            async {
                let principal = auth.require(Role::Viewer)?;
                let mut conn = state.pool.acquire().await?;
                let p = posts::get(&mut conn, principal.tenant_id, id.0).await?;
                Ok::<_, ApiError>(GetPostResponse::Ok(Json(p.into())))
            }
            .await,
        )
    }

    /// Approve a post
    ///
    /// A draft becomes scheduled: a worker publishes it at `publish_at`. Needs the admin role.
    #[oai(
        path = "/posts/:id/approve",
        method = "post",
        operation_id = "approvePost"
    )]
    async fn approve(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> ApprovePostResponse {
        respond(
            async {
                let principal = auth.require(Role::Admin)?;
                let mut tx = state.pool.begin().await?;
                let actor = origin.actor(&principal);
                let p = posts::approve(&mut tx, principal.tenant_id, &actor, id.0).await?;
                tx.commit().await?;
                wake(&state, &["publish_post".to_owned()]);
                Ok::<_, ApiError>(ApprovePostResponse::Ok(Json(p.into())))
            }
            .await,
        )
    }

    /// Cancel (delete) a post
    ///
    /// Only a post that is not published and not being published. Needs the operator role.
    #[oai(path = "/posts/:id", method = "delete", operation_id = "deletePost")]
    async fn delete(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> DeletePostResponse {
        respond(
            async {
                let principal = auth.require(Role::Operator)?;
                let mut tx = state.pool.begin().await?;
                let actor = origin.actor(&principal);
                posts::delete(&mut tx, principal.tenant_id, &actor, id.0).await?;
                tx.commit().await?;
                Ok::<_, ApiError>(DeletePostResponse::Deleted)
            }
            .await,
        )
    }
}

api_responses! {
    /// Outcomes of `createAccount`.
    pub enum CreateAccountResponse {
        /// The account was created.
        #[oai(status = 201)]
        Created(
            Json<Account>,
            /// Where the account can be read.
            #[oai(header = "Location")]
            String,
        ),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        409 => Conflict: "An account with this name exists already.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `listAccounts`.
    pub enum ListAccountsResponse {
        /// The accounts.
        #[oai(status = 200)]
        Ok(Json<AccountList>),
    }
    problems {
        401 => Unauthorized,
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getAccount`.
    pub enum GetAccountResponse {
        /// The account.
        #[oai(status = 200)]
        Ok(Json<Account>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        404 => NotFound: "No such account in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `updateAccount`.
    pub enum UpdateAccountResponse {
        /// The account as it is now.
        #[oai(status = 200)]
        Ok(Json<Account>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or the id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        404 => NotFound: "No such account in this tenant.",
        409 => Conflict: "Another account has that name.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `deleteAccount`.
    pub enum DeleteAccountResponse {
        /// The account is gone.
        #[oai(status = 204)]
        Deleted,
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        404 => NotFound: "No such account in this tenant.",
        409 => Conflict: "A post of the account is being published.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `createPost`.
    #[allow(clippy::large_enum_variant)] // short-lived; boxing would change nothing on the wire
    pub enum CreatePostResponse {
        /// The post was created (scheduled, or a draft awaiting approval).
        #[oai(status = 201)]
        Created(
            Json<Post>,
            /// Where the post can be read.
            #[oai(header = "Location")]
            String,
        ),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is a viewer's.",
        404 => NotFound: "No such account in this tenant.",
        409 => Conflict: "The account is disabled.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `listPosts`.
    pub enum ListPostsResponse {
        /// A page of posts.
        #[oai(status = 200)]
        Ok(Json<PostList>),
    }
    problems {
        400 => BadRequest: "A parameter does not parse.",
        401 => Unauthorized,
        422 => Invalid: "A parameter is invalid.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getPost`.
    #[allow(clippy::large_enum_variant)] // short-lived; boxing would change nothing on the wire
    pub enum GetPostResponse {
        /// The post.
        #[oai(status = 200)]
        Ok(Json<Post>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        404 => NotFound: "No such post in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `approvePost`.
    #[allow(clippy::large_enum_variant)] // short-lived; boxing would change nothing on the wire
    pub enum ApprovePostResponse {
        /// The post, scheduled.
        #[oai(status = 200)]
        Ok(Json<Post>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        404 => NotFound: "No such post in this tenant.",
        409 => Conflict: "The post is not a draft.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `deletePost`.
    pub enum DeletePostResponse {
        /// The post is gone.
        #[oai(status = 204)]
        Deleted,
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is a viewer's.",
        404 => NotFound: "No such post in this tenant.",
        409 => Conflict: "The post is published or being published.",
        429 => TooManyRequests,
    }
}
