//! Coverage gates: run a cargo project's tests built with `-C instrument-coverage`, merge the
//! profiles with `llvm-profdata`, and read line coverage with `llvm-cov export`. Instrumented
//! artifacts go to `coverage/` under the run's target directory so they never replace the
//! normal build; dependencies and the standard library are not counted.

use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

use apiwright_workflow::CoverageCheck;
use apiwright_workflow::template::render;
use serde_json::json;
use tokio::process::Command;

use crate::GateContext;
use crate::GateError;
use crate::GateOutcome;
use crate::TestCounts;
use crate::shell;

/// Files never counted: dependencies from the registry and the standard library.
const ALWAYS_EXCLUDED: &str = r"(/\.cargo/registry/|/\.cargo/git/|^/rustc/|/rustlib/)";

type Outcome = (GateOutcome, String, serde_json::Value);

fn failed(summary: String, evidence: serde_json::Value) -> Outcome {
    (GateOutcome::Failed, summary, evidence)
}

/// Finds an LLVM tool whose profile format matches rustc's: `$LLVM_PROFDATA`/`$LLVM_COV`
/// first, then the toolchain's own `llvm-tools`, then the newest versioned LLVM (`name-N` on
/// PATH or Debian's `/usr/lib/llvm-N/bin`), and only then a plain `name` (often an old LLVM
/// that cannot read rustc's profiles).
pub(crate) fn find_tool(name: &str, env: &[(String, String)]) -> Option<PathBuf> {
    let variable = name.to_uppercase().replace('-', "_");
    if let Some((_, value)) = env.iter().find(|(key, _)| *key == variable) {
        return Some(PathBuf::from(value)).filter(|path| path.is_file());
    }
    if let Some(value) = std::env::var_os(&variable) {
        return Some(PathBuf::from(value)).filter(|path| path.is_file());
    }
    let sysroot = std::process::Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    if let Some(rustlib) = sysroot.map(|root| root.join("lib/rustlib"))
        && let Ok(targets) = std::fs::read_dir(&rustlib)
    {
        for target in targets.filter_map(Result::ok) {
            let path = target.path().join("bin").join(name);
            if path.is_file() {
                return Some(path);
            }
        }
    }
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect())
        .unwrap_or_default();
    for version in (14..=30).rev() {
        let debian = PathBuf::from(format!("/usr/lib/llvm-{version}/bin/{name}"));
        if debian.is_file() {
            return Some(debian);
        }
        for dir in &path_dirs {
            let path = dir.join(format!("{name}-{version}"));
            if path.is_file() {
                return Some(path);
            }
        }
    }
    path_dirs
        .iter()
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

