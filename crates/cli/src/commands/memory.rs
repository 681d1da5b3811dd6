//! `apiwright memory store | retrieve | search | list | history | delete`.

use std::collections::BTreeMap;

use anyhow::Context as _;
use apiwright_store::KeyPattern;
use apiwright_store::MemoryEntry;
use apiwright_store::MemoryWrite;
use apiwright_store::Tags;
use apiwright_store::Value;

use crate::app::MemoryCommand;
use crate::commands::Exit;
use crate::context::Context;
use crate::context::split_pair;
use crate::output::print_json;
use crate::output::time;

fn tags(pairs: &[String], default_why: &str) -> anyhow::Result<Tags> {
    let mut tags = BTreeMap::new();
    for pair in pairs {
        let (name, value) = split_pair("--tag", pair)?;
        tags.insert(name.to_string(), value.to_string());
    }
    tags.entry("who".to_string())
        .or_insert_with(|| "cli".to_string());
    tags.entry("why".to_string())
        .or_insert_with(|| default_why.to_string());
    Ok(tags)
}

fn print_entries(entries: &[MemoryEntry]) {
    for entry in entries {
        println!("{}", entry.key);
        for line in entry.value.to_text().lines() {
            println!("  {line}");
        }
    }
}

pub fn run(context: &Context, command: MemoryCommand) -> anyhow::Result<Exit> {
    let store = context.open_store()?;
    match command {
        MemoryCommand::Store {
            key,
            value,
            file,
            tag,
            json,
        } => {
            let text = match (value, file) {
                (Some(value), _) => value,
                (None, Some(file)) => std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?,
                (None, None) => anyhow::bail!("expected --value or --file, found neither"),
            };
            let entry = store.memory_put(&MemoryWrite {
                key,
                value: Value::from_text_guess(&text),
                tags: tags(&tag, "memory store")?,
            })?;
            if json {
                print_json(&entry)?;
            } else {
                println!("stored {} (version {})", entry.key, entry.version);
            }
        }
        MemoryCommand::Retrieve { key, pattern, json } => {
            let entries = match (key, pattern) {
                (Some(key), _) => store.memory_get(&key)?.into_iter().collect::<Vec<_>>(),
                (None, Some(pattern)) => store.memory_match(&KeyPattern::parse(&pattern)?)?,
                (None, None) => anyhow::bail!("expected --key or --pattern, found neither"),
            };
            if json {
                print_json(&entries)?;
            } else if let [single] = entries.as_slice() {
                println!("{}", single.value.to_text());
            } else {
                print_entries(&entries);
            }
            if entries.is_empty() {
                return Ok(Exit::NotFound);
            }
        }
        MemoryCommand::Search { text, limit, json } => {
            let entries = store.memory_search(&text, limit)?;
            if json {
                print_json(&entries)?;
            } else {
                print_entries(&entries);
            }
        }
        MemoryCommand::List { prefix, json } => {
            let entries = store.memory_list(prefix.as_deref())?;
            if json {
                let rows: Vec<serde_json::Value> = entries
                    .iter()
                    .map(|e| serde_json::json!({"key": e.key, "version": e.version, "updated_at": e.updated_at, "tags": e.tags}))
                    .collect();
                print_json(&rows)?;
            } else {
                for entry in entries {
                    println!(
                        "{}  v{}  {}",
                        entry.key,
                        entry.version,
                        time(entry.updated_at)
                    );
                }
            }
        }
        MemoryCommand::History { key, json } => {
            let versions = store.memory_history(&key)?;
            if json {
                print_json(&versions)?;
            } else {
                for version in &versions {
                    let tags: Vec<String> = version
                        .tags
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    println!(
                        "v{} {:?} {} [{}] {}",
                        version.version,
                        version.op,
                        time(version.at),
                        tags.join(" "),
                        version
                            .value
                            .as_ref()
                            .map(Value::to_text)
                            .unwrap_or_default()
                    );
                }
            }
            if versions.is_empty() {
                return Ok(Exit::NotFound);
            }
        }
        MemoryCommand::Delete { key, tag, json } => {
            let deleted = store.memory_delete(&key, &tags(&tag, "memory delete")?)?;
            if json {
                print_json(&serde_json::json!({"key": key, "deleted": deleted}))?;
            } else if deleted {
                println!("deleted {key}");
            } else {
                println!("no key {key}");
            }
            if !deleted {
                return Ok(Exit::NotFound);
            }
        }
    }
    Ok(Exit::Success)
}
