//! The container runtime for containers whose image is the sample app: each one is a local
//! process of the sample-app binary. Its pod IP is an address in 127.0.0.0/8 that the process
//! binds, its log is its stdout and stderr, readiness is its HTTP readiness probe, a crash or an
//! OOM kill (resident memory past the container's limit) is the process exiting, and kube-sim's
//! faults reach it through the app's fault switches (`FAULT_*` at start, `PUT /admin/faults`
//! while it runs). Every process is stopped by PID: SIGTERM, then SIGKILL after the grace period.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Lines of a container's log that are kept.
const LOG_LINES: usize = 1000;
/// How often a process's readiness is probed and its fault switches synced.
const PROBE_PERIOD: Duration = Duration::from_millis(500);
/// SIGTERM to SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

/// Which containers run as processes (the scenario's `processes:`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessSettings {
    /// Image repositories (without the tag) that run as processes, e.g.
    /// `ghcr.io/selfheal/sample-app`.
    pub images: Vec<String>,
    /// The sample-app binary. The CLI's `--sample-app` sets it, or finds it next to itself.
    #[serde(default)]
    pub binary: Option<PathBuf>,
}

impl ProcessSettings {
    /// Whether containers of `image` run as processes.
    pub fn runs(&self, image: &str) -> bool {
        let repo = image.split('@').next().unwrap_or(image);
        let repo = match repo.rsplit_once(':') {
            Some((r, tag)) if !tag.contains('/') => r,
            _ => repo,
        };
        self.images.iter().any(|i| i == repo)
    }
}

/// The sample app's fault switches, as `PUT /admin/faults` takes them (the field names are the
/// app's; its endpoint refuses unknown fields, so a mismatch fails loudly).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Switches {
    /// Added to every request, in milliseconds.
    pub latency_ms: u64,
    /// The share of requests answered with a 503.
    pub error_rate: f64,
    /// Cores kept busy.
    pub cpu_burn: f64,
    /// Memory allocated each second, in MiB.
    pub memory_growth_mib_per_s: u64,
    /// Exit right after starting.
    pub crash_on_start: bool,
    /// The downstream refuses connections.
    pub dependency_unreachable: bool,
    /// The readiness probe fails.
    pub not_ready: bool,
}

