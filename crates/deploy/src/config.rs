//! What a proxy is started with ([`ProxyConfig`], [`Backend`], [`crate::Route`]) and how its
//! two backend slots are named ([`Slot`]).

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::route::Route;

/// One version of the service behind the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// Echoed in `x-apiwright-backend` and the statistics, e.g. `blue`, `green` or a version.
    pub name: String,
    /// `http://host:port`; any path in it is ignored.
    pub url: String,
}

/// One of the proxy's two backend positions. The slot is what the weights refer to; the backend
/// in it can change ([`crate::ProxyHandle::replace_backend`]) — after a promotion the old green
/// becomes the next deployment's blue without restarting the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Slot {
    /// Index 0: the first weight.
    Blue = 0,
    /// Index 1: the second weight.
    Green = 1,
}

impl Slot {
    /// Both slots in index order.
    pub const ALL: [Slot; 2] = [Slot::Blue, Slot::Green];

    /// 0 for blue, 1 for green: the position in `backends`, `weights` and `snapshot()`.
    pub fn index(self) -> usize {
        match self {
            Slot::Blue => 0,
            Slot::Green => 1,
        }
    }
}

/// Everything [`crate::Proxy::start`] needs. No `Default`: the listen address, backends and
/// weights are always a choice; [`ProxyConfig::new`] fills in the rest.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Port 0 picks a free port; see [`crate::ProxyHandle::local_addr`].
    pub listen: SocketAddr,
    /// Blue first, green second.
    pub backends: [Backend; 2],
    /// (blue, green); (0, 0) is refused.
    pub weights: (u32, u32),
    /// Endpoints to attribute requests to, first match wins; empty puts every request under
    /// [`crate::UNMATCHED_ROUTE`].
    pub routes: Vec<Route>,
    /// A backend that has not answered in full within this long gets the request answered 504
    /// and counted as a transport error; must be positive.
    pub backend_timeout: Duration,
}

impl ProxyConfig {
    /// The timeout a request may reasonably take when nothing else is known.
    pub const DEFAULT_BACKEND_TIMEOUT: Duration = Duration::from_secs(30);

    /// No routes and a 30 s backend timeout.
    pub fn new(listen: SocketAddr, backends: [Backend; 2], weights: (u32, u32)) -> Self {
        Self {
            listen,
            backends,
            weights,
            routes: Vec::new(),
            backend_timeout: Self::DEFAULT_BACKEND_TIMEOUT,
        }
    }
}
