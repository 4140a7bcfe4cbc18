//! The API server's storage: objects by key, resourceVersions, uids, the checks it refuses a
//! write for, and the history watches resume from. It knows nothing of controllers.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::object::{ObjectKey, name_of, random_suffix, ts};
use crate::resources::{RESOURCES, Resource, idx};
use crate::selector::LabelSelector;
use crate::status::ApiError;

/// What happened to an object, as a watch names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum WatchEventType {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Removed.
    Deleted,
}

/// One change, as a watch streams it.
#[derive(Debug, Clone)]
pub struct WatchEvent {
    /// The resourceVersion after the change.
    pub rv: u64,
    /// The resource index.
    pub resource: usize,
    /// Added, modified or deleted.
    pub kind: WatchEventType,
    /// The object after the change (before, for DELETED).
    pub object: Value,
}

/// Changes kept for watches that resume from a resourceVersion.
const HISTORY: usize = 10_000;

/// The objects and their versions.
pub struct Store {
    objects: BTreeMap<ObjectKey, Value>,
    rv: u64,
    uid: u64,
    recent: VecDeque<WatchEvent>,
    tx: broadcast::Sender<WatchEvent>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            objects: BTreeMap::new(),
            rv: 0,
            uid: 0,
            recent: VecDeque::new(),
            tx: broadcast::channel(4096).0,
        }
    }
}

impl Store {
    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// A number that changes with every write and every new uid: the seed of generated names
    /// that must not repeat (events).
    pub(crate) fn serial(&self) -> u64 {
        self.rv * 7919 + self.uid
    }

