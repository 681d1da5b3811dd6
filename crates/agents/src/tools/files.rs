//! The file tools: `read_file`, `write_file`, `edit_file` and `list_files`.

use super::ToolLimits;
use super::ToolOutcome;
use super::sandbox::EntryKind;
use super::sandbox::Sandbox;
use super::sandbox::Walk;

/// Bytes sniffed for a NUL to tell binary files from text, as git and ripgrep do.
pub(crate) const SNIFF_BYTES: usize = 8192;
/// Most entries `list_files` prints.
const LIST_LIMIT: usize = 1000;
/// Room kept under the output limit for `read_file`'s closing note.
const NOTE_ROOM: usize = 200;

/// Whether bytes look like a binary file.
pub(crate) fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(SNIFF_BYTES)].contains(&0)
}

pub(crate) fn read_file(
    sandbox: &Sandbox,
    limits: &ToolLimits,
    path: &str,
    offset: Option<usize>,
    limit: Option<usize>,
) -> ToolOutcome {
    read(sandbox, limits, path, offset, limit).into()
}

fn read(
    sandbox: &Sandbox,
    limits: &ToolLimits,
    path: &str,
    offset: Option<usize>,
    limit: Option<usize>,
) -> Result<String, String> {
    let offset = offset.unwrap_or(1);
    if offset == 0 {
        return Err("`offset` is a 1-based line number; use 1 for the first line".into());
    }
    if limit == Some(0) {
        return Err("`limit` must be at least 1".into());
    }
    let limit = limit
        .unwrap_or(limits.read_limit_lines)
        .min(limits.read_limit_lines);
    let resolved = sandbox.resolve(path)?;
    let shown = &resolved.relative;
    let metadata =
        std::fs::metadata(&resolved.absolute).map_err(|error| missing_or(shown, &error, "read"))?;
    if metadata.is_dir() {
        return Err(format!(
            "`{shown}` is a directory; use list_files to see its entries"
        ));
    }
    let bytes = std::fs::read(&resolved.absolute)
        .map_err(|error| format!("cannot read `{shown}`: {error}"))?;
    if is_binary(&bytes) {
        return Err(format!(
            "`{shown}` is a binary file ({} bytes); read_file shows text only",
            bytes.len()
        ));
    }
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let total = lines.len();
    if total == 0 {
        return Ok(format!("(`{shown}` is empty)"));
    }
    if offset > total {
        return Err(format!(
            "`offset` {offset} is past the end of `{shown}`, which has {total} lines"
        ));
    }
    let budget = limits.output_limit.saturating_sub(NOTE_ROOM);
    let mut output = String::new();
    let mut next = offset;
    for (index, line) in lines.iter().enumerate().skip(offset - 1).take(limit) {
        let numbered = format!("{:>6}\t{line}\n", index + 1);
        // Stop on a line boundary so the note can say exactly where to go on; a single
        // line longer than the budget is still shown (the output cap trims it).
        if !output.is_empty() && output.len() + numbered.len() > budget {
            break;
        }
        output.push_str(&numbered);
        next = index + 2;
    }
    let last = next - 1;
    if last < total {
        output.push_str(&format!(
            "[showing lines {offset}–{last} of {total}; call read_file with offset {next} to \
             read more]"
        ));
    } else if offset > 1 {
        output.push_str(&format!("[showing lines {offset}–{last} of {total}]"));
    }
    Ok(output)
}

pub(crate) fn write_file(
    sandbox: &Sandbox,
    path: &str,
    content: &str,
) -> Result<(String, String), String> {
    let resolved = sandbox.resolve(path)?;
    let shown = resolved.relative.clone();
    if resolved.absolute.is_dir() {
        return Err(format!("`{shown}` is a directory; give a file path"));
    }
    let existed = resolved.absolute.exists();
    if let Some(parent) = resolved.absolute.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|error| format!("cannot create the directories of `{shown}`: {error}"))?;
    }
    std::fs::write(&resolved.absolute, content)
        .map_err(|error| format!("cannot write `{shown}`: {error}"))?;
    let verb = if existed { "replaced" } else { "created" };
    let message = format!("{verb} `{shown}` ({} bytes written)", content.len());
    Ok((shown, message))
}

