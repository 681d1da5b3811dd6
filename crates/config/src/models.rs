//! Model providers in `apiwright.toml`: `[providers.openai]`, `[providers.anthropic]`, the
//! model fields of `[agents.ROLE]`, `[prices.MODEL]`, `[budget]`, `[tools]`, and the presets of
//! the `command` provider for common coding-agent CLIs.
//!
//! API keys are never part of the configuration: the file names the environment variable
//! that holds a key (`api_key_env`), and only the agent that calls the provider reads it.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::ProviderKind;

/// Default OpenAI-compatible endpoint.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Default Anthropic endpoint.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// Default most model turns of one step.
pub const DEFAULT_MAX_TURNS: u32 = 60;
/// Default most tokens (input + output, all turns) of one step.
pub const DEFAULT_MAX_STEP_TOKENS: u64 = 2_000_000;
/// Default most output tokens of one model turn.
pub const DEFAULT_MAX_OUTPUT_TOKENS: u32 = 8192;
/// Default retries of a request answered 429 or 5xx.
pub const DEFAULT_RETRIES: u32 = 5;
/// Default first backoff delay.
pub const DEFAULT_RETRY_BASE_MS: u64 = 500;
/// Default time limit of one HTTP exchange with a model.
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 600;
/// Default time limit of one `bash` tool call.
pub const DEFAULT_BASH_TIMEOUT_SECS: u64 = 300;
/// Default cap on the text of one tool result.
pub const DEFAULT_TOOL_OUTPUT_BYTES: usize = 30_000;

/// `[providers.openai]` or `[providers.anthropic]` as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    /// Endpoint.
    pub base_url: Option<String>,
    /// Model for roles that do not name one.
    pub model: Option<String>,
    /// Name of the environment variable holding the API key.
    pub api_key_env: Option<String>,
    /// Whether to stream answers (SSE).
    pub stream: Option<bool>,
    /// Retries on 429 and 5xx.
    pub retries: Option<u32>,
    /// First backoff delay.
    pub retry_base_ms: Option<u64>,
    /// Time limit of one HTTP exchange.
    pub request_timeout_secs: Option<u64>,
    /// Output tokens per turn.
    pub max_output_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Refused with a clear message: keys come only from the environment.
    pub api_key: Option<toml::Value>,
}

/// `[providers]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProviders {
    /// `[providers.openai]`.
    pub openai: Option<RawProvider>,
    /// `[providers.anthropic]`.
    pub anthropic: Option<RawProvider>,
}

/// `[prices.MODEL]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrice {
    /// US dollars per million input tokens.
    pub input_per_mtok: Option<f64>,
    /// US dollars per million output tokens.
    pub output_per_mtok: Option<f64>,
}

/// `[budget]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    /// Tokens (input + output) one run may use.
    pub max_tokens: Option<u64>,
    /// US dollars one run may spend.
    pub max_cost_usd: Option<f64>,
}

/// `[tools]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTools {
    /// Offer the `bash` tool to model agents.
    pub bash: Option<bool>,
    /// Default time limit of one `bash` call.
    pub bash_timeout_secs: Option<u64>,
    /// Cap on one tool result's text.
    pub output_limit_bytes: Option<usize>,
}

/// Price of a model.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Price {
    /// US dollars per million input tokens.
    pub input_per_mtok: f64,
    /// US dollars per million output tokens.
    pub output_per_mtok: f64,
}

impl Price {
    /// Cost of a turn in US dollars.
    pub fn cost(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        // Token counts are far below 2^52, so the conversion is exact.
        #[allow(clippy::cast_precision_loss)]
        let (input, output) = (input_tokens as f64, output_tokens as f64);
        (input * self.input_per_mtok + output * self.output_per_mtok) / 1_000_000.0
    }
}

/// `[budget]`, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BudgetConfig {
    /// Tokens one run may use.
    pub max_tokens: Option<u64>,
    /// US dollars one run may spend.
    pub max_cost_usd: Option<f64>,
}

