//! The runbook catalog and the guardrail policy compiled in from statemachines/ (build.rs): what
//! the Lambdas decide with, and what the CLI falls back to outside the repository.

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

use crate::{Catalog, CatalogError, Policy, PolicyError};

/// The compiled-in catalog.
pub fn catalog() -> Result<Catalog, CatalogError> {
    Catalog::parse(RUNBOOKS.iter().copied())
}

/// The compiled-in policy.
pub fn policy() -> Result<Policy, PolicyError> {
    Policy::from_yaml(POLICY)
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

    #[test]
    fn policy_yaml_is_the_default_policy() {
        // A Lambda without SELFHEAL_POLICY uses Policy::default(); the ingest and the CLI read
        // policy.yaml. They must be one policy, or the same alert is judged twice differently.
        assert_eq!(policy().unwrap(), Policy::default());
    }
}
