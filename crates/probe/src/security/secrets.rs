//! The workspace secrets scan: credentials and keys written into files of the project
//! (cloud keys, private key blocks, forge and chat tokens, JWTs, hard-coded `password = "…"`
//! assignments) and committed `.env` files. Matches are reported redacted.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::finding::{Finding, Severity, owasp};

/// What the secrets scan looks at.
#[derive(Debug, Clone)]
pub struct SecretsOptions {
    /// Files larger than this are skipped (generated or binary data, not configuration).
    pub max_file_bytes: u64,
    /// Directory names never entered.
    pub skip_dirs: Vec<String>,
}

impl Default for SecretsOptions {
    fn default() -> Self {
        Self {
            max_file_bytes: 1024 * 1024,
            skip_dirs: [
                ".git",
                "target",
                "node_modules",
                ".apiwright-tmp",
                ".apiwright-coverage",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        }
    }
}

/// One kind of secret the scan recognises.
struct Rule {
    id: &'static str,
    title: &'static str,
    severity: Severity,
    regex: &'static LazyLock<Regex>,
    /// Whether the match must look random (and not like a placeholder) to count.
    needs_entropy: bool,
}

macro_rules! pattern {
    ($name:ident, $re:expr) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| {
            #[allow(clippy::expect_used)]
            Regex::new($re).expect("secret pattern compiles")
        });
    };
}

pattern!(AWS_KEY, r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b");
pattern!(
    PRIVATE_KEY,
    r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"
);
pattern!(
    GITHUB_TOKEN,
    r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b"
);
pattern!(GITLAB_TOKEN, r"\bglpat-[A-Za-z0-9_\-]{20,}");
pattern!(
    SLACK_TOKEN,
    r"\bxox[abposr]-[A-Za-z0-9-]{10,}|https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,}"
);
pattern!(
    JWT,
    r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}"
);
pattern!(
    GENERIC,
    r#"(?i)[a-z0-9_.-]*(?:secret|passw(?:or)?d|api[_-]?key|access[_-]?key|auth[_-]?token|token)[a-z0-9_.-]*["']?\s*(?::|=|=>)\s*["']([^"'\s]{12,})["']"#
);

const RULES: &[Rule] = &[
    Rule {
        id: "secret-aws-access-key",
        title: "AWS access key id in the workspace",
        severity: Severity::High,
        regex: &AWS_KEY,
        needs_entropy: false,
    },
    Rule {
        id: "secret-private-key",
        title: "private key block in the workspace",
        severity: Severity::High,
        regex: &PRIVATE_KEY,
        needs_entropy: false,
    },
    Rule {
        id: "secret-github-token",
        title: "GitHub token in the workspace",
        severity: Severity::High,
        regex: &GITHUB_TOKEN,
        needs_entropy: false,
    },
    Rule {
        id: "secret-gitlab-token",
        title: "GitLab token in the workspace",
        severity: Severity::High,
        regex: &GITLAB_TOKEN,
        needs_entropy: false,
    },
    Rule {
        id: "secret-slack-token",
        title: "Slack token or webhook in the workspace",
        severity: Severity::High,
        regex: &SLACK_TOKEN,
        needs_entropy: false,
    },
    Rule {
        id: "secret-jwt",
        title: "JSON Web Token in the workspace",
        severity: Severity::Medium,
        regex: &JWT,
        needs_entropy: false,
    },
    Rule {
        id: "secret-generic-assignment",
        title: "hard-coded secret assignment",
        severity: Severity::Medium,
        regex: &GENERIC,
        needs_entropy: true,
    },
];

