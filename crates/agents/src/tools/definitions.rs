//! What each tool tells the model about itself: its description and the JSON Schema of its
//! arguments. Kept apart from the dispatch because the texts are long and change for
//! reasons of prompting, not of behavior.

use serde_json::json;

use super::Tool;
use super::ToolDefinition;
use super::ToolLimits;
use super::search;

pub(super) fn definition(tool: Tool, limits: &ToolLimits) -> ToolDefinition {
    let (description, parameters) = match tool {
        Tool::ReadFile => (
            format!(
                "Read a text file of the workspace. Lines come numbered (`   12\\tline`); at \
                 most {} lines per call, so read long files in parts with `offset` and \
                 `limit`.",
                limits.read_limit_lines
            ),
            json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Path relative to the workspace."},
                    "offset": {"type": "integer", "minimum": 1, "description": "First line to read, 1-based (default 1)."},
                    "limit": {"type": "integer", "minimum": 1, "description": "Number of lines to read."}
                },
                "required": ["path"]
            }),
        ),
        Tool::WriteFile => (
            "Create or overwrite a file of the workspace with the given content; missing \
             parent directories are created. Prefer edit_file for changes to an existing file."
                .to_string(),
            json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Path relative to the workspace."},
                    "content": {"type": "string", "description": "The whole new content."}
                },
                "required": ["path", "content"]
            }),
        ),
        Tool::EditFile => (
            "Replace an exact string in a file. `old_string` must match the file exactly \
             (whitespace included) and only once, unless `replace_all` is set; read the file \
             first and include enough surrounding lines to make it unique."
                .to_string(),
            json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Path relative to the workspace."},
                    "old_string": {"type": "string", "description": "Exact text to replace."},
                    "new_string": {"type": "string", "description": "Replacement text (must differ)."},
                    "replace_all": {"type": "boolean", "description": "Replace every occurrence (default false)."}
                },
                "required": ["path", "old_string", "new_string"]
            }),
        ),
        Tool::ListFiles => (
            "List a directory of the workspace as a tree of relative paths: directories end \
             in `/`, symlinks show as `name -> target` and are not followed; `.git` and \
             `target` are skipped."
                .to_string(),
            json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Directory relative to the workspace (default `.`)."},
                    "depth": {"type": "integer", "minimum": 1, "description": "How many levels to descend (default 2)."}
                },
                "required": []
            }),
        ),
        Tool::Glob => (
            format!(
                "Find files by glob pattern, such as `src/**/*.rs` or `**/Cargo.toml`. `*` \
                 stays within one directory, `**` crosses directories. Paths come back \
                 relative to the workspace, sorted, at most {}.",
                search::GLOB_LIMIT
            ),
            json!({
                "type": "object",
                "properties": {
                    "pattern": {"type": "string", "description": "Glob pattern, relative to `path`."},
                    "path": {"type": "string", "description": "Directory to search from (default `.`)."}
                },
                "required": ["pattern"]
            }),
        ),
        Tool::Grep => (
            format!(
                "Search file contents with a regular expression (Rust regex syntax). Prints \
                 `path:line:text`, at most {} matches; binary files and files over 2 MB are \
                 skipped.",
                search::GREP_LIMIT
            ),
            json!({
                "type": "object",
                "properties": {
                    "pattern": {"type": "string", "description": "Regular expression."},
                    "path": {"type": "string", "description": "File or directory to search (default `.`)."},
                    "glob": {"type": "string", "description": "Only files matching this glob (`*.rs`: by file name; with a `/`: by path)."},
                    "ignore_case": {"type": "boolean", "description": "Case-insensitive match (default false)."}
                },
                "required": ["pattern"]
            }),
        ),
        Tool::Bash => (
            format!(
                "Run a shell command (`sh -c`) in the workspace directory and get its output \
                 and exit code. The default timeout is {} s, at most {} s; the command and \
                 everything it started are killed on timeout, and background processes are \
                 stopped when the command finishes. stdin is empty.",
                limits.bash_timeout.as_secs(),
                limits.bash_max_timeout.as_secs()
            ),
            json!({
                "type": "object",
                "properties": {
                    "command": {"type": "string", "description": "The command line."},
                    "timeout_secs": {"type": "integer", "minimum": 1, "description": "Timeout in seconds."}
                },
                "required": ["command"]
            }),
        ),
        Tool::MemoryStore => (
            "Store a value in the run's memory: a deliverable of this step (by name or full \
             key), or another key under the step's namespace. A deliverable must pass its \
             checks to be stored; storing again replaces. JSON text is stored as JSON."
                .to_string(),
            json!({
                "type": "object",
                "properties": {
                    "key": {"type": "string", "description": "Deliverable name, its full key, or a key under the step's namespace."},
                    "value": {"description": "Any JSON value, or text."}
                },
                "required": ["key", "value"]
            }),
        ),
        Tool::MemoryRetrieve => (
            "Read a memory entry by full key (or a deliverable of this step by name); a key \
             with `*` (one segment) or `**` (any depth) returns every matching entry."
                .to_string(),
            json!({
                "type": "object",
                "properties": {
                    "key": {"type": "string", "description": "Full key, deliverable name or key pattern."}
                },
                "required": ["key"]
            }),
        ),
        Tool::MemorySearch => (
            "Find memory entries whose key or value contains the text.".to_string(),
            json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "Text to look for."},
                    "limit": {"type": "integer", "minimum": 1, "description": "Most entries returned (default 10)."}
                },
                "required": ["query"]
            }),
        ),
        Tool::TodoWrite => (
            "Replace your todo list for this step; keep one item in progress at a time and \
             mark items completed as you finish them."
                .to_string(),
            json!({
                "type": "object",
                "properties": {
                    "todos": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "content": {"type": "string"},
                                "status": {"type": "string", "enum": ["pending", "in_progress", "completed"]}
                            },
                            "required": ["content", "status"]
                        }
                    }
                },
                "required": ["todos"]
            }),
        ),
        Tool::TodoRead => (
            "Show your todo list for this step.".to_string(),
            json!({"type": "object", "properties": {}, "required": []}),
        ),
    };
    ToolDefinition {
        name: tool.name().to_string(),
        description,
        parameters,
    }
}
