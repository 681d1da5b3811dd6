use pretty_assertions::assert_eq;

use super::*;

fn user(id: &str, email: &str, role: &str) -> NewUser {
    NewUser {
        id: id.into(),
        email: email.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        role: role.into(),
    }
}

fn key(id: &str, user_id: &str, hash: &str, role: &str) -> NewApiKey {
    NewApiKey {
        id: id.into(),
        user_id: user_id.into(),
        name: format!("key {id}"),
        key_hash: hash.into(),
        prefix: "aw_1234".into(),
        role: role.into(),
    }
}

#[test]
fn users_are_found_by_email_and_id_and_emails_are_unique() {
    let store = Store::open_in_memory().unwrap();
    let created = store
        .create_user(&user("u1", "a@example.com", "admin"))
        .unwrap();
    assert_eq!(
        store.user_by_email("a@example.com").unwrap(),
        Some(created.clone())
    );
    assert_eq!(store.user_by_id("u1").unwrap(), Some(created.clone()));
    assert_eq!(store.users().unwrap(), vec![created.clone()]);
    assert_eq!(store.user_by_email("b@example.com").unwrap(), None);
    let err = store
        .create_user(&user("u2", "a@example.com", "viewer"))
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Duplicate { table, key } if table == "users" && key == "a@example.com"),
        "{err}"
    );
    assert!(!format!("{created:?}").contains("argon2"), "{created:?}");
}

#[test]
fn unknown_roles_are_refused_by_the_schema() {
    let store = Store::open_in_memory().unwrap();
    let err = store
        .create_user(&user("u1", "a@example.com", "root"))
        .unwrap_err();
    assert!(matches!(err, StoreError::Sqlite { .. }), "{err}");
}

#[test]
fn api_keys_are_found_by_hash_until_revoked() {
    let store = Store::open_in_memory().unwrap();
    store
        .create_user(&user("u1", "a@example.com", "operator"))
        .unwrap();
    let first = store
        .create_api_key(&key("k1", "u1", "h1", "viewer"))
        .unwrap();
    store
        .create_api_key(&key("k2", "u1", "h2", "admin"))
        .unwrap();
    let found = store.api_key_by_hash("h1").unwrap().unwrap();
    assert_eq!(found.key, first);
    assert_eq!(found.user_role, "operator");
    assert_eq!(store.api_key_by_hash("nope").unwrap(), None);

    assert!(store.revoke_api_key("k1").unwrap());
    assert!(!store.revoke_api_key("k1").unwrap());
    assert!(!store.revoke_api_key("missing").unwrap());
    assert_eq!(store.api_key_by_hash("h1").unwrap(), None);

    let listed = store.api_keys().unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|k| (k.id.as_str(), k.revoked_at.is_some()))
            .collect::<Vec<_>>(),
        vec![("k1", true), ("k2", false)]
    );
    let err = store
        .create_api_key(&key("k3", "u1", "h2", "viewer"))
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { .. }), "{err}");
    let err = store
        .create_api_key(&key("k4", "nobody", "h4", "viewer"))
        .unwrap_err();
    assert!(matches!(err, StoreError::Sqlite { .. }), "{err}");
}

#[test]
fn a_refresh_token_is_spent_once_and_not_after_expiry() {
    let store = Store::open_in_memory().unwrap();
    store
        .create_user(&user("u1", "a@example.com", "viewer"))
        .unwrap();
    for (id, hash, expires_at) in [("t1", "h1", 1_000), ("t2", "h2", 1_000)] {
        store
            .put_refresh_token(&NewRefreshToken {
                id: id.into(),
                user_id: "u1".into(),
                token_hash: hash.into(),
                expires_at,
            })
            .unwrap();
    }
    assert_eq!(
        store.spend_refresh_token("h1", 999).unwrap(),
        Some(RefreshTokenRecord {
            id: "t1".into(),
            user_id: "u1".into(),
            expires_at: 1_000
        })
    );
    assert_eq!(store.spend_refresh_token("h1", 999).unwrap(), None);
    assert_eq!(store.spend_refresh_token("h2", 1_000).unwrap(), None);
    assert_eq!(store.spend_refresh_token("unknown", 0).unwrap(), None);
}
