//! The optional bearer token. When configured, every route but `GET /api/v2/fallback/status`
//! requires `Authorization: Bearer <token>` (enforced by [`crate::api::guard`]).

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// A non-empty shared secret. `Debug` is redacted; it is zeroed on drop.
pub struct BearerToken(Zeroizing<String>);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

impl BearerToken {
    /// A token; `None` if empty or if it holds whitespace or control characters (it could not
    /// travel in a header unchanged).
    pub fn new(token: impl Into<String>) -> Option<Self> {
        let token = Zeroizing::new(token.into());
        let usable = !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic());
        usable.then_some(Self(token))
    }

    /// Whether an `Authorization` header value is `Bearer <this token>`, compared in constant
    /// time over the token bytes.
    pub fn admits(&self, authorization: Option<&[u8]>) -> bool {
        let Some(value) = authorization else {
            return false;
        };
        let Some(presented) = strip_bearer(value) else {
            return false;
        };
        bool::from(presented.ct_eq(self.0.as_bytes()))
    }
}

/// The credentials after a case-insensitive `Bearer ` scheme.
fn strip_bearer(value: &[u8]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"bearer ";
    if value.len() < SCHEME.len() || !value[..SCHEME.len()].eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    Some(value[SCHEME.len()..].trim_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_only_the_exact_token_under_the_bearer_scheme() {
        let token = BearerToken::new("s3cret").expect("usable");
        assert!(token.admits(Some(b"Bearer s3cret")));
        assert!(token.admits(Some(b"bearer s3cret")));
        assert!(!token.admits(None));
        assert!(!token.admits(Some(b"s3cret")));
        assert!(!token.admits(Some(b"Bearer s3cre")));
        assert!(!token.admits(Some(b"Bearer s3cret2")));
        assert!(!token.admits(Some(b"Basic s3cret")));
        assert!(!token.admits(Some(b"Bearer ")));
    }

    #[test]
    fn empty_or_spaced_tokens_are_refused_and_debug_is_redacted() {
        assert!(BearerToken::new("").is_none());
        assert!(BearerToken::new("a b").is_none());
        let token = BearerToken::new("s3cret").expect("usable");
        assert!(!format!("{token:?}").contains("s3cret"));
    }
}
