//! The API key never shows: not in `Debug` of the client or its config, not in errors, not
//! even when a server quotes it back.

use apiwright_models::ModelError;
use apiwright_models::Protocol;
use apiwright_models::Secret;

use crate::support::FakeServer;
use crate::support::KEY;
use crate::support::Reply;
use crate::support::bounded;
use crate::support::client;
use crate::support::config;
use crate::support::question;

#[tokio::test]
async fn unauthorized_is_an_auth_error_without_the_key_and_not_retried() {
    for (protocol, status) in [(Protocol::OpenAi, 401), (Protocol::Anthropic, 403)] {
        let echo = format!("{{\"error\": {{\"message\": \"Incorrect API key provided: {KEY}\"}}}}");
        let reply = Reply::Whole {
            status,
            headers: Vec::new(),
            content_type: "application/json",
            body: echo,
        };
        let server = FakeServer::start(vec![reply]).await;
        let error = bounded(client(&server, protocol, false).complete(&question()))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ModelError::Auth { status: s, .. } if *s == status),
            "{error:?}"
        );
        assert!(!error.is_retryable());
        assert_eq!(server.request_count(), 1);
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains(KEY), "{shown}");
        assert!(shown.contains("Incorrect API key provided: ***"), "{shown}");
        assert!(shown.contains("API key"), "{shown}");
    }
}

#[test]
fn debug_of_client_and_config_hides_the_key() {
    for protocol in [Protocol::OpenAi, Protocol::Anthropic] {
        let config = config(
            protocol,
            "https://user:pw@api.example.com/v1".to_owned(),
            true,
        );
        let client = apiwright_models::ModelClient::new(config.clone()).unwrap();
        for shown in [
            format!("{config:?}"),
            format!("{client:?}"),
            format!("{config:#?}"),
        ] {
            assert!(!shown.contains(KEY), "{shown}");
            assert!(shown.contains("***"), "{shown}");
        }
        assert!(!format!("{client:?}").contains("user:pw@"));
    }
    let secret = Secret::new(KEY.to_owned());
    assert_eq!(format!("{secret} {secret:?}"), "*** ***");
    assert_eq!(secret.expose(), KEY);
}

#[test]
fn a_key_that_cannot_be_a_header_is_a_config_error_that_does_not_show_it() {
    let mut config = config(Protocol::OpenAi, "http://127.0.0.1:1/v1".to_owned(), false);
    config.api_key = Some(Secret::new("sk-line\nbreak".to_owned()));
    let error = apiwright_models::ModelClient::new(config).unwrap_err();
    assert!(matches!(error, ModelError::Config(_)));
    assert!(!format!("{error} {error:?}").contains("sk-line"));
}
