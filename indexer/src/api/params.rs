//! Query parameters shared by the time-series endpoints, validated into typed values.
//!
//! Parameters arrive as strings so that each bad value gets its own typed error naming the
//! parameter (`INVALID_BUCKET`, `INVALID_TIMESTAMP`, …) instead of a generic parse failure.

use serde_json::json;

use super::{ApiError, ErrorCode};

/// The largest accepted unix time: 9999-12-31T23:59:59Z.
pub const MAX_TIMESTAMP: i64 = 253_402_300_799;

/// At most this many buckets per answer.
pub const MAX_BUCKETS: i64 = 10_000;

/// The width of a time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// 3600 s.
    Hour,
    /// 86400 s.
    Day,
}

impl Bucket {
    /// Parses `hour` or `day`; absent or anything else is `INVALID_BUCKET` /
    /// `MISSING_PARAMETER`.
    pub fn parse(value: Option<&str>) -> Result<Self, ApiError> {
        match value {
            None => Err(missing("bucket")),
            Some("hour") => Ok(Self::Hour),
            Some("day") => Ok(Self::Day),
            Some(other) => Err(ApiError::new(
                ErrorCode::InvalidBucket,
                "bucket must be `hour` or `day`",
            )
            .with_details(
                json!({ "parameter": "bucket", "value": other, "allowed": ["hour", "day"] }),
            )),
        }
    }

    /// Its width in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Self::Hour => 3_600,
            Self::Day => 86_400,
        }
    }

    /// `hour` or `day`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }
}

/// A half-open range of unix seconds, `from <= t < to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive start.
    pub from: i64,
    /// Exclusive end.
    pub to: i64,
}

impl TimeRange {
    /// Parses `from` and `to` (both required) for buckets of `bucket_seconds`: each a unix
    /// time in `0..=MAX_TIMESTAMP`, `from < to`, and at most [`MAX_BUCKETS`] buckets.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        bucket_seconds: i64,
    ) -> Result<Self, ApiError> {
        let from = timestamp("from", from)?;
        let to = timestamp("to", to)?;
        // The rule: a range is non-empty and bounded.
        if from >= to {
            return Err(
                ApiError::new(ErrorCode::InvalidTimeRange, "`from` must be before `to`")
                    .with_details(json!({ "from": from, "to": to })),
            );
        }
        let buckets = (to - from + bucket_seconds - 1) / bucket_seconds;
        if buckets > MAX_BUCKETS {
            return Err(ApiError::new(
                ErrorCode::InvalidTimeRange,
                format!("the range spans {buckets} buckets; at most {MAX_BUCKETS} are allowed"),
            )
            .with_details(json!({ "from": from, "to": to, "max_buckets": MAX_BUCKETS })));
        }
        Ok(Self { from, to })
    }
}

fn missing(parameter: &str) -> ApiError {
    ApiError::parameter(
        ErrorCode::MissingParameter,
        parameter,
        format!("the query parameter `{parameter}` is required"),
    )
}

fn timestamp(parameter: &str, value: Option<&str>) -> Result<i64, ApiError> {
    let value = value.ok_or_else(|| missing(parameter))?;
    match value.parse::<i64>() {
        Ok(t) if (0..=MAX_TIMESTAMP).contains(&t) => Ok(t),
        _ => Err(ApiError::new(
            ErrorCode::InvalidTimestamp,
            format!("`{parameter}` must be a unix time in seconds, 0 to {MAX_TIMESTAMP}"),
        )
        .with_details(json!({ "parameter": parameter, "value": value }))),
    }
}
