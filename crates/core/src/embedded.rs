//! The runbook catalog and the guardrail policy compiled in from statemachines/ (build.rs turns
//! their YAML into JSON): what the Lambdas decide with and trust, and what the CLI falls back to
//! outside the repository.

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

use crate::{Catalog, CatalogError, Policy, PolicyError};

/// The compiled-in catalog.
pub fn catalog() -> Result<Catalog, CatalogError> {
    Catalog::parse_json(RUNBOOKS.iter().copied())
}

/// The compiled-in policy.
pub fn policy() -> Result<Policy, PolicyError> {
    Policy::from_json(POLICY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_catalog_and_policy_parse() {
        let catalog = catalog().unwrap();
        assert_eq!(catalog.runbooks().len(), RUNBOOKS.len());
        assert!(catalog.get("restart-pods").is_some());
    }

    #[cfg(feature = "yaml")]
    #[test]
    fn the_build_s_json_is_the_yaml_the_repository_holds() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../statemachines");
        let mut files: Vec<(String, String)> = std::fs::read_dir(root.join("runbooks"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(&p).unwrap())
            })
            .collect();
        files.sort();
        assert_eq!(catalog().unwrap(), Catalog::parse(files).unwrap());
        let yaml = std::fs::read_to_string(root.join("policy.yaml")).unwrap();
        assert_eq!(policy().unwrap(), Policy::from_yaml(&yaml).unwrap());
    }

    #[test]
    fn policy_yaml_is_the_default_policy() {
        // A Lambda without SELFHEAL_POLICY uses Policy::default(); the ingest and the CLI read
        // policy.yaml. They must be one policy, or the same alert is judged twice differently.
        assert_eq!(policy().unwrap(), Policy::default());
    }
}
