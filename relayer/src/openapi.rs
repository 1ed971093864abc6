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