impl Switches {
    /// The same switches as `FAULT_*` environment variables, for a process's start.
    fn env(&self) -> Vec<(String, String)> {
        [
            ("FAULT_LATENCY_MS", self.latency_ms.to_string()),
            ("FAULT_ERROR_RATE", self.error_rate.to_string()),
            ("FAULT_CPU_BURN", self.cpu_burn.to_string()),
            (
                "FAULT_MEMORY_GROWTH_MIB_PER_S",
                self.memory_growth_mib_per_s.to_string(),
            ),
            ("FAULT_CRASH_ON_START", self.crash_on_start.to_string()),
            (
                "FAULT_DEPENDENCY_UNREACHABLE",
                self.dependency_unreachable.to_string(),
            ),
            ("FAULT_NOT_READY", self.not_ready.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// How to start one container's process.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    /// The container's args (the binary is the image's entrypoint).
    pub args: Vec<String>,
    /// The container's environment, hostnames already resolved.
    pub env: Vec<(String, String)>,
    /// The readiness probe's address and path; ready once running when there is none.
    pub probe: Option<(SocketAddr, String)>,
    /// Consecutive failed probes before a ready container is unready (the probe's
    /// failureThreshold, 3 by default as the kubelet has it).
    pub failure_threshold: u32,
    /// The memory limit in bytes.
    pub memory_limit: Option<u64>,
    /// The fault switches to start with.
    pub switches: Switches,
}

/// What a process is doing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum State {
    /// Running; ready when its probe passes.
    Running {
        /// The readiness probe's last answer.
        ready: bool,
    },
    /// Exited with this code (128 + the signal when killed).
    Exited {
        /// The exit code.
        code: i32,
        /// Killed for using more memory than its limit.
        oom: bool,
    },
}

/// What the prober thread and the runtime share about one process.
#[derive(Default)]
struct Shared {
    ready: AtomicBool,
    stop: AtomicBool,
    /// Switches to PUT, until a PUT succeeds.
    pending: Mutex<Option<String>>,
    log: Mutex<VecDeque<String>>,
    /// The log pipe is closed: every line is in `log`.
    eof: AtomicBool,
}

impl Shared {
    fn lines(&self) -> Vec<String> {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().cloned().collect()
    }
}

struct Process {
    child: Child,
    shared: Arc<Shared>,
    switches: Switches,
    memory_limit: Option<u64>,
    oom: bool,
}

/// The processes kube-sim runs, by container key (`uid/container`).
pub(crate) struct Runtime {
    pub settings: ProcessSettings,
    /// Off while a cluster is built in fast sim time; on once it is served in real time.
    pub live: bool,
    /// Mixed into the addresses this sim hands out, so two sims on one machine (uids repeat
    /// from sim to sim) do not bind the same ones.
    pub salt: u64,
    procs: HashMap<String, Process>,
    /// Stopped processes waiting to exit: SIGKILL at the deadline.
    stopping: Vec<(Child, Instant)>,
}

/// The key of a pod's container.
pub(crate) fn key(uid: &str, container: &str) -> String {
    format!("{uid}/{container}")
}

impl Runtime {
    pub fn new(settings: ProcessSettings) -> Runtime {
        Runtime {
            settings,
            live: false,
            salt: fastrand::u64(..),
            procs: HashMap::new(),
            stopping: Vec::new(),
        }
    }

    /// Whether containers of `image` run as processes now (live, and the image is one of them).
    pub fn runs(&self, image: &str) -> bool {
        self.live && self.settings.runs(image)
    }

    /// The log of the container's running process (its last lines), read when asked for.
    pub fn log(&self, key: &str) -> Option<Vec<String>> {
        self.procs.get(key).map(|p| p.shared.lines())
    }

    /// Whether the container has a process.
    pub fn has(&self, key: &str) -> bool {
        self.procs.contains_key(key)
    }

    /// PIDs of the running processes.
    pub fn pids(&self) -> Vec<u32> {
        self.procs.values().map(|p| p.child.id()).collect()
    }

    /// Starts the container's process.
    pub fn start(&mut self, key: &str, launch: Launch) -> std::io::Result<()> {
        let binary = self
            .settings
            .binary
            .clone()
            .ok_or_else(|| std::io::Error::other("no sample-app binary configured"))?;
        let (reader, writer) = std::io::pipe()?;
        let child = Command::new(&binary)
            .args(&launch.args)
            .env_clear()
            .envs(launch.switches.env())
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(writer.try_clone()?)
            .stderr(writer)
            .spawn()?;
        let shared = Arc::new(Shared::default());
        let sink = Arc::clone(&shared);
        std::thread::spawn(move || {
            for line in BufReader::new(reader).lines() {
                let Ok(line) = line else { break };
                let mut log = sink.log.lock().unwrap_or_else(|p| p.into_inner());
                if log.len() == LOG_LINES {
                    log.pop_front();
                }
                log.push_back(line);
            }
            sink.eof.store(true, Ordering::Relaxed);
        });
        let prober = Arc::clone(&shared);
        let (probe, threshold) = (launch.probe.clone(), launch.failure_threshold.max(1));
        std::thread::spawn(move || probe_loop(probe, threshold, &prober));
        self.procs.insert(
            key.to_owned(),
            Process {
                child,
                shared,
                switches: launch.switches,
                memory_limit: launch.memory_limit,
                oom: false,
            },
        );
        Ok(())
    }

    /// The process's state, with its final log once it exited (a running one's is read on
    /// demand, [`Runtime::log`]); kills it when its memory passes the limit. `None` when the
    /// container has no process. An exited process is forgotten after this reports it.
    pub fn observe(&mut self, key: &str) -> Option<(State, Vec<String>)> {
        let p = self.procs.get_mut(key)?;
        if let (Some(limit), Some(rss)) = (p.memory_limit, resident_bytes(p.child.id()))
            && rss > limit
        {
            p.oom = true;
            let _ = p.child.kill();
        }
        let state = match p.child.try_wait() {
            Ok(None) => {
                let ready = p.shared.ready.load(Ordering::Relaxed);
                return Some((State::Running { ready }, Vec::new()));
            }
            Ok(Some(status)) => State::Exited {
                code: exit_code(status),
                oom: p.oom,
            },
            Err(_) => State::Exited {
                code: 1,
                oom: p.oom,
            },
        };
        let p = self.procs.remove(key)?;
        p.shared.stop.store(true, Ordering::Relaxed);
        // The last lines may still be in the pipe: let the reader reach its end.
        let deadline = Instant::now() + Duration::from_millis(200);
        while !p.shared.eof.load(Ordering::Relaxed) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        Some((state, p.shared.lines()))
    }

    /// Sets the process's fault switches (sent by its prober when they change).
    pub fn set_switches(&mut self, key: &str, switches: Switches) {
        let Some(p) = self.procs.get_mut(key) else {
            return;
        };
        if p.switches != switches {
            if let Ok(body) = serde_json::to_string(&switches) {
                *p.shared.pending.lock().unwrap_or_else(|e| e.into_inner()) = Some(body);
            }
            p.switches = switches;
        }
    }

    /// Whether the process started without crashing on start, while the switches now ask for it.
    pub fn started_healthy(&self, key: &str) -> bool {
        self.procs
            .get(key)
            .is_some_and(|p| !p.switches.crash_on_start)
    }

    /// Kills the process at once (a container kill): it exits 137.
    pub fn kill(&mut self, key: &str) {
        if let Some(p) = self.procs.get_mut(key) {
            let _ = p.child.kill();
        }
    }

    /// Stops every process of the pod: SIGTERM now, SIGKILL after the grace period.
    pub fn stop_pod(&mut self, uid: &str) {
        let prefix = format!("{uid}/");
        let keys: Vec<String> = self
            .procs
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .cloned()
            .collect();
        for k in keys {
            if let Some(p) = self.procs.remove(&k) {
                p.shared.stop.store(true, Ordering::Relaxed);
                terminate(&p.child);
                self.stopping.push((p.child, Instant::now() + GRACE));
            }
        }
        self.reap();
    }

    /// Reaps stopped processes; SIGKILLs those past their grace period.
    pub fn reap(&mut self) {
        let now = Instant::now();
        self.stopping.retain_mut(|(child, deadline)| {
            if matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
                return false;
            }
            if now >= *deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            true
        });
    }

    /// Stops every process and waits for them (kube-sim stops). No process starts after: the
    /// kubelet would otherwise restart them on its next step, while kube-sim exits.
    pub fn stop_all(&mut self) {
        self.live = false;
        let uids: Vec<String> = self
            .procs
            .keys()
            .filter_map(|k| k.split_once('/').map(|(u, _)| u.to_owned()))
            .collect();
        for uid in uids {
            self.stop_pod(&uid);
        }
        while !self.stopping.is_empty() {
            std::thread::sleep(Duration::from_millis(20));
            self.reap();
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// SIGTERM, as the kubelet stops a container.
fn terminate(child: &Child) {
    let pid = rustix::process::Pid::from_child(child);
    let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// Resident memory of a process (VmRSS), as the kernel counts it against a cgroup's limit.
fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Probes readiness and sends pending switches, every [`PROBE_PERIOD`], until stopped. Ready
/// after a passing probe; unready after `threshold` failing ones in a row (one slow answer on a
/// busy machine does not take a pod out of its Service).
fn probe_loop(probe: Option<(SocketAddr, String)>, threshold: u32, shared: &Shared) {
    let admin = probe.as_ref().map(|(a, _)| *a);
    let mut failures = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        let passed = match &probe {
            // The kubelet's HTTP probe: any status from 200 to 399 passes.
            Some((addr, path)) => {
                http(*addr, "GET", path, "").is_ok_and(|c| (200..400).contains(&c))
            }
            None => true,
        };
        failures = if passed { 0 } else { failures + 1 };
        if passed {
            shared.ready.store(true, Ordering::Relaxed);
        } else if failures >= threshold {
            shared.ready.store(false, Ordering::Relaxed);
        }
        let pending = shared
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let (Some(body), Some(addr)) = (pending, admin)
            && http(addr, "PUT", "/admin/faults", &body).is_ok_and(|c| c == 200)
        {
            let mut slot = shared.pending.lock().unwrap_or_else(|e| e.into_inner());
            if slot.as_deref() == Some(body.as_str()) {
                *slot = None;
            }
        }
        std::thread::sleep(PROBE_PERIOD);
    }
}

/// One HTTP/1.1 request with a small body; the response's status code. The kubelet's probe is
/// this simple: connect, ask, read the status line.
fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> std::io::Result<u16> {
    let timeout = Duration::from_secs(1);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: kube-probe/1.33\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_runs_as_a_process_by_its_repository_whatever_the_tag() {
        let s = ProcessSettings {
            images: vec!["ghcr.io/selfheal/sample-app".into()],
            binary: None,
        };
        assert!(s.runs("ghcr.io/selfheal/sample-app:0.1.0"));
        assert!(s.runs("ghcr.io/selfheal/sample-app"));
        assert!(s.runs("ghcr.io/selfheal/sample-app@sha256:abc"));
        assert!(!s.runs("ghcr.io/selfheal/backend:2.1.0"));
        assert!(!s.runs("localhost:5000/sample-app:1"));
    }
}