    /// A receiver of every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<WatchEvent> {
        self.tx.subscribe()
    }

    /// Recent changes after `rv`, for a watch that resumes; `None` when they are no longer kept.
    pub fn changes_since(&self, rv: u64) -> Option<Vec<WatchEvent>> {
        if rv < self.rv && self.recent.front().is_none_or(|e| e.rv > rv + 1) {
            return None;
        }
        Some(self.recent.iter().filter(|e| e.rv > rv).cloned().collect())
    }

    /// An object.
    pub fn get(&self, res: usize, ns: &str, name: &str) -> Option<&Value> {
        self.objects.get(&ObjectKey::new(res, ns, name))
    }

    /// Objects of a resource, in one namespace or all.
    pub fn list(&self, res: usize, ns: Option<&str>) -> impl Iterator<Item = &Value> {
        self.objects
            .range(ObjectKey::new(res, "", "")..ObjectKey::new(res + 1, "", ""))
            .filter(move |(k, _)| ns.is_none_or(|want| want == k.namespace))
            .map(|(_, v)| v)
    }

    /// Takes an object out to change it without a copy; [`Store::restore`] puts it back as it
    /// was, [`Store::store`] changed.
    pub(crate) fn take(&mut self, key: &ObjectKey) -> Option<Value> {
        self.objects.remove(key)
    }

    /// Puts back an object [`Store::take`] took, unchanged: no new resourceVersion, no event.
    pub(crate) fn restore(&mut self, key: ObjectKey, obj: Value) {
        self.objects.insert(key, obj);
    }

    /// Every object with its key.
    pub fn objects(&self) -> impl Iterator<Item = (&ObjectKey, &Value)> {
        self.objects.iter()
    }

    fn emit(&mut self, resource: usize, kind: WatchEventType, object: Value) {
        let ev = WatchEvent {
            rv: self.rv,
            resource,
            kind,
            object,
        };
        self.recent.push_back(ev.clone());
        if self.recent.len() > HISTORY {
            self.recent.pop_front();
        }
        let _ = self.tx.send(ev);
    }

    /// Fills in what the API server sets on create; checks the name, and the namespace exists.
    pub fn prepare_create(
        &mut self,
        res: usize,
        ns: &str,
        mut obj: Value,
        now: DateTime<Utc>,
    ) -> Result<Value, ApiError> {
        let r = &RESOURCES[res];
        if !obj["metadata"].is_object() {
            obj["metadata"] = json!({});
        }
        if obj["metadata"]["name"].as_str().is_none_or(str::is_empty) {
            match obj["metadata"]["generateName"].as_str() {
                Some(prefix) => {
                    obj["metadata"]["name"] = json!(format!("{prefix}{}", random_suffix(5)))
                }
                None => {
                    return Err(ApiError::invalid(
                        r,
                        "",
                        &[(
                            "metadata.name",
                            "Required value: name or generateName is required".into(),
                        )],
                    ));
                }
            }
        }
        let name = name_of(&obj).to_owned();
        validate_name(r, &name)?;
        if r.namespaced {
            if self.get(idx::NAMESPACES, "", ns).is_none() {
                return Err(ApiError::not_found(&RESOURCES[idx::NAMESPACES], ns));
            }
            obj["metadata"]["namespace"] = json!(ns);
        }
        if self
            .get(res, if r.namespaced { ns } else { "" }, &name)
            .is_some()
        {
            return Err(ApiError::already_exists(r, &name));
        }
        obj["apiVersion"] = json!(r.api_version());
        obj["kind"] = json!(r.kind);
        self.uid += 1;
        let uid = format!("{:08x}-5e1f-4ea1-8000-{:012x}", self.uid, self.uid);
        obj["metadata"]["uid"] = json!(uid);
        obj["metadata"]["creationTimestamp"] = json!(ts(now));
        if obj.get("spec").is_some() {
            obj["metadata"]["generation"] = json!(1);
        }
        validate(r, &obj)?;
        Ok(obj)
    }

    /// Creates an object (after [`Self::prepare_create`]); returns it as stored.
    pub fn create(
        &mut self,
        res: usize,
        ns: &str,
        obj: Value,
        now: DateTime<Utc>,
    ) -> Result<Value, ApiError> {
        let mut obj = self.prepare_create(res, ns, obj, now)?;
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.objects.insert(ObjectKey::of(res, &obj), obj.clone());
        self.emit(res, WatchEventType::Added, obj.clone());
        Ok(obj)
    }

    /// Checks an update against the stored object: resourceVersion, immutable fields; returns
    /// the object as it would be stored.
    pub fn prepare_update(
        &self,
        res: usize,
        ns: &str,
        name: &str,
        mut obj: Value,
    ) -> Result<Value, ApiError> {
        let r = &RESOURCES[res];
        let current = self
            .get(res, ns, name)
            .ok_or_else(|| ApiError::not_found(r, name))?;
        let sent_rv = obj["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default();
        if !sent_rv.is_empty()
            && sent_rv
                != current["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
        {
            return Err(ApiError::conflict(r, name));
        }
        if name_of(&obj) != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                name_of(&obj)
            )));
        }
        for field in ["uid", "creationTimestamp", "namespace"] {
            obj["metadata"][field] = current["metadata"][field].clone();
        }
        obj["apiVersion"] = json!(r.api_version());
        obj["kind"] = json!(r.kind);
        if res == idx::DEPLOYMENTS && obj["spec"]["selector"] != current["spec"]["selector"] {
            return Err(ApiError::invalid(
                r,
                name,
                &[("spec.selector", "Invalid value: field is immutable".into())],
            ));
        }
        let generation = current["metadata"]["generation"].as_i64().unwrap_or(0);
        if obj.get("spec").is_some() {
            let changed = obj["spec"] != current["spec"];
            obj["metadata"]["generation"] = json!(generation + i64::from(changed));
        }
        obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
        validate(r, &obj)?;
        Ok(obj)
    }

    /// Stores an updated object (after [`Self::prepare_update`]) if it changed.
    pub fn store(&mut self, res: usize, mut obj: Value) -> Value {
        let key = ObjectKey::of(res, &obj);
        if self.objects.get(&key) == Some(&obj) {
            return obj;
        }
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.objects.insert(key, obj.clone());
        self.emit(res, WatchEventType::Modified, obj.clone());
        obj
    }

    /// Deletes an object; returns it as it was.
    pub fn delete(&mut self, res: usize, ns: &str, name: &str) -> Result<Value, ApiError> {
        let obj = self
            .objects
            .remove(&ObjectKey::new(res, ns, name))
            .ok_or_else(|| ApiError::not_found(&RESOURCES[res], name))?;
        self.rv += 1;
        self.emit(res, WatchEventType::Deleted, obj.clone());
        Ok(obj)
    }
}

fn validate_name(r: &Resource, name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !p.starts_with('-')
                && !p.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            r,
            name,
            &[(
                "metadata.name",
                format!(
                    "Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
                ),
            )],
        ))
    }
}

