//! The real servers integration tests run against, each started on a free loopback port with its
//! state in a temporary directory, and stopped when the handle drops: moto (pip `moto[server]`),
//! Prometheus and Alertmanager (Debian packages). scripts/test installs all three.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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
