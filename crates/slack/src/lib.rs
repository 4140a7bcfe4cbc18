//! Where Slack messages go: the Web API with a bot token (`chat.postMessage`, so an incident's
//! messages can thread under its first), an incoming webhook, or, locally, a file of JSON lines.

use std::io::Write;
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use serde_json::{Value, json};

/// One HTTP client per process: its connection pool and TLS set-up serve every message.
static HTTP: LazyLock<reqwest::Client> = LazyLock::new(reqwest::Client::new);

/// How long a post may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// A message could not be posted.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    /// The request failed or Slack answered with an error.
    #[error("slack: {0}")]
    Post(String),
    /// The local file could not be written.
    #[error("slack file: {0}")]
    File(#[from] std::io::Error),
}

/// A Slack destination.
#[derive(Debug, Clone)]
pub enum Slack {
    /// The Web API: `chat.postMessage` to `channel` with a bot token. `api` is
    /// `https://slack.com/api` (a local server in tests).
    Bot {
        /// Base URL of the Web API.
        api: String,
        /// `xoxb-` token.
        token: String,
        /// Channel id.
        channel: String,
    },
    /// An incoming webhook URL (no threads).
    Webhook(String),
    /// One JSON line per message (the lab; `selfheal` renders them in the terminal).
    File(PathBuf),
}

impl Slack {
    /// The destination the environment names: SLACK_BOT_TOKEN_SECRET_ID with SLACK_CHANNEL (the
    /// Web API, threads), or SLACK_WEBHOOK_SECRET_ID; `None` when neither is set. `secret`
    /// reads a secret by id (Secrets Manager in Lambda).
    pub async fn from_env<F, Fut, E>(secret: F) -> Result<Option<Slack>, String>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<String, E>>,
        E: std::fmt::Display,
    {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let read = |id: String| {
            let fetched = secret(id.clone());
            async move { fetched.await.map_err(|e| format!("secret {id}: {e}")) }
        };
        if let Some(id) = var("SLACK_BOT_TOKEN_SECRET_ID") {
            let channel = var("SLACK_CHANNEL")
                .ok_or("SLACK_BOT_TOKEN_SECRET_ID is set without SLACK_CHANNEL")?;
            return Ok(Some(Slack::Bot {
                api: "https://slack.com/api".into(),
                token: read(id).await?,
                channel,
            }));
        }
        match var("SLACK_WEBHOOK_SECRET_ID") {
            Some(id) => Ok(Some(Slack::Webhook(read(id).await?))),
            None => Ok(None),
        }
    }

    /// Posts `message` (a Block Kit payload: `text` and `blocks`), in the thread of `thread_ts`
    /// when given and supported. Returns the message's `ts` when Slack gives one.
    pub async fn post(
        &self,
        message: &Value,
        thread_ts: Option<&str>,
    ) -> Result<Option<String>, SlackError> {
        match self {
            Slack::Bot {
                api,
                token,
                channel,
            } => {
                let mut body = message.clone();
                body["channel"] = json!(channel);
                if let Some(ts) = thread_ts {
                    body["thread_ts"] = json!(ts);
                }
                let answer: Value = HTTP
                    .post(format!("{api}/chat.postMessage"))
                    .timeout(TIMEOUT)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .map_err(post_error)?
                    .json()
                    .await
                    .map_err(post_error)?;
                // The Web API answers 200 with ok=false on errors.
                if answer["ok"] != json!(true) {
                    return Err(SlackError::Post(format!(
                        "chat.postMessage: {}",
                        answer["error"].as_str().unwrap_or("unknown error")
                    )));
                }
                Ok(answer["ts"].as_str().map(str::to_owned))
            }
            Slack::Webhook(url) => {
                let response = HTTP
                    .post(url)
                    .timeout(TIMEOUT)
                    .json(message)
                    .send()
                    .await
                    .map_err(post_error)?;
                if !response.status().is_success() {
                    return Err(SlackError::Post(format!(
                        "webhook answered {}",
                        response.status()
                    )));
                }
                Ok(None)
            }
            Slack::File(path) => {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?;
                let mut line = message.clone();
                if let Some(ts) = thread_ts {
                    line["thread_ts"] = json!(ts);
                }
                writeln!(file, "{line}")?;
                Ok(None)
            }
        }
    }
}

