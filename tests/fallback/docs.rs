//! Documentation and layering checks: every error code is documented with its status, and the
//! fallback shares no runtime dependency with the relayer.

use std::collections::{BTreeSet, HashMap};

use veil_fallback::ErrorCode;

#[test]
fn docs_list_every_error_code_with_its_status() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/fallback.md"))
        .expect("docs/fallback.md");
    for code in ErrorCode::ALL {
        let row = doc
            .lines()
            .find(|l| l.starts_with('|') && l.contains(&format!("`{}`", code.as_str())))
            .unwrap_or_else(|| panic!("{} is not in the docs table", code.as_str()));
        assert!(
            row.contains(code.status().as_str()),
            "{}: the docs row does not give status {}",
            code.as_str(),
            code.status()
        );
    }
}

#[test]
fn docs_fallback_shares_no_runtime_dependency_with_the_relayer() {
    let lock: toml::Value =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock"))
            .expect("Cargo.lock")
            .parse()
            .expect("toml");
    let mut deps: HashMap<String, BTreeSet<String>> = HashMap::new();
    for package in lock["package"].as_array().expect("packages") {
        let name = package["name"].as_str().expect("name").to_owned();
        let entry = deps.entry(name).or_default();
        for dep in package
            .get("dependencies")
            .and_then(|d| d.as_array())
            .into_iter()
            .flatten()
        {
            let dep = dep.as_str().expect("dep");
            entry.insert(dep.split(' ').next().unwrap_or(dep).to_owned());
        }
    }
    // Everything veil-fallback can reach, normal and dev dependencies together (a superset).
    let mut reach = BTreeSet::new();
    let mut todo = vec!["veil-fallback".to_owned()];
    while let Some(name) = todo.pop() {
        if reach.insert(name.clone()) {
            todo.extend(deps.get(&name).into_iter().flatten().cloned());
        }
    }
    assert!(
        reach.contains("veil-chittyid"),
        "the one grammar is shared on purpose"
    );
    assert!(reach.contains("redb"));
    for forbidden in [
        "veil-relayer",
        "sqlx",
        "sqlx-core",
        "sqlx-postgres",
        "redis",
        "veil-drand",
        "veil-vrf",
        "drand-verify",
    ] {
        assert!(
            !reach.contains(forbidden),
            "veil-fallback reaches {forbidden}"
        );
    }
}
