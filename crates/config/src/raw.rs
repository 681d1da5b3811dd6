//! The raw shape of `apiwright.toml`, exactly as written: every field optional, unknown
//! fields rejected. This module owns deserialization only; it must not apply defaults,
//! read the environment or validate cross-field rules (that is [`crate::Config::resolve`]).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::Durability;
use crate::ProviderKind;
use crate::models::RawBudget;
use crate::models::RawPrice;
use crate::models::RawProviders;
use crate::models::RawTools;

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[store]`.
    pub store: Option<RawStore>,
    /// `[agents.ROLE]`, ROLE being an agent role id or `default`.
    pub agents: Option<BTreeMap<String, RawAgent>>,
    /// `[hooks]`.
    pub hooks: Option<RawHooks>,
    /// `[prompts]`.
    pub prompts: Option<RawPrompts>,
    /// `[providers.openai]`, `[providers.anthropic]`.
    pub providers: Option<RawProviders>,
    /// `[prices.MODEL]`.
    pub prices: Option<BTreeMap<String, RawPrice>>,
    /// `[budget]`.
    pub budget: Option<RawBudget>,
    /// `[tools]`.
    pub tools: Option<RawTools>,
}

/// `[store]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// Database file.
    pub path: Option<String>,
    /// `normal` or `full`.
    pub durability: Option<Durability>,
}

/// `[agents.ROLE]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAgent {
    /// Which provider plays the role.
    pub provider: Option<ProviderKind>,
    /// Shell line (provider `command`).
    pub command: Option<String>,
    /// Per-step time limit.
    pub timeout_secs: Option<u64>,
    /// Extra environment for the agent process.
    pub env: Option<BTreeMap<String, String>>,
    /// A ready-made command line for a coding-agent CLI (provider `command`).
    pub preset: Option<String>,
    /// Model name (providers `openai`, `anthropic`).
    pub model: Option<String>,
    /// Endpoint for this role.
    pub base_url: Option<String>,
    /// Environment variable holding the API key for this role.
    pub api_key_env: Option<String>,
    /// Most model turns per step.
    pub max_turns: Option<u32>,
    /// Most tokens (input + output) per step.
    pub max_step_tokens: Option<u64>,
    /// Output tokens per model turn.
    pub max_output_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Stream answers.
    pub stream: Option<bool>,
    /// Refused with a clear message: keys come only from the environment.
    pub api_key: Option<toml::Value>,
}

/// `[hooks]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHooks {
    /// Time limit of one user hook command (clamped to 10..=600000).
    pub timeout_ms: Option<i64>,
    /// Commands run on `apiwright hooks pre-task`.
    #[serde(rename = "pre-task")]
    pub pre_task: Option<Vec<String>>,
    /// Commands run on `apiwright hooks post-task`.
    #[serde(rename = "post-task")]
    pub post_task: Option<Vec<String>>,
    /// Commands run on `apiwright hooks pre-edit`.
    #[serde(rename = "pre-edit")]
    pub pre_edit: Option<Vec<String>>,
    /// Commands run on `apiwright hooks post-edit`.
    #[serde(rename = "post-edit")]
    pub post_edit: Option<Vec<String>>,
    /// Commands run on `apiwright hooks notify`.
    pub notify: Option<Vec<String>>,
    /// Commands run on `apiwright hooks session-end`.
    #[serde(rename = "session-end")]
    pub session_end: Option<Vec<String>>,
    /// `[hooks.events]`: workflow event kind (snake_case) → commands.
    pub events: Option<BTreeMap<String, Vec<String>>>,
}

/// `[prompts]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrompts {
    /// Template rendering the prompt of every step.
    pub step_template: Option<String>,
}
