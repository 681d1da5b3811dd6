//! The Kubernetes deploy target: a blue/green plan rendered as manifests and applied with kubectl.
//!
//! [`render`] turns a [`KubernetesPlan`] into a Deployment and a Service per track (`{app}-blue`,
//! `{app}-green`) and one Gateway API `HTTPRoute` whose weights split the traffic between the two
//! Services. [`apply`] hands them to kubectl, but only after checking that kubectl exists and the
//! cluster answers; without a cluster it fails saying so and applies nothing. [`set_weights`]
//! re-applies only the route, which is both the traffic shift and the rollback.
//! Images are not built here: the plan names images that must already be in a registry.

mod error;
mod kubectl;
mod plan;
mod render;

pub use error::KubernetesError;
pub use kubectl::ApplyOptions;
pub use kubectl::ApplyReport;
pub use kubectl::DEFAULT_KUBECTL_TIMEOUT;
pub use kubectl::apply;
pub use kubectl::rollout_status;
pub use kubectl::set_weights;
pub use plan::GatewayRef;
pub use plan::KubernetesPlan;
pub use plan::Track;
pub use render::render;
pub use render::render_route;
pub use render::render_yaml;

/// One rendered Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// `Deployment`, `Service` or `HTTPRoute`.
    pub kind: String,
    pub name: String,
    /// The object as one YAML document.
    pub yaml: String,
}