/// A failed request as text without its URL: an incoming webhook's URL is a credential, and
/// reqwest names the URL in its errors; it must reach neither logs nor the workflow's history.
fn post_error(e: reqwest::Error) -> SlackError {
    SlackError::Post(e.without_url().to_string())
}

/// Text from outside (an alert's annotations, an LLM's answer, an API's error) made safe for
/// mrkdwn: `&`, `<` and `>` escaped as Slack asks (no links, no `<@user>` or `<!channel>`
/// mentions); the formatting marks `*`, `~` and `` ` ``, an `_` that could open or close italics
/// and the `@` of a bare `@channel`, `@here` or `@everyone` broken with a zero-width space, so
/// they format and notify nothing they did not earn. An `_` inside a word (`DB_PASSWORD`) and the
/// `@` of an address are left alone: the messages are redacted after they are built, and the
/// redactor must still recognise them.
pub fn escape(text: &str) -> String {
    const ZWSP: char = '\u{200B}';
    let chars: Vec<char> = text.chars().collect();
    let word = |i: Option<usize>| {
        i.and_then(|i| chars.get(i))
            .is_some_and(|c| c.is_alphanumeric())
    };
    let mut out = String::with_capacity(text.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '*' | '~' | '`' => {
                out.push(c);
                out.push(ZWSP);
            }
            '_' if !(word(i.checked_sub(1)) && word(Some(i + 1))) => {
                out.push(c);
                out.push(ZWSP);
            }
            '@' if ["channel", "here", "everyone"].iter().any(|w| {
                let rest: String = chars[i + 1..].iter().take(w.len()).collect();
                rest.eq_ignore_ascii_case(w)
            }) =>
            {
                out.push(c);
                out.push(ZWSP);
            }
            c => out.push(c),
        }
    }
    out
}

