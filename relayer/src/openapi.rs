//! The OpenAPI 3.1 document (utoipa) and an interactive page that renders it.

use axum::{response::Html, Json};
use utoipa::{
    openapi::security::{ApiKey, ApiKeyValue, SecurityScheme},
    Modify, OpenApi,
};

use crate::{
    challenges::handlers as challenges, chittyid::handlers as chittyid, ops,
    registry::handlers as registry,
};

/// The relayer's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Chitty Veil relayer", description = "ChittyIDs (drand + VRF), verification, reconciliation; token-ownership registry, prover and on-chain verification. Errors are `{error:{code,message,details}}`; codes are listed in docs/api.md."),
    paths(chittyid::mint, chittyid::verify, chittyid::reconcile, chittyid::cut_batch, chittyid::anchor_batches, registry::register, registry::publish, registry::prove, registry::verify_ownership, challenges::create, challenges::get, challenges::accept, challenges::attest, challenges::deposit, challenges::lock, challenges::confirm, challenges::resolve, challenges::settle, challenges::expire, challenges::forward, ops::health, ops::metrics),
    modifiers(&Security),
    tags((name = "chittyid"), (name = "registry"), (name = "challenges"), (name = "admin"), (name = "ops"))
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "api_key",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
            );
        }
    }
}

/// `GET /openapi.json`.
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// `GET /docs`: Scalar's API reference, loading the document from `/openapi.json`. The page
/// fetches Scalar's script from its CDN in the browser; the API itself needs no internet.
pub async fn page() -> Html<&'static str> {
    Html(
        r#"<!doctype html>
<html>
  <head>
    <title>Chitty Veil relayer API</title>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
  </head>
  <body>
    <script id="api-reference" data-url="/openapi.json"></script>
    <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script>
  </body>
</html>"#,
    )
}
