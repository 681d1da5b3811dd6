//! The routes an axum service registers, read from its Rust sources with `syn` (no build).
//!
//! Every `.rs` file under the directory is parsed; each `.route(PATH, METHOD_ROUTER)` call is a
//! served route, wherever it appears (functions merged with `.merge(..)` included, since
//! merging keeps paths as they are). What is read:
//!
//! - `PATH`: a string literal, or the name (or path, `paths::BOOKS`) of a `const`/`static`
//!   initialised with a string literal: one of the same file first, else the only one of
//!   that name in the scanned files;
//! - `METHOD_ROUTER`: calls of `get`, `post`, `put`, `patch`, `delete`, `head`, `options`,
//!   `trace` (also `axum::routing::get`, the `*_service` forms and `on(MethodFilter::X, ..)`),
//!   chained with `.get(..)`, `.post(..)`, … (also from `MethodRouter::new()`), through
//!   `.layer(..)`, `.route_layer(..)`, `.with_state(..)` and friends; `any(..)` serves every
//!   method;
//! - `.nest(PREFIX, ROUTER)` prefixes the routes of `ROUTER` when it is written inline
//!   (`Router::new().route(..)…`).
//!
//! What is not resolved is reported as a problem with its `file:line`, never skipped: a path
//! or prefix that is not a literal or such a constant (`format!`, a variable), a method router
//! built elsewhere (`.route("/x", handlers())`), a router nested (or merged inside a nest)
//! from a function or variable. Not read at all: `route_service`, `nest_service`, fallbacks,
//! routes inside macro invocations, and modules under `#[cfg(test)]`.

use std::collections::BTreeSet;
use std::collections::HashMap;
use std::path::Path;
use std::path::PathBuf;

use syn::Expr;
use syn::Lit;
use syn::spanned::Spanned;
use syn::visit::Visit;

use super::routes::ANY;
use super::routes::ServedRoute;
use super::routes::openapi_form;
use super::routes::shorten;

/// Routes and problems found in a source tree.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Files parsed.
    pub files: usize,
    /// Every route registration, in file order.
    pub routes: Vec<ServedRoute>,
    /// Everything that could not be read, with `file:line`.
    pub problems: Vec<String>,
}

/// Method routers named after a method.
const METHOD_FUNCTIONS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

/// Calls on a method router that keep its methods.
const TRANSPARENT: [&str; 7] = [
    "layer",
    "route_layer",
    "with_state",
    "fallback",
    "fallback_service",
    "handle_error",
    "into",
];

/// Scans every `.rs` file under `dir`; paths in messages are relative to `base`.
pub(crate) fn scan(dir: &Path, base: &Path) -> Result<Scan, String> {
    let scanned = scan_files(dir, base);
    // Every span of the parsed files is gone: free the source text proc-macro2 keeps per
    // thread for line numbers, so repeated scans on the same (pool) thread do not pile up.
    proc_macro2::extra::invalidate_current_thread_spans();
    scanned
}

fn scan_files(dir: &Path, base: &Path) -> Result<Scan, String> {
    let shown = |path: &Path| {
        path.strip_prefix(base)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    if !dir.is_dir() {
        return Err(format!(
            "expected a directory of Rust sources at `{}`, found {}",
            shown(dir),
            if dir.exists() { "a file" } else { "nothing" }
        ));
    }
    let mut files = Vec::new();
    collect_files(dir, &mut files)
        .map_err(|error| format!("cannot list `{}`: {error}", shown(dir)))?;
    files.sort();
    let mut scan = Scan::default();
    let mut parsed = Vec::new();
    for path in files {
        let name = shown(&path);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) => {
                scan.problems.push(format!("{name}: cannot read: {error}"));
                continue;
            }
        };
        match syn::parse_file(&text) {
            Ok(file) => parsed.push((name, file)),
            Err(error) => {
                let line = error.span().start().line;
                scan.problems.push(format!(
                    "{name}:{line}: cannot parse as Rust ({error}), so its routes are unknown"
                ));
            }
        }
    }
    scan.files = parsed.len() + scan.problems.len();
    if scan.files == 0 {
        scan.problems.push(format!(
            "expected Rust sources under `{}`, found no `.rs` file",
            shown(dir)
        ));
    }
    let mut global = Constants::default();
    let mut locals = Vec::new();
    for (_, file) in &parsed {
        let mut local = Constants::default();
        local.visit_file(file);
        for (name, value) in &local.values {
            match value {
                Some(value) => global.add_value(name.clone(), value.clone()),
                None => {
                    global.values.insert(name.clone(), None);
                }
            }
        }
        locals.push(local);
    }
    for ((name, file), local) in parsed.iter().zip(&locals) {
        let mut visitor = RouteVisitor {
            file: name,
            local: &local.values,
            global: &global.values,
            prefixes: Vec::new(),
            nested_depth: 0,
            routes: Vec::new(),
            problems: Vec::new(),
        };
        visitor.visit_file(file);
        scan.routes.extend(visitor.routes);
        scan.problems.extend(visitor.problems);
    }
    Ok(scan)
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let kind = entry.file_type()?;
        if kind.is_dir() && !hidden && entry.file_name() != "target" {
            collect_files(&path, files)?;
        } else if kind.is_file() && path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

