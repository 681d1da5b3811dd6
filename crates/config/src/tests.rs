//! Unit tests of apiwright-config: parsing, validation with exact positions, defaults,
//! clamping, the environment layer and `agent_for` fallback. They read no real
//! environment variable and touch the file system only in temporary directories.

use std::collections::BTreeMap;
use std::path::Path;
use std::path::PathBuf;

use crate::Config;
use crate::ConfigError;
use crate::Durability;
use crate::Position;
use crate::ProviderKind;
use crate::RawConfig;

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str(text, Path::new("apiwright.toml"), &no_env)
}

fn ok(text: &str) -> Config {
    match parse(text) {
        Ok(config) => config,
        Err(err) => panic!("unexpected error: {err}"),
    }
}

fn err(text: &str) -> String {
    match parse(text) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn empty_file_gives_defaults() {
    let config = ok("");
    assert_eq!(config.store.path, PathBuf::from(".apiwright/state.db"));
    assert_eq!(config.store.durability, Durability::Normal);
    assert_eq!(config.hooks.timeout_ms, 2000);
    assert!(config.hooks.commands.is_empty());
    assert!(config.agents.is_empty());
    assert_eq!(config.prompts.step_template, None);
    assert_eq!(config.file, Some(PathBuf::from("apiwright.toml")));
    assert_eq!(
        Config {
            file: None,
            ..config
        },
        Config::default()
    );
}

#[test]
fn absent_file_gives_defaults_relative_to_dir() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::load_with_env(dir.path(), &no_env).unwrap();
    assert_eq!(config.file, None);
    assert_eq!(config.store.path, dir.path().join(".apiwright/state.db"));
    assert_eq!(config.hooks, Config::default().hooks);
}

#[test]
fn load_reads_the_file_and_names_it_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("apiwright.toml");
    std::fs::write(&file, "[store]\npath = \"db/x.db\"\nprompts = 1\n").unwrap();
    let error = Config::load_with_env(dir.path(), &no_env).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}:3:1: store.prompts: unknown field `prompts`, expected `path` or `durability`",
            file.display()
        )
    );
    std::fs::write(
        &file,
        "[store]\npath = \"db/x.db\"\n[prompts]\nstep_template = \"t/step.md.j2\"\n",
    )
    .unwrap();
    let config = Config::load_with_env(dir.path(), &no_env).unwrap();
    assert_eq!(config.file, Some(file));
    assert_eq!(config.store.path, dir.path().join("db/x.db"));
    assert_eq!(
        config.prompts.step_template,
        Some(dir.path().join("t/step.md.j2"))
    );
}

