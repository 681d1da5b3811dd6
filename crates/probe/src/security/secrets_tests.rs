use super::*;

fn ids(text: &str) -> Vec<(String, String)> {
    let mut findings = Vec::new();
    scan_text("f.txt", text, &mut findings);
    findings
        .into_iter()
        .map(|finding| (finding.id, finding.location.unwrap_or_default()))
        .collect()
}

#[test]
fn recognises_cloud_keys_private_keys_and_tokens() {
    // Split so that this file does not itself hold what the scan looks for.
    let text = concat!(
        "a\naws = AKIA",
        "IOSFODNN7QWERTYZ\n-----BEGIN RSA PRIV",
        "ATE KEY-----\nt = gh",
        "p_abcdefghijklmnopqrstuvwxyz0123456789\nglp",
        "at-abcdefghij0123456789\nxo",
        "xb-1234567890-abcdefghij\n"
    );
    assert_eq!(
        ids(text),
        [
            ("secret-aws-access-key", "f.txt:2"),
            ("secret-private-key", "f.txt:3"),
            ("secret-github-token", "f.txt:4"),
            ("secret-gitlab-token", "f.txt:5"),
            ("secret-slack-token", "f.txt:6"),
        ]
        .map(|(id, location)| (id.to_string(), location.to_string()))
    );
}

#[test]
fn generic_assignments_need_entropy_and_no_placeholder() {
    assert_eq!(
        ids(concat!(r#"api_key = "Zx9$kQ2"#, r#"!mP7@wL4#""#)).len(),
        1
    );
    assert_eq!(
        ids(concat!(r#"JWT_SECRET: "q8Jf3L"#, r#"mZ0pXv7RtY2wKc""#)).len(),
        1
    );
    assert!(ids(r#"password = "changeme-changeme""#).is_empty());
    assert!(ids(r#"api_key = "your-api-key-here""#).is_empty());
    assert!(ids(r#"secret: "${JWT_SECRET_FROM_ENV}""#).is_empty());
    assert!(ids(r#"token = "aaaaaaaaaaaaaaaa""#).is_empty());
    assert!(ids(r#"password = "short""#).is_empty());
}

#[test]
fn redaction_keeps_four_characters() {
    const KEY: &str = concat!("AKIA", "IOSFODNN7QWERTYZ");
    assert_eq!(redact(KEY), "AKIA… (20 chars, redacted)");
    let mut findings = Vec::new();
    scan_text("f", &format!("k = {KEY}"), &mut findings);
    assert!(!findings[0].detail.contains("IOSFODNN"));
}

#[test]
fn env_files_but_not_templates() {
    assert!(is_env_file(Path::new("a/.env")));
    assert!(is_env_file(Path::new(".env.production")));
    assert!(!is_env_file(Path::new(".env.example")));
    assert!(!is_env_file(Path::new("env.rs")));
}
