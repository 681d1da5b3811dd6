//! apiwright-config: loads `apiwright.toml` from a directory (an absent file means every
//! default) and resolves it, with the environment layer (`APIWRIGHT_DB`, used when set and not empty), into a
//! [`Config`] of agents, hooks, store and prompts.
//!
//! This crate owns the file format, its defaults and its validation, and diagnostics that
//! name the file, the line:col and the field. It must not act on the configuration: it
//! opens no database, spawns no process and performs no network IO. The environment is
//! read only by [`Config::load`]; everything else takes it as a function, for tests.

#![deny(missing_docs)]

mod error;
mod models;
mod raw;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

pub use error::ConfigError;
pub use error::Position;
pub use models::BudgetConfig;
pub use models::ModelSettings;
pub use models::PRESETS;
pub use models::Preset;
pub use models::Price;
pub use models::Protocol;
pub use models::ProviderConfig;
pub use models::RawBudget;
pub use models::RawPrice;
pub use models::RawProvider;
pub use models::RawProviders;
pub use models::RawTools;
pub use models::RoleModel;
pub use models::ToolsConfig;
pub use models::preset;
pub use models::preset_names;
pub use raw::RawAgent;
pub use raw::RawConfig;
pub use raw::RawHooks;
pub use raw::RawPrompts;
pub use raw::RawStore;

use error::Segment;

/// Name of the configuration file.
pub const FILE_NAME: &str = "apiwright.toml";
/// Environment variable overriding `store.path`.
pub const DB_ENV: &str = "APIWRIGHT_DB";
/// Default `store.path` (relative to the configuration directory).
pub const DEFAULT_STORE_PATH: &str = ".apiwright/state.db";
/// Role key whose settings every other role inherits, and which plays unlisted roles.
pub const DEFAULT_ROLE: &str = "default";
/// Default `hooks.timeout_ms`.
pub const DEFAULT_HOOK_TIMEOUT_MS: u64 = 2000;
/// Smallest `hooks.timeout_ms` (smaller values are raised to it).
pub const MIN_HOOK_TIMEOUT_MS: u64 = 10;
/// Largest `hooks.timeout_ms` (larger values are lowered to it).
pub const MAX_HOOK_TIMEOUT_MS: u64 = 600_000;
/// Coding-agent hook kinds, as written in `[hooks]` and passed to `apiwright hooks`.
pub const HOOK_KINDS: [&str; 6] = [
    "pre-task",
    "post-task",
    "pre-edit",
    "post-edit",
    "notify",
    "session-end",
];
/// Workflow event kinds that `[hooks.events]` may name.
pub const EVENT_KINDS: [&str; 6] = [
    "run_completed",
    "run_failed",
    "approval_requested",
    "escalated",
    "phase_completed",
    "phase_failed",
];

/// How hard a store commit waits for the disk (`store.durability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// `normal` (default): survives a killed process.
    #[default]
    Normal,
    /// `full`: every commit is on disk before it returns.
    Full,
}

/// Who plays an agent role (`agents.ROLE.provider`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// An external command (a shell line), for example a coding-agent CLI.
    Command,
    /// The built-in offline agents.
    Builtin,
    /// A model behind an OpenAI-compatible chat-completions endpoint.
    Openai,
    /// A model behind Anthropic's messages API.
    Anthropic,
}

/// The resolved configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    /// The file it was read from (`None` when there was none).
    pub file: Option<PathBuf>,
    /// `[store]`.
    pub store: StoreConfig,
    /// `[agents.ROLE]`, each role already merged over `[agents.default]`.
    pub agents: BTreeMap<String, AgentConfig>,
    /// `[hooks]`.
    pub hooks: HooksConfig,
    /// `[prompts]`.
    pub prompts: PromptsConfig,
    /// `[providers.openai]` with the environment layer.
    pub openai: ProviderConfig,
    /// `[providers.anthropic]` with the environment layer.
    pub anthropic: ProviderConfig,
    /// `[prices.MODEL]`.
    pub prices: BTreeMap<String, Price>,
    /// `[budget]`.
    pub budget: BudgetConfig,
    /// `[tools]`.
    pub tools: ToolsConfig,
}