/// One `edit_file` call.
#[derive(Debug)]
pub(crate) struct Edit {
    pub path: String,
    pub old_string: String,
    pub new_string: String,
    pub replace_all: bool,
}

pub(crate) fn edit_file(sandbox: &Sandbox, edit: &Edit) -> Result<(String, String), String> {
    if edit.old_string.is_empty() {
        return Err("`old_string` must not be empty; use write_file to create a file".into());
    }
    if edit.old_string == edit.new_string {
        return Err("`old_string` and `new_string` are the same; nothing would change".into());
    }
    let resolved = sandbox.resolve(&edit.path)?;
    let shown = resolved.relative.clone();
    if resolved.absolute.is_dir() {
        return Err(format!("`{shown}` is a directory; give a file path"));
    }
    let bytes =
        std::fs::read(&resolved.absolute).map_err(|error| missing_or(&shown, &error, "edit"))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("`{shown}` is not UTF-8 text; edit_file edits text only"))?;
    let count = text.matches(edit.old_string.as_str()).count();
    let edited = match count {
        0 => {
            return Err(format!(
                "`old_string` not found in `{shown}`; read the file first and copy the text \
                 exactly, whitespace included"
            ));
        }
        1 => text.replacen(edit.old_string.as_str(), &edit.new_string, 1),
        _ if edit.replace_all => text.replace(edit.old_string.as_str(), &edit.new_string),
        _ => {
            return Err(format!(
                "`old_string` found {count} times in `{shown}`; include more context to make \
                 it unique or set replace_all"
            ));
        }
    };
    std::fs::write(&resolved.absolute, &edited)
        .map_err(|error| format!("cannot write `{shown}`: {error}"))?;
    let message = match count {
        1 => format!("edited `{shown}`: replaced 1 occurrence"),
        _ => format!("edited `{shown}`: replaced {count} occurrences"),
    };
    Ok((shown, message))
}

pub(crate) fn list_files(sandbox: &Sandbox, path: &str, depth: usize) -> Result<String, String> {
    if depth == 0 {
        return Err("`depth` must be at least 1".into());
    }
    let resolved = sandbox.resolve(path)?;
    let shown = &resolved.relative;
    let metadata =
        std::fs::metadata(&resolved.absolute).map_err(|error| missing_or(shown, &error, "list"))?;
    if !metadata.is_dir() {
        return Err(format!(
            "`{shown}` is a file, not a directory; use read_file"
        ));
    }
    let mut lines = Vec::new();
    let mut more = false;
    sandbox.walk(&resolved, depth, &mut |entry| {
        if lines.len() == LIST_LIMIT {
            more = true;
            return Walk::Stop;
        }
        lines.push(match entry.kind {
            EntryKind::Dir => format!("{}/", entry.relative),
            EntryKind::File => entry.relative.clone(),
            EntryKind::Symlink => match std::fs::read_link(&entry.absolute) {
                Ok(target) => format!("{} -> {}", entry.relative, target.display()),
                Err(_) => format!("{} -> ?", entry.relative),
            },
        });
        Walk::Continue
    })?;
    if lines.is_empty() {
        return Ok(format!("(`{shown}` is empty)"));
    }
    if more {
        lines.push(format!(
            "[stopped after {LIST_LIMIT} entries; list a subdirectory or use a smaller depth]"
        ));
    }
    Ok(lines.join("\n"))
}

fn missing_or(shown: &str, error: &std::io::Error, verb: &str) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound if verb == "edit" => {
            format!("`{shown}` does not exist; use write_file to create it")
        }
        std::io::ErrorKind::NotFound => format!("`{shown}` does not exist"),
        _ => format!("cannot {verb} `{shown}`: {error}"),
    }
}

#[cfg(test)]
#[path = "files_tests.rs"]
mod tests;
