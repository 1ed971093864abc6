//! The OpenAPI 3.1 document and the page that renders it. The paths come from the routers
//! themselves (`utoipa_axum::routes!`), so the document cannot drift from what is routed;
//! this module adds the title, tags and security scheme, and serves the result.

use std::sync::Arc;

use axum::{extract::State, routing::get, Json, Router};
use utoipa::{
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};
use utoipa_swagger_ui::SwaggerUi;

/// The relayer's OpenAPI document: everything but the paths, which the routers add.
#[derive(OpenApi)]
#[openapi(
    info(title = "Chitty Veil relayer", description = "ChittyIDs (drand + VRF), verification, reconciliation; token-ownership registry, prover and on-chain verification. Errors are `{error:{code,message,details}}`; codes are listed in docs/api.md."),
    modifiers(&Security),
    tags((name = "chittyid"), (name = "registry"), (name = "challenges"), (name = "gatekeeper"), (name = "auth"), (name = "admin"), (name = "ops"))
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A session token (`vs_…`) from `/api/v2/auth/session`"))
                    .build(),
            ),
        );
    }
}

/// `document` with the answers every operation can give whatever its handler does, added
/// where an operation does not document them itself: the auth layer's (`401`, `403`, `413`,
/// `429` on routes that take a key or a session), the extractors' (`400` on routes with a body
/// or parameters) and admission control's and the deadline's (`503 OVERLOADED`,
/// `REQUEST_TIMEOUT`; not on `/health` and `/metrics`, which are never shed). Found by the
/// conformance suite (issue 18): schemathesis saw these answers undocumented.
pub fn with_common_responses(mut document: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    for (path, item) in document.paths.paths.iter_mut() {
        let probe = matches!(path.as_str(), "/health" | "/metrics");
        let path_params = path.contains('{');
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
            let secured = operation
                .security
                .as_ref()
                .is_some_and(|requirements| !requirements.is_empty());
            let has_body = operation.request_body.is_some();
            let has_params = path_params
                || operation
                    .parameters
                    .as_ref()
                    .is_some_and(|parameters| !parameters.is_empty());
            let mut common = Vec::new();
            if has_body || has_params {
                common.push((
                    "400",
                    "INVALID_BODY, INVALID_FIELD: a malformed body, path or query parameter",
                ));
            }
            if secured {
                common.push((
                    "401",
                    "AUTH_*: no key or session, an invalid one, or a bad or replayed signature",
                ));
                common.push((
                    "403",
                    "AUTH_SCOPE_FORBIDDEN, AUTH_IP_NOT_ALLOWED, AUTH_SESSION_WALLET_MISMATCH",
                ));
                common.push(("429", "RATE_LIMITED (with Retry-After)"));
            } else {
                common.push((
                    "429",
                    "RATE_LIMITED: the limit per client address (with Retry-After)",
                ));
            }
            if has_body {
                common.push(("413", "PAYLOAD_TOO_LARGE"));
            }
            if !probe {
                common.push((
                    "503",
                    "OVERLOADED (with Retry-After), REQUEST_TIMEOUT, or a dependency's code",
                ));
            }
            for (status, description) in common {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error(description).into());
            }
        }
    }
    document
}

/// `GET /openapi.json` (the finished document) and `GET /docs` (Swagger UI, served from the
/// assets of the `utoipa-swagger-ui-vendored` crate: it works on an offline machine).
pub fn routes(document: utoipa::openapi::OpenApi) -> Router {
    let document = Arc::new(document);
    Router::new()
        .route("/openapi.json", get(serve_document))
        .with_state(document.clone())
        .merge(SwaggerUi::new("/docs").config(utoipa_swagger_ui::Config::from("/openapi.json")))
}

async fn serve_document(
    State(document): State<Arc<utoipa::openapi::OpenApi>>,
) -> Json<utoipa::openapi::OpenApi> {
    Json(document.as_ref().clone())
}