/// `[store]`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// The database file: `APIWRIGHT_DB` as given, else `store.path` relative to the
    /// configuration directory, else `.apiwright/state.db` in it.
    pub path: PathBuf,
    /// See [`Durability`].
    pub durability: Durability,
}

/// One `[agents.ROLE]`, merged over `[agents.default]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    /// Who plays the role: as written, else `command` when a command is set, else `builtin`.
    pub provider: ProviderKind,
    /// Shell line (always set when the provider is `command`).
    pub command: Option<String>,
    /// Time limit of one step, when set.
    pub timeout_secs: Option<u64>,
    /// Extra environment for the agent (the role's entries over the default's).
    pub env: BTreeMap<String, String>,
    /// The preset the command came from, if any.
    pub preset: Option<&'static Preset>,
    /// Model fields (used by providers `openai` and `anthropic`).
    pub model: RoleModel,
}

/// `[hooks]`.
#[derive(Debug, Clone, PartialEq)]
pub struct HooksConfig {
    /// Time limit of one user hook command, in 10..=600000.
    pub timeout_ms: u64,
    /// Hook kind (`pre-task`, …) or workflow event kind (`run_completed`, …) → commands,
    /// in order; only kinds with at least one command are present.
    pub commands: BTreeMap<String, Vec<String>>,
}

/// `[prompts]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PromptsConfig {
    /// Template for step prompts, relative to the configuration directory.
    pub step_template: Option<PathBuf>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: PathBuf::from(DEFAULT_STORE_PATH),
            durability: Durability::Normal,
        }
    }
}

impl Default for HooksConfig {
    fn default() -> Self {
        HooksConfig {
            timeout_ms: DEFAULT_HOOK_TIMEOUT_MS,
            commands: BTreeMap::new(),
        }
    }
}

impl HooksConfig {
    /// The commands configured for a hook kind (`post-edit`) or workflow event kind
    /// (`run_failed`); empty when none.
    pub fn commands_for(&self, event: &str) -> &[String] {
        self.commands.get(event).map_or(&[], Vec::as_slice)
    }

    /// [`HooksConfig::timeout_ms`] as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

/// A rule broken by a field, before it is located in the file.
struct Issue {
    path: Vec<Segment>,
    /// Whether the position is that of the key rather than of the value.
    at_key: bool,
    message: String,
}

/// A broken rule about the value at `path`.
fn issue<T>(path: Vec<Segment>, message: impl Into<String>) -> Result<T, Issue> {
    Err(Issue {
        path,
        at_key: false,
        message: message.into(),
    })
}

/// A broken rule about the key at the end of `path`.
fn key_issue<T>(path: Vec<Segment>, message: impl Into<String>) -> Result<T, Issue> {
    Err(Issue {
        path,
        at_key: true,
        message: message.into(),
    })
}

fn key(name: &str) -> Segment {
    Segment::key(name)
}

impl Config {
    /// Loads `<dir>/apiwright.toml` (defaults when absent) with the process environment.
    pub fn load(dir: &Path) -> Result<Config, ConfigError> {
        Config::load_with_env(dir, &|name: &str| std::env::var(name).ok())
    }

    /// Loads `<dir>/apiwright.toml` (defaults when absent); `env` looks up environment
    /// variables.
    pub fn load_with_env(
        dir: &Path,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let file = dir.join(FILE_NAME);
        match std::fs::read_to_string(&file) {
            Ok(text) => Config::from_toml_str(&text, &file, env),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                Config::resolve(RawConfig::default(), dir, env)
            }
            Err(source) => Err(ConfigError::Read { file, source }),
        }
    }

