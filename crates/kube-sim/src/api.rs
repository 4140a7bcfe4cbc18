//! The Kubernetes REST API over the world: the same paths, verbs, content types and Status
//! errors as a real API server, for the resources and subresources selfheal uses.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde_json::{Value, json};

use crate::Sim;
use crate::faults::{Fault, FaultKind};
use crate::fields::{self, FieldValidation};
use crate::object::{is_ready, name_of, namespace_of};
use crate::patch::{self, PatchType};
use crate::resources::{RESOURCES, Resource, find, idx};
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::store::WatchEventType;
use crate::world::World;

type Params = HashMap<String, String>;

/// The router: discovery, resources, metrics, health and the fault API.
pub fn router(sim: Sim) -> Router {
    Router::new()
        .route("/version", get(version))
        .route(
            "/openapi/v3",
            get(|| async { axum::Json(crate::openapi::index()) }),
        )
        .route("/openapi/v3/{*gv}", get(openapi_document))
        .route("/api", get(api_versions))
        .route("/apis", get(api_groups))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .route("/livez", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route(METRICS_API, get(metrics_resources))
        .route(&format!("{METRICS_API}/pods"), get(pod_metrics_list))
        .route(
            &format!("{METRICS_API}/namespaces/{{ns}}/pods"),
            get(pod_metrics_list),
        )
        .route(
            &format!("{METRICS_API}/namespaces/{{ns}}/pods/{{name}}"),
            get(pod_metrics_get),
        )
        .route("/sim/faults", get(list_faults).post(add_fault))
        .route(
            "/sim/sd/pods",
            get(|State(sim): State<Sim>| async move { axum::Json(crate::sd::pods(&sim.world())) }),
        )
        .route("/sim/faults/{id}", delete(clear_fault))
        .fallback(resource)
        .with_state(sim)
}

async fn openapi_document(Path(gv): Path<String>) -> Response {
    match crate::openapi::document(&gv) {
        Some(doc) => json_response(StatusCode::OK, &doc),
        None => ApiError {
            code: 404,
            reason: "NotFound",
            message: format!("no OpenAPI document for {gv}"),
            details: None,
        }
        .into_response(),
    }
}

async fn version() -> axum::Json<Value> {
    axum::Json(
        json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-selfheal-sim", "gitCommit": "0000000",
        "gitTreeState": "clean", "buildDate": "2026-11-25T00:00:00Z", "goVersion": "go1.24", "compiler": "gc", "platform": "linux/amd64"}),
    )
}

async fn api_versions() -> axum::Json<Value> {
    axum::Json(
        json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
    )
}

async fn api_groups() -> axum::Json<Value> {
    let mut served: Vec<(&str, &str)> = Vec::new();
    for r in RESOURCES.iter().filter(|r| !r.group.is_empty()) {
        if !served.contains(&(r.group, r.version)) {
            served.push((r.group, r.version));
        }
    }
    served.push(("metrics.k8s.io", "v1beta1"));
    let groups: Vec<Value> = served
        .iter()
        .map(|(g, v)| {
            let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
            json!({"name": g, "versions": [gv], "preferredVersion": gv})
        })
        .collect();
    axum::Json(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}))
}