/// Scans the files under `root` for secrets. Unreadable directories and files are skipped;
/// findings are sorted by file and line.
pub fn scan_secrets(root: &Path, options: &SecretsOptions) -> Vec<Finding> {
    let mut files = Vec::new();
    collect_files(root, options, &mut files);
    files.sort();
    let mut findings = Vec::new();
    for file in files {
        let relative = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        if is_env_file(&file) {
            findings.push(Finding {
                id: "secret-env-file".into(),
                owasp: owasp::MISCONFIGURATION.into(),
                title: "`.env` file in the workspace".into(),
                severity: Severity::Medium,
                operation: None,
                location: Some(relative.clone()),
                exchange: None,
                detail: format!("{relative}: environment files usually hold real credentials"),
                fix_hint: "Remove the file, add `.env` to .gitignore and commit a \
                           `.env.example` with placeholders instead."
                    .into(),
            });
        }
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        if bytes.iter().take(8192).any(|&byte| byte == 0) {
            continue;
        }
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        scan_text(&relative, &text, &mut findings);
    }
    findings
}

/// Scans one file's text; `name` is how findings refer to the file.
fn scan_text(name: &str, text: &str, findings: &mut Vec<Finding>) {
    for (index, line) in text.lines().enumerate() {
        for rule in RULES {
            for captures in rule.regex.captures_iter(line) {
                let secret = captures
                    .get(1)
                    .or_else(|| captures.get(0))
                    .map_or("", |found| found.as_str());
                if rule.needs_entropy && (is_placeholder(secret) || shannon_entropy(secret) < 3.5) {
                    continue;
                }
                let location = format!("{name}:{}", index + 1);
                findings.push(Finding {
                    id: rule.id.into(),
                    owasp: owasp::MISCONFIGURATION.into(),
                    title: rule.title.into(),
                    severity: rule.severity,
                    operation: None,
                    location: Some(location.clone()),
                    exchange: None,
                    detail: format!("{location}: {}", redact(secret)),
                    fix_hint: "Remove the secret from the file (and from the history), rotate \
                               it, and read it from the environment or a secret store."
                        .into(),
                });
            }
        }
    }
}

fn collect_files(dir: &Path, options: &SecretsOptions, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if file_type.is_dir() {
            let name = entry.file_name();
            if !options.skip_dirs.iter().any(|skip| name == skip.as_str()) {
                collect_files(&path, options, files);
            }
        } else if file_type.is_file()
            && entry
                .metadata()
                .is_ok_and(|metadata| metadata.len() <= options.max_file_bytes)
        {
            files.push(path);
        }
    }
}

/// `.env` and `.env.production`, but not the committed templates `.env.example` and friends.
fn is_env_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return false;
    };
    if name == ".env" {
        return true;
    }
    name.strip_prefix(".env.").is_some_and(|suffix| {
        !["example", "sample", "template", "dist", "defaults"].contains(&suffix)
    })
}

/// Values that are obviously not real secrets: placeholders, examples, template or
/// environment lookups.
pub(crate) fn is_placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "changeme",
        "change-me",
        "change_me",
        "example",
        "placeholder",
        "your",
        "xxxx",
        "dummy",
        "sample",
        "redacted",
        "insert",
        "replace",
        "fake",
        "<",
        "${",
        "$(",
        "{{",
        "env(",
        "environ",
        "process.env",
        "getenv",
        "env::var",
        "****",
    ];
    WORDS.iter().any(|word| lower.contains(word))
}

/// Shannon entropy in bits per character.
pub(crate) fn shannon_entropy(value: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for character in value.chars() {
        *counts.entry(character).or_insert(0u32) += 1;
    }
    let length = value.chars().count() as f64;
    counts
        .values()
        .map(|&count| {
            let probability = f64::from(count) / length;
            -probability * probability.log2()
        })
        .sum()
}

/// The first four characters and the length: enough to find it again, not enough to use it.
pub(crate) fn redact(secret: &str) -> String {
    let prefix: String = secret.chars().take(4).collect();
    format!("{prefix}… ({} chars, redacted)", secret.chars().count())
}

#[cfg(test)]
#[path = "secrets_tests.rs"]
mod tests;
