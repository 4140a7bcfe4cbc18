//! Compiles the runbook catalog and the guardrail policy (statemachines/) into selfheal-core, so
//! every Lambda and the CLI decide with exactly the catalog they were built with, and need no
//! files at run time.

use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"))
        .join("../../statemachines");
    let runbooks = root.join("runbooks");
    println!("cargo::rerun-if-changed={}", runbooks.display());
    println!(
        "cargo::rerun-if-changed={}",
        root.join("policy.yaml").display()
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(&runbooks)
        .expect("statemachines/runbooks")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    let mut out =
        String::from("/// The runbook files, by name.\npub const RUNBOOKS: &[(&str, &str)] = &[\n");
    for f in &files {
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 file name");
        let path = f.canonicalize().expect("runbook path");
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("write to String");
    }
    out.push_str("];\n");
    let policy = root
        .join("policy.yaml")
        .canonicalize()
        .expect("statemachines/policy.yaml");
    writeln!(
        out,
        "/// statemachines/policy.yaml.\npub const POLICY: &str = include_str!({:?});",
        policy.display().to_string()
    )
    .expect("write to String");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("embedded.rs");
    std::fs::write(dest, out).expect("write embedded.rs");
}
