//! Test support shared by every crate's integration tests: the real servers they run against,
//! each started on a free loopback port with its state in a temporary directory and stopped when
//! the handle drops (moto from pip `moto[server]`, Prometheus and Alertmanager from Debian;
//! scripts/test installs all three); the sample cluster (kube-sim serving
//! chaos/clusters/three-tier.yaml) with a kube client; waiting on a condition; repository paths.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use selfheal_kube_sim::{Scenario, Sim};

/// A path in the repository (tests run from their crate's directory).
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// How long a test waits for a condition before it fails instead of hanging.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// What `probe` finds within [`PATIENCE`], polled every 10 ms from async code.
pub async fn eventually<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// [`eventually`] for a probe that is itself async (an HTTP or SDK call).
pub async fn eventually_async<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// [`eventually`] for blocking tests (those that drive a child process).
pub fn until<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The sample cluster served over HTTP, and a kube client for it.
pub struct Cluster {
    /// The simulation (advance its time, inject faults).
    pub sim: Sim,
    /// The real kube client, without retries: a 429 or 409 comes back to the test at once.
    pub client: kube::Client,
    /// Where it serves: `http://127.0.0.1:PORT`.
    pub url: String,
}

/// chaos/clusters/three-tier.yaml at sim time `start`, served at `speed` (0: the test advances
/// time with `Sim::advance`), with `shop` as the client's default namespace.
pub async fn three_tier(start: DateTime<Utc>, speed: f64) -> Cluster {
    serve(&three_tier_scenario(), start, speed).await
}

/// chaos/clusters/three-tier.yaml, to change before serving it.
pub fn three_tier_scenario() -> Scenario {
    let text = std::fs::read_to_string(repo("chaos/clusters/three-tier.yaml"))
        .expect("chaos/clusters/three-tier.yaml");
    Scenario::from_yaml(&text).expect("the three-tier scenario")
}

/// `scenario` at sim time `start`, served at `speed`, with `shop` as the client's default
/// namespace.
pub async fn serve(scenario: &Scenario, start: DateTime<Utc>, speed: f64) -> Cluster {
    let sim = Sim::new(scenario, start).expect("the cluster");
    let url = sim.spawn(speed).await.expect("kube-sim serves");
    let mut config = kube::Config::new(url.parse().expect("a URL"));
    config.default_namespace = "shop".into();
    // kube retries 429 for minutes by default; a PDB-blocked eviction must come back at once.
    config.default_retry = false;
    let client = kube::Client::try_from(config).expect("a kube client");
    Cluster { sim, client, url }
}

/// A server process and its scratch directory; both go away on drop.
pub struct Server {
    child: Child,
    dir: tempfile::TempDir,
    /// Where it listens: `http://127.0.0.1:PORT`.
    pub url: String,
    /// The port.
    pub port: u16,
}

impl Server {
    /// The scratch directory (configuration, storage).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The AWS SDK configuration for a moto server: its endpoint, us-east-1, moto's test
    /// credentials.
    pub async fn aws_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .load()
            .await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fails with promtool's complaint unless `text` is valid Prometheus exposition
/// (`promtool check metrics`: format, names, HELP and TYPE lines, histogram buckets).
pub fn promtool_check_metrics(text: &str) {
    use std::io::Write;
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; scripts/test installs it)");
    promtool
        .stdin
        .take()
        .expect("promtool's stdin")
        .write_all(text.as_bytes())
        .expect("promtool reads the metrics");
    let out = promtool.wait_with_output().expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Starts `program` with `args(dir, port)` (and the port in the environment variable
/// `port_env`, when given) and waits until the port accepts connections.
async fn start(
    program: &str,
    package: &str,
    args: impl FnOnce(&Path, u16) -> Vec<String>,
    port_env: Option<&str>,
) -> Server {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let port = free_port();
    let mut command = Command::new(program);
    if let Some(name) = port_env {
        command.env(name, port.to_string());
    }
    let child = command
        .args(args(dir.path(), port))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{program} ({package}) must be installed; scripts/test installs it: {e}")
        });
    let server = Server {
        child,
        dir,
        url: format!("http://127.0.0.1:{port}"),
        port,
    };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{program} did not listen on {port} within 10 s");
}

/// A moto server (its own `MOTO_PORT`, so its Step Functions interpreter calls back to it).
pub async fn moto() -> Server {
    start(
        "moto_server",
        "pip moto[server]",
        |_, p| vec!["-H".into(), "127.0.0.1".into(), "-p".into(), p.to_string()],
        Some("MOTO_PORT"),
    )
    .await
}

/// A Prometheus with `config` (prometheus.yml) as its configuration.
pub async fn prometheus(config: &str) -> Server {
    let config = config.to_owned();
    start(
        "prometheus",
        "Debian package prometheus",
        move |dir, port| {
            std::fs::write(dir.join("prometheus.yml"), &config).expect("write prometheus.yml");
            vec![
                format!("--config.file={}", dir.join("prometheus.yml").display()),
                format!("--storage.tsdb.path={}", dir.join("data").display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
                // The lab's virtual-time Prometheus writes its samples in.
                "--web.enable-remote-write-receiver".into(),
            ]
        },
        None,
    )
    .await
}

/// An Alertmanager with `config` (alertmanager.yml), clustering off.
pub async fn alertmanager(config: &str) -> Server {
    let config = config.to_owned();
    start(
        "prometheus-alertmanager",
        "Debian package prometheus-alertmanager",
        move |dir, port| {
            std::fs::write(dir.join("alertmanager.yml"), &config).expect("write alertmanager.yml");
            vec![
                format!("--config.file={}", dir.join("alertmanager.yml").display()),
                format!("--storage.path={}", dir.join("data").display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--cluster.listen-address=".into(),
            ]
        },
        None,
    )
    .await
}
