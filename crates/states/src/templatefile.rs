//! A definition file as Terraform's `templatefile()` renders it, so the one file in
//! statemachines/ is what AWS runs (its function ARNs and table substituted by Terraform) and
//! what the executor runs (the lab's names substituted here): `${name}` is the variable's
//! value, `$${` and `%%{` are the literal `${` and `%{`, and anything else after `${` (an
//! expression) or a `%{` directive is refused rather than passed through.

use thiserror::Error;

/// Why a template cannot be rendered.
#[derive(Debug, Error, PartialEq)]
pub enum TemplateFileError {
    /// `${name}` names no variable.
    #[error("template: ${{{0}}} is not a variable (variables: {1})")]
    Unknown(String, String),
    /// An expression or a directive: this renderer takes variables only.
    #[error("template: {0:?} at byte {1} is not a plain variable reference")]
    Unsupported(String, usize),
}

/// `template` with each `${name}` replaced by `vars`' value for `name`.
pub fn render(template: &str, vars: &[(&str, &str)]) -> Result<String, TemplateFileError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    let mut at = 0;
    while let Some(i) = rest.find(['$', '%']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let (consumed, text) = if tail.starts_with("$${") || tail.starts_with("%%{") {
            (3, &tail[1..3])
        } else if let Some(expr) = tail.strip_prefix("${") {
            let end = expr.find('}').ok_or_else(|| {
                TemplateFileError::Unsupported(tail.chars().take(20).collect(), at + i)
            })?;
            let name = &expr[..end];
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || name.is_empty() {
                return Err(TemplateFileError::Unsupported(
                    format!("${{{name}}}"),
                    at + i,
                ));
            }
            let value = vars
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| *v)
                .ok_or_else(|| {
                    let known: Vec<&str> = vars.iter().map(|(k, _)| *k).collect();
                    TemplateFileError::Unknown(name.to_owned(), known.join(", "))
                })?;
            (end + 3, value)
        } else if tail.starts_with("%{") {
            return Err(TemplateFileError::Unsupported("%{".into(), at + i));
        } else {
            (1, &tail[..1])
        };
        out.push_str(text);
        rest = &tail[consumed..];
        at += i + consumed;
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_substituted_escapes_kept_and_anything_else_refused() {
        let vars = [
            ("fn", "arn:aws:lambda:eu-west-1:1:function:x"),
            ("t", "tbl"),
        ];
        assert_eq!(
            render(r#"{"F": "${fn}", "T": "${t}", "P.$": "$.x", "C": "$$.Execution.Id", "L": "$${literal} %%{d} 100%"}"#, &vars).unwrap(),
            r#"{"F": "arn:aws:lambda:eu-west-1:1:function:x", "T": "tbl", "P.$": "$.x", "C": "$$.Execution.Id", "L": "${literal} %{d} 100%"}"#
        );
        assert_eq!(
            render("${nope}", &vars).unwrap_err(),
            TemplateFileError::Unknown("nope".into(), "fn, t".into())
        );
        assert!(matches!(
            render("${upper(t)}", &vars),
            Err(TemplateFileError::Unsupported(..))
        ));
        assert!(matches!(
            render("%{ if x }", &vars),
            Err(TemplateFileError::Unsupported(..))
        ));
    }
}