/// A Block Kit message as terminal text: the header underlined, sections and fields as
/// paragraphs, context lines indented, buttons in brackets. Slack's `*bold*` and `` `code` ``
/// marks are kept: they read well as they are.
pub fn render(message: &Value) -> String {
    let mut out = vec![];
    let thread = message["thread_ts"]
        .as_str()
        .map(|ts| format!("  ↳ in thread {ts}"));
    let blocks = message["blocks"].as_array().cloned().unwrap_or_default();
    if blocks.is_empty() {
        out.extend(message["text"].as_str().map(str::to_owned));
    }
    for block in &blocks {
        match block["type"].as_str() {
            Some("header") => {
                let title = block["text"]["text"].as_str().unwrap_or_default();
                out.push(title.to_owned());
                out.push("─".repeat(title.chars().count().min(80)));
                out.extend(thread.clone());
            }
            Some("section") => {
                out.extend(block["text"]["text"].as_str().map(str::to_owned));
                for field in block["fields"].as_array().into_iter().flatten() {
                    out.extend(field["text"].as_str().map(str::to_owned));
                }
            }
            Some("context") => {
                for element in block["elements"].as_array().into_iter().flatten() {
                    out.extend(element["text"].as_str().map(|t| format!("  {t}")));
                }
            }
            Some("actions") => {
                let buttons: Vec<String> = block["elements"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|b| b["text"]["text"].as_str())
                    .map(|t| format!("[ {t} ]"))
                    .collect();
                out.push(buttons.join(" "));
            }
            _ => {}
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn block_kit_renders_as_terminal_text() {
        let message = json!({"text": "fallback", "thread_ts": "1.2", "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Remediated"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Cause:* `app-crash`"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "incident `inc-1`"}]},
            {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Approve"}},
                                              {"type": "button", "text": {"type": "plain_text", "text": "Reject"}}]},
        ]});
        assert_eq!(
            render(&message),
            "Remediated\n──────────\n  ↳ in thread 1.2\n*Cause:* `app-crash`\n  incident `inc-1`\n[ Approve ] [ Reject ]"
        );
        assert_eq!(render(&json!({"text": "plain"})), "plain");
    }

    use std::sync::{Arc, Mutex};

    use axum::Json;
    use axum::extract::State;
    use axum::http::HeaderMap;
    use axum::routing::post;

    use super::*;

    type Seen = Arc<Mutex<Vec<(Option<String>, Value)>>>;

    async fn server(answer: Value) -> (String, Seen) {
        let seen = Seen::default();
        let app = axum::Router::new()
            .route(
                "/api/chat.postMessage",
                post(
                    |State((seen, answer)): State<(Seen, Value)>,
                     headers: HeaderMap,
                     Json(body): Json<Value>| async move {
                        let auth = headers
                            .get("authorization")
                            .map(|v| v.to_str().unwrap().to_owned());
                        seen.lock().unwrap().push((auth, body));
                        Json(answer)
                    },
                ),
            )
            .with_state((seen.clone(), answer));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, seen)
    }

    #[tokio::test]
    async fn the_web_api_gets_the_channel_token_and_thread() {
        let (url, seen) = server(json!({"ok": true, "ts": "1732570000.000100"})).await;
        let slack = Slack::Bot {
            api: format!("{url}/api"),
            token: "xoxb-test".into(),
            channel: "C0123".into(),
        };
        let ts = slack
            .post(
                &json!({"text": "hi", "blocks": []}),
                Some("1732569999.000001"),
            )
            .await
            .unwrap();
        assert_eq!(ts.as_deref(), Some("1732570000.000100"));
        let (auth, body) = seen.lock().unwrap()[0].clone();
        assert_eq!(auth.as_deref(), Some("Bearer xoxb-test"));
        assert_eq!(
            (body["channel"].as_str(), body["thread_ts"].as_str()),
            (Some("C0123"), Some("1732569999.000001"))
        );
        let (url, _) = server(json!({"ok": false, "error": "channel_not_found"})).await;
        let slack = Slack::Bot {
            api: format!("{url}/api"),
            token: "t".into(),
            channel: "C".into(),
        };
        let err = slack.post(&json!({"text": "hi"}), None).await.unwrap_err();
        assert!(err.to_string().contains("channel_not_found"), "{err}");
    }

    #[tokio::test]
    async fn the_file_gets_one_line_per_message() {
        let dir = tempfile::tempdir().unwrap();
        let slack = Slack::File(dir.path().join("slack.jsonl"));
        slack.post(&json!({"text": "one"}), None).await.unwrap();
        slack
            .post(&json!({"text": "two"}), Some("t1"))
            .await
            .unwrap();
        let text = std::fs::read_to_string(dir.path().join("slack.jsonl")).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["thread_ts"], "t1");
    }

    #[tokio::test]
    async fn an_unreachable_webhook_is_an_error_that_does_not_tell_its_url() {
        let port = selfheal_testkit::free_port();
        // The path of an incoming webhook is its credential.
        let secret = "T0001/B0002/XXXXXXXXXXXXXXXXXXXXXXXX";
        let slack = Slack::Webhook(format!("http://127.0.0.1:{port}/services/{secret}"));
        let err = slack.post(&json!({"text": "x"}), None).await.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(
            !text.contains(secret) && !text.contains("services/"),
            "{text}"
        );
    }

    #[test]
    fn outside_text_cannot_link_mention_or_format() {
        let hostile =
            "<!channel> see <https://evil.example|the fix> *now* `rm` _x_ ~y~ @here & <@U1>";
        let safe = escape(hostile);
        for bad in [
            "<!channel>",
            "<https://",
            "<@U1>",
            "*now*",
            "`rm`",
            "_x_",
            "~y~",
            "@here",
        ] {
            assert!(!safe.contains(bad), "{bad} survived in {safe}");
        }
        assert!(
            safe.contains("&lt;!channel&gt;") && safe.contains("&amp;"),
            "{safe}"
        );
        // What is left reads the same once the zero-width spaces are gone.
        let visible: String = safe.chars().filter(|c| *c != '\u{200B}').collect();
        assert!(
            visible.contains("see &lt;https://evil.example|the fix&gt; *now*"),
            "{visible}"
        );
        assert_eq!(
            escape("backend-7d9f in shop: OOMKilled"),
            "backend-7d9f in shop: OOMKilled"
        );
    }
}