fn is_cfg_test(attributes: &[syn::Attribute]) -> bool {
    attributes.iter().any(|attribute| {
        attribute.path().is_ident("cfg")
            && attribute
                .parse_args::<syn::Ident>()
                .is_ok_and(|ident| ident == "test")
    })
}

/// String constants of the scanned files: name → value, `None` when two differ.
#[derive(Default)]
struct Constants {
    values: HashMap<String, Option<String>>,
}

impl Constants {
    fn add(&mut self, name: String, expr: &Expr) {
        if let Some(value) = string_literal(expr) {
            self.add_value(name, value);
        }
    }

    fn add_value(&mut self, name: String, value: String) {
        self.values
            .entry(name)
            .and_modify(|known| {
                if known.as_deref() != Some(value.as_str()) {
                    *known = None;
                }
            })
            .or_insert(Some(value));
    }
}

impl<'ast> Visit<'ast> for Constants {
    fn visit_item_const(&mut self, item: &'ast syn::ItemConst) {
        self.add(item.ident.to_string(), &item.expr);
    }

    fn visit_item_static(&mut self, item: &'ast syn::ItemStatic) {
        self.add(item.ident.to_string(), &item.expr);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if !is_cfg_test(&item.attrs) {
            syn::visit::visit_item_mod(self, item);
        }
    }
}

fn string_literal(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(text),
            ..
        }) => Some(text.value()),
        Expr::Reference(reference) => string_literal(&reference.expr),
        Expr::Paren(inner) => string_literal(&inner.expr),
        Expr::Group(inner) => string_literal(&inner.expr),
        _ => None,
    }
}

/// The source text of an expression, on one line and short.
fn source_of(expr: &Expr) -> String {
    let text = expr
        .span()
        .source_text()
        .unwrap_or_else(|| "this expression".into());
    shorten(&text.split_whitespace().collect::<Vec<_>>().join(" "), 60)
}

struct RouteVisitor<'a> {
    file: &'a str,
    /// String constants of this file.
    local: &'a HashMap<String, Option<String>>,
    /// String constants of every scanned file.
    global: &'a HashMap<String, Option<String>>,
    /// Prefixes of the `.nest(..)` calls being visited.
    prefixes: Vec<String>,
    /// How many `.nest(..)` routers are being visited (also those with unreadable prefixes).
    nested_depth: usize,
    routes: Vec<ServedRoute>,
    problems: Vec<String>,
}