    /// Parses and resolves the text of a configuration file; relative paths in it are
    /// relative to `file`'s directory, and diagnostics name `file`.
    pub fn from_toml_str(
        text: &str,
        file: &Path,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let invalid =
            |position: Option<Position>, field: String, message: String| ConfigError::Invalid {
                file: file.to_path_buf(),
                position,
                field,
                message,
            };
        let document = toml::de::DeTable::parse(text).map_err(|err| {
            let position = err.span().map(|span| error::position_of(text, span.start));
            invalid(position, String::new(), error::reword(err.message()))
        })?;
        let table = document.get_ref().clone();
        let raw =
            RawConfig::deserialize(toml::de::Deserializer::from(document)).map_err(|err| {
                let (position, field) = match err.span() {
                    Some(span) => (
                        Some(error::position_of(text, span.start)),
                        error::path_to_string(&error::path_at(&table, span.start)),
                    ),
                    None => (None, String::new()),
                };
                invalid(position, field, error::reword(err.message()))
            })?;
        let base_dir = file.parent().unwrap_or(Path::new(""));
        let mut config = resolve(raw, base_dir, env).map_err(
            |Issue {
                 path,
                 at_key,
                 message,
             }| {
                let position = error::span_of(&table, &path, at_key)
                    .map(|span| error::position_of(text, span.start));
                invalid(position, error::path_to_string(&path), message)
            },
        )?;
        config.file = Some(file.to_path_buf());
        Ok(config)
    }

    /// Applies defaults, validation, the `[agents.default]` inheritance and the
    /// environment layer to a raw configuration. Relative paths are taken relative to
    /// `base_dir`. Errors name `apiwright.toml` and the field, without a position.
    pub fn resolve(
        raw: RawConfig,
        base_dir: &Path,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        resolve(raw, base_dir, env).map_err(|Issue { path, message, .. }| ConfigError::Invalid {
            file: PathBuf::from(FILE_NAME),
            position: None,
            field: error::path_to_string(&path),
            message,
        })
    }

    /// The agent settings of `role`, else those of `[agents.default]`, else `None`
    /// (the role is played by the built-in agent).
    pub fn agent_for(&self, role: &str) -> Option<&AgentConfig> {
        self.agents
            .get(role)
            .or_else(|| self.agents.get(DEFAULT_ROLE))
    }

    /// The settings of a model agent playing `role` with `protocol`: the role's model fields
    /// when the role is configured for that provider, then `[providers.*]` and the
    /// environment. The error says where a model may be named.
    pub fn model_settings(&self, role: &str, protocol: Protocol) -> Result<ModelSettings, String> {
        let role_model = self
            .agent_for(role)
            .filter(|agent| Protocol::of(agent.provider) == Some(protocol))
            .map(|agent| &agent.model);
        let provider = match protocol {
            Protocol::OpenAi => &self.openai,
            Protocol::Anthropic => &self.anthropic,
        };
        models::settings(role, role_model, provider, protocol, &self.prices)
    }
}

fn resolve(
    raw: RawConfig,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Issue> {
    let providers = raw.providers.clone().unwrap_or_default();
    Ok(Config {
        file: None,
        store: resolve_store(raw.store.unwrap_or_default(), base_dir, env)?,
        agents: resolve_agents(raw.agents.unwrap_or_default())?,
        hooks: resolve_hooks(raw.hooks.unwrap_or_default())?,
        prompts: resolve_prompts(raw.prompts.unwrap_or_default(), base_dir)?,
        openai: resolve_provider(Protocol::OpenAi, providers.openai.unwrap_or_default(), env)?,
        anthropic: resolve_provider(
            Protocol::Anthropic,
            providers.anthropic.unwrap_or_default(),
            env,
        )?,
        prices: resolve_prices(raw.prices.unwrap_or_default())?,
        budget: resolve_budget(raw.budget.unwrap_or_default())?,
        tools: resolve_tools(raw.tools.unwrap_or_default())?,
    })
}

const KEY_IN_FILE: &str = "API keys are read only from the environment, never from apiwright.toml: \
     remove `api_key` and set `api_key_env` to the name of the variable that holds the key";

fn check_url(path: Vec<Segment>, url: &str) -> Result<(), Issue> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        issue(
            path,
            format!("expected an http:// or https:// URL, found `{url}`"),
        )
    }
}

fn check_env_name(path: Vec<Segment>, name: &str) -> Result<(), Issue> {
    if name.is_empty() || name.contains(['=', '\0']) || name.contains(char::is_whitespace) {
        issue(
            path,
            format!("expected the name of an environment variable, found `{name}`"),
        )
    } else {
        Ok(())
    }
}

