//! Where an engine gets the options for each new connection: fixed, replaceable, or any closure.

use std::fmt;
use std::sync::{Arc, RwLock};

use crate::error::Result;
use crate::options::ConnectOptions;

/// Where the engine gets connection options (and so credentials) for each new connection.
///
/// Every new pooled connection asks its source again, so a source that returns renewed credentials lets
/// a long-running program survive expiring tokens without a restart. [`ConnectOptions`] itself is a
/// fixed source; [`RotatingCredentials`] is one whose value can be replaced; any
/// `Fn() -> Result<ConnectOptions>` closure is one too.
pub trait CredentialSource: Send + Sync + 'static {
    /// The options to use for the next connection.
    fn connect_options(&self) -> Result<ConnectOptions>;

    /// A number that changes whenever the options change. When it changes, the engine retires the
    /// connections made with older ones. Default: always 0 (never retire early).
    fn generation(&self) -> u64 {
        0
    }

    /// Describe the source for `Debug` output, without I/O and without secrets. Default:
    /// `dynamic credential source`.
    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dynamic credential source")
    }
}

impl CredentialSource for ConnectOptions {
    fn connect_options(&self) -> Result<ConnectOptions> {
        Ok(self.clone())
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl<F> CredentialSource for F
where
    F: Fn() -> Result<ConnectOptions> + Send + Sync + 'static,
{
    fn connect_options(&self) -> Result<ConnectOptions> {
        self()
    }
}

/// Connection options that can be replaced while the program runs; clones share the same value.
///
/// ```
/// use aep_diesel::{ConnectOptions, CredentialSource, RotatingCredentials};
/// let opts = ConnectOptions::new("localhost", 5432, "prod:all", "ACME@AdobeOrg", "old-token")?;
/// let rotating = RotatingCredentials::new(opts.clone());
/// let handle = rotating.clone(); // give one to the engine, keep one to renew
/// handle.set(opts.with_password("new-token"));
/// assert_eq!(rotating.connect_options()?.get_password().expose(), "new-token");
/// assert_eq!(rotating.generation(), 1);
/// # Ok::<(), aep_diesel::Error>(())
/// ```
#[derive(Clone)]
pub struct RotatingCredentials {
    inner: Arc<RwLock<(u64, ConnectOptions)>>,
}

impl RotatingCredentials {
    /// A source starting with `initial`.
    pub fn new(initial: ConnectOptions) -> Self {
        RotatingCredentials {
            inner: Arc::new(RwLock::new((0, initial))),
        }
    }

    /// Replace the options; connections opened before are retired on their next checkout or return.
    pub fn set(&self, options: ConnectOptions) {
        let mut guard = self.inner.write().unwrap_or_else(|e| e.into_inner());
        guard.0 += 1;
        guard.1 = options;
    }
}

impl CredentialSource for RotatingCredentials {
    fn connect_options(&self) -> Result<ConnectOptions> {
        Ok(self
            .inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone())
    }

    fn generation(&self) -> u64 {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).0
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl fmt::Debug for RotatingCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let guard = self.inner.read().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("RotatingCredentials")
            .field("generation", &guard.0)
            .field("current", &guard.1)
            .finish()
    }
}

/// `Debug` through [`CredentialSource::describe`].
pub(crate) struct Described<'a>(pub &'a dyn CredentialSource);

impl fmt::Debug for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.describe(f)
    }
}
