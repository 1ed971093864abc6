//! Extractors whose rejections are typed [`ApiError`]s, so a malformed body, query or path
//! answers with a `FALLBACK_…` code like every other error.

use axum::{
    extract::{FromRequest, FromRequestParts, Path, Query, Request},
    http::request::Parts,
    Json,
};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body; any rejection becomes `FALLBACK_INVALID_BODY` (or
/// `FALLBACK_PAYLOAD_TOO_LARGE`).
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::from_json_rejection(&rejection)),
        }
    }
}

/// A query string; any rejection becomes `FALLBACK_INVALID_QUERY`.
pub struct QueryParams<T>(pub T);

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::from_query_rejection(&rejection)),
        }
    }
}

/// A path parameter; any rejection becomes `FALLBACK_INVALID_ID`.
pub struct PathParam<T>(pub T);

impl<S, T> FromRequestParts<S> for PathParam<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::from_path_rejection(&rejection)),
        }
    }
}