fn check_temperature(path: Vec<Segment>, temperature: Option<f64>) -> Result<(), Issue> {
    match temperature {
        Some(t) if !(0.0..=2.0).contains(&t) => {
            issue(path, format!("expected a temperature in 0..=2, found {t}"))
        }
        _ => Ok(()),
    }
}

fn resolve_provider(
    protocol: Protocol,
    raw: RawProvider,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ProviderConfig, Issue> {
    let at = |field: &str| vec![key("providers"), key(protocol.name()), key(field)];
    if raw.api_key.is_some() {
        return key_issue(at("api_key"), KEY_IN_FILE);
    }
    if let Some(url) = &raw.base_url {
        check_url(at("base_url"), url)?;
    }
    if let Some(model) = &raw.model {
        non_empty(at("model"), "a model name", model)?;
    }
    if let Some(name) = &raw.api_key_env {
        check_env_name(at("api_key_env"), name)?;
    }
    if raw.request_timeout_secs == Some(0) {
        return issue(
            at("request_timeout_secs"),
            "expected a positive number of seconds, found 0",
        );
    }
    if raw.max_output_tokens == Some(0) {
        return issue(
            at("max_output_tokens"),
            "expected a positive number, found 0",
        );
    }
    check_temperature(at("temperature"), raw.temperature)?;
    let from_env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
    Ok(ProviderConfig {
        base_url: from_env(protocol.base_url_env()).or_else(|| raw.base_url.clone()),
        model: raw.model.clone().or_else(|| from_env(protocol.model_env())),
        raw,
    })
}

fn resolve_prices(raw: BTreeMap<String, RawPrice>) -> Result<BTreeMap<String, Price>, Issue> {
    let mut prices = BTreeMap::new();
    for (model, price) in raw {
        let mut resolved = Price::default();
        for (field, value, slot) in [
            (
                "input_per_mtok",
                price.input_per_mtok,
                &mut resolved.input_per_mtok,
            ),
            (
                "output_per_mtok",
                price.output_per_mtok,
                &mut resolved.output_per_mtok,
            ),
        ] {
            match value {
                Some(v) if v.is_finite() && v >= 0.0 => *slot = v,
                Some(v) => {
                    return issue(
                        vec![key("prices"), key(&model), key(field)],
                        format!(
                            "expected a price in US dollars per million tokens (>= 0), found {v}"
                        ),
                    );
                }
                None => {
                    return key_issue(
                        vec![key("prices"), key(&model)],
                        format!("expected `{field}` (US dollars per million tokens), found none"),
                    );
                }
            }
        }
        prices.insert(model, resolved);
    }
    Ok(prices)
}

fn resolve_budget(raw: RawBudget) -> Result<BudgetConfig, Issue> {
    if raw.max_tokens == Some(0) {
        return issue(
            vec![key("budget"), key("max_tokens")],
            "expected a positive number of tokens, found 0",
        );
    }
    if let Some(cost) = raw.max_cost_usd
        && !(cost.is_finite() && cost > 0.0)
    {
        return issue(
            vec![key("budget"), key("max_cost_usd")],
            format!("expected a positive amount of US dollars, found {cost}"),
        );
    }
    Ok(BudgetConfig {
        max_tokens: raw.max_tokens,
        max_cost_usd: raw.max_cost_usd,
    })
}

fn resolve_tools(raw: RawTools) -> Result<ToolsConfig, Issue> {
    let defaults = ToolsConfig::default();
    if raw.bash_timeout_secs == Some(0) {
        return issue(
            vec![key("tools"), key("bash_timeout_secs")],
            "expected a positive number of seconds, found 0",
        );
    }
    if let Some(limit) = raw.output_limit_bytes
        && limit < 1000
    {
        return issue(
            vec![key("tools"), key("output_limit_bytes")],
            format!("expected at least 1000 bytes, found {limit}"),
        );
    }
    Ok(ToolsConfig {
        bash: raw.bash.unwrap_or(defaults.bash),
        bash_timeout_secs: raw.bash_timeout_secs.unwrap_or(defaults.bash_timeout_secs),
        output_limit_bytes: raw
            .output_limit_bytes
            .unwrap_or(defaults.output_limit_bytes),
    })
}

fn non_empty(path: Vec<Segment>, what: &str, text: &str) -> Result<(), Issue> {
    if text.trim().is_empty() {
        issue(path, format!("expected {what}, found an empty string"))
    } else {
        Ok(())
    }
}

fn resolve_store(
    raw: RawStore,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<StoreConfig, Issue> {
    let configured = match raw.path {
        Some(path) => {
            non_empty(vec![key("store"), key("path")], "a file path", &path)?;
            path
        }
        None => DEFAULT_STORE_PATH.to_owned(),
    };
    let path = match env(DB_ENV) {
        Some(value) if !value.is_empty() => PathBuf::from(value),
        _ => base_dir.join(configured),
    };
    Ok(StoreConfig {
        path,
        durability: raw.durability.unwrap_or_default(),
    })
}

fn is_role_id(role: &str) -> bool {
    !role.is_empty()
        && !role.starts_with('-')
        && role
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn check_agent(role: &str, agent: &RawAgent) -> Result<(), Issue> {
    let at = |field: &str| vec![key("agents"), key(role), key(field)];
    if let Some(command) = &agent.command {
        non_empty(at("command"), "a shell command line", command)?;
    }
    if agent.api_key.is_some() {
        return key_issue(at("api_key"), KEY_IN_FILE);
    }
    if let Some(name) = &agent.preset
        && models::preset(name).is_none()
    {
        return issue(
            at("preset"),
            format!(
                "unknown preset `{name}`, expected one of {}",
                models::preset_names()
            ),
        );
    }
    if agent.preset.is_some() && agent.command.is_some() {
        return key_issue(
            at("preset"),
            "expected either `preset` or `command`, found both (a preset is a ready-made command)",
        );
    }
    if let Some(model) = &agent.model {
        non_empty(at("model"), "a model name", model)?;
    }
    if let Some(url) = &agent.base_url {
        check_url(at("base_url"), url)?;
    }
    if let Some(name) = &agent.api_key_env {
        check_env_name(at("api_key_env"), name)?;
    }
    if agent.max_turns == Some(0) {
        return issue(
            at("max_turns"),
            "expected a positive number of turns, found 0",
        );
    }
    if agent.max_step_tokens == Some(0) {
        return issue(at("max_step_tokens"), "expected a positive number, found 0");
    }
    if agent.max_output_tokens == Some(0) {
        return issue(
            at("max_output_tokens"),
            "expected a positive number, found 0",
        );
    }
    check_temperature(at("temperature"), agent.temperature)?;
    if agent.timeout_secs == Some(0) {
        return issue(
            at("timeout_secs"),
            "expected a positive number of seconds, found 0",
        );
    }
    for name in agent.env.iter().flat_map(BTreeMap::keys) {
        if name.is_empty() || name.contains(['=', '\0']) {
            return key_issue(
                vec![key("agents"), key(role), key("env"), key(name)],
                format!(
                    "expected an environment variable name (no `=`, not empty), found `{name}`"
                ),
            );
        }
    }
    Ok(())
}

fn resolve_agents(raw: BTreeMap<String, RawAgent>) -> Result<BTreeMap<String, AgentConfig>, Issue> {
    for (role, agent) in &raw {
        if role != DEFAULT_ROLE && !is_role_id(role) {
            return key_issue(
                vec![key("agents"), key(role)],
                format!(
                    "expected an agent role id (kebab-case: `a-z`, `0-9`, `-`) or `default`, found `{role}`"
                ),
            );
        }
        check_agent(role, agent)?;
    }
    let fallback = raw.get(DEFAULT_ROLE).cloned().unwrap_or_default();
    let mut agents = BTreeMap::new();
    for (role, agent) in raw {
        let explicit_provider = agent.provider.is_some();
        // A role's own preset or command wins over anything inherited.
        let preset = match (&agent.preset, &agent.command) {
            (Some(name), _) => models::preset(name),
            (None, Some(_)) => None,
            (None, None) => fallback.preset.as_deref().and_then(models::preset),
        };
        let command = match preset {
            Some(preset) => Some(preset.command.to_string()),
            None => agent.command.clone().or_else(|| {
                fallback
                    .preset
                    .is_none()
                    .then(|| fallback.command.clone())
                    .flatten()
            }),
        };
        let provider = match agent.provider.or(fallback.provider) {
            Some(provider) => provider,
            None if command.is_some() => ProviderKind::Command,
            None => ProviderKind::Builtin,
        };
        if provider == ProviderKind::Command && command.is_none() {
            let mut path = vec![key("agents"), key(&role)];
            if explicit_provider {
                path.push(key("provider"));
            }
            return key_issue(
                path,
                "expected a `command` shell line for provider `command`, found none (here or in [agents.default])",
            );
        }
        let mut env = fallback.env.clone().unwrap_or_default();
        env.extend(agent.env.unwrap_or_default());
        let resolved = AgentConfig {
            provider,
            command,
            timeout_secs: agent.timeout_secs.or(fallback.timeout_secs),
            env,
            preset,
            model: RoleModel {
                model: agent.model.or_else(|| fallback.model.clone()),
                base_url: agent.base_url.or_else(|| fallback.base_url.clone()),
                api_key_env: agent.api_key_env.or_else(|| fallback.api_key_env.clone()),
                max_turns: agent.max_turns.or(fallback.max_turns),
                max_step_tokens: agent.max_step_tokens.or(fallback.max_step_tokens),
                max_output_tokens: agent.max_output_tokens.or(fallback.max_output_tokens),
                temperature: agent.temperature.or(fallback.temperature),
                stream: agent.stream.or(fallback.stream),
            },
        };
        agents.insert(role, resolved);
    }
    Ok(agents)
}

fn check_commands(path: Vec<Segment>, commands: &[String]) -> Result<(), Issue> {
    for (index, command) in commands.iter().enumerate() {
        let mut at = path.clone();
        at.push(Segment::Index(index));
        non_empty(at, "a shell command line", command)?;
    }
    Ok(())
}

fn resolve_hooks(raw: RawHooks) -> Result<HooksConfig, Issue> {
    let timeout_ms = raw.timeout_ms.map_or(DEFAULT_HOOK_TIMEOUT_MS, |ms| {
        u64::try_from(ms)
            .unwrap_or(MIN_HOOK_TIMEOUT_MS)
            .clamp(MIN_HOOK_TIMEOUT_MS, MAX_HOOK_TIMEOUT_MS)
    });
    let mut commands = BTreeMap::new();
    let per_kind = [
        ("pre-task", raw.pre_task),
        ("post-task", raw.post_task),
        ("pre-edit", raw.pre_edit),
        ("post-edit", raw.post_edit),
        ("notify", raw.notify),
        ("session-end", raw.session_end),
    ];
    for (kind, list) in per_kind {
        let list = list.unwrap_or_default();
        check_commands(vec![key("hooks"), key(kind)], &list)?;
        if !list.is_empty() {
            commands.insert(kind.to_owned(), list);
        }
    }
    for (kind, list) in raw.events.unwrap_or_default() {
        let path = vec![key("hooks"), key("events"), key(&kind)];
        if !EVENT_KINDS.contains(&kind.as_str()) {
            let valid: Vec<String> = EVENT_KINDS.iter().map(|kind| format!("`{kind}`")).collect();
            return key_issue(
                path,
                format!(
                    "unknown workflow event kind `{kind}`, expected one of {}",
                    valid.join(", ")
                ),
            );
        }
        check_commands(path, &list)?;
        if !list.is_empty() {
            commands.insert(kind, list);
        }
    }
    Ok(HooksConfig {
        timeout_ms,
        commands,
    })
}

fn resolve_prompts(raw: RawPrompts, base_dir: &Path) -> Result<PromptsConfig, Issue> {
    let step_template = match raw.step_template {
        Some(path) => {
            non_empty(
                vec![key("prompts"), key("step_template")],
                "a template path",
                &path,
            )?;
            Some(base_dir.join(path))
        }
        None => None,
    };
    Ok(PromptsConfig { step_template })
}
