//! The embedded minijinja templates of the generated project and the context they share.

use apiwright_spec::Spec;
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use crate::CodegenError;
use crate::names;
use crate::plan::{self, Uses};

/// Template name (the generated path) and source.
const TEMPLATES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../templates/Cargo.toml")),
    (".gitignore", include_str!("../templates/gitignore")),
    ("src/lib.rs", include_str!("../templates/src/lib.rs")),
    ("src/main.rs", include_str!("../templates/src/main.rs")),
    ("src/auth.rs", include_str!("../templates/src/auth.rs")),
    ("src/config.rs", include_str!("../templates/src/config.rs")),
    ("src/db.rs", include_str!("../templates/src/db.rs")),
    ("src/error.rs", include_str!("../templates/src/error.rs")),
    (
        "src/extract.rs",
        include_str!("../templates/src/extract.rs"),
    ),
    ("src/list.rs", include_str!("../templates/src/list.rs")),
    (
        "src/metrics.rs",
        include_str!("../templates/src/metrics.rs"),
    ),
    (
        "src/middleware.rs",
        include_str!("../templates/src/middleware.rs"),
    ),
    ("src/ops.rs", include_str!("../templates/src/ops.rs")),
    (
        "src/rate_limit.rs",
        include_str!("../templates/src/rate_limit.rs"),
    ),
    (
        "src/validate.rs",
        include_str!("../templates/src/validate.rs"),
    ),
    (
        "src/resources/mod.rs",
        include_str!("../templates/src/resources/mod.rs"),
    ),
    (
        "src/resources/auth.rs",
        include_str!("../templates/src/resources/auth.rs"),
    ),
    (
        "src/resources/resource.rs",
        include_str!("../templates/src/resources/resource.rs"),
    ),
    (
        "tests/common/mod.rs",
        include_str!("../templates/tests/common/mod.rs"),
    ),
    (
        "tests/platform.rs",
        include_str!("../templates/tests/platform.rs"),
    ),
    ("tests/auth.rs", include_str!("../templates/tests/auth.rs")),
    ("README.md", include_str!("../templates/README.md")),
];

/// Files of the scaffold rendered from a template of the same name, in this order.
pub(crate) const SCAFFOLD_TEMPLATES: &[&str] = &[
    "Cargo.toml",
    ".gitignore",
    "README.md",
    "src/lib.rs",
    "src/main.rs",
    "src/auth.rs",
    "src/config.rs",
    "src/db.rs",
    "src/error.rs",
    "src/extract.rs",
    "src/list.rs",
    "src/metrics.rs",
    "src/middleware.rs",
    "src/ops.rs",
    "src/rate_limit.rs",
    "src/validate.rs",
    "tests/common/mod.rs",
    "tests/platform.rs",
];

/// A minijinja environment with every template, rendering Rust and SQL verbatim (no
/// escaping), failing on undefined variables, and dropping the lines of block tags.
pub(crate) fn environment() -> Result<Environment<'static>, CodegenError> {
    let mut env = Environment::new();
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|error| CodegenError::Template(format!("syntax: {error:#}")))?;
    env.set_syntax(syntax);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|error| CodegenError::Template(format!("{name}: {error:#}")))?;
    }
    Ok(env)
}

/// Renders template `name` with `context`.
pub(crate) fn render(
    env: &Environment<'_>,
    name: &str,
    context: impl Serialize,
) -> Result<String, CodegenError> {
    env.get_template(name)
        .and_then(|template| template.render(Serde(context)))
        .map_err(|error| CodegenError::Template(format!("{name}: {error:#}")))
}

/// What every project template may use.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Project {
    pub crate_name: String,
    pub lib_name: String,
    pub version: String,
    pub title: String,
    pub description: String,
    pub description_toml: String,
    pub headline_doc: String,
    pub roles_const: String,
    pub default_role: String,
    pub password_min: u32,
    pub rate_per_user: u32,
    pub rate_per_ip: u32,
    pub access_minutes: u32,
    pub refresh_days: u32,
    pub uses: Uses,
    pub items: Vec<String>,
    /// The module doc of `src/resources/mod.rs`.
    pub registry_doc: String,
    /// Modules mounted by the registry.
    pub implemented: Vec<String>,
    /// Semver build metadata appended to the package version (see [`crate::try_scaffold_in`]).
    pub build_id: String,
}

impl Project {
    pub(crate) fn new(spec: &Spec) -> Self {
        let title = spec.title().to_owned();
        let description = spec.api.description.trim().to_owned();
        let headline = if description.is_empty() {
            title.clone()
        } else {
            format!("{title}: {description}")
        };
        let items = plan::items(spec);
        let roles: Vec<String> = spec
            .auth
            .roles
            .iter()
            .map(|role| format!("{role:?}"))
            .collect();
        Self {
            crate_name: spec.api.name.clone(),
            lib_name: spec.api.name.replace('-', "_"),
            version: spec.api.version.clone(),
            title,
            description_toml: toml_string(&description),
            description,
            headline_doc: names::wrap("//! ", &headline, names::MAX_WIDTH),
            roles_const: names::array(0, "pub const ROLES: &[&str] = &", &roles, ";"),
            default_role: spec.auth.default_role.clone(),
            password_min: spec.auth.password_min_length,
            rate_per_user: spec.rate_limits.per_user_per_minute,
            rate_per_ip: spec.rate_limits.per_ip_per_minute,
            access_minutes: spec.auth.access_token_minutes,
            refresh_days: spec.auth.refresh_token_days,
            uses: Uses::of(spec),
            registry_doc: names::wrap(
                "//! ",
                &format!(
                    "The routes under `/api/v1`, one module per implemented item of the build ({}). \
                     [`routes`] mounts exactly the implemented ones; until an item is implemented \
                     its paths answer 404.",
                    items
                        .iter()
                        .map(|item| format!("`{item}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                names::MAX_WIDTH,
            ),
            items,
            implemented: Vec::new(),
            build_id: String::new(),
        }
    }
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