impl RouteVisitor<'_> {
    fn at(&self, line: usize) -> String {
        format!("{}:{line}", self.file)
    }

    /// A route or prefix path: a literal or a string constant.
    fn path(&self, expr: &Expr) -> Result<String, String> {
        if let Some(text) = string_literal(expr) {
            return Ok(text);
        }
        if let Expr::Path(path) = expr
            && let Some(last) = path.path.segments.last()
        {
            let name = last.ident.to_string();
            let local = if path.path.segments.len() == 1 {
                self.local.get(&name).filter(|value| value.is_some())
            } else {
                None
            };
            return match local.or_else(|| self.global.get(&name)) {
                Some(Some(value)) => Ok(value.clone()),
                Some(None) => Err(format!(
                    "found `{}`, a constant defined with different values in the scanned files",
                    source_of(expr)
                )),
                None => Err(format!(
                    "found `{}`, which is not a string constant of the scanned files",
                    source_of(expr)
                )),
            };
        }
        Err(format!("found `{}`", source_of(expr)))
    }

    /// The methods a method router serves; `Err` when it is not built from known calls.
    fn methods(&self, expr: &Expr) -> Result<BTreeSet<String>, ()> {
        match expr {
            Expr::Paren(inner) => self.methods(&inner.expr),
            Expr::Group(inner) => self.methods(&inner.expr),
            Expr::Call(call) => {
                let Expr::Path(function) = &*call.func else {
                    return Err(());
                };
                let segments: Vec<String> = function
                    .path
                    .segments
                    .iter()
                    .map(|segment| segment.ident.to_string())
                    .collect();
                let name = segments.last().map(String::as_str).unwrap_or_default();
                if name == "new" && segments.iter().any(|segment| segment == "MethodRouter") {
                    return Ok(BTreeSet::new());
                }
                method_of(name, call.args.first())
                    .map(|method| BTreeSet::from([method]))
                    .ok_or(())
            }
            Expr::MethodCall(call) => {
                let name = call.method.to_string();
                let mut methods = self.methods(&call.receiver)?;
                if TRANSPARENT.contains(&name.as_str()) {
                    return Ok(methods);
                }
                if name == "merge"
                    && let Some(other) = call.args.first()
                {
                    methods.extend(self.methods(other)?);
                    return Ok(methods);
                }
                methods.insert(method_of(&name, call.args.first()).ok_or(())?);
                Ok(methods)
            }
            _ => Err(()),
        }
    }

    fn route(&mut self, call: &syn::ExprMethodCall) {
        let line = call.method.span().start().line;
        let (Some(path_expr), Some(router)) = (call.args.first(), call.args.get(1)) else {
            return;
        };
        let path = match self.path(path_expr) {
            Ok(path) => path,
            Err(found) => {
                self.problems.push(format!(
                    "cannot read route path at {}: expected a string literal or a string constant, {found}",
                    self.at(line)
                ));
                return;
            }
        };
        let full = format!("{}{path}", self.prefixes.concat());
        match self.methods(router) {
            Ok(methods) if !methods.is_empty() => {
                for method in methods {
                    self.routes.push(ServedRoute {
                        method,
                        path: openapi_form(&full),
                        at: self.at(line),
                    });
                }
            }
            _ => self.problems.push(format!(
                "cannot read the methods of route `{full}` at {}: expected `get(..)`, `post(..)`, … or a chain of them, found `{}`",
                self.at(line),
                source_of(router)
            )),
        }
    }

    /// Visits a nested (or, inside a nest, merged) router and reports it when no route was
    /// found in it: then it is built somewhere this scan does not follow.
    fn nested(&mut self, what: &str, router: &Expr, line: usize) {
        let before = (self.routes.len(), self.problems.len());
        self.nested_depth += 1;
        self.visit_expr(router);
        self.nested_depth -= 1;
        if (self.routes.len(), self.problems.len()) == before {
            self.problems.push(format!(
                "cannot resolve the router {what} at {}: expected an inline `Router::new().route(..)` chain, found `{}` (its routes would be read without the prefix)",
                self.at(line),
                source_of(router)
            ));
        }
    }
}

/// The method served by a method-router function or method named `name`.
fn method_of(name: &str, first_argument: Option<&Expr>) -> Option<String> {
    let base = name.strip_suffix("_service").unwrap_or(name);
    if METHOD_FUNCTIONS.contains(&base) {
        return Some(base.to_ascii_uppercase());
    }
    if base == "any" {
        return Some(ANY.to_string());
    }
    if base == "on"
        && let Some(Expr::Path(filter)) = first_argument
        && let Some(last) = filter.path.segments.last()
    {
        let method = last.ident.to_string();
        return METHOD_FUNCTIONS
            .contains(&method.to_ascii_lowercase().as_str())
            .then(|| method.to_ascii_uppercase());
    }
    None
}

