//! The search tools: `glob` (file names) and `grep` (file contents), both over the
//! sandbox's walk, so neither follows a symlink nor looks into `.git` or `target`.

use globset::Glob;
use globset::GlobBuilder;
use globset::GlobMatcher;
use regex::RegexBuilder;

use super::files::is_binary;
use super::sandbox::EntryKind;
use super::sandbox::Sandbox;
use super::sandbox::Walk;

/// Most paths `glob` prints.
pub(crate) const GLOB_LIMIT: usize = 1000;
/// Most matching lines `grep` prints.
pub(crate) const GREP_LIMIT: usize = 500;
/// Files larger than this are not searched: they are generated or data, and slow.
const GREP_MAX_FILE: u64 = 2 * 1024 * 1024;
/// Longest matching line shown in full; minified files would flood the output otherwise.
const GREP_LINE_CHARS: usize = 300;

/// `*` must not cross `/`, so `src/*.rs` means what it says, like gitignore globs.
pub(crate) fn matcher(pattern: &str) -> Result<GlobMatcher, String> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|glob: Glob| glob.compile_matcher())
        .map_err(|error| format!("invalid glob pattern `{pattern}`: {error}"))
}

pub(crate) fn glob(sandbox: &Sandbox, pattern: &str, path: &str) -> Result<String, String> {
    let pattern = pattern.trim_start_matches("./");
    let matcher = matcher(pattern)?;
    let base = sandbox.resolve(path)?;
    if !base.absolute.is_dir() {
        return Err(format!("`{}` is not a directory", base.relative));
    }
    let base_prefix = match base.relative.as_str() {
        "." => String::new(),
        relative => format!("{relative}/"),
    };
    let mut found = Vec::new();
    let mut total = 0_usize;
    sandbox.walk(&base, usize::MAX, &mut |entry| {
        let below_base = entry
            .relative
            .strip_prefix(&base_prefix)
            .unwrap_or(&entry.relative);
        if entry.kind != EntryKind::Dir && matcher.is_match(below_base) {
            total += 1;
            if found.len() < GLOB_LIMIT {
                found.push(entry.relative.clone());
            }
        }
        Walk::Continue
    })?;
    if found.is_empty() {
        return Ok(format!(
            "no files match `{pattern}` under `{}`",
            base.relative
        ));
    }
    found.sort();
    let mut output = found.join("\n");
    if total > found.len() {
        output.push_str(&format!(
            "\n[{total} files match; showing the first {GLOB_LIMIT}: narrow the pattern]"
        ));
    }
    Ok(output)
}

/// One `grep` call.
#[derive(Debug)]
pub(crate) struct GrepQuery {
    pub pattern: String,
    pub path: String,
    pub glob: Option<String>,
    pub ignore_case: bool,
}

pub(crate) fn grep(sandbox: &Sandbox, query: &GrepQuery) -> Result<String, String> {
    let regex = RegexBuilder::new(&query.pattern)
        .case_insensitive(query.ignore_case)
        .build()
        .map_err(|error| format!("invalid regex `{}`: {error}", query.pattern))?;
    // A glob without `/` filters by file name anywhere, as `rg --glob '*.rs'` does.
    let filter = match &query.glob {
        Some(glob) => Some((matcher(glob.trim_start_matches("./"))?, glob.contains('/'))),
        None => None,
    };
    let base = sandbox.resolve(&query.path)?;
    let base_prefix = match base.relative.as_str() {
        "." => String::new(),
        relative => format!("{relative}/"),
    };
    let mut matches = Vec::new();
    let mut truncated = false;
    let mut search_file = |relative: &str, absolute: &std::path::Path| -> Walk {
        if let Some((matcher, by_path)) = &filter {
            let candidate = if *by_path {
                relative.strip_prefix(&base_prefix).unwrap_or(relative)
            } else {
                relative.rsplit('/').next().unwrap_or(relative)
            };
            if !matcher.is_match(candidate) {
                return Walk::Continue;
            }
        }
        let too_big = std::fs::metadata(absolute)
            .map(|metadata| metadata.len() > GREP_MAX_FILE)
            .unwrap_or(true);
        if too_big {
            return Walk::Continue;
        }
        let Ok(bytes) = std::fs::read(absolute) else {
            return Walk::Continue;
        };
        if is_binary(&bytes) {
            return Walk::Continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        for (index, line) in text.lines().enumerate() {
            if regex.is_match(line) {
                if matches.len() == GREP_LIMIT {
                    truncated = true;
                    return Walk::Stop;
                }
                matches.push(format!("{relative}:{}:{}", index + 1, shorten(line)));
            }
        }
        Walk::Continue
    };
    let metadata = std::fs::metadata(&base.absolute).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => format!("`{}` does not exist", base.relative),
        _ => format!("cannot search `{}`: {error}", base.relative),
    })?;
    if metadata.is_dir() {
        sandbox.walk(&base, usize::MAX, &mut |entry| match entry.kind {
            EntryKind::File => search_file(&entry.relative, &entry.absolute),
            EntryKind::Dir | EntryKind::Symlink => Walk::Continue,
        })?;
    } else {
        search_file(&base.relative, &base.absolute);
    }
    if matches.is_empty() {
        return Ok(format!(
            "no matches for `{}` under `{}`",
            query.pattern, base.relative
        ));
    }
    let mut output = matches.join("\n");
    if truncated {
        output.push_str(&format!(
            "\n[stopped after {GREP_LIMIT} matches; narrow the pattern, path or glob]"
        ));
    }
    Ok(output)
}

fn shorten(line: &str) -> String {
    match line.char_indices().nth(GREP_LINE_CHARS) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line.to_string(),
    }
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
