//! kube-proxy for processes: each Service with a loopback cluster IP gets a TCP listener on
//! `clusterIP:port` that forwards every connection to one of its ready endpoints (the selected,
//! Ready pods' IPs and target port), round robin, as kube-proxy's rules do.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::Sim;
use crate::controllers::process::container_port;
use crate::object::{is_ready, name_of, namespace_of, uid_of};
use crate::resources::idx;
use crate::selector::LabelSelector;
use crate::world::World;

/// One Service port: where it listens and how to find its endpoints.
#[derive(Debug, Clone, PartialEq)]
struct Port {
    listen: SocketAddr,
    namespace: String,
    service: String,
    target: Value,
}

/// Keeps a listener per Service port, following Services as they come and go.
pub(crate) async fn run(sim: Sim) {
    let mut open: HashMap<String, (Port, JoinHandle<()>)> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        let wanted = ports(&sim.world());
        open.retain(|key, (port, task)| {
            let keep = wanted.get(key) == Some(port);
            if !keep {
                task.abort();
            }
            keep
        });
        for (key, port) in wanted {
            if open.contains_key(&key) {
                continue;
            }
            // A port that cannot be bound now is tried again on the next tick.
            if let Ok(listener) = TcpListener::bind(port.listen).await {
                let task = tokio::spawn(serve(sim.clone(), listener, port.clone()));
                open.insert(key, (port, task));
            }
        }
    }
}

/// The Service ports to listen on, by Service uid and port.
fn ports(w: &World) -> HashMap<String, Port> {
    let mut out = HashMap::new();
    for s in w.list(idx::SERVICES, None) {
        let Some(ip) = s["spec"]["clusterIP"]
            .as_str()
            .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
            .filter(std::net::IpAddr::is_loopback)
        else {
            continue;
        };
        for p in s["spec"]["ports"].as_array().into_iter().flatten() {
            let Some(port) = p["port"].as_u64().and_then(|p| u16::try_from(p).ok()) else {
                continue;
            };
            let target = match &p["targetPort"] {
                Value::Null => Value::from(port),
                t => t.clone(),
            };
            out.insert(
                format!("{}:{port}", uid_of(s)),
                Port {
                    listen: SocketAddr::new(ip, port),
                    namespace: namespace_of(s).to_owned(),
                    service: name_of(s).to_owned(),
                    target,
                },
            );
        }
    }
    out
}

/// The Service's ready endpoints now.
fn endpoints(w: &World, port: &Port) -> Vec<SocketAddr> {
    let Some(svc) = w.get(idx::SERVICES, &port.namespace, &port.service) else {
        return Vec::new();
    };
    // A Service without a selector has no endpoints of its own.
    let labels = &svc["spec"]["selector"];
    if labels.as_object().is_none_or(serde_json::Map::is_empty) {
        return Vec::new();
    }
    let selector = LabelSelector::from_object(&serde_json::json!({ "matchLabels": labels }));
    w.list(idx::PODS, Some(&port.namespace))
        .filter(|p| selector.matches(p) && is_ready(p))
        .filter_map(|p| {
            let ip: std::net::IpAddr = p["status"]["podIP"].as_str()?.parse().ok()?;
            let target = p["spec"]["containers"]
                .as_array()?
                .iter()
                .find_map(|c| container_port(c, &port.target))?;
            Some(SocketAddr::new(ip, target))
        })
        .collect()
}

async fn serve(sim: Sim, listener: TcpListener, port: Port) {
    let next = Arc::new(AtomicUsize::new(0));
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            // Out of descriptors, say: wait rather than spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let ready = endpoints(&sim.world(), &port);
        if ready.is_empty() {
            // No endpoint: the connection is dropped, as kube-proxy rejects it.
            continue;
        }
        let to = ready[next.fetch_add(1, Ordering::Relaxed) % ready.len()];
        tokio::spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(to).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}
