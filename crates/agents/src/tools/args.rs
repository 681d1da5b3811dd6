//! Reading a tool call's JSON arguments with messages that name the field and the type
//! expected, so the model can correct its call.

use serde_json::Value;

/// A call's arguments: a JSON object whose fields are read with messages naming the field
/// and the expected type.
pub(super) struct Args {
    fields: serde_json::Map<String, Value>,
}

impl Args {
    pub(super) fn parse(text: &str) -> Result<Args, String> {
        if text.trim().is_empty() {
            return Ok(Args {
                fields: serde_json::Map::new(),
            });
        }
        let value: Value = serde_json::from_str(text).map_err(|error| {
            format!("the arguments are not valid JSON ({error}); expected a JSON object")
        })?;
        match value {
            Value::Object(fields) => Ok(Args { fields }),
            Value::Null => Ok(Args {
                fields: serde_json::Map::new(),
            }),
            other => Err(format!(
                "expected the arguments to be a JSON object, found {}",
                kind(&other)
            )),
        }
    }

    pub(super) fn value(&self, name: &str) -> Result<&Value, String> {
        match self.fields.get(name) {
            Some(Value::Null) | None => Err(format!("missing required field `{name}`")),
            Some(value) => Ok(value),
        }
    }

    pub(super) fn string(&self, name: &str) -> Result<String, String> {
        match self.opt_string(name)? {
            Some(text) => Ok(text),
            None => Err(format!("missing required field `{name}` (a string)")),
        }
    }

    pub(super) fn opt_string(&self, name: &str) -> Result<Option<String>, String> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(other) => Err(mistyped(name, "a string", other)),
        }
    }

    pub(super) fn opt_usize(&self, name: &str) -> Result<Option<usize>, String> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(number)) => number
                .as_u64()
                .and_then(|number| usize::try_from(number).ok())
                .map(Some)
                .ok_or_else(|| {
                    format!("field `{name}` must be a non-negative integer, found {number}")
                }),
            Some(other) => Err(mistyped(name, "a non-negative integer", other)),
        }
    }

    pub(super) fn opt_bool(&self, name: &str) -> Result<Option<bool>, String> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(other) => Err(mistyped(name, "a boolean", other)),
        }
    }
}

fn mistyped(name: &str, expected: &str, found: &Value) -> String {
    format!("field `{name}` must be {expected}, found {}", kind(found))
}

pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