/// The checks the API server would refuse an object for (422).
pub fn validate(r: &Resource, obj: &Value) -> Result<(), ApiError> {
    let name = name_of(obj);
    let mut causes: Vec<(&str, String)> = Vec::new();
    if matches!(r.kind, "Deployment" | "ReplicaSet" | "StatefulSet") {
        if obj["spec"]["replicas"].as_i64().is_some_and(|n| n < 0) {
            causes.push((
                "spec.replicas",
                format!(
                    "Invalid value: {}: must be greater than or equal to 0",
                    obj["spec"]["replicas"]
                ),
            ));
        }
        let sel = LabelSelector::from_object(&obj["spec"]["selector"]);
        if sel.is_empty() {
            causes.push(("spec.selector", "Required value".into()));
        } else if !sel.matches(&obj["spec"]["template"]) {
            causes.push((
                "spec.template.metadata.labels",
                "Invalid value: `selector` does not match template `labels`".into(),
            ));
        }
        if obj["spec"]["template"]["spec"]["containers"]
            .as_array()
            .is_none_or(Vec::is_empty)
        {
            causes.push(("spec.template.spec.containers", "Required value".into()));
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(r, name, &causes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::UNIX_EPOCH
    }

    fn namespace(store: &mut Store, name: &str) {
        store
            .create(
                idx::NAMESPACES,
                "",
                json!({"metadata": {"name": name}}),
                now(),
            )
            .unwrap();
    }

    #[test]
    fn writes_bump_the_resource_version_and_reach_watchers() {
        let mut store = Store::default();
        let mut rx = store.subscribe();
        namespace(&mut store, "shop");
        let cm = json!({"metadata": {"name": "web"}, "data": {"a": "1"}});
        let created = store.create(idx::SERVICES, "shop", cm, now()).unwrap();
        assert_eq!(created["metadata"]["resourceVersion"], "2");
        assert_eq!(rx.try_recv().unwrap().kind, WatchEventType::Added);
        // An unchanged store is no write.
        store.store(idx::SERVICES, created.clone());
        assert_eq!(store.resource_version(), 2);
        store.delete(idx::SERVICES, "shop", "web").unwrap();
        let kinds: Vec<_> = store
            .changes_since(0)
            .unwrap()
            .iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                WatchEventType::Added,
                WatchEventType::Added,
                WatchEventType::Deleted
            ]
        );
    }

    #[test]
    fn creates_are_refused_as_the_api_server_refuses_them() {
        let mut store = Store::default();
        let cm = json!({"metadata": {"name": "web"}});
        let err = store
            .create(idx::SERVICES, "shop", cm.clone(), now())
            .unwrap_err();
        assert_eq!(err.code, 404, "the namespace does not exist");
        namespace(&mut store, "shop");
        store
            .create(idx::SERVICES, "shop", cm.clone(), now())
            .unwrap();
        let err = store.create(idx::SERVICES, "shop", cm, now()).unwrap_err();
        assert_eq!(err.code, 409);
        let bad = json!({"metadata": {"name": "Not_A_Name"}});
        assert_eq!(
            store
                .create(idx::SERVICES, "shop", bad, now())
                .unwrap_err()
                .code,
            422
        );
        let generated = json!({"metadata": {"generateName": "job-"}});
        let made = store
            .create(idx::SERVICES, "shop", generated, now())
            .unwrap();
        assert!(name_of(&made).starts_with("job-") && name_of(&made).len() == 9);
    }

    #[test]
    fn a_stale_update_conflicts_and_a_changed_spec_is_a_new_generation() {
        let mut store = Store::default();
        namespace(&mut store, "shop");
        let d = json!({"metadata": {"name": "web"}, "spec": {"replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
        let created = store.create(idx::DEPLOYMENTS, "shop", d, now()).unwrap();
        let mut scaled = created.clone();
        scaled["spec"]["replicas"] = json!(3);
        let scaled = store
            .prepare_update(idx::DEPLOYMENTS, "shop", "web", scaled)
            .unwrap();
        assert_eq!(scaled["metadata"]["generation"], 2);
        store.store(idx::DEPLOYMENTS, scaled);
        let err = store
            .prepare_update(idx::DEPLOYMENTS, "shop", "web", created)
            .unwrap_err();
        assert_eq!(err.code, 409, "the resourceVersion sent is stale");
    }

    #[test]
    fn a_watch_that_fell_too_far_behind_is_told_so() {
        let mut store = Store::default();
        for i in 0..HISTORY + 5 {
            namespace(&mut store, &format!("ns-{i}"));
        }
        assert!(store.changes_since(1).is_none());
        assert_eq!(
            store
                .changes_since(store.resource_version() - 2)
                .unwrap()
                .len(),
            2
        );
    }
}