fn resource_list(group: &str) -> Value {
    let mut resources = Vec::new();
    for r in RESOURCES.iter().filter(|r| r.group == group) {
        resources.push(json!({"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
            "verbs": r.verbs(), "shortNames": r.short}));
        for sub in r.subresources {
            let (kind, g, verbs): (&str, &str, &[&str]) = match *sub {
                "scale" => ("Scale", "autoscaling", &["get", "patch", "update"]),
                "eviction" => ("Eviction", "policy", &["create"]),
                "log" => ("Pod", "", &["get"]),
                _ => (r.kind, r.group, &["get", "patch", "update"]),
            };
            resources.push(json!({"name": format!("{}/{sub}", r.plural), "singularName": "", "namespaced": r.namespaced,
                "kind": kind, "group": g, "version": "v1", "verbs": verbs}));
        }
    }
    let gv = if group.is_empty() {
        "v1".to_owned()
    } else {
        format!("{group}/v1")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
}

/// A parsed resource path.
struct Target {
    res: usize,
    namespace: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

enum Route {
    Discovery(String),
    Resource(Target),
}

fn parse_path(path: &str) -> Option<Route> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match segs.as_slice() {
        ["api", "v1"] => return Some(Route::Discovery(String::new())),
        ["apis", g, "v1"] => return Some(Route::Discovery((*g).to_owned())),
        ["api", "v1", rest @ ..] => ("", rest),
        ["apis", g, "v1", rest @ ..] => (*g, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some((*ns).to_owned()), rest),
        _ => (None, rest),
    };
    let (plural, name, sub) = match rest {
        [p] => (*p, None, None),
        [p, n] => (*p, Some((*n).to_owned()), None),
        [p, n, s] => (*p, Some((*n).to_owned()), Some((*s).to_owned())),
        _ => return None,
    };
    let res = find(group, plural)?;
    Some(Route::Resource(Target {
        res,
        namespace,
        name,
        sub,
    }))
}

fn json_response(code: StatusCode, v: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// Applies an injected API fault matching this request, if any.
async fn api_fault(sim: &Sim, method: &Method, path: &str) -> Option<ApiError> {
    let (status, delay) = {
        let mut w = sim.world();
        let i = w.faults.iter().position(|f| match &f.kind {
            FaultKind::Api {
                path: p,
                method: m,
                count,
                ..
            } => {
                *count > 0
                    && path.starts_with(p.as_str())
                    && m.as_deref()
                        .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
            }
            _ => false,
        })?;
        let FaultKind::Api {
            status,
            delay_ms,
            count,
            ..
        } = &mut w.faults[i].kind
        else {
            return None;
        };
        *count -= 1;
        let out = (*status, *delay_ms);
        if *count == 0 {
            w.faults.remove(i);
        }
        out
    };
    if let Some(ms) = delay {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    status.map(ApiError::injected)
}

async fn resource(
    State(sim): State<Sim>,
    method: Method,
    uri: Uri,
    Query(q): Query<Params>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let Some(route) = parse_path(&path) else {
        return ApiError {
            code: 404,
            reason: "NotFound",
            message: "the server could not find the requested resource".into(),
            details: None,
        }
        .into_response();
    };
    let target = match route {
        Route::Discovery(group) => return json_response(StatusCode::OK, &resource_list(&group)),
        Route::Resource(t) => t,
    };
    if let Some(err) = api_fault(&sim, &method, &path).await {
        return err.into_response();
    }
    if method == Method::GET
        && target.name.is_none()
        && q.get("watch").is_some_and(|w| w == "true" || w == "1")
    {
        return watch(sim, target, q).await;
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if method == Method::GET && target.sub.is_none() && crate::table::wanted(accept) {
        return match printed(&sim.world(), &target, &q) {
            Ok(t) => json_response(StatusCode::OK, &t),
            Err(e) => e.into_response(),
        };
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned();
    // dryRun comes as a query parameter, or inside DeleteOptions (DELETE bodies, and an
    // Eviction's deleteOptions) as kube sends it.
    // Only DELETE bodies and Evictions carry DeleteOptions; other bodies are not parsed here.
    let options_at = match (&method, target.sub.as_deref()) {
        (&Method::DELETE, _) => Some(""),
        (_, Some("eviction")) => Some("deleteOptions"),
        _ => None,
    };
    let dry_run_in_body = options_at.is_some_and(|at| {
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let options = if at.is_empty() { &body } else { &body[at] };
        options["dryRun"]
            .as_array()
            .is_some_and(|d| d.iter().any(|v| v == "All"))
    });
    let dry_run = q.get("dryRun").is_some_and(|d| d == "All") || dry_run_in_body;
    let result = {
        let mut w = sim.world();
        let r = handle(&mut w, &method, &target, &q, &content_type, &body, dry_run);
        if r.is_ok() && method != Method::GET && !dry_run {
            w.reconcile();
        }
        r
    };
    match result {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("the body of the request could not be decoded: {e}"))
    })
}

fn handle(
    w: &mut World,
    method: &Method,
    t: &Target,
    q: &Params,
    content_type: &str,
    body: &[u8],
    dry_run: bool,
) -> Result<Response, ApiError> {
    let r: &Resource = &RESOURCES[t.res];
    let ns = if r.namespaced {
        t.namespace.clone().unwrap_or_default()
    } else {
        String::new()
    };
    let fields = FieldValidation::from_query(q.get("fieldValidation").map(String::as_str))?;
    match (method, &t.name, t.sub.as_deref()) {
        (&Method::GET, None, None) => list(w, t, q),
        (&Method::GET, Some(name), None) => {
            let obj = w
                .get(t.res, &ns, name)
                .ok_or_else(|| ApiError::not_found(r, name))?;
            Ok(json_response(StatusCode::OK, obj))
        }
        (&Method::POST, None, None) => {
            let obj = parse_body(body)?;
            fields::check(r, &obj, fields)?;
            let created = if dry_run {
                w.prepare_create(t.res, &ns, obj)?
            } else {
                w.create(t.res, &ns, obj)?
            };
            Ok(json_response(StatusCode::CREATED, &created))
        }
        (&Method::PUT, Some(name), None) => {
            let obj = parse_body(body)?;
            fields::check(r, &obj, fields)?;
            let obj = w.prepare_update(t.res, &ns, name, obj)?;
            let stored = if dry_run { obj } else { w.store(t.res, obj) };
            Ok(json_response(StatusCode::OK, &stored))
        }
        (&Method::PATCH, Some(name), None) => {
            let kind = PatchType::from_content_type(content_type)?;
            let current = match (w.get(t.res, &ns, name), kind) {
                (Some(c), _) => c.clone(),
                (None, PatchType::Apply) => {
                    // Server-side apply creates what does not exist yet.
                    let mut obj = json!({"metadata": {"name": name}});
                    patch::apply(&mut obj, kind, body)?;
                    fields::check(r, &obj, fields)?;
                    let created = if dry_run {
                        w.prepare_create(t.res, &ns, obj)?
                    } else {
                        w.create(t.res, &ns, obj)?
                    };
                    return Ok(json_response(StatusCode::CREATED, &created));
                }
                (None, _) => return Err(ApiError::not_found(r, name)),
            };
            let mut patched = current.clone();
            patch::apply(&mut patched, kind, body)?;
            fields::check(r, &patched, fields)?;
            // A resourceVersion in the patch is a precondition; otherwise the patch applies to
            // the current object.
            if patched["metadata"]["resourceVersion"].is_null() {
                patched["metadata"]["resourceVersion"] =
                    current["metadata"]["resourceVersion"].clone();
            }
            let obj = w.prepare_update(t.res, &ns, name, patched)?;
            let stored = if dry_run { obj } else { w.store(t.res, obj) };
            Ok(json_response(StatusCode::OK, &stored))
        }
        (&Method::DELETE, Some(name), None) => {
            let obj = w
                .get(t.res, &ns, name)
                .cloned()
                .ok_or_else(|| ApiError::not_found(r, name))?;
            if !dry_run {
                w.delete(t.res, &ns, name)?;
            }
            Ok(json_response(StatusCode::OK, &obj))
        }
        (_, Some(name), Some("scale"))
            if t.res == idx::DEPLOYMENTS || t.res == idx::REPLICASETS =>
        {
            scale(w, t.res, &ns, name, method, content_type, body, dry_run)
        }
        (&Method::POST, Some(name), Some("eviction")) if t.res == idx::PODS => {
            evict(w, &ns, name, body, dry_run)
        }
        (&Method::GET, Some(name), Some("log")) if t.res == idx::PODS => log(w, &ns, name, q),
        (&Method::GET, Some(name), Some("status")) => {
            let obj = w
                .get(t.res, &ns, name)
                .ok_or_else(|| ApiError::not_found(r, name))?;
            Ok(json_response(StatusCode::OK, obj))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// A GET of one object or a list, as a Table.
fn printed(w: &World, t: &Target, q: &Params) -> Result<Value, ApiError> {
    let r = &RESOURCES[t.res];
    let objects: Vec<&Value> = match &t.name {
        Some(name) => {
            let ns = t
                .namespace
                .as_deref()
                .filter(|_| r.namespaced)
                .unwrap_or("");
            vec![
                w.get(t.res, ns, name)
                    .ok_or_else(|| ApiError::not_found(r, name))?,
            ]
        }
        None => selected(w, t, q)?,
    };
    let include = q.get("includeObject").map(String::as_str);
    Ok(crate::table::table(
        r,
        &objects,
        w.now,
        include,
        w.resource_version(),
    ))
}

fn selected<'a>(w: &'a World, t: &Target, q: &Params) -> Result<Vec<&'a Value>, ApiError> {
    let labels = LabelSelector::parse(q.get("labelSelector").map_or("", String::as_str))?;
    let fields = FieldSelector::parse(q.get("fieldSelector").map_or("", String::as_str))?;
    let ns = if RESOURCES[t.res].namespaced {
        t.namespace.as_deref()
    } else {
        None
    };
    Ok(w.list(t.res, ns)
        .filter(|o| labels.matches(o) && fields.matches(o))
        .collect())
}

fn list(w: &World, t: &Target, q: &Params) -> Result<Response, ApiError> {
    let items: Vec<Value> = selected(w, t, q)?.into_iter().cloned().collect();
    let r = &RESOURCES[t.res];
    Ok(json_response(
        StatusCode::OK,
        &json!({"kind": format!("{}List", r.kind), "apiVersion": r.api_version(),
            "metadata": {"resourceVersion": w.resource_version().to_string()}, "items": items}),
    ))
}

async fn watch(sim: Sim, t: Target, q: Params) -> Response {
    let labels = LabelSelector::parse(q.get("labelSelector").map_or("", String::as_str));
    let fields = FieldSelector::parse(q.get("fieldSelector").map_or("", String::as_str));
    let (Ok(labels), Ok(fields)) = (labels, fields) else {
        return ApiError::bad_request("invalid selector").into_response();
    };
    let ns = if RESOURCES[t.res].namespaced {
        t.namespace.clone()
    } else {
        None
    };
    let from: Option<u64> = q
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .filter(|v| *v > 0);
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(300u64);
    let res = t.res;
    let wanted = move |resource: usize, obj: &Value| {
        resource == res
            && ns.as_deref().is_none_or(|n| n == namespace_of(obj))
            && labels.matches(obj)
            && fields.matches(obj)
    };
    let (initial, mut rx) = {
        let w = sim.world();
        let rx = w.subscribe();
        let initial: Vec<(Value, Value)> = match from {
            Some(rv) => match w.changes_since(rv) {
                Some(events) => events
                    .into_iter()
                    .filter(|e| wanted(e.resource, &e.object))
                    .map(|e| (json!(e.kind), e.object))
                    .collect(),
                None => {
                    let gone = ApiError {
                        code: 410,
                        reason: "Expired",
                        message: format!("too old resource version: {rv}"),
                        details: None,
                    };
                    vec![(json!("ERROR"), gone.body())]
                }
            },
            None => w
                .list(res, None)
                .filter(|o| wanted(res, o))
                .map(|o| (json!(WatchEventType::Added), o.clone()))
                .collect(),
        };
        (initial, rx)
    };
    let stream = async_stream::stream! {
        for (kind, object) in initial {
            yield Ok::<Bytes, Infallible>(Bytes::from(format!("{}\n", json!({"type": kind, "object": object}))));
        }
        let deadline = tokio::time::sleep(Duration::from_secs(timeout));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                ev = rx.recv() => match ev {
                    Ok(ev) if wanted(ev.resource, &ev.object) => {
                        yield Ok(Bytes::from(format!("{}\n", json!({"type": ev.kind, "object": ev.object}))));
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                () = &mut deadline => break,
            }
        }
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[allow(clippy::too_many_arguments)]
fn scale(
    w: &mut World,
    res: usize,
    ns: &str,
    name: &str,
    method: &Method,
    content_type: &str,
    body: &[u8],
    dry_run: bool,
) -> Result<Response, ApiError> {
    let r = &RESOURCES[res];
    let obj = w
        .get(res, ns, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(r, name))?;
    let selector = obj["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let as_scale = |o: &Value| {
        json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": name, "namespace": ns, "uid": o["metadata"]["uid"], "resourceVersion": o["metadata"]["resourceVersion"],
                "creationTimestamp": o["metadata"]["creationTimestamp"]},
            "spec": {"replicas": o["spec"]["replicas"].as_i64().unwrap_or(1)},
            "status": {"replicas": o["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector}})
    };
    let current = as_scale(&obj);
    let wanted = match *method {
        Method::GET => return Ok(json_response(StatusCode::OK, &current)),
        Method::PUT => parse_body(body)?,
        Method::PATCH => {
            let mut s = current.clone();
            patch::apply(&mut s, PatchType::from_content_type(content_type)?, body)?;
            if s["metadata"]["resourceVersion"].is_null() {
                s["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
            }
            s
        }
        _ => return Err(ApiError::method_not_allowed()),
    };
    let replicas = wanted["spec"]["replicas"]
        .as_i64()
        .ok_or_else(|| ApiError::invalid(r, name, &[("spec.replicas", "Required value".into())]))?;
    if replicas < 0 {
        return Err(ApiError::invalid(
            r,
            name,
            &[(
                "spec.replicas",
                format!("Invalid value: {replicas}: must be greater than or equal to 0"),
            )],
        ));
    }
    let mut updated = obj.clone();
    updated["spec"]["replicas"] = json!(replicas);
    updated["metadata"]["resourceVersion"] = wanted["metadata"]["resourceVersion"].clone();
    let updated = w.prepare_update(res, ns, name, updated)?;
    let stored = if dry_run {
        updated
    } else {
        w.store(res, updated)
    };
    Ok(json_response(StatusCode::OK, &as_scale(&stored)))
}

fn evict(
    w: &mut World,
    ns: &str,
    name: &str,
    body: &[u8],
    dry_run: bool,
) -> Result<Response, ApiError> {
    let pods = &RESOURCES[idx::PODS];
    // kube sends the Eviction without apiVersion and kind; kubectl sends them. Both are fine.
    let eviction = parse_body(body)?;
    if eviction["metadata"]["name"]
        .as_str()
        .is_some_and(|n| n != name)
    {
        return Err(ApiError::bad_request(format!(
            "name in URL does not match name in Eviction object: {name}"
        )));
    }
    let pod = w
        .get(idx::PODS, ns, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(pods, name))?;
    let budgets = w.budgets_for(&pod);
    if budgets.len() > 1 {
        return Err(ApiError::internal(
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        ));
    }
    if let Some(pdb) = budgets.first() {
        let (_, healthy, desired, allowed) = w.budget(pdb);
        // An unready pod may go whenever the budget is met without it (IfHealthyBudget).
        let unready_ok = !is_ready(&pod) && healthy >= desired;
        if allowed == 0 && !unready_ok {
            return Err(ApiError::too_many_requests(
                "Cannot evict pod as it would violate the pod's disruption budget.",
                Some((
                    "DisruptionBudget",
                    format!(
                        "The disruption budget {} needs {desired} healthy pods and has {healthy} currently",
                        name_of(pdb)
                    ),
                )),
            ));
        }
    }
    if !dry_run {
        w.event(
            &pod,
            false,
            "Evicted",
            "Evicted by the eviction API",
            "eviction",
        );
        w.delete(idx::PODS, ns, name)?;
    }
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
    ))
}

fn log(w: &World, ns: &str, name: &str, q: &Params) -> Result<Response, ApiError> {
    let pod = w
        .get(idx::PODS, ns, name)
        .ok_or_else(|| ApiError::not_found(&RESOURCES[idx::PODS], name))?;
    let container = q.get("container").map(String::as_str);
    let names: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    if let Some(c) = container
        && !names.contains(&c)
    {
        return Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {name}"
        )));
    }
    if container.is_none() && names.len() > 1 {
        return Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}, choose one of: {names:?}"
        )));
    }
    let previous = q.get("previous").is_some_and(|p| p == "true");
    let mut lines = w.log(pod, container, previous).unwrap_or_default();
    if previous && lines.is_empty() {
        return Err(ApiError::bad_request(format!(
            "previous terminated container \"{}\" in pod \"{name}\" not found",
            container.unwrap_or(names.first().copied().unwrap_or_default())
        )));
    }
    if let Some(since) = q.get("sinceSeconds").and_then(|t| t.parse::<i64>().ok()) {
        // Every simulated log line starts with its RFC 3339 timestamp.
        let cutoff = w.now - chrono::Duration::seconds(since);
        lines.retain(|l| {
            l.split(' ')
                .next()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .is_none_or(|t| t >= cutoff)
        });
    }
    if let Some(tail) = q.get("tailLines").and_then(|t| t.parse::<usize>().ok()) {
        let skip = lines.len().saturating_sub(tail);
        lines.drain(..skip);
    }
    let text: String = lines.into_iter().map(|l| l + "\n").collect();
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], text).into_response())
}

