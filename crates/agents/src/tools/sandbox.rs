//! Confinement of every path a model names to the step's workspace, and the one directory
//! walk the listing and search tools share.
//!
//! A path is accepted only when it is relative, stays under the root after lexical
//! normalization, and every symlink it passes through (or ends at) resolves inside the
//! canonical root. The checks run before each operation; a process racing the tool inside
//! the workspace could still swap a directory for a symlink in between, which is acceptable
//! because that process already runs with the workspace's rights.

use std::path::Component;
use std::path::Path;
use std::path::PathBuf;

/// Directories never listed or searched: version control internals and build output are
/// large, generated and useless to read.
const SKIPPED_DIRS: [&str; 2] = [".git", "target"];

/// The canonical workspace root.
#[derive(Debug, Clone)]
pub(crate) struct Sandbox {
    root: PathBuf,
}

/// A path accepted by the sandbox.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resolved {
    /// The root joined with the normalized relative path.
    pub absolute: PathBuf,
    /// The normalized workspace-relative path (`/`-separated; `.` for the root).
    pub relative: String,
}

/// What a directory entry is, without following symlinks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum EntryKind {
    File,
    Dir,
    Symlink,
}

/// One entry met by [`Sandbox::walk`].
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub absolute: PathBuf,
    /// Workspace-relative, `/`-separated.
    pub relative: String,
    pub kind: EntryKind,
}

/// Whether a walk goes on after an entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Walk {
    Continue,
    Stop,
}

impl Sandbox {
    /// Creates the workspace directory if it is missing and canonicalizes it.
    pub(crate) fn new(workspace: &Path) -> Result<Sandbox, String> {
        std::fs::create_dir_all(workspace)
            .map_err(|error| format!("cannot create workspace {}: {error}", workspace.display()))?;
        let root = workspace.canonicalize().map_err(|error| {
            format!("cannot resolve workspace {}: {error}", workspace.display())
        })?;
        Ok(Sandbox { root })
    }

    /// The canonical root.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves a model-supplied path, refusing anything that could reach outside the root.
    pub(crate) fn resolve(&self, path: &str) -> Result<Resolved, String> {
        let outside = || {
            format!("path `{path}` is outside the workspace; use a path relative to the workspace")
        };
        if path.starts_with('~') {
            // The shell would expand `~` to the home directory; a model writing it means home.
            return Err(outside());
        }
        let mut parts: Vec<&str> = Vec::new();
        for component in Path::new(path).components() {
            match component {
                Component::CurDir => {}
                Component::Normal(part) => match part.to_str() {
                    Some(part) => parts.push(part),
                    None => return Err(format!("path `{path}` is not valid UTF-8")),
                },
                Component::ParentDir => {
                    if parts.pop().is_none() {
                        return Err(outside());
                    }
                }
                Component::RootDir | Component::Prefix(_) => return Err(outside()),
            }
        }
        let absolute: PathBuf = parts
            .iter()
            .fold(self.root.clone(), |path, part| path.join(part));
        let mut current = self.root.clone();
        for (index, part) in parts.iter().enumerate() {
            current.push(part);
            match std::fs::symlink_metadata(&current) {
                Ok(metadata) if metadata.file_type().is_symlink() => {
                    let through = parts[..=index].join("/");
                    match current.canonicalize() {
                        Ok(target) if target.starts_with(&self.root) => {}
                        Ok(_) => {
                            return Err(format!(
                                "path `{path}` is outside the workspace: `{through}` is a \
                                 symlink leading out of it; use a path relative to the workspace"
                            ));
                        }
                        // A dangling link would be created at its target by a write, and the
                        // target may lie anywhere.
                        Err(_) => {
                            return Err(format!(
                                "path `{path}` passes through `{through}`, a broken symlink; \
                                 the tools do not follow it"
                            ));
                        }
                    }
                }
                Ok(_) => {}
                // Nothing deeper exists, so nothing deeper can be a symlink.
                Err(_) => break,
            }
        }
        // Belt and braces: the deepest existing ancestor must resolve inside the root.
        let mut existing = absolute.as_path();
        loop {
            if let Ok(canonical) = existing.canonicalize() {
                if !canonical.starts_with(&self.root) {
                    return Err(outside());
                }
                break;
            }
            match existing.parent() {
                Some(parent) => existing = parent,
                None => return Err(outside()),
            }
        }
        let relative = if parts.is_empty() {
            ".".to_string()
        } else {
            parts.join("/")
        };
        Ok(Resolved { absolute, relative })
    }

    /// Walks the tree under `start` depth-first with sorted children, never following
    /// symlinks and skipping `.git` and `target` directories. `max_depth` 1 visits the
    /// start's children only.
    pub(crate) fn walk(
        &self,
        start: &Resolved,
        max_depth: usize,
        visit: &mut dyn FnMut(&Entry) -> Walk,
    ) -> Result<(), String> {
        let prefix = if start.relative == "." {
            String::new()
        } else {
            format!("{}/", start.relative)
        };
        walk_dir(&start.absolute, &prefix, 1, max_depth, visit).map(|_| ())
    }
}

fn walk_dir(
    dir: &Path,
    prefix: &str,
    depth: usize,
    max_depth: usize,
    visit: &mut dyn FnMut(&Entry) -> Walk,
) -> Result<Walk, String> {
    let reader = std::fs::read_dir(dir).map_err(|error| {
        format!(
            "cannot read directory `{}`: {error}",
            prefix.trim_end_matches('/')
        )
    })?;
    let mut children: Vec<(String, PathBuf, EntryKind)> = Vec::new();
    for child in reader.flatten() {
        let Ok(name) = child.file_name().into_string() else {
            continue;
        };
        let Ok(file_type) = child.file_type() else {
            continue;
        };
        let kind = if file_type.is_symlink() {
            EntryKind::Symlink
        } else if file_type.is_dir() {
            if SKIPPED_DIRS.contains(&name.as_str()) {
                continue;
            }
            EntryKind::Dir
        } else {
            EntryKind::File
        };
        children.push((name, child.path(), kind));
    }
    children.sort_by(|left, right| left.0.cmp(&right.0));
    for (name, absolute, kind) in children {
        let entry = Entry {
            absolute,
            relative: format!("{prefix}{name}"),
            kind,
        };
        if visit(&entry) == Walk::Stop {
            return Ok(Walk::Stop);
        }
        if kind == EntryKind::Dir
            && depth < max_depth
            && walk_dir(
                &entry.absolute,
                &format!("{}/", entry.relative),
                depth + 1,
                max_depth,
                visit,
            )
            // An unreadable subdirectory is skipped rather than failing the whole walk.
            .unwrap_or(Walk::Continue)
                == Walk::Stop
        {
            return Ok(Walk::Stop);
        }
    }
    Ok(Walk::Continue)
}

#[cfg(test)]
#[path = "sandbox_tests.rs"]
mod tests;