/// `[tools]`, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToolsConfig {
    /// Offer the `bash` tool.
    pub bash: bool,
    /// Default time limit of one `bash` call.
    pub bash_timeout_secs: u64,
    /// Cap on one tool result's text.
    pub output_limit_bytes: usize,
}

impl Default for ToolsConfig {
    fn default() -> Self {
        ToolsConfig {
            bash: true,
            bash_timeout_secs: DEFAULT_BASH_TIMEOUT_SECS,
            output_limit_bytes: DEFAULT_TOOL_OUTPUT_BYTES,
        }
    }
}

/// Which provider protocol a model agent speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OpenAI-compatible chat completions.
    OpenAi,
    /// Anthropic messages.
    Anthropic,
}

impl Protocol {
    /// `openai` or `anthropic`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::OpenAi => "openai",
            Protocol::Anthropic => "anthropic",
        }
    }

    /// The protocol a provider kind speaks, if it is a model provider.
    pub fn of(kind: ProviderKind) -> Option<Protocol> {
        match kind {
            ProviderKind::Openai => Some(Protocol::OpenAi),
            ProviderKind::Anthropic => Some(Protocol::Anthropic),
            ProviderKind::Command | ProviderKind::Builtin => None,
        }
    }

    fn default_base_url(self) -> &'static str {
        match self {
            Protocol::OpenAi => OPENAI_BASE_URL,
            Protocol::Anthropic => ANTHROPIC_BASE_URL,
        }
    }

    /// The environment variable a key is read from unless configured otherwise.
    pub fn default_key_env(self) -> &'static str {
        match self {
            Protocol::OpenAi => "OPENAI_API_KEY",
            Protocol::Anthropic => "ANTHROPIC_API_KEY",
        }
    }

    /// Environment variable overriding the provider's base URL.
    pub fn base_url_env(self) -> &'static str {
        match self {
            Protocol::OpenAi => "OPENAI_BASE_URL",
            Protocol::Anthropic => "ANTHROPIC_BASE_URL",
        }
    }

    /// Environment variable giving the provider's default model.
    pub fn model_env(self) -> &'static str {
        match self {
            Protocol::OpenAi => "OPENAI_MODEL",
            Protocol::Anthropic => "ANTHROPIC_MODEL",
        }
    }
}

/// The model fields of one `[agents.ROLE]` (after `[agents.default]` inheritance).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoleModel {
    /// Model name.
    pub model: Option<String>,
    /// Endpoint for this role only.
    pub base_url: Option<String>,
    /// Environment variable with the key for this role.
    pub api_key_env: Option<String>,
    /// Most model turns per step.
    pub max_turns: Option<u32>,
    /// Most tokens per step.
    pub max_step_tokens: Option<u64>,
    /// Output tokens per turn.
    pub max_output_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Stream answers.
    pub stream: Option<bool>,
}

/// A provider's settings after the file and the environment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProviderConfig {
    /// `base_url` from the environment (`OPENAI_BASE_URL`…), else the file, else `None`
    /// (the default endpoint).
    pub base_url: Option<String>,
    /// `model` from the file, else the environment (`OPENAI_MODEL`…).
    pub model: Option<String>,
    /// As written.
    pub raw: RawProvider,
}

/// Everything a model agent needs except its key, resolved for one role and protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSettings {
    /// Protocol.
    pub protocol: Protocol,
    /// Endpoint.
    pub base_url: String,
    /// Model name.
    pub model: String,
    /// Environment variable holding the key (read by the agent, never stored).
    pub api_key_env: String,
    /// Whether the endpoint is the provider's public one (a key is then required).
    pub official_endpoint: bool,
    /// Stream answers.
    pub stream: bool,
    /// Retries on 429 and 5xx.
    pub retries: u32,
    /// First backoff delay in milliseconds.
    pub retry_base_ms: u64,
    /// Time limit of one HTTP exchange in seconds.
    pub request_timeout_secs: u64,
    /// Output tokens per turn.
    pub max_output_tokens: u32,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Most model turns per step.
    pub max_turns: u32,
    /// Most tokens per step.
    pub max_step_tokens: u64,
    /// Price, when `[prices.MODEL]` names the model.
    pub price: Option<Price>,
}

