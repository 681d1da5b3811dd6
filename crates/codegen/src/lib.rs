//! The code generator behind the built-in offline agents: from a requirements spec
//! ([`apiwright_spec::Spec`]) it produces a Rust service (axum, SQLite) as files, in the steps
//! a test-first build takes:
//!
//! 1. [`scaffold`]: the project with no item implemented — it builds, and its tests compile;
//! 2. for each of [`items`] in order: [`tests_for`] (the item's tests, written first, which
//!    fail because the routes are not mounted), then [`implementation_for`] (the item's
//!    module and the regenerated route registry), after which they pass.
//!
//! An item is the auth endpoints, or all five endpoints of one resource: they share one
//! module, and batching them keeps the number of compile-and-test cycles (the dominant cost of
//! a build) at one per resource; the item's tests still exercise every endpoint, and each
//! must fail before the implementation and pass after it.
//!
//! [`migrations`] gives the SQL schema alone. The generator is pure: it returns
//! [`GeneratedFile`]s and never touches the disk. The `try_` functions report errors (an
//! unknown item, a template failure); the others turn them into a file that fails the build
//! with the message, so that a broken generation is never mistaken for a working one.

mod names;
mod plan;
mod render;
mod resource_rs;
mod sample;
mod sql;
mod tests_rs;

use std::fmt;

use apiwright_spec::Spec;

use crate::render::Project;

/// A file of the generated project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path relative to the project root, `/`-separated.
    pub path: String,
    /// Full contents.
    pub contents: String,
}

impl GeneratedFile {
    fn new(path: impl Into<String>, contents: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            contents: contents.into(),
        }
    }
}

/// Why code could not be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodegenError {
    /// The item is not one of [`items`].
    UnknownItem(String),
    /// `implemented` does not contain the item being implemented, or names unknown items.
    InvalidImplemented(String),
    /// A template failed to render (a bug of this crate).
    Template(String),
}

impl fmt::Display for CodegenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownItem(item) => write!(f, "unknown item `{item}`"),
            Self::InvalidImplemented(message) => write!(f, "invalid implemented items: {message}"),
            Self::Template(message) => write!(f, "template error: {message}"),
        }
    }
}

impl std::error::Error for CodegenError {}

/// Path of the file that carries a generation error into the build.
pub const ERROR_FILE: &str = "src/codegen_error.rs";

/// [`try_scaffold`] for a project at a given place: `build_id` (letters, digits, `.`, `-`)
/// becomes semver build metadata of the package version. Cargo's artifact hash of a package
/// that is its own workspace root ignores where it lives, so two generated projects with the
/// same name and version sharing one target directory would reuse each other's builds; a
/// build id derived from the project's path keeps them apart.
pub fn try_scaffold_in(spec: &Spec, build_id: &str) -> Result<Vec<GeneratedFile>, CodegenError> {
    if build_id.is_empty()
        || !build_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(CodegenError::Template(format!(
            "build id `{build_id}`: expected letters, digits, `.` or `-`"
        )));
    }
    scaffold_project(spec, build_id)
}

/// The finished project in one go — the scaffold (see [`try_scaffold_in`]; an empty
/// `build_id` leaves the version bare), every item's tests and every implementation — for
/// workflows that do not build test-first per item. Each path appears once, with its last
/// contents (the registry mounting every item).
pub fn try_finished_project(
    spec: &Spec,
    build_id: &str,
) -> Result<Vec<GeneratedFile>, CodegenError> {
    let mut files = if build_id.is_empty() {
        try_scaffold(spec)?
    } else {
        try_scaffold_in(spec, build_id)?
    };
    let items = plan::items(spec);
    for (position, item) in items.iter().enumerate() {
        files.extend(try_batches(
            spec,
            std::slice::from_ref(item),
            &items[..=position],
            true,
        )?);
    }
    let mut latest: Vec<GeneratedFile> = Vec::with_capacity(files.len());
    for file in files {
        match latest.iter_mut().find(|kept| kept.path == file.path) {
            Some(kept) => *kept = file,
            None => latest.push(file),
        }
    }
    Ok(latest)
}

/// The files of `items` (each one's tests when `with_tests`, then its implementation), with
/// the route registry mounting `implemented` (which must include every item).
pub fn try_batches(
    spec: &Spec,
    items: &[String],
    implemented: &[String],
    with_tests: bool,
) -> Result<Vec<GeneratedFile>, CodegenError> {
    let mut files = Vec::new();
    for item in items {
        if with_tests {
            files.extend(try_tests_for(spec, item)?);
        }
        files.extend(try_implementation_for(spec, item, implemented)?);
    }
    Ok(files)
}

/// The TDD items in build order: `auth`, then each resource's plural, every resource after
/// the resources it references.
pub fn items(spec: &Spec) -> Vec<String> {
    plan::items(spec)
}

/// The project with no item implemented: manifest, runtime modules, an empty route registry,
/// migrations, seed, README, and the shared test helpers with the platform tests.
pub fn scaffold(spec: &Spec) -> Vec<GeneratedFile> {
    or_error_file(try_scaffold(spec))
}

