//! The disruption controller: each PodDisruptionBudget's healthy and desired pods, and how many
//! may be evicted now (what the eviction API answers 429 on).

use serde_json::{Value, json};

use crate::object::{is_ready, namespace_of, scaled};
use crate::resources::idx;
use crate::selector::LabelSelector;
use crate::world::World;

/// Every PodDisruptionBudget's status.
pub(crate) fn status(w: &mut World) {
    let pdbs: Vec<Value> = w.list(idx::PDBS, None).cloned().collect();
    for pdb in pdbs {
        let (expected, healthy, desired, allowed) = budget(w, &pdb);
        let mut out = pdb.clone();
        out["status"] = json!({"currentHealthy": healthy, "desiredHealthy": desired, "disruptionsAllowed": allowed,
            "expectedPods": expected, "observedGeneration": pdb["metadata"]["generation"]});
        if out != pdb {
            w.store(idx::PDBS, out);
        }
    }
}

/// (expected pods, healthy pods, desired healthy, disruptions allowed) of a PDB.
pub(crate) fn budget(w: &World, pdb: &Value) -> (i64, i64, i64, i64) {
    let sel = LabelSelector::from_object(&pdb["spec"]["selector"]);
    let pods: Vec<&Value> = w
        .list(idx::PODS, Some(namespace_of(pdb)))
        .filter(|p| sel.matches(p))
        .collect();
    let expected = pods.len() as i64;
    let healthy = pods.iter().filter(|p| is_ready(p)).count() as i64;
    let desired = match (
        pdb["spec"].get("minAvailable"),
        pdb["spec"].get("maxUnavailable"),
    ) {
        (Some(min), _) => scaled(min, expected, true),
        (None, Some(max)) => expected - scaled(max, expected, true),
        _ => 0,
    };
    (expected, healthy, desired, (healthy - desired).max(0))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use crate::controllers::testing::{cluster, deployment, run_for};
    use crate::resources::idx;

    #[test]
    fn a_budget_allows_only_the_disruptions_its_minimum_leaves() {
        let mut w = cluster(2);
        deployment(&mut w, "web", 3);
        let pdb = json!({"metadata": {"name": "web"}, "spec": {"minAvailable": 2,
            "selector": {"matchLabels": {"app": "web"}}}});
        w.create(idx::PDBS, "shop", pdb).unwrap();
        run_for(&mut w, Duration::from_secs(5));
        let pdb = w.get(idx::PDBS, "shop", "web").unwrap();
        assert_eq!(pdb["status"]["currentHealthy"], 3);
        assert_eq!(pdb["status"]["disruptionsAllowed"], 1);
        let percent = json!({"spec": {"maxUnavailable": "50%", "selector": {"matchLabels": {"app": "web"}}},
            "metadata": {"namespace": "shop"}});
        // 50% of 3 rounds up to 2 unavailable: 1 must stay, 2 may go.
        assert_eq!(super::budget(&w, &percent), (3, 3, 1, 2));
    }
}
