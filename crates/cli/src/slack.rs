//! `selfheal slack FILE`: the lab's Slack messages (JSON lines), rendered for the terminal.

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};

/// Prints every message in `path`; with `follow`, then waits for more, as `tail -f` does.
pub fn show(path: &Path, follow: bool) -> Result<ExitCode> {
    let mut offset = 0;
    loop {
        match std::fs::File::open(path) {
            Ok(mut file) => {
                file.seek(SeekFrom::Start(offset))?;
                let mut reader = BufReader::new(file);
                let mut line = String::new();
                // Only whole lines: a message being written is read on the next pass.
                while reader.read_line(&mut line)? > 0 && line.ends_with('\n') {
                    offset += line.len() as u64;
                    match serde_json::from_str(&line) {
                        Ok(message) => println!("\n{}\n", selfheal_slack::render(&message)),
                        Err(e) => eprintln!("{}: a line that is not JSON: {e}", path.display()),
                    }
                    line.clear();
                }
            }
            Err(e) if follow && e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
        if !follow {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}
