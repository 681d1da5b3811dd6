//! What to deploy ([`KubernetesPlan`]) and the checks that every field fits the place it ends
//! up in a manifest, so that a bad plan is refused with the field's name before kubectl sees it.

use super::KubernetesError;

/// One version of the service, deployed as its own Deployment and Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// The image tag, also the `version` label of the track's pods.
    pub version: String,
}

/// The Gateway API `Gateway` the route attaches to (the user's; apiwright does not create it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRef {
    pub name: String,
    pub namespace: String,
}

/// A blue/green deployment of one service on Kubernetes.
///
/// Blue is the version serving now (absent on a first deployment), green the one being rolled
/// out; `weights` split the traffic between them as `(blue, green)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubernetesPlan {
    /// The service's name: a DNS-1123 label starting with a letter, at most 57 characters so
    /// that `{app}-green` is still a valid Service name.
    pub app: String,
    pub namespace: String,
    /// The image without tag, e.g. `registry.example.com/team/books`; the track's version is the
    /// tag. apiwright does not build or push images: they must exist in the registry.
    pub image_repository: String,
    pub blue: Option<Track>,
    pub green: Track,
    /// `(blue, green)` HTTPRoute backend weights.
    pub weights: (u32, u32),
    /// The port the service listens on (also given to it as `PORT`).
    pub port: u16,
    /// The path the readiness and liveness probes request.
    pub health_path: String,
    pub replicas: u32,
    /// Plain environment variables, in this order.
    pub env: Vec<(String, String)>,
    /// A Secret whose keys all become environment variables (`envFrom`).
    pub secret_name: Option<String>,
    pub gateway: GatewayRef,
}

/// The longest `app`: Service names are DNS-1035 labels (63 characters) and get `-green` appended.
const APP_MAX: usize = 63 - "-green".len();
/// The largest weight a Gateway API backendRef accepts.
pub(crate) const WEIGHT_MAX: u32 = 1_000_000;

const DNS_LABEL: &str = "a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)";

impl KubernetesPlan {
    /// Refuses any field that would make an invalid or surprising manifest.
    pub(crate) fn validate(&self) -> Result<(), KubernetesError> {
        if !is_dns_label(&self.app, APP_MAX)
            || !self.app.starts_with(|c: char| c.is_ascii_lowercase())
        {
            return Err(invalid(
                "app",
                format!(
                    "a DNS-1123 label starting with a letter (lowercase letters, digits and '-'), at most {APP_MAX} characters so that `{{app}}-green` is a valid Service name"
                ),
                &self.app,
            ));
        }
        if !is_dns_label(&self.namespace, 63) {
            return Err(invalid("namespace", DNS_LABEL.to_owned(), &self.namespace));
        }
        check_image_repository(&self.image_repository)?;
        if let Some(blue) = &self.blue {
            check_version("blue.version", &blue.version)?;
        }
        check_version("green.version", &self.green.version)?;
        check_weights(self.blue.is_some(), self.weights)?;
        if self.port == 0 {
            return Err(invalid(
                "port",
                "a port between 1 and 65535".to_owned(),
                "0",
            ));
        }
        if !self.health_path.starts_with('/')
            || self
                .health_path
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid(
                "health_path",
                "an absolute path starting with '/' and without whitespace".to_owned(),
                &self.health_path,
            ));
        }
        if self.replicas == 0 || self.replicas > i32::MAX as u32 {
            return Err(invalid(
                "replicas",
                "at least one replica (at most 2147483647)".to_owned(),
                &self.replicas.to_string(),
            ));
        }
        let mut seen: Vec<&str> = Vec::new();
        for (index, (name, _)) in self.env.iter().enumerate() {
            let field = format!("env[{index}]");
            if !is_env_name(name) {
                return Err(invalid(
                    &field,
                    "an environment variable name (letters, digits, '_', '-' and '.', not starting with a digit)".to_owned(),
                    name,
                ));
            }
            if seen.contains(&name.as_str()) {
                return Err(invalid(
                    &field,
                    "a name not already set earlier in `env`".to_owned(),
                    name,
                ));
            }
            seen.push(name);
        }
        if let Some(secret_name) = &self.secret_name
            && !is_dns_subdomain(secret_name)
        {
            return Err(invalid(
                "secret_name",
                "a DNS-1123 subdomain (a Secret's name)".to_owned(),
                secret_name,
            ));
        }
        if !is_dns_subdomain(&self.gateway.name) {
            return Err(invalid(
                "gateway.name",
                "a DNS-1123 subdomain (a Gateway's name)".to_owned(),
                &self.gateway.name,
            ));
        }
        if !is_dns_label(&self.gateway.namespace, 63) {
            return Err(invalid(
                "gateway.namespace",
                DNS_LABEL.to_owned(),
                &self.gateway.namespace,
            ));
        }
        Ok(())
    }
}