#[test]
fn full_file_resolves() {
    let config = ok(r#"
[store]
path = "state/apiwright.db"
durability = "full"

[agents.default]
provider = "command"
command = "claude -p"
timeout_secs = 600
env = { MODEL = "big", LOG = "info" }

[agents.tester]
timeout_secs = 120
env = { LOG = "debug" }

[agents.backend-developer]
provider = "openai"

[hooks]
timeout_ms = 500
pre-task = ["echo pre"]
post-edit = ["cargo fmt", "git add -A"]
notify = []

[hooks.events]
run_failed = ["notify-send failed"]
approval_requested = ["echo approve"]

[prompts]
step_template = "prompts/step.md.j2"
"#);
    assert_eq!(config.store.path, PathBuf::from("state/apiwright.db"));
    assert_eq!(config.store.durability, Durability::Full);

    let tester = config.agent_for("tester").unwrap();
    assert_eq!(tester.provider, ProviderKind::Command);
    assert_eq!(tester.command.as_deref(), Some("claude -p"));
    assert_eq!(tester.timeout_secs, Some(120));
    let env: BTreeMap<String, String> = [("LOG", "debug"), ("MODEL", "big")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(tester.env, env);

    let backend = config.agent_for("backend-developer").unwrap();
    assert_eq!(backend.provider, ProviderKind::Openai);
    assert_eq!(backend.timeout_secs, Some(600));

    let other = config.agent_for("security-specialist").unwrap();
    assert_eq!(other, config.agents.get("default").unwrap());

    assert_eq!(config.hooks.timeout_ms, 500);
    assert_eq!(config.hooks.commands_for("pre-task"), ["echo pre"]);
    assert_eq!(
        config.hooks.commands_for("post-edit"),
        ["cargo fmt", "git add -A"]
    );
    assert!(config.hooks.commands_for("notify").is_empty());
    assert!(config.hooks.commands_for("session-end").is_empty());
    assert_eq!(
        config.hooks.commands_for("run_failed"),
        ["notify-send failed"]
    );
    assert_eq!(
        config.hooks.commands_for("approval_requested"),
        ["echo approve"]
    );
    assert!(config.hooks.commands_for("run_completed").is_empty());
    assert!(config.hooks.commands_for("no-such-thing").is_empty());
    assert_eq!(
        config.prompts.step_template,
        Some(PathBuf::from("prompts/step.md.j2"))
    );
}

#[test]
fn agent_for_without_default_is_none_for_unlisted_roles() {
    let config = ok("[agents.tester]\ncommand = \"run-tester\"\n");
    let tester = config.agent_for("tester").unwrap();
    assert_eq!(tester.provider, ProviderKind::Command);
    assert_eq!(tester.command.as_deref(), Some("run-tester"));
    assert_eq!(config.agent_for("reviewer"), None);
    assert_eq!(Config::default().agent_for("tester"), None);
}

#[test]
fn agent_without_command_or_provider_is_builtin() {
    let config = ok("[agents.default]\ntimeout_secs = 30\n");
    let agent = config.agent_for("anyone").unwrap();
    assert_eq!(agent.provider, ProviderKind::Builtin);
    assert_eq!(agent.command, None);
    assert_eq!(agent.timeout_secs, Some(30));
}

#[test]
fn all_providers_are_accepted() {
    for (name, kind) in [
        ("command\"\ncommand = \"x", ProviderKind::Command),
        ("builtin", ProviderKind::Builtin),
        ("openai", ProviderKind::Openai),
        ("anthropic", ProviderKind::Anthropic),
    ] {
        let config = ok(&format!("[agents.tester]\nprovider = \"{name}\"\n"));
        assert_eq!(config.agent_for("tester").unwrap().provider, kind);
    }
}

#[test]
fn hook_timeout_is_clamped() {
    for (written, expected) in [
        (0_i64, 10_u64),
        (-5, 10),
        (9, 10),
        (10, 10),
        (2500, 2500),
        (600_000, 600_000),
        (600_001, 600_000),
        (i64::MAX, 600_000),
    ] {
        let config = ok(&format!("[hooks]\ntimeout_ms = {written}\n"));
        assert_eq!(config.hooks.timeout_ms, expected, "timeout_ms = {written}");
    }
    assert_eq!(
        ok("[hooks]\n").hooks.timeout(),
        std::time::Duration::from_millis(2000)
    );
}

#[test]
fn env_overrides_store_path() {
    let env = |name: &str| (name == "APIWRIGHT_DB").then(|| "/elsewhere/db.sqlite".to_owned());
    let config = Config::from_toml_str(
        "[store]\npath = \"a.db\"\n",
        Path::new("dir/apiwright.toml"),
        &env,
    )
    .unwrap();
    assert_eq!(config.store.path, PathBuf::from("/elsewhere/db.sqlite"));
    let empty = |_: &str| Some(String::new());
    let config = Config::from_toml_str(
        "[store]\npath = \"a.db\"\n",
        Path::new("dir/apiwright.toml"),
        &empty,
    )
    .unwrap();
    assert_eq!(config.store.path, PathBuf::from("dir/a.db"));
    let config = Config::resolve(RawConfig::default(), Path::new("base"), &env).unwrap();
    assert_eq!(config.store.path, PathBuf::from("/elsewhere/db.sqlite"));
}

#[test]
fn syntax_error_has_position() {
    assert_eq!(
        err("[store]\npath = \n"),
        "apiwright.toml:2:8: string values must be quoted, expected literal string"
    );
}

#[test]
fn wrong_type_names_field_and_position() {
    assert_eq!(
        err("[hooks]\n\ntimeout_ms = \"fast\"\n"),
        "apiwright.toml:3:14: hooks.timeout_ms: expected i64, found string \"fast\""
    );
    assert_eq!(
        err("[hooks]\npre-task = [\"ok\", 3]\n"),
        "apiwright.toml:2:19: hooks.pre-task[1]: expected a string, found integer `3`"
    );
}

#[test]
fn unknown_fields_are_rejected() {
    assert_eq!(
        err("[hooks]\ntimeout_ms = 5\npost_edit = [\"x\"]\n"),
        "apiwright.toml:3:1: hooks.post_edit: unknown field `post_edit`, expected one of \
         `timeout_ms`, `pre-task`, `post-task`, `pre-edit`, `post-edit`, `notify`, `session-end`, `events`"
    );
    assert_eq!(
        err("\n\n[storage]\npath = \"x\"\n"),
        "apiwright.toml:3:2: storage: unknown field `storage`, expected one of \
         `store`, `agents`, `hooks`, `prompts`, `providers`, `prices`, `budget`, `tools`"
    );
}

#[test]
fn unknown_provider_and_durability() {
    assert_eq!(
        err("[agents.tester]\nprovider = \"gemini\"\n"),
        "apiwright.toml:2:12: agents.tester.provider: expected one of \
         `command`, `builtin`, `openai`, `anthropic`, found `gemini`"
    );
    assert_eq!(
        err("[store]\ndurability = \"paranoid\"\n"),
        "apiwright.toml:2:14: store.durability: expected `normal` or `full`, found `paranoid`"
    );
}

#[test]
fn unknown_event_kind_lists_valid_ones() {
    assert_eq!(
        err("[hooks.events]\nrun_completed = [\"a\"]\nstep_started = [\"b\"]\n"),
        "apiwright.toml:3:1: hooks.events.step_started: unknown workflow event kind `step_started`, \
         expected one of `run_completed`, `run_failed`, `approval_requested`, `escalated`, \
         `phase_completed`, `phase_failed`"
    );
}

#[test]
fn command_provider_needs_a_command() {
    assert_eq!(
        err("[agents.default]\ntimeout_secs = 3\n\n[agents.tester]\nprovider = \"command\"\n"),
        "apiwright.toml:5:1: agents.tester.provider: expected a `command` shell line for provider \
         `command`, found none (here or in [agents.default])"
    );
}

#[test]
fn invalid_values_are_located() {
    assert_eq!(
        err("[agents.Tester]\ncommand = \"x\"\n"),
        "apiwright.toml:1:9: agents.Tester: expected an agent role id (kebab-case: `a-z`, `0-9`, `-`) \
         or `default`, found `Tester`"
    );
    assert_eq!(
        err("[agents.tester]\ncommand = \"  \"\n"),
        "apiwright.toml:2:11: agents.tester.command: expected a shell command line, found an empty string"
    );
    assert_eq!(
        err("[agents.tester]\ncommand = \"x\"\ntimeout_secs = 0\n"),
        "apiwright.toml:3:16: agents.tester.timeout_secs: expected a positive number of seconds, found 0"
    );
    assert_eq!(
        err("[hooks]\nnotify = [\"a\", \"\"]\n"),
        "apiwright.toml:2:16: hooks.notify[1]: expected a shell command line, found an empty string"
    );
    assert_eq!(
        err("[agents.tester]\ncommand = \"x\"\nenv = { OK = \"1\", \"A=B\" = \"2\" }\n"),
        "apiwright.toml:3:19: agents.tester.env.A=B: expected an environment variable name (no `=`, not empty), found `A=B`"
    );
    assert_eq!(
        err("[store]\npath = \"\"\n"),
        "apiwright.toml:2:8: store.path: expected a file path, found an empty string"
    );
}

#[test]
fn positions_count_characters() {
    assert_eq!(
        err("# héhé ünïcode\n[hooks] # ça\nnotify = 1\n"),
        "apiwright.toml:3:10: hooks.notify: expected a sequence, found integer `1`"
    );
    assert_eq!(
        crate::error::position_of("ab\nçd", 5),
        Position { line: 2, column: 2 }
    );
    assert_eq!(
        crate::error::position_of("ab", 99),
        Position { line: 1, column: 3 }
    );
}

#[test]
fn resolve_without_file_names_field_only() {
    let raw = RawConfig {
        hooks: Some(crate::RawHooks {
            events: Some(
                [("bogus".to_owned(), vec!["x".to_owned()])]
                    .into_iter()
                    .collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    };
    let error = Config::resolve(raw, Path::new(""), &no_env).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("apiwright.toml: hooks.events.bogus: unknown workflow event kind `bogus`"),
        "{error}"
    );
}

fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_string())
    }
}

#[test]
fn model_settings_layer_role_provider_and_environment() {
    let text = r#"
[providers.openai]
base_url = "http://127.0.0.1:8080/v1"
model = "file-model"
stream = true
retries = 2

[agents.default]
provider = "openai"
max_turns = 7

[agents.tester]
provider = "openai"
model = "tester-model"
temperature = 0.1

[agents.reviewer]
provider = "anthropic"
model = "claude-x"

[prices."tester-model"]
input_per_mtok = 1.0
output_per_mtok = 4.0
"#;
    let env = env_of(&[("OPENAI_BASE_URL", "http://10.0.0.1/v1")]);
    let config = Config::from_toml_str(text, Path::new("apiwright.toml"), &env).unwrap();
    let tester = config
        .model_settings("tester", crate::Protocol::OpenAi)
        .unwrap();
    assert_eq!(tester.model, "tester-model");
    assert_eq!(
        tester.base_url, "http://10.0.0.1/v1",
        "the environment overrides the file's endpoint"
    );
    assert!(!tester.official_endpoint);
    assert!(tester.stream);
    assert_eq!(tester.retries, 2);
    assert_eq!(tester.max_turns, 7, "inherited from [agents.default]");
    assert_eq!(tester.temperature, Some(0.1));
    assert_eq!(tester.api_key_env, "OPENAI_API_KEY");
    let price = tester.price.unwrap();
    assert!((price.cost(1_000_000, 500_000) - 3.0).abs() < 1e-9);
    // A role configured for Anthropic does not lend its model to an OpenAI override.
    let reviewer = config
        .model_settings("reviewer", crate::Protocol::OpenAi)
        .unwrap();
    assert_eq!(reviewer.model, "file-model");
    let reviewer = config
        .model_settings("reviewer", crate::Protocol::Anthropic)
        .unwrap();
    assert_eq!(reviewer.model, "claude-x");
    assert_eq!(reviewer.base_url, "https://api.anthropic.com");
    assert!(reviewer.official_endpoint);
}

#[test]
fn a_model_must_be_named_somewhere() {
    let config = ok("[agents.default]\nprovider = \"anthropic\"\n");
    let error = config
        .model_settings("tester", crate::Protocol::Anthropic)
        .unwrap_err();
    assert!(error.contains("no model for role `tester`"), "{error}");
    assert!(error.contains("ANTHROPIC_MODEL"), "{error}");
    let env = env_of(&[("ANTHROPIC_MODEL", "claude-env")]);
    let config = Config::from_toml_str("", Path::new("apiwright.toml"), &env).unwrap();
    let settings = config
        .model_settings("tester", crate::Protocol::Anthropic)
        .unwrap();
    assert_eq!(settings.model, "claude-env");
}

#[test]
fn keys_in_the_file_are_refused_with_where_they_belong() {
    let error = err("[providers.openai]\napi_key = \"sk-secret\"\n");
    assert!(
        error.starts_with("apiwright.toml:2:1: providers.openai.api_key: API keys are read only from the environment"),
        "{error}"
    );
    assert!(!error.contains("sk-secret"), "{error}");
    let error = err("[agents.tester]\nprovider = \"openai\"\napi_key = \"sk-secret\"\n");
    assert!(error.contains("agents.tester.api_key"), "{error}");
    assert!(!error.contains("sk-secret"), "{error}");
}

#[test]
fn presets_expand_to_commands_and_unknown_ones_are_named() {
    let config = ok(
        "[agents.default]\npreset = \"claude-code\"\n[agents.tester]\ncommand = \"./mine.sh\"\n",
    );
    let default = config.agent_for("anyone").unwrap();
    assert_eq!(default.provider, ProviderKind::Command);
    assert_eq!(default.preset.map(|p| p.program), Some("claude"));
    assert!(
        default
            .command
            .as_deref()
            .unwrap_or_default()
            .starts_with("claude -p")
    );
    let tester = config.agent_for("tester").unwrap();
    assert_eq!(
        tester.preset, None,
        "a role's own command wins over an inherited preset"
    );
    assert_eq!(tester.command.as_deref(), Some("./mine.sh"));
    let error = err("[agents.default]\npreset = \"cursor\"\n");
    assert!(
        error.contains("agents.default.preset: unknown preset `cursor`"),
        "{error}"
    );
    assert!(error.contains("`claude-code`"), "{error}");
    let error = err("[agents.default]\npreset = \"codex\"\ncommand = \"x\"\n");
    assert!(error.contains("either `preset` or `command`"), "{error}");
}

#[test]
fn budget_prices_tools_and_urls_are_validated() {
    let config = ok(
        "[budget]\nmax_tokens = 1000\nmax_cost_usd = 2.5\n[tools]\nbash = false\nbash_timeout_secs = 9\n",
    );
    assert_eq!(config.budget.max_tokens, Some(1000));
    assert_eq!(config.budget.max_cost_usd, Some(2.5));
    assert!(!config.tools.bash);
    assert_eq!(config.tools.bash_timeout_secs, 9);
    assert_eq!(config.tools.output_limit_bytes, 30_000);
    assert!(
        err("[budget]\nmax_cost_usd = -1.0\n")
            .contains("budget.max_cost_usd: expected a positive amount")
    );
    assert!(err("[prices.m]\ninput_per_mtok = 1.0\n").contains("expected `output_per_mtok`"));
    assert!(
        err("[providers.anthropic]\nbase_url = \"localhost:1\"\n")
            .contains("providers.anthropic.base_url: expected an http:// or https:// URL")
    );
    assert!(
        err("[agents.x]\nprovider = \"openai\"\ntemperature = 3.0\n")
            .contains("expected a temperature in 0..=2")
    );
    assert!(err("[tools]\noutput_limit_bytes = 10\n").contains("at least 1000 bytes"));
}
