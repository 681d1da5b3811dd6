//! The run host of the tests: engines on the test's database, and every role played by the
//! shell command its workflow gives it (real child processes).

use std::collections::BTreeMap;
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

use apiwright_agents::AnyAgent;
use apiwright_agents::CommandAgent;
use apiwright_agents::CommandAgentConfig;
use apiwright_agents::PromptRenderer;
use apiwright_engine::Engine;
use apiwright_engine::EngineConfig;
use apiwright_server::HostError;
use apiwright_server::RunHost;
use apiwright_store::Store;
use apiwright_store::StoreOptions;
use apiwright_workflow::Workflow;

pub struct TestHost {
    db_path: PathBuf,
}

impl TestHost {
    pub fn new(db_path: &Path) -> TestHost {
        TestHost {
            db_path: db_path.to_path_buf(),
        }
    }
}

impl RunHost for TestHost {
    fn engine(&self) -> Result<Engine, HostError> {
        let store = Store::open(&self.db_path, &StoreOptions::default())
            .map_err(|err| HostError(err.to_string()))?;
        Ok(Engine::new(
            store,
            EngineConfig {
                db_path: Some(self.db_path.clone()),
                prompts: PromptRenderer::builtin().map_err(|err| HostError(err.to_string()))?,
                default_step_timeout: Duration::from_secs(60),
                default_gate_timeout: Duration::from_secs(60),
                env: Vec::new(),
                budget: apiwright_agents::Budget::default(),
                gate_hidden_env: Vec::new(),
            },
        ))
    }

    fn agents(
        &self,
        workflow: &Workflow,
        provider: Option<&str>,
    ) -> Result<BTreeMap<String, AnyAgent>, HostError> {
        if let Some(provider) = provider {
            return Err(HostError(format!(
                "this test host plays only workflow commands, found provider `{provider}`"
            )));
        }
        workflow
            .agents
            .iter()
            .map(|role| {
                let command = role
                    .command
                    .clone()
                    .ok_or_else(|| HostError(format!("role `{}` has no command", role.id)))?;
                Ok((
                    role.id.clone(),
                    AnyAgent::new(CommandAgent::new(CommandAgentConfig {
                        command,
                        env: BTreeMap::new(),
                    })),
                ))
            })
            .collect()
    }
}