/// Refuses a split that sends traffic nowhere, to a track that does not exist, or beyond the
/// Gateway API's maximum weight.
pub(crate) fn check_weights(has_blue: bool, weights: (u32, u32)) -> Result<(), KubernetesError> {
    let reason = if weights == (0, 0) {
        "(0, 0) would send traffic nowhere".to_owned()
    } else if !has_blue && weights.0 > 0 {
        format!(
            "the plan has no blue track, so blue's weight must be 0, found {}",
            weights.0
        )
    } else if weights.0 > WEIGHT_MAX || weights.1 > WEIGHT_MAX {
        format!("each weight must be at most {WEIGHT_MAX} (the Gateway API's limit)")
    } else {
        return Ok(());
    };
    Err(KubernetesError::InvalidWeights { weights, reason })
}

fn invalid(field: &str, expected: String, found: &str) -> KubernetesError {
    KubernetesError::InvalidPlan {
        field: field.to_owned(),
        expected,
        found: found.to_owned(),
    }
}

/// An RFC 1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most `max` characters.
fn is_dns_label(value: &str, max: usize) -> bool {
    !value.is_empty()
        && value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-')
}

/// An RFC 1123 subdomain: dot-separated labels, at most 253 characters.
fn is_dns_subdomain(value: &str) -> bool {
    value.len() <= 253 && value.split('.').all(|label| is_dns_label(label, 63))
}

/// Kubernetes' rule for environment variable names: `[-._a-zA-Z][-._a-zA-Z0-9]*`.
fn is_env_name(value: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    value.chars().all(allowed) && value.starts_with(|c: char| allowed(c) && !c.is_ascii_digit())
}

/// A version is both an image tag and a label value, so it must be both: letters, digits, '.',
/// '_' and '-', starting and ending with a letter or digit, at most 63 characters.
fn check_version(field: &str, version: &str) -> Result<(), KubernetesError> {
    let fits = !version.is_empty()
        && version.len() <= 63
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && version.starts_with(|c: char| c.is_ascii_alphanumeric())
        && version.ends_with(|c: char| c.is_ascii_alphanumeric());
    if fits {
        Ok(())
    } else {
        Err(invalid(
            field,
            "an image tag that is also a label value (letters, digits, '.', '_' and '-', starting and ending with a letter or digit, at most 63 characters)".to_owned(),
            version,
        ))
    }
}

/// An image reference without tag or digest: lowercase path components separated by '/', the
/// first of which may be a registry host with a port.
fn check_image_repository(repository: &str) -> Result<(), KubernetesError> {
    let (host, path) = match repository.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (Some(first), rest)
        }
        _ => (None, repository),
    };
    let host_fits = host.is_none_or(|host| {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
    });
    let path_fits = path.split('/').all(|component| {
        !component.is_empty()
            && component.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            })
            && component.starts_with(|c: char| c.is_ascii_alphanumeric())
            && component.ends_with(|c: char| c.is_ascii_alphanumeric())
    });
    if host_fits && path_fits {
        Ok(())
    } else {
        Err(invalid(
            "image_repository",
            "an image repository without tag or digest, e.g. `registry.example.com:5000/team/books` (lowercase path components)".to_owned(),
            repository,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert!(is_dns_label("books-api", 63));
        assert!(is_dns_label("a1", 63));
        for bad in ["", "-a", "a-", "Books", "a_b", "a.b", &"a".repeat(64)] {
            assert!(!is_dns_label(bad, 63), "{bad}");
        }
    }

    #[test]
    fn env_names() {
        assert!(is_env_name("DATABASE_URL"));
        assert!(is_env_name("my.setting-1"));
        assert!(!is_env_name("1ABC"));
        assert!(!is_env_name(""));
        assert!(!is_env_name("A B"));
    }

    #[test]
    fn image_repositories() {
        for good in [
            "books",
            "team/books",
            "registry.example.com:5000/team/books",
            "localhost/books",
        ] {
            assert!(check_image_repository(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Books",
            "team/books:1.0",
            "team//books",
            "books@sha256",
            "a b",
        ] {
            assert!(check_image_repository(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn weights() {
        assert!(check_weights(true, (90, 10)).is_ok());
        assert!(check_weights(false, (0, 1)).is_ok());
        assert!(check_weights(true, (0, 0)).is_err());
        assert!(check_weights(false, (1, 1)).is_err());
        assert!(check_weights(true, (WEIGHT_MAX + 1, 1)).is_err());
    }
}
