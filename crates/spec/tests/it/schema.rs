//! The committed JSON Schema (`docs/spec.schema.json`) matches the one generated from the
//! model. Run `UPDATE_SCHEMA=1 cargo test -p apiwright-spec --test it schema` to rewrite it
//! after changing the model.

use std::fs;
use std::path::PathBuf;

fn schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/spec.schema.json")
}

#[test]
fn the_committed_schema_is_up_to_date() {
    let generated = match serde_json::to_string_pretty(&apiwright_spec::json_schema()) {
        Ok(text) => text + "\n",
        Err(error) => panic!("schema does not serialize: {error}"),
    };
    let path = schema_path();
    // The variable only decides whether to write the file; nothing else reads the env.
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        if let Err(error) = fs::write(&path, &generated) {
            panic!("cannot write {}: {error}", path.display());
        }
        return;
    }
    let committed = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date with the model; rewrite it with\n  \
         UPDATE_SCHEMA=1 cargo test -p apiwright-spec --test it schema",
        path.display()
    );
}

#[test]
fn the_schema_describes_the_top_level_keys() {
    let schema = apiwright_spec::json_schema();
    let properties = &schema["properties"];
    for key in ["api", "auth", "resources", "rate_limits", "slas"] {
        assert!(properties.get(key).is_some(), "no `{key}` in the schema");
    }
    assert_eq!(
        schema["required"],
        serde_json::json!(["api", "resources"]),
        "required top-level keys"
    );
}
