//! Declares an HTTP service's error codes once: the enum, its wire strings, its statuses and
//! the list of all codes (for the documentation tables and the uniqueness tests).
//!
//! The relayer, the fallback minter and the indexer's analytics API each have their own codes
//! and error type; this crate is only the declaration they share. It depends on nothing but
//! `http`, so the fallback minter still shares no runtime dependency with the relayer.
//!
//! ```
//! veil_api_codes::error_codes! {
//!     /// Every code this service answers with.
//!     enum ErrorCode {
//!         /// No such route.
//!         RouteNotFound = ("ROUTE_NOT_FOUND", NOT_FOUND),
//!     }
//! }
//! assert_eq!(ErrorCode::RouteNotFound.as_str(), "ROUTE_NOT_FOUND");
//! assert_eq!(ErrorCode::RouteNotFound.status().as_u16(), 404);
//! assert_eq!(ErrorCode::ALL, &[ErrorCode::RouteNotFound]);
//! ```

pub use http::StatusCode;

/// Declares `enum $name` with `ALL`, `as_str()` and `status()`.
#[macro_export]
macro_rules! error_codes {
    (
        $(#[$enum_doc:meta])*
        enum $name:ident {
            $( $(#[$doc:meta])* $variant:ident = ($code:literal, $status:ident) ),+ $(,)?
        }
    ) => {
        $(#[$enum_doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$doc])* $variant, )+
        }

        impl $name {
            /// Every code, for documentation and the uniqueness test.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire code.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $code, )+ }
            }

            /// The HTTP status it is answered with.
            pub fn status(self) -> $crate::StatusCode {
                match self { $( $name::$variant => $crate::StatusCode::$status, )+ }
            }
        }
    };
}
