//! `TofuConcurrency`, `TofuQueueTimeout`: transforms at once per child process, and how long a
//! request waits for one of those slots before 503.

use std::time::Duration;

use super::values::{count_up_to, parse_seconds};
use super::{DirConfig, Directive};

macro_rules! default_queue_timeout_secs {
    () => {
        2
    };
}

/// `TofuQueueTimeout` default.
pub const DEFAULT_QUEUE_TIMEOUT: Duration = Duration::from_secs(default_queue_timeout_secs!());

/// The CPUs this process may use (cgroup limits included), read once per section when httpd
/// reads the configuration: `TofuConcurrency`'s default, never looked up per request.
pub(super) fn available_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// `TofuConcurrency N`.
pub(super) const TOFU_CONCURRENCY: Directive = Directive::one(
    c"TofuConcurrency",
    c"transforms at once per child process (default: the number of CPUs)",
    set_concurrency,
);

fn set_concurrency(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    c.concurrency = Some(count_up_to(arg, false, 1024, "1024")? as usize);
    Ok(())
}

/// `TofuQueueTimeout SECONDS`.
pub(super) const TOFU_QUEUE_TIMEOUT: Directive = Directive::one(
    c"TofuQueueTimeout",
    cstr!(
        "seconds a request waits for a transform slot before 503 (default ",
        default_queue_timeout_secs!(),
        ")"
    ),
    set_queue_timeout,
);

fn set_queue_timeout(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    c.queue_timeout = Some(parse_seconds(arg)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::set;
    use super::*;

    #[test]
    fn defaults_and_values() {
        let c = DirConfig::new();
        assert_eq!(c.concurrency(), available_cpus());
        assert_eq!(c.queue_timeout(), Duration::from_secs(2));
        let mut c = DirConfig::new();
        set(&mut c, "TofuConcurrency", "3").unwrap();
        set(&mut c, "TofuQueueTimeout", "0.5").unwrap();
        assert_eq!(c.concurrency(), 3);
        assert_eq!(c.queue_timeout(), Duration::from_millis(500));
        for (name, arg) in [
            ("TofuConcurrency", "0"),
            ("TofuConcurrency", "1025"),
            ("TofuQueueTimeout", "-1"),
            ("TofuQueueTimeout", "forever"),
        ] {
            assert!(set(&mut c, name, arg).is_err(), "{name} {arg}");
        }
    }
}
