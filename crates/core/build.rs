//! Compiles the runbook catalog and the guardrail policy (statemachines/) into selfheal-core, so
//! every Lambda and the CLI decide with exactly the catalog they were built with and need no files
//! at run time. The YAML is turned into JSON here, at build time, so no binary needs a YAML
//! parser to read them; a YAML file that does not parse fails the build.

use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The file's YAML as JSON text.
fn json_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read a statemachines/ file");
    let value: serde_json::Value = serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
    value.to_string()
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"))
        .join("../../statemachines");
    let runbooks = root.join("runbooks");
    let policy = root.join("policy.yaml");
    println!("cargo::rerun-if-changed={}", runbooks.display());
    println!("cargo::rerun-if-changed={}", policy.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&runbooks)
        .expect("statemachines/runbooks")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    let mut out = String::from(
        "/// The runbook files, by name, as JSON.\npub const RUNBOOKS: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        println!("cargo::rerun-if-changed={}", f.display());
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 file name");
        writeln!(out, "    ({name:?}, {:?}),", json_of(f)).expect("write to String");
    }
    out.push_str("];\n");
    writeln!(
        out,
        "/// statemachines/policy.yaml, as JSON.\npub const POLICY: &str = {:?};",
        json_of(&policy)
    )
    .expect("write to String");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("embedded.rs");
    std::fs::write(dest, out).expect("write embedded.rs");
}