async fn metrics(State(sim): State<Sim>) -> Response {
    let text = crate::metrics::render(&sim.world());
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        text,
    )
        .into_response()
}

/// The resource metrics API metrics-server serves (what `kubectl top` and autoscalers read).
const METRICS_API: &str = "/apis/metrics.k8s.io/v1beta1";

async fn metrics_resources() -> axum::Json<Value> {
    axum::Json(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "metrics.k8s.io/v1beta1",
        "resources": [{"name": "pods", "singularName": "", "namespaced": true, "kind": "PodMetrics", "verbs": ["get", "list"]}]}),
    )
}

async fn pod_metrics_list(
    State(sim): State<Sim>,
    ns: Option<Path<String>>,
    Query(q): Query<Params>,
) -> Response {
    let labels = match LabelSelector::parse(q.get("labelSelector").map_or("", String::as_str)) {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    let w = sim.world();
    let items: Vec<Value> = w
        .list(idx::PODS, ns.as_ref().map(|Path(ns)| ns.as_str()))
        .filter(|p| labels.matches(p))
        .filter_map(|p| crate::traffic::pod_metrics(&w, p))
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {}, "items": items}),
    )
}

async fn pod_metrics_get(
    State(sim): State<Sim>,
    Path((ns, name)): Path<(String, String)>,
) -> Response {
    let w = sim.world();
    match w
        .get(idx::PODS, &ns, &name)
        .and_then(|p| crate::traffic::pod_metrics(&w, p))
    {
        Some(m) => json_response(StatusCode::OK, &m),
        None => ApiError {
            code: 404,
            reason: "NotFound",
            message: format!("podmetrics.metrics.k8s.io \"{name}\" not found"),
            details: None,
        }
        .into_response(),
    }
}

async fn list_faults(State(sim): State<Sim>) -> axum::Json<Value> {
    axum::Json(json!(sim.world().faults))
}

async fn add_fault(State(sim): State<Sim>, body: Bytes) -> Response {
    match serde_json::from_slice::<Fault>(&body) {
        Ok(f) if f.invalid().is_some() => ApiError::bad_request(format!(
            "invalid fault: {}",
            f.invalid().unwrap_or_default()
        ))
        .into_response(),
        Ok(f) => {
            let id = sim.world().add_fault(f);
            json_response(StatusCode::CREATED, &json!({"id": id}))
        }
        Err(e) => ApiError::bad_request(format!("invalid fault: {e}")).into_response(),
    }
}

async fn clear_fault(State(sim): State<Sim>, Path(id): Path<String>) -> Response {
    if sim.world().clear_fault(&id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        ApiError {
            code: 404,
            reason: "NotFound",
            message: format!("fault {id:?} not found"),
            details: None,
        }
        .into_response()
    }
}
