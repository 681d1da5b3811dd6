//! `session-end --export FILE`: the session's hook records as one JSON document, written
//! atomically (temporary file in the same directory, then rename).
//!
//! This module owns the export format and the atomic write; it must not decide when a
//! session ends nor write anything but the requested file.

use std::io::Write;
use std::path::Path;
use std::path::PathBuf;

use apiwright_store::HookRecord;

/// A sibling of `path` to write before renaming over it: `.<name>.tmp.<pid>.<nanos>`.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "export".into(), |name| name.to_string_lossy());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    path.with_file_name(format!(".{name}.tmp.{}.{nanos}", std::process::id()))
}

/// The export document.
pub(crate) fn document(
    session_id: &str,
    exported_at: i64,
    records: &[HookRecord],
) -> serde_json::Value {
    serde_json::json!({
        "session_id": session_id,
        "exported_at": exported_at,
        "records": records,
    })
}

/// Writes `bytes` to `path` atomically, creating its parent directories.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)?;
    }
    let temp = temp_path(path);
    let written = std::fs::File::create(&temp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temp, path));
    if written.is_err() {
        // Best effort: do not leave the temporary file behind.
        let _ = std::fs::remove_file(&temp);
    }
    written
}
