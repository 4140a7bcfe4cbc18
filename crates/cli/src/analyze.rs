//! `selfheal analyze EVIDENCE.json`: the analyzer's finding for a saved bundle.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use selfheal_analyzer::analyst::{Analyst, Budget};
use selfheal_analyzer::evidence::Evidence;
use selfheal_analyzer::llm::{Kind, LlmSettings};
use selfheal_core::redact::{Options, Redactor};

use crate::Format;

/// `selfheal analyze`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The evidence bundle.
    evidence: PathBuf,
    /// How to print the finding.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Ask an LLM: anthropic, openai (and the servers that speak its API) or bedrock. The rules
    /// stand in when its answer fails a check.
    #[arg(long)]
    llm: Option<Kind>,
    /// The model.
    #[arg(long, requires = "llm")]
    model: Option<String>,
    /// The provider's base URL (an Ollama or vLLM server, say); the vendor's by default.
    #[arg(long, requires = "llm")]
    base_url: Option<String>,
    /// The API key (Anthropic, OpenAI); Bedrock signs with AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
    #[arg(long, env = "LLM_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Bedrock's region.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    region: String,
    /// Prompt and answer tokens for this analysis.
    #[arg(long, default_value_t = Budget::default().tokens)]
    token_budget: u32,
}

/// Prints the finding; exit 0, or 2 when the bundle cannot be read.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.evidence)
        .with_context(|| format!("reading {}", args.evidence.display()))?;
    let evidence = match Evidence::from_json(&text) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{}: {e}", args.evidence.display());
            return Ok(ExitCode::from(2));
        }
    };
    let evidence = evidence.redact(&mut Redactor::new(Options::default()));
    let budget = Budget {
        tokens: args.token_budget,
        ..Budget::default()
    };
    let llm = match args.llm {
        None => None,
        Some(kind) => Some(
            LlmSettings {
                kind,
                model: args.model.clone().context("--model names the model")?,
                base_url: args.base_url.clone(),
                api_key: args.api_key.clone(),
                region: args.region.clone(),
                timeout: Duration::from_secs(30),
            }
            .build()?,
        ),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let finding = runtime.block_on(Analyst::new(llm, budget).analyze(&evidence, None));
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&finding)?),
        Format::Table => {
            println!(
                "cause       {} (confidence {:.2}, {})",
                finding.cause.as_str(),
                finding.confidence,
                finding.provider
            );
            if let Some(reason) = &finding.fallback_reason {
                println!("fallback    {reason}");
            }
            println!();
            println!("{}", finding.summary);
            println!("\nkey facts");
            finding.key_facts.iter().for_each(|f| println!("  - {f}"));
            println!("\nnext steps");
            finding.next_steps.iter().for_each(|s| println!("  - {s}"));
        }
    }
    Ok(ExitCode::SUCCESS)
}