impl<'ast> Visit<'ast> for RouteVisitor<'_> {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if !is_cfg_test(&item.attrs) {
            syn::visit::visit_item_mod(self, item);
        }
    }

    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        if !is_cfg_test(&item.attrs) {
            syn::visit::visit_item_fn(self, item);
        }
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let name = call.method.to_string();
        let line = call.method.span().start().line;
        match (name.as_str(), call.args.len()) {
            // The receiver first, so routes come in source order.
            ("route", 2) => {
                self.visit_expr(&call.receiver);
                self.route(call);
            }
            ("nest", 2) => {
                self.visit_expr(&call.receiver);
                let (Some(prefix), Some(router)) = (call.args.first(), call.args.get(1)) else {
                    return;
                };
                match self.path(prefix) {
                    Ok(prefix) => {
                        self.prefixes.push(prefix.clone());
                        self.nested(&format!("nested under `{prefix}`"), router, line);
                        self.prefixes.pop();
                    }
                    Err(found) => self.problems.push(format!(
                        "cannot read nest prefix at {}: expected a string literal or a string constant, {found}",
                        self.at(line)
                    )),
                }
            }
            ("merge", 1) if self.nested_depth > 0 => {
                self.visit_expr(&call.receiver);
                if let Some(router) = call.args.first() {
                    let prefix = self.prefixes.concat();
                    self.nested(&format!("merged under `{prefix}`"), router, line);
                }
            }
            _ => syn::visit::visit_expr_method_call(self, call),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_sources(files: &[(&str, &str)]) -> Scan {
        let dir = std::env::temp_dir().join(format!(
            "apiwright-axum-scan-{}-{}",
            std::process::id(),
            files.iter().map(|(_, source)| source.len()).sum::<usize>()
        ));
        let src = dir.join("src");
        for (name, source) in files {
            let path = src.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, source).unwrap();
        }
        let scan = scan(&src, &dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        scan
    }

    fn scan_source(source: &str) -> Scan {
        scan_sources(&[("routes.rs", source)])
    }

    #[test]
    fn constants_of_the_same_file_win_and_shared_ones_resolve_by_path() {
        let scan = scan_sources(&[
            (
                "resources/books.rs",
                "const COLLECTION: &str = \"/books\";\nfn routes() -> Router { Router::new().route(COLLECTION, get(list)) }\n",
            ),
            (
                "resources/authors.rs",
                "const COLLECTION: &str = \"/authors\";\nfn routes() -> Router { Router::new().route(COLLECTION, get(list)).route(paths::STATS, get(s)) }\n",
            ),
            ("paths.rs", "pub const STATS: &str = \"/stats\";\n"),
            (
                "elsewhere.rs",
                "fn routes() -> Router { Router::new().route(COLLECTION, get(list)) }\n",
            ),
        ]);
        assert_eq!(
            routes(&scan),
            [
                "GET /authors src/resources/authors.rs:2",
                "GET /stats src/resources/authors.rs:2",
                "GET /books src/resources/books.rs:2",
            ]
        );
        assert_eq!(
            scan.problems,
            [
                "cannot read route path at src/elsewhere.rs:1: expected a string literal or a string constant, found `COLLECTION`, a constant defined with different values in the scanned files"
            ]
        );
    }

    fn routes(scan: &Scan) -> Vec<String> {
        scan.routes
            .iter()
            .map(|route| format!("{} {} {}", route.method, route.path, route.at))
            .collect()
    }

    #[test]
    fn reads_routes_method_chains_constants_and_inline_nests() {
        let scan = scan_source(
            r#"use axum::routing::{get, post, MethodRouter};
use axum::Router;

const ITEMS: &str = "/items/:id";

pub fn app() -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/books", get(list).post(create))
        .route("/books/{id}", axum::routing::get(read).patch(update).delete(remove).layer(x))
        .route(ITEMS, MethodRouter::new().put(put_item))
        .route("/files/{*rest}", any(files))
        .nest(
            "/api/v1",
            Router::new()
                .route("/authors", post(create_author))
                .nest("/admin", Router::new().route("/stats", get(stats))),
        )
}

#[cfg(test)]
mod tests {
    fn test_app() -> Router { Router::new().route("/only-in-tests", get(x)) }
}
"#,
        );
        assert_eq!(scan.problems, Vec::<String>::new());
        assert_eq!(
            routes(&scan),
            [
                "GET /health src/routes.rs:8",
                "GET /books src/routes.rs:9",
                "POST /books src/routes.rs:9",
                "DELETE /books/{id} src/routes.rs:10",
                "GET /books/{id} src/routes.rs:10",
                "PATCH /books/{id} src/routes.rs:10",
                "PUT /items/{id} src/routes.rs:11",
                "ANY /files/{rest} src/routes.rs:12",
                "POST /api/v1/authors src/routes.rs:16",
                "GET /api/v1/admin/stats src/routes.rs:17",
            ]
        );
    }

    #[test]
    fn what_cannot_be_read_is_a_problem_with_file_and_line() {
        let scan = scan_source(
            r#"pub fn app(prefix: &str) -> Router {
    Router::new()
        .route(&format!("{prefix}/books"), get(list))
        .route("/books/{id}", handlers())
        .nest("/api", api_routes())
        .route(UNKNOWN, get(x))
}
"#,
        );
        assert_eq!(routes(&scan), Vec::<String>::new());
        assert_eq!(
            scan.problems,
            [
                "cannot read route path at src/routes.rs:3: expected a string literal or a string constant, found `&format!(\"{prefix}/books\")`",
                "cannot read the methods of route `/books/{id}` at src/routes.rs:4: expected `get(..)`, `post(..)`, … or a chain of them, found `handlers()`",
                "cannot resolve the router nested under `/api` at src/routes.rs:5: expected an inline `Router::new().route(..)` chain, found `api_routes()` (its routes would be read without the prefix)",
                "cannot read route path at src/routes.rs:6: expected a string literal or a string constant, found `UNKNOWN`, which is not a string constant of the scanned files",
            ]
        );
    }

    #[test]
    fn missing_directories_and_broken_files_are_reported() {
        let missing = scan(Path::new("/no/such/dir/src"), Path::new("/no/such/dir"));
        assert_eq!(
            missing.unwrap_err(),
            "expected a directory of Rust sources at `src`, found nothing"
        );
        let broken = scan_source("fn broken( {");
        assert_eq!(broken.routes, []);
        assert_eq!(broken.problems.len(), 1);
        assert!(
            broken.problems[0].starts_with("src/routes.rs:1: cannot parse as Rust"),
            "{:?}",
            broken.problems
        );
    }
}
