//! The prompt each step attempt was given and, for model agents, its conversation.

use rusqlite::params;

use crate::Result;
use crate::Store;
use crate::now_ms;
use crate::sql::Context;

/// One step attempt's prompt.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StepPrompt {
    /// Run id.
    pub run_id: String,
    /// The round as displayed (`phase#visit/…`).
    pub round: String,
    /// Phase id.
    pub phase: String,
    /// Step id.
    pub step: String,
    /// TDD item, if any.
    pub item: Option<String>,
    /// Attempt number.
    pub attempt: u32,
    /// Provider that did the step.
    pub provider: String,
    /// The rendered prompt.
    pub prompt: String,
    /// The conversation (JSON array), when the agent kept one.
    pub transcript: Option<serde_json::Value>,
    /// When the attempt started (ms since the epoch).
    pub at: i64,
}

/// Inserts (or replaces) a prompt record on `conn` — inside a run's commit, or on its own.
pub(crate) fn insert(conn: &rusqlite::Connection, prompt: &StepPrompt, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO step_prompts \
         (run_id, round, phase, step, item, attempt, provider, prompt, transcript, at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            prompt.run_id,
            prompt.round,
            prompt.phase,
            prompt.step,
            prompt.item,
            prompt.attempt,
            prompt.provider,
            prompt.prompt,
            prompt.transcript.as_ref().map(serde_json::Value::to_string),
            if prompt.at == 0 { now } else { prompt.at },
        ])
    })
    .ctx("recording a step prompt")?;
    Ok(())
}

impl Store {
    /// Records the prompt of a step attempt (replacing an earlier record of the same attempt).
    pub fn put_prompt(&self, prompt: &StepPrompt) -> Result<()> {
        insert(&self.conn, prompt, now_ms())
    }

    /// Attaches a conversation to a recorded attempt; `false` when no such attempt exists.
    pub fn put_transcript(
        &self,
        run_id: &str,
        round: &str,
        step: &str,
        attempt: u32,
        transcript: &serde_json::Value,
    ) -> Result<bool> {
        let changed = self
            .conn
            .execute(
                "UPDATE step_prompts SET transcript = ?5 \
             WHERE run_id = ?1 AND round = ?2 AND step = ?3 AND attempt = ?4",
                params![run_id, round, step, attempt, transcript.to_string()],
            )
            .ctx("recording a step transcript")?;
        Ok(changed > 0)
    }

    /// The recorded attempts of a run, oldest first (all steps when `step` is `None`).
    pub fn prompts(&self, run_id: &str, step: Option<&str>) -> Result<Vec<StepPrompt>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT run_id, round, phase, step, item, attempt, provider, prompt, transcript, at \
             FROM step_prompts WHERE run_id = ?1 AND (?2 IS NULL OR step = ?2) \
             ORDER BY at, rowid",
            )
            .ctx("reading step prompts")?;
        let rows = statement
            .query_map(params![run_id, step], |row| {
                let transcript: Option<String> = row.get(8)?;
                Ok(StepPrompt {
                    run_id: row.get(0)?,
                    round: row.get(1)?,
                    phase: row.get(2)?,
                    step: row.get(3)?,
                    item: row.get(4)?,
                    attempt: row.get(5)?,
                    provider: row.get(6)?,
                    prompt: row.get(7)?,
                    transcript: transcript.and_then(|text| serde_json::from_str(&text).ok()),
                    at: row.get(9)?,
                })
            })
            .ctx("reading step prompts")?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .ctx("reading step prompts")
    }

    /// The prompt of one attempt.
    pub fn prompt(
        &self,
        run_id: &str,
        round: &str,
        step: &str,
        attempt: u32,
    ) -> Result<Option<StepPrompt>> {
        Ok(self
            .prompts(run_id, Some(step))?
            .into_iter()
            .find(|prompt| prompt.round == round && prompt.attempt == attempt))
    }
}

#[cfg(test)]
mod tests {
    use super::StepPrompt;
    use crate::Store;

    fn record(step: &str, attempt: u32, at: i64) -> StepPrompt {
        StepPrompt {
            run_id: "r1".into(),
            round: "planning#1".into(),
            phase: "planning".into(),
            step: step.into(),
            item: None,
            attempt,
            provider: "openai".into(),
            prompt: format!("prompt of {step} attempt {attempt}"),
            transcript: None,
            at,
        }
    }

    #[test]
    fn prompts_are_kept_per_attempt_with_their_transcripts() {
        let store = Store::open_in_memory().unwrap();
        store.put_prompt(&record("a", 1, 10)).unwrap();
        store.put_prompt(&record("b", 1, 20)).unwrap();
        store.put_prompt(&record("a", 2, 30)).unwrap();
        let all = store.prompts("r1", None).unwrap();
        assert_eq!(all.len(), 3);
        let of_a = store.prompts("r1", Some("a")).unwrap();
        assert_eq!(
            of_a.iter().map(|p| p.attempt).collect::<Vec<_>>(),
            vec![1, 2]
        );
        let transcript = serde_json::json!([{"role": "user", "content": "hi"}]);
        assert!(
            store
                .put_transcript("r1", "planning#1", "a", 2, &transcript)
                .unwrap()
        );
        assert!(
            !store
                .put_transcript("r1", "planning#1", "a", 9, &transcript)
                .unwrap()
        );
        let second = store.prompt("r1", "planning#1", "a", 2).unwrap().unwrap();
        assert_eq!(second.transcript, Some(transcript));
        assert_eq!(second.prompt, "prompt of a attempt 2");
        assert!(store.prompts("other", None).unwrap().is_empty());
    }
}
