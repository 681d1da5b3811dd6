//! Credentials come from the service's own register and login operations.

use apiwright_probe::ProbeError;
use apiwright_probe::openapi::Api;
use apiwright_probe::session::AuthOptions;
use apiwright_probe::session::Login;
use apiwright_probe::session::Session;
use serde_json::json;

use crate::support;
use crate::support::Fault;
use crate::support::Service;

#[tokio::test]
async fn registers_two_fresh_users_and_logs_them_in() {
    let service = Service::start(Fault::None).await;
    let session = Session::establish(&service.client(), &support::api(), &AuthOptions::default())
        .await
        .unwrap();
    assert_eq!(session.users.len(), 2);
    assert_ne!(session.users[0].email, session.users[1].email);
    assert_ne!(session.users[0].access_token, session.users[1].access_token);
    assert!(session.users[0].email.ends_with("-a@example.test"));
    assert!(session.admin.is_none());
    let statuses: Vec<Option<u16>> = session.exchanges.iter().map(|e| e.status()).collect();
    assert_eq!(statuses, [Some(201), Some(200), Some(201), Some(200)]);
}

#[tokio::test]
async fn a_failed_admin_login_is_an_auth_error_with_the_answer() {
    let service = Service::start(Fault::None).await;
    let options = AuthOptions {
        admin: Some(Login {
            email: "admin@example.test".to_string(),
            password: "wrong-password".to_string(),
        }),
        ..AuthOptions::default()
    };
    let error = Session::establish(&service.client(), &support::api(), &options)
        .await
        .unwrap_err();
    let ProbeError::Auth {
        operation, found, ..
    } = &error
    else {
        panic!("expected an auth error, found {error}");
    };
    assert_eq!(operation, "POST /api/auth/login");
    assert!(found.starts_with("401 "), "{found}");
}

#[tokio::test]
async fn passwords_and_tokens_are_not_recorded() {
    let service = Service::start(Fault::None).await;
    let client = service.client();
    let api = support::api();
    let mut session = Session::establish(&client, &api, &AuthOptions::default())
        .await
        .unwrap();
    let user = session.users[0].clone();
    let login = Login {
        email: user.email.clone(),
        password: user.password.clone().unwrap(),
    };
    session.login(&client, &api, &login).await.unwrap();
    let recorded = session
        .exchanges
        .last()
        .unwrap()
        .request
        .body
        .clone()
        .unwrap();
    assert!(!recorded.contains(&login.password), "{recorded}");
}

#[tokio::test]
async fn no_documented_auth_and_no_tokens_gives_no_users() {
    let service = Service::start(Fault::None).await;
    let api =
        Api::from_document(json!({"paths": {"/health": {"get": {"responses": {}}}}})).unwrap();
    let session = Session::establish(&service.client(), &api, &AuthOptions::default())
        .await
        .unwrap();
    assert!(session.users.is_empty());
    assert!(session.exchanges.is_empty());
}
