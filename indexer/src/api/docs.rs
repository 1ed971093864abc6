//! The OpenAPI 3.1 document (utoipa), served at `/openapi.json`, and `/docs`, Swagger UI from
//! the `utoipa-swagger-ui-vendored` crate's assets (works offline).

use axum::Json;
use utoipa::OpenApi;

use super::{challenges, id_mints, nullifiers, ops, slashes, verifications};

/// The analytics API's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Chitty Veil indexer analytics", description = "Read-only analytics over the indexed program events. Errors are `{error:{code,message,details}}`; codes are listed in docs/indexer.md."),
    paths(
        verifications::handler,
        nullifiers::handler,
        challenges::handler,
        slashes::handler,
        id_mints::handler,
        ops::health,
        ops::metrics,
    ),
    tags((name = "analytics"), (name = "ops"))
)]
pub struct ApiDoc;

/// `GET /openapi.json`.
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// `GET /docs`: Swagger UI reading `/openapi.json`.
pub fn page<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    axum::Router::from(
        utoipa_swagger_ui::SwaggerUi::new("/docs")
            .config(utoipa_swagger_ui::Config::from("/openapi.json")),
    )
}
