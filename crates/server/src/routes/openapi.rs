//! The OpenAPI 3.1 document of the HTTP API, generated from the handlers' `#[utoipa::path]`
//! annotations: [`openapi`] builds it, `GET /openapi.json` serves it, `/docs` renders it with
//! the Swagger UI embedded in the binary (no CDN), and `tests/it/contract.rs` keeps the
//! committed `docs/openapi.json` and the route table in step with it.
//!
//! Adding a route: annotate its handler with `#[utoipa::path]` (every status it can answer,
//! errors through the reusable problem responses below, `security` unless public) and list
//! it in `paths(...)` of [`ApiDoc`]; the contract tests fail until route table and document
//! agree.

use std::sync::LazyLock;

use axum::http::HeaderValue;
use axum::http::header;
use axum::response::IntoResponse;
use axum::response::Response;
use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::ToResponse;
use utoipa::ToSchema;
use utoipa::openapi::ContentBuilder;
use utoipa::openapi::ObjectBuilder;
use utoipa::openapi::Ref;
use utoipa::openapi::RefOr;
use utoipa::openapi::Required;
use utoipa::openapi::ResponseBuilder;
use utoipa::openapi::Type;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::security::ApiKey;
use utoipa::openapi::security::ApiKeyValue;
use utoipa::openapi::security::HttpAuthScheme;
use utoipa::openapi::security::HttpBuilder;
use utoipa::openapi::security::SecurityScheme;
use utoipa_swagger_ui::SwaggerUi;

use super::analytics;
use super::api_keys;
use super::auth;
use super::dashboard;
use super::events;
use super::memory;
use super::ops;
use super::runs;
use super::users;
use super::workflows;
use crate::problem::PROBLEM_JSON;
use crate::problem::ProblemBody;

/// Where the document is served (the route table names it too).
const DOCUMENT_PATH: &str = "/openapi.json";
/// Where the Swagger UI is served (its assets under `/docs/`; `headers.rs` relaxes the CSP
/// there).
pub(crate) const DOCS_PATH: &str = "/docs";

/// The document: every documented operation is listed here, in one place.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "apiwright",
        description = "The HTTP API of `apiwright serve`. Errors are RFC 9457 \
            `application/problem+json` (schema `Problem`). Protected operations take a JWT \
            access token from `POST /api/v1/auth/login` or an API key; roles are \
            viewer < operator < admin.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    paths(
        ops::healthz,
        ops::readyz,
        ops::metrics,
        document,
        auth::login,
        auth::refresh,
        auth::logout,
        auth::me,
        api_keys::create,
        api_keys::list,
        api_keys::revoke,
        users::create,
        users::list,
        workflows::list,
        workflows::register,
        workflows::check,
        workflows::get,
        runs::execute,
        runs::start,
        runs::list,
        runs::get,
        runs::cancel,
        runs::resume,
        events::stream,
        runs::decide,
        runs::approvals,
        memory::list,
        memory::search,
        memory::get,
        memory::put,
        memory::delete,
        memory::history,
        analytics::dashboard,
        dashboard::index,
        dashboard::asset,
    ),
    components(
        schemas(ProblemBody),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            Unprocessable,
            TooManyRequests,
            InternalError,
            ServiceUnavailable,
        ),
    ),
    modifiers(&SecuritySchemes, &OptionalBodies),
    tags(
        (name = "auth", description = "Login, token refresh, logout, and who the caller is"),
        (name = "api-keys", description = "API keys for scripts and scrapers (admin only)"),
        (name = "users", description = "Users and their roles (admin only)"),
        (name = "workflows", description = "The workflows runs can use: list, get, register, validate"),
        (name = "runs", description = "Runs: start, list, get, follow live, cancel, resume, and decisions on approvals and escalations"),
        (name = "memory", description = "The namespaced memory runs share: read, write, delete, list, search, history"),
        (name = "analytics", description = "Figures over runs"),
        (name = "dashboard", description = "The web dashboard (public: the page logs in through this API)"),
        (name = "ops", description = "Liveness, readiness, metrics and this document"),
    ),
)]
struct ApiDoc;

