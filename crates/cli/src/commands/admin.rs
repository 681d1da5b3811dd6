//! `apiwright admin create`: the users of `apiwright serve`.

use std::io::IsTerminal as _;
use std::io::Read as _;

use anyhow::Context as _;
use anyhow::bail;

use super::Exit;
use crate::app::AdminCommand;
use crate::context::Context;

pub fn run(context: &Context, command: AdminCommand) -> anyhow::Result<Exit> {
    match command {
        AdminCommand::Create {
            email,
            password_stdin,
        } => {
            if !password_stdin {
                let hint = if std::io::stdin().is_terminal() {
                    "typing it here would echo it"
                } else {
                    "say so explicitly"
                };
                bail!(
                    "admin create: expected --password-stdin with the password piped in ({hint}), \
                     e.g. `printf %s \"$PASSWORD\" | apiwright admin create --email {email} \
                     --password-stdin`"
                );
            }
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from stdin")?;
            // One trailing line break is the shell's, not the password's.
            let password = password
                .strip_suffix('\n')
                .map(|rest| rest.strip_suffix('\r').unwrap_or(rest))
                .unwrap_or(&password);
            let found = password.chars().count();
            if found < apiwright_server::MIN_PASSWORD_CHARS {
                bail!(
                    "admin create: the password is too short: expected at least {} characters, \
                     found {found}",
                    apiwright_server::MIN_PASSWORD_CHARS
                );
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let user = runtime
                .block_on(apiwright_server::create_admin(
                    &context.db_path,
                    &email,
                    password,
                ))
                .with_context(|| format!("admin create in {}", context.db_path.display()))?;
            println!("created admin {} ({})", user.email, user.id);
            Ok(Exit::Success)
        }
    }
}
