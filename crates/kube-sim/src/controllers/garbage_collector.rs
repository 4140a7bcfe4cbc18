//! The garbage collector: an object whose controller (owner reference with `controller: true`)
//! no longer exists is deleted, as Kubernetes' background cascading deletion does.

use std::collections::HashSet;

use crate::object::{ObjectKey, owner_uid, uid_of};
use crate::world::World;

/// Deletes every object whose controller is gone (dependents go with their owner).
pub(crate) fn reconcile(w: &mut World) {
    let uids: HashSet<&str> = w.objects().map(|(_, o)| uid_of(o)).collect();
    let orphans: Vec<ObjectKey> = w
        .objects()
        .filter(|(_, o)| owner_uid(o).is_some_and(|u| !uids.contains(u)))
        .map(|(k, _)| k.clone())
        .collect();
    for key in orphans {
        let _ = w.delete(key.resource, &key.namespace, &key.name);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::controllers::testing::{cluster, deployment, run_for};
    use crate::resources::idx;

    #[test]
    fn deleting_a_deployment_takes_its_replicasets_and_pods() {
        let mut w = cluster(2);
        deployment(&mut w, "web", 2);
        run_for(&mut w, Duration::from_secs(5));
        assert_eq!(w.list(idx::PODS, Some("shop")).count(), 2);
        w.delete(idx::DEPLOYMENTS, "shop", "web").unwrap();
        w.reconcile();
        assert_eq!(w.list(idx::REPLICASETS, Some("shop")).count(), 0);
        assert_eq!(w.list(idx::PODS, Some("shop")).count(), 0);
    }
}
