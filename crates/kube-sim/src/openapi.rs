//! The OpenAPI v3 documents an API server publishes (`/openapi/v3` and one per group-version),
//! with what kubectl reads from them: for each resource the operations, their
//! `x-kubernetes-group-version-kind`, and the `fieldValidation` parameter that tells kubectl the
//! server validates fields itself (so `kubectl apply` with its default validation sends
//! `fieldValidation=Strict` and kube-sim refuses unknown fields, see crate::fields). The
//! documents carry no schemas: kubectl then computes strategic merge patches from its built-in
//! types, as it does against a server whose schemas do not name the kind.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::resources::{RESOURCES, Resource};

/// The group-versions served, as their OpenAPI paths (`api/v1`, `apis/apps/v1`).
fn group_versions() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in RESOURCES {
        let gv = path_prefix(r);
        if !out.contains(&gv) {
            out.push(gv);
        }
    }
    out
}

fn path_prefix(r: &Resource) -> String {
    if r.group.is_empty() {
        format!("api/{}", r.version)
    } else {
        format!("apis/{}/{}", r.group, r.version)
    }
}

/// `/openapi/v3`: where each group-version's document is (with a hash, for clients' caches).
pub fn index() -> Value {
    let paths: serde_json::Map<String, Value> = group_versions()
        .into_iter()
        .map(|gv| {
            let hash = hex(&Sha256::digest(
                document(&gv).unwrap_or_default().to_string(),
            ));
            let url = format!("/openapi/v3/{gv}?hash={}", &hash[..16]);
            (gv, json!({"serverRelativeURL": url}))
        })
        .collect();
    json!({"paths": paths})
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The document of one group-version (`api/v1`, `apis/apps/v1`), if served.
pub fn document(gv: &str) -> Option<Value> {
    let resources: Vec<&Resource> = RESOURCES.iter().filter(|r| path_prefix(r) == gv).collect();
    if resources.is_empty() {
        return None;
    }
    let mut paths = serde_json::Map::new();
    for r in resources {
        let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
        let base = if r.namespaced {
            format!("/{gv}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("/{gv}/{}", r.plural)
        };
        let op = |verb: &str, action: &str, params: &[&str]| {
            let params: Vec<Value> = params
                .iter()
                .map(|p| json!({"name": p, "in": "query", "schema": {"type": "string", "uniqueItems": true}}))
                .collect();
            json!({"operationId": format!("{verb}{}", r.kind), "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk, "parameters": params,
                "responses": {"200": {"description": "OK"}}})
        };
        let write = ["dryRun", "fieldManager", "fieldValidation"];
        paths.insert(
            base.clone(),
            json!({"get": op("list", "list", &["labelSelector", "fieldSelector", "watch", "resourceVersion"]),
                "post": op("create", "post", &write)}),
        );
        paths.insert(
            format!("{base}/{{name}}"),
            json!({"get": op("read", "get", &[]), "put": op("replace", "put", &write),
                "patch": op("patch", "patch", &["dryRun", "fieldManager", "fieldValidation", "force"]),
                "delete": op("delete", "delete", &["dryRun", "gracePeriodSeconds"])}),
        );
    }
    Some(
        json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths, "components": {"schemas": {}}}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_group_version_has_a_document_whose_patch_takes_field_validation() {
        let index = index();
        let gvs: Vec<&String> = index["paths"].as_object().unwrap().keys().collect();
        assert!(gvs.contains(&&"api/v1".to_owned()));
        assert!(gvs.contains(&&"apis/monitoring.coreos.com/v1".to_owned()));
        let apps = document("apis/apps/v1").unwrap();
        let patch =
            &apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"]["kind"],
            "Deployment"
        );
        assert!(
            patch["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
        );
        assert!(document("apis/batch/v1").is_none());
    }
}
