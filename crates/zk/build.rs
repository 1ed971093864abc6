//! Picks the verifying key the crate compiles in.
//!
//! With the `dev-keys` feature, `src/vk.rs` (the public development seed's key) is used and
//! this script does nothing. Without it, the production ceremony's key module is read from the
//! file `VEIL_CEREMONY_VK` names (the module `keygen`/`convert::vk_module` writes, see
//! docs/ceremony.md) and copied into `OUT_DIR`. With no such file, or with the development
//! key itself, the generated module is a `compile_error!` that names the ceremony document, so
//! a build for deployment can never silently carry the development key.

use std::{env, fs, path::PathBuf};

const CEREMONY_VAR: &str = "VEIL_CEREMONY_VK";

fn main() {
    println!("cargo:rerun-if-env-changed={CEREMONY_VAR}");
    println!("cargo:rerun-if-changed=src/vk.rs");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target = out.join("ceremony_vk.rs");
    if env::var_os("CARGO_FEATURE_DEV_KEYS").is_some() {
        // Not included in this configuration; keep the file present and inert.
        fs::write(&target, "").expect("write OUT_DIR/ceremony_vk.rs");
        return;
    }
    let module = match env::var_os(CEREMONY_VAR) {
        None => refuse(
            "no production verifying key: set VEIL_CEREMONY_VK to the verifying-key module \
             of the production ceremony (see docs/ceremony.md), or enable the `dev-keys` \
             feature for tests and local chains only",
        ),
        Some(path) => {
            println!("cargo:rerun-if-changed={}", PathBuf::from(&path).display());
            match fs::read_to_string(&path) {
                Err(error) => refuse(&format!(
                    "VEIL_CEREMONY_VK={}: cannot read it ({error}); see docs/ceremony.md",
                    PathBuf::from(&path).display()
                )),
                Ok(text) if is_development_key(&text) => refuse(
                    "VEIL_CEREMONY_VK names the development key (its constants equal \
                     src/vk.rs, generated from a public seed); run the production ceremony \
                     of docs/ceremony.md",
                ),
                // Inner doc comments cannot follow `include!`; keep them as plain comments.
                Ok(text) => text.replace("//!", "//"),
            }
        }
    };
    fs::write(&target, module).expect("write OUT_DIR/ceremony_vk.rs");
}

/// A module whose only content is a compile error carrying `message`.
fn refuse(message: &str) -> String {
    format!("compile_error!({message:?});\n")
}

/// Whether `module` holds the development key: the same code as `src/vk.rs` once comments are
/// dropped (a header edit does not make the development key a ceremony key).
fn is_development_key(module: &str) -> bool {
    let code = |text: &str| -> String {
        text.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let dev = fs::read_to_string("src/vk.rs").expect("src/vk.rs is part of the crate");
    code(module) == code(&dev)
}