async fn tool_output(program: &Path, args: &[String]) -> Result<Vec<u8>, String> {
    let output = Command::new(program)
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|error| format!("cannot run {}: {error}", program.display()))?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(format!(
            "{} failed: {}",
            program.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

pub(crate) async fn evaluate(
    check: &CoverageCheck,
    context: &GateContext<'_>,
) -> Result<Outcome, GateError> {
    let minimum_text = render(&check.min_lines, context.vars)?;
    let Ok(minimum) = minimum_text.trim().parse::<f64>() else {
        return Ok(failed(
            format!("expected a percentage for min_lines, found `{minimum_text}`"),
            json!({ "min_lines": minimum_text }),
        ));
    };
    let (Some(profdata), Some(llvm_cov)) = (
        find_tool("llvm-profdata", context.env),
        find_tool("llvm-cov", context.env),
    ) else {
        return Ok(failed(
            "not evaluated: llvm-profdata and llvm-cov were not found (install Debian's llvm-19, or rustup's llvm-tools)".into(),
            json!({ "min_lines": minimum, "tools": null }),
        ));
    };
    let timeout = check
        .timeout_secs
        .map_or(context.default_timeout, Duration::from_secs);
    let base_target = context
        .env
        .iter()
        .find(|(key, _)| key == "CARGO_TARGET_DIR")
        .map_or_else(
            || context.workspace.join("target"),
            |(_, dir)| PathBuf::from(dir),
        );
    let target = base_target.join("coverage");
    let profiles = context.workspace.join(".apiwright-coverage");
    let _ = std::fs::remove_dir_all(&profiles);
    if let Err(error) = std::fs::create_dir_all(&profiles) {
        return Ok(failed(
            format!("cannot create {}: {error}", profiles.display()),
            json!({}),
        ));
    }
    let rustflags = std::env::var("RUSTFLAGS").unwrap_or_default();
    let env = vec![
        ("CARGO_TARGET_DIR".to_string(), target.display().to_string()),
        (
            "RUSTFLAGS".to_string(),
            format!("{rustflags} -C instrument-coverage")
                .trim()
                .to_string(),
        ),
        (
            "LLVM_PROFILE_FILE".to_string(),
            profiles.join("%p-%m.profraw").display().to_string(),
        ),
    ];

    // 1. Build the test executables, learning their paths from cargo's JSON messages.
    let mut executables: Vec<String> = Vec::new();
    let build = shell::run(
        "cargo test --no-run --message-format=json",
        context,
        &env,
        timeout,
        &mut |line| {
            if let Ok(message) = serde_json::from_str::<serde_json::Value>(line)
                && message["reason"] == "compiler-artifact"
                && message["profile"]["test"] == true
                && let Some(executable) = message["executable"].as_str()
            {
                executables.push(executable.to_string());
            }
        },
    )
    .await;
    if build.exit_code != Some(0) || executables.is_empty() {
        return Ok(failed(
            "not evaluated: the instrumented test build failed".into(),
            json!({ "exit_code": build.exit_code, "timed_out": build.timed_out, "output_tail": build.tail }),
        ));
    }
    // 2. Run the tests; coverage of failing tests is no evidence.
    let mut counts = TestCounts::default();
    let run = shell::run("cargo test", context, &env, timeout, &mut |line| {
        counts.read_line(line)
    })
    .await;
    if run.exit_code != Some(0) || counts.failed > 0 || counts.suites == 0 {
        return Ok(failed(
            format!(
                "not evaluated: the tests did not pass ({} passed, {} failed)",
                counts.passed, counts.failed
            ),
            json!({ "exit_code": run.exit_code, "output_tail": run.tail }),
        ));
    }
    // 3. Merge the profiles and read the line totals.
    let mut raw: Vec<String> = std::fs::read_dir(&profiles)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "profraw"))
                .map(|path| path.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    raw.sort();
    if raw.is_empty() {
        return Ok(failed(
            "not evaluated: the tests wrote no coverage profile".into(),
            json!({}),
        ));
    }
    let merged = profiles.join("merged.profdata");
    let mut merge_args = vec!["merge".to_string(), "-sparse".to_string()];
    merge_args.extend(raw.iter().cloned());
    merge_args.extend(["-o".to_string(), merged.display().to_string()]);
    if let Err(error) = tool_output(&profdata, &merge_args).await {
        return Ok(failed(format!("not evaluated: {error}"), json!({})));
    }
    let mut ignore = ALWAYS_EXCLUDED.to_string();
    for pattern in &check.exclude {
        ignore = format!("{ignore}|({pattern})");
    }
    let mut export_args = vec![
        "export".to_string(),
        "-summary-only".to_string(),
        format!("-instr-profile={}", merged.display()),
        format!("-ignore-filename-regex={ignore}"),
    ];
    for (index, executable) in executables.iter().enumerate() {
        if index > 0 {
            export_args.push("-object".into());
        }
        export_args.push(executable.clone());
    }
    let exported = match tool_output(&llvm_cov, &export_args).await {
        Ok(bytes) => bytes,
        Err(error) => return Ok(failed(format!("not evaluated: {error}"), json!({}))),
    };
    let document: serde_json::Value = serde_json::from_slice(&exported).unwrap_or_default();
    let totals = &document["data"][0]["totals"]["lines"];
    let (Some(count), Some(covered)) = (totals["count"].as_u64(), totals["covered"].as_u64())
    else {
        return Ok(failed(
            "not evaluated: llvm-cov reported no line totals".into(),
            json!({}),
        ));
    };
    let percent = if count == 0 {
        0.0
    } else {
        covered as f64 * 100.0 / count as f64
    };
    let mut files: Vec<(String, f64)> = document["data"][0]["files"]
        .as_array()
        .map(|files| {
            files
                .iter()
                .map(|file| {
                    let name = file["filename"].as_str().unwrap_or("");
                    let relative = Path::new(name)
                        .strip_prefix(context.workspace)
                        .map_or_else(|_| name.to_string(), |p| p.display().to_string());
                    (
                        relative,
                        file["summary"]["lines"]["percent"].as_f64().unwrap_or(0.0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort_by(|a, b| a.1.total_cmp(&b.1));
    let outcome = if percent >= minimum {
        GateOutcome::Passed
    } else {
        GateOutcome::Failed
    };
    let summary = format!(
        "line coverage {percent:.1}% ({covered} of {count} lines, {} tests), {} {minimum}%",
        counts.passed,
        if outcome == GateOutcome::Passed {
            "at least"
        } else {
            "expected at least"
        }
    );
    Ok((
        outcome,
        summary,
        json!({
            "line_percent": (percent * 10.0).round() / 10.0,
            "lines": count,
            "covered": covered,
            "min_lines": minimum,
            "tests_passed": counts.passed,
            "lowest_files": files.iter().take(10).map(|(file, p)| json!({"file": file, "line_percent": (p * 10.0).round() / 10.0})).collect::<Vec<_>>(),
            "tools": {"llvm_profdata": profdata.display().to_string(), "llvm_cov": llvm_cov.display().to_string()},
        }),
    ))
}
