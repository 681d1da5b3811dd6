//! The todo tools: the model's own plan for the step, replaced whole by `todo_write` and
//! shown by `todo_read`. The agent may show it in progress reports; nothing else reads it.

use serde_json::Value;

use super::args::kind;

/// One item of the model's todo list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Todo {
    /// What is to be done.
    pub content: String,
    /// How far it is.
    pub status: TodoStatus,
}

/// How far a todo item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TodoStatus {
    /// Not started.
    Pending,
    /// Being worked on.
    InProgress,
    /// Done.
    Completed,
}

const STATUSES: &str = "`pending`, `in_progress` or `completed`";

/// Reads the `todos` argument, naming the item and field of the first mistake.
pub(crate) fn parse(todos: &Value) -> Result<Vec<Todo>, String> {
    let Value::Array(items) = todos else {
        return Err(format!(
            "field `todos` must be an array of {{content, status}} objects, found {}",
            kind(todos)
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let Value::Object(fields) = item else {
                return Err(format!(
                    "field `todos[{index}]` must be an object with `content` and `status`, \
                     found {}",
                    kind(item)
                ));
            };
            let content = match fields.get("content") {
                Some(Value::String(content)) if !content.trim().is_empty() => content.clone(),
                Some(Value::String(_)) => {
                    return Err(format!("field `todos[{index}].content` must not be empty"));
                }
                Some(other) => {
                    return Err(format!(
                        "field `todos[{index}].content` must be a string, found {}",
                        kind(other)
                    ));
                }
                None => return Err(format!("missing field `todos[{index}].content` (a string)")),
            };
            let status = match fields.get("status") {
                Some(Value::String(status)) => match status.as_str() {
                    "pending" => TodoStatus::Pending,
                    "in_progress" => TodoStatus::InProgress,
                    "completed" => TodoStatus::Completed,
                    other => {
                        return Err(format!(
                            "field `todos[{index}].status` must be {STATUSES}, found `{other}`"
                        ));
                    }
                },
                Some(other) => {
                    return Err(format!(
                        "field `todos[{index}].status` must be {STATUSES}, found {}",
                        kind(other)
                    ));
                }
                None => {
                    return Err(format!(
                        "missing field `todos[{index}].status` ({STATUSES})"
                    ));
                }
            };
            Ok(Todo { content, status })
        })
        .collect()
}

/// The list as the model sees it.
pub(crate) fn render(todos: &[Todo]) -> String {
    if todos.is_empty() {
        return "(no todos)".to_string();
    }
    let done = todos
        .iter()
        .filter(|todo| todo.status == TodoStatus::Completed)
        .count();
    let mut lines = vec![format!("{done} of {} done", todos.len())];
    lines.extend(todos.iter().map(|todo| {
        let mark = match todo.status {
            TodoStatus::Pending => "[ ]",
            TodoStatus::InProgress => "[~]",
            TodoStatus::Completed => "[x]",
        };
        format!("{mark} {}", todo.content)
    }));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::tools::testing::call;
    use crate::tools::testing::toolbox;

    use super::*;

    #[test]
    fn write_replaces_the_list_and_read_shows_it() {
        let dir = tempfile::tempdir().unwrap();
        let toolbox = toolbox(dir.path());
        assert_eq!(call(&toolbox, "todo_read", json!({})).content, "(no todos)");
        let first = json!({"todos": [
            {"content": "read the spec", "status": "completed"},
            {"content": "write handlers", "status": "in_progress"},
            {"content": "run tests", "status": "pending"}
        ]});
        let outcome = call(&toolbox, "todo_write", first);
        assert!(!outcome.is_error, "{outcome:?}");
        let expected = "1 of 3 done\n[x] read the spec\n[~] write handlers\n[ ] run tests";
        assert_eq!(outcome.content, expected);
        assert_eq!(call(&toolbox, "todo_read", json!({})).content, expected);
        assert_eq!(toolbox.todos()[1].status, TodoStatus::InProgress);

        call(
            &toolbox,
            "todo_write",
            json!({"todos": [{"content": "ship", "status": "completed"}]}),
        );
        assert_eq!(
            toolbox.todos(),
            vec![Todo {
                content: "ship".into(),
                status: TodoStatus::Completed
            }]
        );
    }

    #[test]
    fn mistakes_name_the_item_and_field_and_keep_the_old_list() {
        let dir = tempfile::tempdir().unwrap();
        let toolbox = toolbox(dir.path());
        call(
            &toolbox,
            "todo_write",
            json!({"todos": [{"content": "keep me", "status": "pending"}]}),
        );
        let cases = [
            (json!({}), "missing required field `todos`"),
            (json!({"todos": "x"}), "field `todos` must be an array"),
            (json!({"todos": [1]}), "field `todos[0]` must be an object"),
            (
                json!({"todos": [{"content": "a", "status": "pending"}, {"status": "pending"}]}),
                "missing field `todos[1].content`",
            ),
            (
                json!({"todos": [{"content": "a", "status": "done"}]}),
                "field `todos[0].status` must be `pending`, `in_progress` or `completed`, found `done`",
            ),
            (
                json!({"todos": [{"content": " ", "status": "pending"}]}),
                "`todos[0].content` must not be empty",
            ),
        ];
        for (arguments, expected) in cases {
            let outcome = call(&toolbox, "todo_write", arguments.clone());
            assert!(outcome.is_error, "{arguments}");
            assert!(outcome.content.contains(expected), "{}", outcome.content);
        }
        assert_eq!(toolbox.todos().len(), 1);
        assert_eq!(toolbox.todos()[0].content, "keep me");
    }

    #[test]
    fn statuses_serialize_in_snake_case() {
        let todo = Todo {
            content: "x".into(),
            status: TodoStatus::InProgress,
        };
        let value = serde_json::to_value(&todo).unwrap();
        assert_eq!(value, json!({"content": "x", "status": "in_progress"}));
        assert_eq!(serde_json::from_value::<Todo>(value).unwrap(), todo);
    }
}
