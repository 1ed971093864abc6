//! One file per instruction: its args, accounts, `validate()` and handler.

pub mod admin_accept;
pub mod admin_propose;
pub mod config_initialize;
pub mod id_batch_anchor;
pub mod ownership_verify;
pub mod registrar_set;
pub mod registry_pause;
pub mod registry_unpause;
pub mod root_publish;
pub mod track_create;

pub use admin_accept::*;
pub use admin_propose::*;
pub use config_initialize::*;
pub use id_batch_anchor::*;
pub use ownership_verify::*;
pub use registrar_set::*;
pub use registry_pause::*;
pub use registry_unpause::*;
pub use root_publish::*;
pub use track_create::*;
