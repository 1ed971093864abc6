//! The REST client libraries against live relayers on real sockets: the Rust crate
//! (`veil-rest-client`) here, the TypeScript package through node.

mod rust;
mod typescript;
