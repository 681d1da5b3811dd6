{{ registry_doc }}
{% if implemented %}

use axum::Router;

use crate::AppState;

{% for module in implemented | sort %}
pub mod {{ module }};
{% endfor %}

/// The routes of every implemented item.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
{% for module in implemented %}
    router = router.merge({{ module }}::routes());
{% endfor %}
    router
}
{% else %}

use axum::Router;

use crate::AppState;

/// The routes of every implemented item: none yet.
pub fn routes() -> Router<AppState> {
    Router::new()
}
{% endif %}