/// The security schemes operations refer to: `bearer` and `api_key`.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT access token from `POST /api/v1/auth/login` or \
                         `POST /api/v1/auth/refresh` (HS256, valid 15 minutes), as \
                         `Authorization: Bearer TOKEN`. An API key (`aw_…`) is accepted here \
                         too.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "An API key (`aw_…`) from `POST /api/v1/api-keys`. It also works as \
                 `Authorization: Bearer aw_…`; when both headers are sent, `Authorization` \
                 wins.",
            ))),
        );
    }
}

/// Operations whose JSON object body may be left out (an empty body), but not sent as `null`:
/// `#[utoipa::path]` can only say "required" or "nullable and optional".
struct OptionalBodies;

/// The operations [`OptionalBodies`] applies to: (path, method).
const OPTIONAL_BODIES: [(&str, HttpMethod); 1] = [("/api/v1/runs/{id}/cancel", HttpMethod::Post)];

impl Modify for OptionalBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, method) in OPTIONAL_BODIES {
            let Some(item) = openapi.paths.paths.get_mut(path) else {
                continue;
            };
            let operation = match method {
                HttpMethod::Post => item.post.as_mut(),
                _ => None,
            };
            if let Some(RefOr::T(body)) =
                operation.and_then(|operation| operation.request_body.as_mut())
            {
                body.required = Some(Required::False);
            }
        }
    }
}

/// The document, built from the annotations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as pretty-printed JSON with a trailing newline (what `docs/openapi.json` holds).
pub fn openapi_json() -> String {
    match openapi().to_pretty_json() {
        Ok(json) => json + "\n",
        // Serializing a tree of strings and maps cannot fail; never panic in a request.
        Err(err) => {
            tracing::error!(error = %err, "serializing the OpenAPI document failed");
            String::from("{}\n")
        }
    }
}

/// The serialized document, built once.
static DOCUMENT: LazyLock<String> = LazyLock::new(openapi_json);

/// OpenAPI document
///
/// This document (OpenAPI 3.1). Public.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "ops",
    responses(
        (status = 200, description = "The OpenAPI document", body = Object, content_type = "application/json"),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
    ),
)]
pub(crate) async fn document() -> Response {
    let mut response = DOCUMENT.as_str().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The Swagger UI at [`DOCS_PATH`], reading [`DOCUMENT_PATH`]. Its assets are compiled in
/// (`utoipa-swagger-ui` with `vendored`); the validator badge, which would call an external
/// service, is off.
pub(crate) fn swagger_ui() -> SwaggerUi {
    SwaggerUi::new(DOCS_PATH).config(
        utoipa_swagger_ui::Config::from(DOCUMENT_PATH)
            .validator_url("none")
            .try_it_out_enabled(true),
    )
}

/// A problem+json response with `description` and the given headers (name, description).
fn problem_response(
    description: &str,
    headers: &[(&str, &str)],
) -> RefOr<utoipa::openapi::Response> {
    let mut response = ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(ProblemBody::name())))
            .build(),
    );
    for (name, header_description) in headers {
        response = response.header(
            *name,
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .description(Some(*header_description))
                .build(),
        );
    }
    response.build().into()
}

/// Declares reusable problem responses: each `Name => "description"` is a type implementing
/// `ToResponse` under the component name `Name`.
macro_rules! problem_responses {
    ($($name:ident => $description:literal $(, header($header:literal, $header_description:literal))?;)*) => {$(
        #[doc = $description]
        pub(crate) struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<utoipa::openapi::Response>) {
                (
                    stringify!($name),
                    problem_response($description, &[$(($header, $header_description))?]),
                )
            }
        }
    )*};
}

problem_responses! {
    BadRequest => "The body is not well-formed JSON, or the query string or path cannot be parsed";
    Unauthorized => "No credentials, or credentials that are invalid, expired or revoked",
        header("WWW-Authenticate", "`Bearer`, or `Bearer error=\"invalid_token\"` when credentials were presented");
    Forbidden => "The caller's role is below the one the operation needs";
    NotFound => "No such resource";
    Conflict => "The request conflicts with the resource's current state";
    PayloadTooLarge => "The body is larger than the server's limit";
    UnsupportedMediaType => "The body is not declared as `application/json`";
    Unprocessable => "The body is JSON but its values are missing, of the wrong type or not acceptable";
    TooManyRequests => "A rate limit (per client IP, or per user or API key) is exhausted",
        header("Retry-After", "Seconds to wait before retrying");
    InternalError => "The server failed; the details are logged under the request id";
    ServiceUnavailable => "A dependency (the state database) does not answer";
}