/// [`scaffold`], reporting errors.
pub fn try_scaffold(spec: &Spec) -> Result<Vec<GeneratedFile>, CodegenError> {
    scaffold_project(spec, "")
}

fn scaffold_project(spec: &Spec, build_id: &str) -> Result<Vec<GeneratedFile>, CodegenError> {
    let env = render::environment()?;
    let mut project = Project::new(spec);
    project.build_id = build_id.to_owned();
    let mut files = Vec::new();
    for name in render::SCAFFOLD_TEMPLATES {
        files.push(GeneratedFile::new(
            *name,
            render::render(&env, name, &project)?,
        ));
    }
    files.push(registry(&env, &project, &[])?);
    let (up, down) = sql::migrations(spec);
    files.push(GeneratedFile::new("migrations/0001_init.up.sql", up));
    files.push(GeneratedFile::new("migrations/0001_init.down.sql", down));
    files.push(GeneratedFile::new("migrations/seed.sql", sql::seed(spec)));
    Ok(files)
}

/// The tests of `item` (`tests/{item}.rs`), to be written before its implementation.
pub fn tests_for(spec: &Spec, item: &str) -> Vec<GeneratedFile> {
    or_error_file(try_tests_for(spec, item))
}

/// [`tests_for`], reporting errors.
pub fn try_tests_for(spec: &Spec, item: &str) -> Result<Vec<GeneratedFile>, CodegenError> {
    let path = format!("tests/{item}.rs");
    if item == plan::AUTH_ITEM {
        let env = render::environment()?;
        let contents = render::render(&env, "tests/auth.rs", Project::new(spec))?;
        return Ok(vec![GeneratedFile::new(path, contents)]);
    }
    let resource =
        plan::resource_of(spec, item).ok_or_else(|| CodegenError::UnknownItem(item.to_owned()))?;
    Ok(vec![GeneratedFile::new(
        path,
        tests_rs::resource_tests(spec, resource),
    )])
}

/// The implementation of `item` (`src/resources/{item}.rs`) and the route registry
/// (`src/resources/mod.rs`) mounting exactly `implemented` (which must include `item`).
pub fn implementation_for(spec: &Spec, item: &str, implemented: &[String]) -> Vec<GeneratedFile> {
    or_error_file(try_implementation_for(spec, item, implemented))
}

/// [`implementation_for`], reporting errors.
pub fn try_implementation_for(
    spec: &Spec,
    item: &str,
    implemented: &[String],
) -> Result<Vec<GeneratedFile>, CodegenError> {
    let all = plan::items(spec);
    if !all.iter().any(|known| known == item) {
        return Err(CodegenError::UnknownItem(item.to_owned()));
    }
    if !implemented.iter().any(|done| done == item) {
        return Err(CodegenError::InvalidImplemented(format!(
            "`{item}` is not among them"
        )));
    }
    if let Some(unknown) = implemented.iter().find(|done| !all.contains(done)) {
        return Err(CodegenError::UnknownItem(unknown.clone()));
    }
    let env = render::environment()?;
    let project = Project::new(spec);
    let path = format!("src/resources/{item}.rs");
    let module = if item == plan::AUTH_ITEM {
        render::render(&env, "src/resources/auth.rs", &project)?
    } else {
        let resource = plan::resource_of(spec, item)
            .ok_or_else(|| CodegenError::UnknownItem(item.to_owned()))?;
        let context = resource_rs::ResourceModule::new(spec, resource, &project.uses);
        render::render(
            &env,
            "src/resources/resource.rs",
            serde_json::json!({ "r": context }),
        )?
    };
    Ok(vec![
        GeneratedFile::new(path, module),
        registry(&env, &project, implemented)?,
    ])
}

/// The up and down SQL of the schema (also `migrations/0001_init.{up,down}.sql`).
pub fn migrations(spec: &Spec) -> (String, String) {
    sql::migrations(spec)
}

/// `src/resources/mod.rs` mounting `implemented`, in build order.
fn registry(
    env: &minijinja::Environment<'_>,
    project: &Project,
    implemented: &[String],
) -> Result<GeneratedFile, CodegenError> {
    let mut project = project.clone();
    project.implemented = project
        .items
        .iter()
        .filter(|item| implemented.contains(item))
        .cloned()
        .collect();
    let contents = render::render(env, "src/resources/mod.rs", &project)?;
    Ok(GeneratedFile::new("src/resources/mod.rs", contents))
}

/// The files, or a module that fails the build with the error.
fn or_error_file(result: Result<Vec<GeneratedFile>, CodegenError>) -> Vec<GeneratedFile> {
    result.unwrap_or_else(|error| {
        vec![GeneratedFile::new(
            ERROR_FILE,
            format!(
                "//! apiwright could not generate this project.\ncompile_error!({:?});\n",
                error.to_string()
            ),
        )]
    })
}