/// A ready-made `command` provider line for a coding-agent CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// Name used in `preset = "…"` and `--agents`.
    pub name: &'static str,
    /// The program that must be on `PATH`.
    pub program: &'static str,
    /// The shell line run for every step (the prompt arrives on stdin).
    pub command: &'static str,
    /// How to install the program.
    pub install: &'static str,
}

/// Presets of the `command` provider. Each reads the rendered prompt on stdin, works in the
/// workspace with its own tools, and prints its final message, which carries the JSON
/// envelope the prompt asks for.
pub const PRESETS: [Preset; 4] = [
    Preset {
        name: "claude-code",
        program: "claude",
        command: "claude -p --output-format text --dangerously-skip-permissions",
        install: "npm install -g @anthropic-ai/claude-code",
    },
    Preset {
        name: "codex",
        program: "codex",
        command: "codex exec --sandbox workspace-write --skip-git-repo-check -",
        install: "npm install -g @openai/codex",
    },
    Preset {
        name: "gemini",
        program: "gemini",
        command: "gemini --yolo",
        install: "npm install -g @google/gemini-cli",
    },
    Preset {
        name: "aider",
        program: "aider",
        command: "aider --yes-always --no-auto-commits --no-pretty --message-file /dev/stdin",
        install: "python3 -m pip install aider-install && aider-install",
    },
];

/// The preset called `name`.
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|preset| preset.name == name)
}

/// Names of all presets, for messages.
pub fn preset_names() -> String {
    PRESETS
        .iter()
        .map(|preset| format!("`{}`", preset.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Resolves the settings of a model agent for `role` speaking `protocol`. Role fields apply
/// only when the role's own provider is that protocol (a `--agents` override must not pick up
/// a model meant for another provider). Fails when no model is named anywhere.
pub(crate) fn settings(
    role: &str,
    role_model: Option<&RoleModel>,
    provider: &ProviderConfig,
    protocol: Protocol,
    prices: &BTreeMap<String, Price>,
) -> Result<ModelSettings, String> {
    let empty = RoleModel::default();
    let role_model = role_model.unwrap_or(&empty);
    let raw = &provider.raw;
    let model = role_model
        .model
        .clone()
        .or_else(|| provider.model.clone())
        .ok_or_else(|| {
            format!(
                "no model for role `{role}` with provider `{}`: expected `model` in \
                 [agents.{role}], [agents.default] or [providers.{}], or the {} environment \
                 variable, found none",
                protocol.name(),
                protocol.name(),
                protocol.model_env()
            )
        })?;
    let base_url = role_model
        .base_url
        .clone()
        .or_else(|| provider.base_url.clone())
        .unwrap_or_else(|| protocol.default_base_url().to_string());
    let official_endpoint =
        base_url.trim_end_matches('/') == protocol.default_base_url().trim_end_matches('/');
    Ok(ModelSettings {
        protocol,
        official_endpoint,
        base_url,
        price: prices.get(&model).copied(),
        model,
        api_key_env: role_model
            .api_key_env
            .clone()
            .or_else(|| raw.api_key_env.clone())
            .unwrap_or_else(|| protocol.default_key_env().to_string()),
        stream: role_model.stream.or(raw.stream).unwrap_or(false),
        retries: raw.retries.unwrap_or(DEFAULT_RETRIES),
        retry_base_ms: raw.retry_base_ms.unwrap_or(DEFAULT_RETRY_BASE_MS),
        request_timeout_secs: raw
            .request_timeout_secs
            .unwrap_or(DEFAULT_REQUEST_TIMEOUT_SECS),
        max_output_tokens: role_model
            .max_output_tokens
            .or(raw.max_output_tokens)
            .unwrap_or(DEFAULT_MAX_OUTPUT_TOKENS),
        temperature: role_model.temperature.or(raw.temperature),
        max_turns: role_model.max_turns.unwrap_or(DEFAULT_MAX_TURNS),
        max_step_tokens: role_model
            .max_step_tokens
            .unwrap_or(DEFAULT_MAX_STEP_TOKENS),
    })
}
